/**
 * The synchronous driver of freePortsPlan: /proc, process.kill and Atomics.wait, so the preload
 * hook can free ports before the app's own code runs. Linux only. Loads nothing heavy.
 */
import type { Effect, EffectAnswer, FreePortsRequest, FreePortsResult, PortHolder, Snapshot } from './free-port.js';
import { freePortsPlan } from './free-port.js';
import { listeningInodes, procFacts, socketOwners, socketsOf } from './procfs.js';
/** Every holder of the ports, from /proc (Linux). */
export function snapshotSync(ports: readonly number[]): Snapshot {
  const sockets = listeningInodes(new Set(ports));
  const owners = socketOwners(new Set(sockets.keys()));
  const holders: PortHolder[] = [];
  const hidden: { port: number; socket: string }[] = [];
  for (const [socket, port] of sockets) {
    const pids = owners.get(socket) ?? [];
    if (pids.length === 0) hidden.push({ port, socket });
    for (const pid of pids) {
      const f = procFacts(pid);
      if (f) holders.push({ port, socket, pid, uid: f.uid, command: f.command, ...(f.cwd === undefined ? {} : { cwd: f.cwd }) });
    }
  }
  return { holders, hidden };
}

/** Answer one effect synchronously from /proc (Linux). */
export function answerSync(effect: Effect): EffectAnswer {
  switch (effect.kind) {
    case 'find':
      return snapshotSync(effect.ports);
    case 'listening':
      if (!effect.pids) return new Set(listeningInodes(new Set(effect.ports)).keys());
      // While a holder is still exiting, its sockets count as open: ask again at the next poll.
      return socketsOf(effect.pids) ?? new Set(effect.sockets ?? listeningInodes(new Set(effect.ports)).keys());
    case 'signal':
      return signal(effect.pid, effect.signal);
    case 'sleep':
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, effect.ms);
      return undefined;
  }
}

/** Run the plan synchronously; only for Linux (the preload hook cannot await). */
export function runFreePortsSync(req: FreePortsRequest): FreePortsResult {
  const plan = freePortsPlan(req);
  let step = plan.next();
  while (!step.done) step = plan.next(answerSync(step.value));
  return step.value;
}

/** Send a signal; false when the process is already gone. */
export function signal(pid: number, sig: NodeJS.Signals): boolean {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false; // ESRCH: already gone (a sibling cluster worker's hook may have won)
  }
}

