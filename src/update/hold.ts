/**
 * What the update's files say to the engine's checks (engine/view.ts UpdateHold): an update of
 * the app is running (its journal names a repo whose lock a live process holds: this monitor,
 * the CLI or another door), or updates are halted after a failed rollback. Read at every check
 * of an app with `update:`, so the memory file is re-read only when it changed.
 */
import { statSync } from 'node:fs';
import type { UpdateHold } from '../engine/view.js';
import { inspectLock } from '../lock/lock.js';
import { memoryPath, readJournal, readMemory, repoLockPath } from './store.js';
import { shortSha } from './story.js';

export function updateHoldReader(stateDir: string, hasUpdate: (app: string) => boolean): (app: string) => UpdateHold | undefined {
  const halts = new Map<string, { mtimeMs: number; halt: string | undefined }>();
  const haltOf = (app: string): string | undefined => {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(memoryPath(stateDir, app)).mtimeMs;
    } catch {
      return undefined;
    }
    const cached = halts.get(app);
    if (cached?.mtimeMs === mtimeMs) return cached.halt;
    const h = readMemory(stateDir, app).halted;
    const halt = h ? `${h.why} (${h.at})` : undefined;
    halts.set(app, { mtimeMs, halt });
    return halt;
  };
  return (app) => {
    if (!hasUpdate(app)) return undefined;
    const j = readJournal(stateDir, app);
    if (j) {
      const lock = inspectLock(repoLockPath(stateDir, j.repo));
      if (lock?.live) return { kind: 'updating', detail: `${shortSha(j.from)} -> ${shortSha(j.to)}, at ${j.phase}, pid ${lock.record.pid}` };
    }
    const halt = haltOf(app);
    return halt ? { kind: 'halted', detail: halt } : undefined;
  };
}
