/**
 * One update told as one story: the trigger, from and to (SHA and subject), each step with its
 * duration, exit code and the tail of its output, the verification and any rollback. Output tails
 * pass the one redaction (URL credentials, remembered secrets) and a token scrub (GitHub, GitLab,
 * bearer tokens, `password=`), since build tools print what they were given.
 */
import { redactText } from '../redact.js';

export type UpdateTrigger = 'schedule' | 'cli' | 'webhook' | 'resume' | 'rollback';

/**
 * applied: the new commit runs healthy. rolled_back: it failed its gate and the previous one runs
 * healthy again. rollback_failed: neither (the circuit opens, updates stop). failed: nothing moved
 * (a fetch or a merge failed before the tree changed).
 */
export type UpdateResult = 'applied' | 'rolled_back' | 'rollback_failed' | 'failed';

export interface StepRecord {
  readonly name: string;
  readonly ok: boolean;
  readonly ms: number;
  readonly exitCode?: number | null;
  /** The last lines of its output (redacted, at most TAIL_KEPT characters). */
  readonly tail?: string;
  readonly detail: string;
}

export interface CommitRef {
  readonly sha: string;
  readonly subject: string;
}

export interface UpdateStory {
  readonly id: string;
  readonly app: string;
  readonly trigger: UpdateTrigger;
  readonly at: string;
  readonly from: CommitRef;
  readonly to: CommitRef;
  readonly result: UpdateResult;
  readonly steps: readonly StepRecord[];
  readonly ms: number;
  /** One line: what happened and why. */
  readonly detail: string;
}

const TAIL_KEPT = 1024;

const TOKENS: readonly RegExp[] = [
  /\b(gh[pousr]_[A-Za-z0-9]{20,})\b/g,
  /\b(github_pat_[A-Za-z0-9_]{20,})\b/g,
  /\b(glpat-[A-Za-z0-9_-]{16,})\b/g,
  /\b(xox[abpr]-[A-Za-z0-9-]{10,})\b/g,
  /\b(npm_[A-Za-z0-9]{30,})\b/g,
];
/** `password=`, `TOKEN: `, `NPM_TOKEN=`, `:_authToken=` (npm's config), `Authorization: Bearer`. */
const ASSIGNED = /\b([A-Za-z0-9_]*(?:password|passwd|token|secret|api[_-]?key|authorization))(\s*[:=]\s*)(bearer\s+)?("[^"]*"|'[^']*'|\S+)/gi;

/** Output as the story keeps it: redacted and capped. */
export function keptTail(text: string): string {
  let out = redactText(text);
  for (const re of TOKENS) out = out.replace(re, '***');
  out = out.replace(ASSIGNED, (_m, key: string, sep: string, bearer: string | undefined) => `${key}${sep}${bearer ?? ''}***`);
  return out.length > TAIL_KEPT ? `…${out.slice(-TAIL_KEPT)}` : out;
}

export const shortSha = (sha: string): string => sha.slice(0, 10);

/** `abc1234567 -> def7654321 "Fix the login page"` */
export function moveText(from: CommitRef, to: CommitRef): string {
  return `${shortSha(from.sha)} -> ${shortSha(to.sha)}${to.subject ? ` "${to.subject}"` : ''}`;
}

/** The story as log lines: a headline, then one line per step. */
export function storyLines(story: UpdateStory): string[] {
  const head = `update ${story.result.replace('_', ' ')} (${story.trigger}): ${moveText(story.from, story.to)} in ${(story.ms / 1000).toFixed(1)} s: ${story.detail}`;
  const steps = story.steps.map((s) => {
    const code = s.exitCode === undefined ? '' : `, exit ${s.exitCode === null ? 'none' : s.exitCode}`;
    const tail = !s.ok && s.tail ? ` | ${s.tail.split(/\r?\n/).filter(Boolean).slice(-3).join(' | ')}` : '';
    return `  ${s.ok ? 'ok  ' : 'FAIL'} ${s.name} (${s.ms} ms${code}): ${s.detail}${tail}`;
  });
  return [head, ...steps];
}
