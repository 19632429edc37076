/**
 * The instances of each app seen since the monitor started (pid -> start ticks): an old instance
 * PM2 lost track of, still holding the port, is still the app's. Bounded per app; start ticks
 * are read once per new pid, so a list every second costs nothing for steady apps.
 */
import type { ProcessInfo } from '../pm2/adapter.js';
import { procAvailable, readStat } from '../proc/read.js';

const PER_APP = 32;

export class InstanceLedger {
  private readonly byApp = new Map<string, Map<number, number>>();

  /** Remember every running instance in a PM2 list. */
  note(list: readonly ProcessInfo[]): void {
    if (!procAvailable) return;
    for (const p of list) {
      if (p.isModule || p.pid <= 0) continue;
      let seen = this.byApp.get(p.name);
      if (seen?.has(p.pid)) continue;
      const ticks = readStat(p.pid)?.startTicks;
      if (ticks === undefined) continue;
      if (!seen) this.byApp.set(p.name, (seen = new Map()));
      seen.set(p.pid, ticks);
      // Oldest first out: a Map iterates in insertion order.
      if (seen.size > PER_APP) seen.delete(seen.keys().next().value as number);
    }
  }

  /** pid -> start ticks of the app's instances seen so far. */
  seen(app: string): ReadonlyMap<number, number> {
    return this.byApp.get(app) ?? new Map();
  }
}
