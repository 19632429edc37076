/** The remedy's and the policy's story for the log and the notifier: fields, lines and events. */
import type { AppConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import { describeFreed } from '../steps/wording.js';
import type { PolicyEvent } from './decide.js';
import type { RemedyReport } from './remedy.js';
import type { WorkerEvent } from './view.js';

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

/** Log a finished remedy in one line. */
export function logRemedy(log: Logger, r: RemedyReport): void {
  const fields = remedyLogFields(r);
  if (r.ok) log.info(`remedy succeeded: healthy again after ${Math.round(r.timeToHealthyMs ?? r.totalMs)}ms`, fields);
  else log.error(`remedy ${r.skipped ? 'skipped' : 'failed'}: ${r.failure}`, fields);
}

/** Log circuit changes and hand them to the notifier. */
export function tellPolicy(events: readonly PolicyEvent[], app: AppConfig, log: Logger, onEvent?: (e: WorkerEvent) => void): void {
  for (const e of events) {
    const level = e.type === 'circuit_opened' ? 'error' : 'warn';
    log.log(level, `circuit ${e.type.slice(8).replace('_', '-')}: ${e.detail}`);
    // The notification sentence reads "<event> after/(<reason>)", then the detail: for an opened
    // circuit, until when no restart will happen.
    const until = new Date(Date.now() + app.policy.circuitResetMs).toISOString().slice(11, 16);
    onEvent?.({ type: e.type, app: app.name, reason: e.detail, ...(e.type === 'circuit_opened' ? { detail: `until ${until} UTC` } : {}) });
  }
}
