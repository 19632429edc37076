/**
 * The record step of an update: one story in the log, the app's update memory (good SHA, bad
 * marks, halt, history), and one notification per outcome. Refusals and fetch failures are told
 * once per state, not at every interval.
 */
import type { Logger } from '../log/logger.js';
import type { NotifyEventType } from '../notify/types.js';
import type { Refusal } from './decide.js';
import { readMemory, writeMemory, type AppUpdateMemory } from './store.js';
import { moveText, shortSha, storyLines, type UpdateStory } from './story.js';

export interface UpdateNotice {
  readonly type: Extract<NotifyEventType, `update_${string}`>;
  readonly app: string;
  readonly reason: string;
  readonly detail?: string;
  readonly durationMs?: number;
}

export interface RecordDeps {
  readonly stateDir: string;
  readonly logger: Logger;
  readonly notify: (notice: UpdateNotice) => void;
  /** A rollback failed: the app's circuit opens (the engine, when one runs in this process). */
  readonly onHalt?: (app: string, why: string) => void;
}

const now = (): string => new Date().toISOString();

/** Tell and remember one finished update. */
export function recordStory(story: UpdateStory, deps: RecordDeps): AppUpdateMemory {
  const log = deps.logger.child({ app: story.app });
  const mem0 = readMemory(deps.stateDir, story.app);
  const last = mem0.history.at(-1);
  // The same move refused by git again (a fast forward over an untracked or ignored file): told
  // once, like a refusal, not at every interval.
  if (story.result === 'failed' && last?.result === 'failed' && last.from.sha === story.from.sha && last.to.sha === story.to.sha && last.detail === story.detail) {
    log.debug(`update failed again, as before: ${story.detail}`);
    return mem0;
  }
  const lines = storyLines(story);
  const level = story.result === 'applied' ? 'info' : 'error';
  log.log(level, lines.join('\n'));
  const mem = readMemory(deps.stateDir, story.app);
  const bad = (why: string) => [...mem.bad.filter((b) => b.sha !== story.to.sha), { sha: story.to.sha, at: now(), why }];
  const move = moveText(story.from, story.to);
  let next: AppUpdateMemory = { ...mem, history: [...mem.history, story], lastCheck: { at: now(), result: story.result } };
  switch (story.result) {
    case 'applied': {
      // Healthy on a new commit: a halt (only --retry gets here while halted) is over.
      const { halted: _over, ...rest } = next;
      next = { ...rest, good: story.to.sha };
      deps.notify({ type: 'update_applied', app: story.app, reason: move, detail: story.detail, durationMs: story.ms });
      break;
    }
    case 'rolled_back': {
      const { halted: _over, ...rest } = next;
      next = { ...rest, good: story.from.sha, bad: bad(story.detail) };
      deps.notify({ type: 'update_rolled_back', app: story.app, reason: `${move}: ${story.detail}`, detail: `back on ${shortSha(story.from.sha)}; ${shortSha(story.to.sha)} is marked bad and skipped until a newer commit or update --retry` });
      break;
    }
    case 'rollback_failed':
      next = { ...next, bad: bad(story.detail), halted: { why: `the rollback of ${shortSha(story.to.sha)} failed`, at: now() } };
      deps.notify({ type: 'update_failed', app: story.app, reason: `${move}: ${story.detail}`, detail: 'the circuit is open and updates are stopped for the app (helpdesk-monitor update APP --retry resumes them)' });
      deps.onHalt?.(story.app, `the rollback of update ${move} failed`);
      break;
    case 'failed':
      deps.notify({ type: 'update_failed', app: story.app, reason: `${move}: ${story.detail}`, detail: 'nothing changed on disk' });
      break;
  }
  writeMemory(deps.stateDir, story.app, next);
  return next;
}

/** A refusal: logged and notified once per state (its key), remembered for `status`. */
export function recordRefusal(app: string, refusal: Refusal, deps: RecordDeps): boolean {
  const mem = readMemory(deps.stateDir, app);
  if (mem.refusal?.key === refusal.key) return false;
  deps.logger.child({ app }).warn(`update refused: ${refusal.text}; way out: ${refusal.wayOut}`);
  deps.notify({ type: 'update_refused', app, reason: refusal.text, detail: refusal.wayOut });
  writeMemory(deps.stateDir, app, { ...mem, refusal: { key: refusal.key, text: refusal.text, at: now() }, lastCheck: { at: now(), result: 'refused' } });
  return true;
}

/**
 * A check that ended without moving anything (up to date, skipped, a failed fetch): a refusal
 * that no longer holds is forgotten, and a failure is logged once per distinct message.
 */
export function recordQuiet(app: string, result: string, detail: string, failed: boolean, deps: RecordDeps): void {
  const mem = readMemory(deps.stateDir, app);
  const log = deps.logger.child({ app });
  const same = mem.lastCheck?.result === result && (!failed || mem.lastCheck.detail === detail);
  if (failed && !same) log.warn(`update check failed: ${detail}; nothing changed on disk, monitoring goes on`);
  else if (!failed) log.debug(`update check: ${detail}`);
  if (same && mem.refusal === undefined) return;
  const { refusal: _dropped, ...rest } = mem;
  writeMemory(deps.stateDir, app, { ...rest, lastCheck: { at: now(), result, ...(failed ? { detail } : {}) } });
}
