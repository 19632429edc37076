/**
 * What an update needs to know about a work tree, and the only moves it makes on one. Every call
 * has a deadline; names reach git after config/update.ts checked them, and SHAs after `rev-parse`.
 * The moves are the ones that cannot lose work: `merge --ff-only` (refuses anything but a fast
 * forward, and never over an ignored file) and `reset --keep` (refuses to discard local changes).
 * No stash, no hard reset, no clean, and no hooks (run.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { failureText, git, type RunResult } from './run.js';

export interface GitFailure {
  readonly ok: false;
  /** The git command, for the story. */
  readonly step: string;
  readonly exitCode: number | null;
  readonly detail: string;
}

export type GitAnswer<T> = ({ readonly ok: true } & T) | GitFailure;

export interface TreeFacts {
  readonly head: string;
  /** Absent when HEAD is detached. */
  readonly branch?: string;
  /** A merge, rebase, cherry-pick, revert or bisect left half done. */
  readonly operation?: string;
  /** Modified, staged, deleted, renamed or conflicted paths. */
  readonly changed: readonly string[];
  readonly untracked: readonly string[];
  /** Another git process holds the index (index.lock exists). */
  readonly indexLocked: boolean;
}

const SHA = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

function fail(step: string, r: RunResult, timeoutMs: number): GitFailure {
  return { ok: false, step, exitCode: r.code, detail: failureText(r, timeoutMs) };
}

/** HEAD, branch, half-done operations, local changes (porcelain v1, -z) and index.lock. */
export async function readTree(repo: string, timeoutMs: number): Promise<GitAnswer<{ facts: TreeFacts }>> {
  if (!existsSync(repo)) return { ok: false, step: 'git rev-parse', exitCode: null, detail: `${repo} does not exist` };
  const top = await git(['rev-parse', '--absolute-git-dir', 'HEAD'], repo, timeoutMs);
  if (top.code !== 0) return fail('git rev-parse', top, timeoutMs);
  const [gitDir = '', head = ''] = top.stdout.trim().split('\n');
  const sym = await git(['symbolic-ref', '--quiet', '--short', 'HEAD'], repo, timeoutMs);
  // Optional locks off: a status must not take index.lock from under a concurrent git.
  const status = await git(['--no-optional-locks', 'status', '--porcelain=v1', '-z', '--untracked-files=all'], repo, timeoutMs);
  if (status.code !== 0) return fail('git status', status, timeoutMs);
  const { changed, untracked } = parsePorcelain(status.stdout);
  const operation = [
    ['MERGE_HEAD', 'a merge'], ['rebase-merge', 'a rebase'], ['rebase-apply', 'a rebase or am'],
    ['CHERRY_PICK_HEAD', 'a cherry-pick'], ['REVERT_HEAD', 'a revert'], ['BISECT_LOG', 'a bisect'],
  ].find(([f]) => existsSync(join(gitDir, f!)))?.[1];
  return {
    ok: true,
    facts: {
      head, changed, untracked, indexLocked: existsSync(join(gitDir, 'index.lock')),
      ...(sym.code === 0 ? { branch: sym.stdout.trim() } : {}),
      ...(operation ? { operation } : {}),
    },
  };
}

/** `git status --porcelain=v1 -z`: XY PATH NUL (renames carry a second NUL-ended path). */
export function parsePorcelain(out: string): { changed: string[]; untracked: string[] } {
  const changed: string[] = [];
  const untracked: string[] = [];
  const parts = out.split('\0');
  for (let i = 0; i < parts.length; i++) {
    const entry = parts[i]!;
    if (entry.length < 4) continue;
    const xy = entry.slice(0, 2);
    const path = entry.slice(3);
    if (xy === '??') untracked.push(path);
    else if (xy !== '!!') changed.push(path);
    if (xy[0] === 'R' || xy[0] === 'C') i++; // the original path follows
  }
  return { changed, untracked };
}

/** The remote-tracking ref an update follows. */
export const trackingRef = (remote: string, branch: string): string => `refs/remotes/${remote}/${branch}`;

/** The SHA a ref points at, or undefined. */
export async function resolveRef(repo: string, ref: string, timeoutMs: number): Promise<string | undefined> {
  const r = await git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], repo, timeoutMs);
  const sha = r.stdout.trim();
  return r.code === 0 && SHA.test(sha) ? sha : undefined;
}

/** Fetch one branch into its tracking ref (forced, so a rewrite shows as one); the new tip. */
export async function fetchBranch(repo: string, remote: string, branch: string, timeoutMs: number): Promise<GitAnswer<{ tip: string; previous?: string }>> {
  const previous = await resolveRef(repo, trackingRef(remote, branch), timeoutMs);
  const ssh = await git(['config', '--get', 'core.sshCommand'], repo, timeoutMs);
  const sshCommand = ssh.code === 0 && ssh.stdout.trim() ? ssh.stdout.trim() : undefined;
  const r = await git(['fetch', '--quiet', '--no-tags', '--no-recurse-submodules', remote, `+refs/heads/${branch}:${trackingRef(remote, branch)}`], repo, timeoutMs, sshCommand);
  if (r.code !== 0) return fail('git fetch', r, timeoutMs);
  const tip = await resolveRef(repo, trackingRef(remote, branch), timeoutMs);
  if (!tip) return { ok: false, step: 'git fetch', exitCode: null, detail: `${remote}/${branch} has no commit after the fetch` };
  return { ok: true, tip, ...(previous ? { previous } : {}) };
}

/** Is `a` an ancestor of (or equal to) `b`? */
export async function isAncestor(repo: string, a: string, b: string, timeoutMs: number): Promise<boolean> {
  const r = await git(['merge-base', '--is-ancestor', a, b], repo, timeoutMs);
  return r.code === 0;
}

/** A commit's subject line (empty when git cannot say). */
export async function subjectOf(repo: string, sha: string, timeoutMs: number): Promise<string> {
  const r = await git(['log', '-1', '--format=%s', sha, '--'], repo, timeoutMs);
  return r.code === 0 ? r.stdout.trim().slice(0, 200) : '';
}

/** Fast-forward the checked-out branch to `sha`; refuses anything else. */
export async function fastForward(repo: string, sha: string, timeoutMs: number): Promise<GitAnswer<object>> {
  // Ignored files are local work too (a hand-made config): a commit that starts tracking one must
  // not overwrite it. No autostash either: local changes are refused before we get here.
  const r = await git(['merge', '--ff-only', '--no-edit', '--quiet', '--no-overwrite-ignore', '--no-autostash', sha], repo, timeoutMs);
  return r.code === 0 ? { ok: true } : fail('git merge --ff-only', r, timeoutMs);
}

/** Move the branch back (or to) `sha`, keeping local changes; git refuses if it would lose any. */
export async function resetKeep(repo: string, sha: string, timeoutMs: number): Promise<GitAnswer<object>> {
  const r = await git(['reset', '--keep', '--quiet', sha], repo, timeoutMs);
  return r.code === 0 ? { ok: true } : fail('git reset --keep', r, timeoutMs);
}

/** A full SHA for what the operator typed (`--to`), if it names a commit. */
export async function commitOf(repo: string, rev: string, timeoutMs: number): Promise<string | undefined> {
  if (!/^[0-9a-fA-F]{4,64}$/.test(rev)) return undefined;
  return resolveRef(repo, rev.toLowerCase(), timeoutMs);
}
