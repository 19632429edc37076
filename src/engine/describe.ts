/** Human sentences about what freeing ports did, shared by logs and command output. */
import type { FreePortsResult } from '../ports/free-port.js';
import { printable } from '../text/printable.js';
import type { RemedyReport } from './remedy.js';

/**
 * One line about what freeing the ports did. Command lines come from /proc, chosen by whoever
 * started the process: they are escaped so that a terminal or log viewer shows them, never obeys
 * them, and the line stays one line. The reasons may quote a command too.
 */
export function describeFreed(r: FreePortsResult): string {
  const parts: string[] = [];
  for (const k of r.killed) parts.push(`killed pid ${k.pid} (${printable(k.command)}) on port ${k.port} with ${k.signal}: ${printable(k.why, 1000)}`);
  for (const x of r.refused) parts.push(`refused pid ${x.pid} (${printable(x.command)}, uid ${x.uid}) on port ${x.port}: ${printable(x.why, 1000)}`);
  if (parts.length === 0) parts.push(r.free ? `ports ${r.ports.join(',')} already free` : `ports ${r.stillHeld.join(',')} held`);
  return parts.join('; ');
}

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
