/** The PM2 status probe: summarise an app's instances from a process list. Pure. */
import type { ProcessInfo } from '../pm2/adapter.js';
import type { Pm2State, Pm2StatusOutcome } from './types.js';

/** Worst-first: one errored instance makes the app errored. */
const SEVERITY: readonly Pm2State[] = ['errored', 'stopped', 'stopping', 'launching', 'online'];

/** Summarise the instances of `name` in `list` (modules excluded). */
export function probePm2Status(name: string, list: readonly ProcessInfo[], wallNow: number = Date.now()): Pm2StatusOutcome {
  const mine = list.filter((p) => p.name === name && !p.isModule);
  if (mine.length === 0) {
    return { state: 'missing', pids: [], pmIds: [], restarts: 0, uptimeMs: 0, detail: 'not known to PM2' };
  }
  const states = mine.map((p) => toState(p.status));
  const state = SEVERITY.find((s) => states.includes(s)) ?? 'online';
  const lastStart = Math.max(...mine.map((p) => p.startedAt));
  return {
    state,
    pids: mine.map((p) => p.pid).filter((pid) => pid > 0),
    pmIds: mine.map((p) => p.pmId),
    restarts: mine.reduce((n, p) => n + p.restarts, 0),
    uptimeMs: Math.max(0, wallNow - lastStart),
    detail: mine.length === 1 ? `status ${mine[0]!.status}` : `statuses ${mine.map((p) => p.status).join(',')}`,
  };
}

function toState(status: string): Pm2State {
  switch (status) {
    case 'online':
      return 'online';
    case 'launching':
    case 'waiting restart':
      return 'launching';
    case 'stopping':
      return 'stopping';
    case 'errored':
      return 'errored';
    default:
      return 'stopped';
  }
}
