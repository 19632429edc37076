/**
 * What `status` shows of an app's updates, read from the update's files (no git, no PM2): the SHA
 * it was last verified healthy on, the last update, bad SHAs, the refusal in force, a halt, and an
 * update running now. snake_case, as `status --json` prints it.
 */
import type { UpdateConfig } from '../config/update.js';
import { inspectLock } from '../lock/lock.js';
import { readJournal, readMemory, repoLockPath } from './store.js';
import { shortSha } from './story.js';

export interface UpdateStatus {
  readonly branch: string;
  readonly good_sha?: string;
  readonly last_update?: { readonly at: string; readonly result: string; readonly trigger: string; readonly from: string; readonly to: string; readonly detail: string };
  readonly bad: readonly { readonly sha: string; readonly at: string }[];
  readonly refusal?: { readonly text: string; readonly at: string };
  readonly halted?: { readonly why: string; readonly at: string };
  readonly last_check?: { readonly at: string; readonly result: string };
  /** An update running now (or interrupted: `live` false, finished at the next start). */
  readonly in_progress?: { readonly from: string; readonly to: string; readonly phase: string; readonly pid: number; readonly live: boolean };
}

export function updateStatus(stateDir: string, app: string, update: UpdateConfig): UpdateStatus {
  const mem = readMemory(stateDir, app);
  const last = mem.history.at(-1);
  const j = readJournal(stateDir, app);
  return {
    branch: `${update.remote}/${update.branch}`,
    ...(mem.good ? { good_sha: mem.good } : {}),
    ...(last ? { last_update: { at: last.at, result: last.result, trigger: last.trigger, from: last.from.sha, to: last.to.sha, detail: last.detail } } : {}),
    bad: mem.bad.map((b) => ({ sha: b.sha, at: b.at })),
    ...(mem.refusal ? { refusal: { text: mem.refusal.text, at: mem.refusal.at } } : {}),
    ...(mem.halted ? { halted: mem.halted } : {}),
    ...(mem.lastCheck ? { last_check: { at: mem.lastCheck.at, result: mem.lastCheck.result } } : {}),
    ...(j ? { in_progress: { from: j.from, to: j.to, phase: j.phase, pid: j.pid, live: inspectLock(repoLockPath(stateDir, j.repo))?.live === true } } : {}),
  };
}

/** The notes `status` prints under its table for an app's updates. */
export function updateNotes(u: UpdateStatus): string[] {
  const notes: string[] = [];
  const l = u.last_update;
  notes.push(`update: ${u.branch}${u.good_sha ? `, healthy on ${shortSha(u.good_sha)}` : ''}${l ? `; last ${l.result.replace('_', ' ')} at ${l.at} (${shortSha(l.from)} -> ${shortSha(l.to)})` : '; no update yet'}`);
  if (u.in_progress) notes.push(`update ${u.in_progress.live ? 'in progress' : 'interrupted (finished at the next start)'}: ${shortSha(u.in_progress.from)} -> ${shortSha(u.in_progress.to)} at ${u.in_progress.phase}`);
  if (u.bad.length > 0) notes.push(`bad commits (skipped until a newer one, or update --retry): ${u.bad.map((b) => shortSha(b.sha)).join(', ')}`);
  if (u.refusal) notes.push(`update refused since ${u.refusal.at}: ${u.refusal.text}`);
  if (u.halted) notes.push(`updates STOPPED: ${u.halted.why} (update --retry resumes them)`);
  return notes;
}
