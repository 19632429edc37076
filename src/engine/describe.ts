/** The remedy's story as structured log fields. */
import { describeFreed } from '../steps/wording.js';
import type { RemedyReport } from './remedy.js';

/** The structured fields of a remedy's log line: the whole story in one line. */
export function remedyLogFields(r: RemedyReport): Record<string, unknown> {
  return {
    reason: r.reason,
    strategy: r.strategy,
    attempts: r.attempts,
    ...(r.ports ? { ports: describeFreed(r.ports), killed: r.ports.killed.map((k) => k.pid), refused: r.ports.refused.map((x) => x.pid) } : {}),
    steps: r.steps.map((s) => `${s.step.split(' ')[0]} ${s.ok ? 'ok' : 'FAILED'} in ${Math.round(s.ms)}ms`).join(', '),
  };
}
