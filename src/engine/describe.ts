/** Human sentences about what freeing ports did, shared by logs and command output. */
import type { FreePortsResult } from '../ports/free-port.js';

/** One line about what freeing the ports did. */
export function describeFreed(r: FreePortsResult): string {
  const parts: string[] = [];
  for (const k of r.killed) parts.push(`killed pid ${k.pid} (${k.command}) on port ${k.port} with ${k.signal}: ${k.why}`);
  for (const x of r.refused) parts.push(`refused pid ${x.pid} (${x.command}, uid ${x.uid}) on port ${x.port}: ${x.why}`);
  if (parts.length === 0) parts.push(r.free ? `ports ${r.ports.join(',')} already free` : `ports ${r.stillHeld.join(',')} held`);
  return parts.join('; ');
}
