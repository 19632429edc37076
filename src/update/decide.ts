/**
 * Whether to update, as a pure function of what the fetch and the work tree showed and what the
 * monitor knows (bad SHAs, a pause, the circuit). Refusals protect local work: a dirty tree, a
 * detached HEAD, a half-done merge or rebase, local commits or a rewritten remote are never
 * "fixed" by the monitor; they are reported once per state, with up to 10 files and the way out.
 */
import type { TreeFacts } from '../git/repo.js';

export type RefusalKind = 'dirty' | 'detached' | 'wrong-branch' | 'operation' | 'index-locked' | 'local-commits' | 'rewritten';

export interface Refusal {
  readonly kind: RefusalKind;
  readonly text: string;
  /** Up to 10 paths that block the update. */
  readonly files: readonly string[];
  readonly wayOut: string;
  /** Same key, same state: told once. */
  readonly key: string;
}

export interface UpdateFacts {
  readonly tree: TreeFacts;
  readonly branch: string;
  readonly remote: string;
  /** The remote branch's tip after the fetch. */
  readonly tip: string;
  /** HEAD is an ancestor of (or equal to) the tip: a fast forward is possible. */
  readonly fastForward: boolean;
  /** The tracking ref before the fetch was an ancestor of the new tip (absent: no earlier ref). */
  readonly tipMovedForward?: boolean;
  readonly allowUntracked: boolean;
}

export interface UpdateGate {
  readonly paused: boolean;
  /** The circuit is open or half-open: the app is not healthy enough to update. */
  readonly circuitOpen: boolean;
  /** A health remedy of the app is running (its restart and verify must not meet a reload). */
  readonly remedying?: boolean;
  /** Updates stopped after a failed rollback (until `update APP --retry`). */
  readonly halted?: string;
  readonly bad: readonly string[];
  /** `update APP --retry`: bad marks do not hold this one back. */
  readonly retry: boolean;
}

export type UpdateDecision =
  | { readonly action: 'none'; readonly why: string }
  | { readonly action: 'refuse'; readonly refusal: Refusal }
  | { readonly action: 'update'; readonly from: string; readonly to: string };

const MAX_FILES = 10;
const short = (sha: string): string => sha.slice(0, 10);

export function decideUpdate(f: UpdateFacts, gate: UpdateGate): UpdateDecision {
  const { tree, tip } = f;
  if (tree.head === tip) return { action: 'none', why: `up to date at ${short(tip)}` };
  // A halt says more than a bad mark: a newer commit does not lift it.
  if (gate.halted) return { action: 'none', why: `updates stopped: ${gate.halted} (helpdesk-monitor update APP --retry resumes them)` };
  if (gate.bad.includes(tip) && !gate.retry) {
    return { action: 'none', why: `${short(tip)} is marked bad (it failed its health gate): waiting for a newer commit, or helpdesk-monitor update APP --retry` };
  }
  if (gate.paused) return { action: 'none', why: 'remedies and updates are paused by an operator (helpdesk-monitor resume APP)' };
  if (gate.circuitOpen) return { action: 'none', why: 'the circuit is not closed: the app is not healthy enough to update (helpdesk-monitor reset APP)' };
  if (gate.remedying) return { action: 'none', why: 'a health remedy of the app is running: the update waits for the next check' };
  const refusal = refusalOf(f);
  if (refusal) return { action: 'refuse', refusal };
  return { action: 'update', from: tree.head, to: tip };
}

/** Why the tree must not be moved, if anything stops it. */
export function refusalOf(f: UpdateFacts): Refusal | undefined {
  const { tree } = f;
  const at = `HEAD ${short(tree.head)}, ${f.remote}/${f.branch} ${short(f.tip)}`;
  const make = (kind: RefusalKind, text: string, wayOut: string, files: readonly string[] = []): Refusal => ({
    kind, text, wayOut, files: files.slice(0, MAX_FILES),
    // Local commits and a rewritten remote are one state (HEAD and the tip diverged): the fetch
    // after a force push no longer sees the rewrite, and must not tell it again as local commits.
    key: `${kind === 'rewritten' ? 'local-commits' : kind}:${tree.head}:${kind === 'dirty' ? [...files].sort().join('\0') : f.tip}`,
  });
  if (tree.operation) return make('operation', `${tree.operation} is in progress in the work tree (${at})`, 'finish it or abort it (git merge --abort, git rebase --abort)');
  if (tree.indexLocked) return make('index-locked', `another git process holds the index (.git/index.lock) (${at})`, 'wait for it to end; remove index.lock only if no git process is running');
  if (tree.branch === undefined) return make('detached', `HEAD is detached (${at})`, `git checkout ${f.branch}`);
  if (tree.branch !== f.branch) return make('wrong-branch', `the work tree is on branch ${tree.branch}, not ${f.branch} (${at})`, `git checkout ${f.branch}, or set update.branch: ${tree.branch}`);
  const dirty = [...tree.changed, ...(f.allowUntracked ? [] : tree.untracked)];
  if (dirty.length > 0) {
    const what = [
      tree.changed.length > 0 ? `${tree.changed.length} modified or staged` : '',
      !f.allowUntracked && tree.untracked.length > 0 ? `${tree.untracked.length} untracked` : '',
    ].filter(Boolean).join(' and ');
    return make('dirty', `the work tree has local changes (${what} file(s): ${listFiles(dirty)}) (${at})`, 'commit them upstream or remove them yourself (the monitor never stashes, resets or cleans); untracked files only: update.allow_untracked: true', dirty);
  }
  if (!f.fastForward) {
    if (f.tipMovedForward === false) {
      return make('rewritten', `${f.remote}/${f.branch} was rewritten (force push): HEAD is not an ancestor of the new tip (${at})`, `check the remote history; to follow it, move the tree yourself (git reset --keep ${short(f.tip)})`);
    }
    return make('local-commits', `${f.branch} has local commits that ${f.remote}/${f.branch} does not have (${at})`, 'push them upstream or move them to another branch');
  }
  return undefined;
}

function listFiles(files: readonly string[]): string {
  const shown = files.slice(0, MAX_FILES).join(', ');
  return files.length > MAX_FILES ? `${shown}, and ${files.length - MAX_FILES} more` : shown;
}
