/**
 * The synchronous driver of freePortsPlan: /proc, the one signal road and Atomics.wait, so the
 * preload hook can free ports before the app's own code runs. Linux only. Loads nothing heavy.
 */
import type { Effect, EffectAnswer, FreePortsRequest, FreePortsResult, PortHolder, Snapshot } from './free-port.js';
import { freePortsPlan } from './free-port.js';
import { killJudged } from './kill.js';
import { noteRefusals } from './kill-log.js';
import { identify } from '../proc/identify.js';
import { procFacts } from '../proc/read.js';
import { listeningInodes, socketOwners, socketsOf } from '../proc/sockets.js';
import { sleepSync } from '../proc/wait.js';

/** Every holder of the ports, from /proc (Linux), with what the scope judges it by. */
export function snapshotSync(ports: readonly number[]): Snapshot {
  const sockets = listeningInodes(new Set(ports));
  const owners = socketOwners(new Set(sockets.keys()));
  const holders: PortHolder[] = [];
  const hidden: { port: number; socket: string }[] = [];
  // One process often holds several of the ports (or one port per worker): identify it once.
  const known = new Map<number, ReturnType<typeof identify>>();
  for (const [socket, port] of sockets) {
    const pids = owners.get(socket) ?? [];
    if (pids.length === 0) hidden.push({ port, socket });
    for (const pid of pids) {
      if (!known.has(pid)) known.set(pid, identify(pid));
      const f = known.get(pid);
      if (f) {
        holders.push({
          port, socket, pid, uid: f.uid, command: f.command, startTicks: f.startTicks, lineage: f.lineage,
          ...(f.cwd === undefined ? {} : { cwd: f.cwd }),
          ...(f.marks === undefined ? {} : { marks: f.marks }),
        });
      }
    }
  }
  return { holders, hidden };
}

/**
 * Who listens on the ports, for people (the status page and /api/status): pid, uid and command
 * only, each process read once. The kill path uses snapshotSync, which also reads what the
 * safety scope judges by (lineage, cwd, PM2 marks): several times the cost at 200 ports.
 */
export function listenersSync(ports: readonly number[]): { port: number; pid: number; uid: number; command: string }[] {
  const sockets = listeningInodes(new Set(ports));
  const owners = socketOwners(new Set(sockets.keys()));
  const facts = new Map<number, { uid: number; command: string } | undefined>();
  const out: { port: number; pid: number; uid: number; command: string }[] = [];
  for (const [socket, port] of sockets) {
    for (const pid of owners.get(socket) ?? []) {
      if (!facts.has(pid)) {
        const f = procFacts(pid);
        facts.set(pid, f && { uid: f.uid, command: f.command });
      }
      const f = facts.get(pid);
      if (f) out.push({ port, pid, ...f });
    }
  }
  return out;
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
      return killJudged(effect.target, effect.scope, effect.signal).outcome === 'sent';
    case 'sleep':
      sleepSync(effect.ms);
      return undefined;
  }
}

/** Run the plan synchronously; only for Linux (the preload hook cannot await). */
export function runFreePortsSync(req: FreePortsRequest): FreePortsResult {
  const plan = freePortsPlan(req);
  let step = plan.next();
  while (!step.done) step = plan.next(answerSync(step.value));
  if (!req.dryRun) noteRefusals(req.scope.killLog, req.scope.app.name, step.value.refused);
  return step.value;
}
