/** Human sentences about what freeing ports did, shared by logs and command output. */
import type { FreePortsResult } from '../ports/free-port.js';
import type { RemedyReport } from './remedy.js';

/** One line about what freeing the ports did. */
export function describeFreed(r: FreePortsResult): string {
  const parts: string[] = [];
  for (const k of r.killed) parts.push(`killed pid ${k.pid} (${k.command}) on port ${k.port} with ${k.signal}: ${k.why}`);
  for (const x of r.refused) parts.push(`refused pid ${x.pid} (${x.command}, uid ${x.uid}) on port ${x.port}: ${x.why}`);
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
