/** Human sentences about what freeing ports did, shared by logs, strategies and command output. */
import type { FreePortsResult } from '../ports/free-port.js';
import { printable } from '../text/printable.js';

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
