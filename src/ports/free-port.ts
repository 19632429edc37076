/**
 * Freeing ports, one algorithm for everyone (engine, CLI, preload hook): find every holder,
 * judge it against the safety scope, SIGTERM, poll until the sockets are gone (not until the pid
 * is reaped: zombies linger), SIGKILL after the grace, confirm. The algorithm is a generator of
 * effects so the same steps run synchronously in the preload hook and asynchronously elsewhere.
 */
import { judge, type HolderFacts, type ScopeContext } from './scope.js';
import type { Refusal } from './refusal.js';

export interface PortHolder extends HolderFacts {
  readonly port: number;
  /** The listening socket's identity (inode on Linux). */
  readonly socket: string;
}

export interface Snapshot {
  readonly holders: readonly PortHolder[];
  /** Listening sockets whose owner we cannot see (another user's process without privileges). */
  readonly hidden: readonly { readonly port: number; readonly socket: string }[];
}

export interface KillRecord {
  readonly port: number;
  readonly pid: number;
  readonly command: string;
  readonly uid: number;
  readonly signal: 'SIGTERM' | 'SIGKILL';
  readonly why: string;
}

export type { Refusal } from './refusal.js';

export interface FreePortsResult {
  readonly ports: readonly number[];
  readonly killed: readonly KillRecord[];
  readonly refused: readonly Refusal[];
  /** Ports still listened on when we finished (by refused, hidden or unkillable holders). */
  readonly stillHeld: readonly number[];
  /** True when none of the ports is listened on any more. */
  readonly free: boolean;
  /** Would-be kills, when dryRun. */
  readonly wouldKill: readonly KillRecord[];
  readonly elapsedMs: number;
}

export interface FreePortsRequest {
  readonly ports: readonly number[];
  readonly scope: ScopeContext;
  /** SIGTERM to SIGKILL. */
  readonly graceMs: number;
  /** How long to wait for sockets to close after SIGKILL. */
  readonly killWaitMs?: number;
  readonly dryRun?: boolean;
  readonly now: () => number;
}

export type Effect =
  | { readonly kind: 'find'; readonly ports: readonly number[] }
  /**
   * Which sockets are still open. With `pids`, only those processes' sockets need to be looked
   * at (a driver may answer from /proc/<pid>/fd in microseconds instead of re-reading the TCP
   * tables, ~10 ms each); without, every listener on `ports`.
   */
  | { readonly kind: 'listening'; readonly ports: readonly number[]; readonly pids?: readonly number[]; readonly sockets?: readonly string[] }
  /** Signal a judged holder through the one road (ports/kill.ts): judged again, re-identified, signalled. */
  | { readonly kind: 'signal'; readonly target: PortHolder; readonly scope: ScopeContext; readonly signal: 'SIGTERM' | 'SIGKILL' }
  | { readonly kind: 'sleep'; readonly ms: number };

/** What a driver answers for each effect, in order: Snapshot, socket set, boolean, void. */
export type EffectAnswer = Snapshot | ReadonlySet<string> | boolean | undefined;

/** The algorithm. Drivers answer each yielded effect; see runFreePortsSync/runFreePorts. */
export function* freePortsPlan(req: FreePortsRequest): Generator<Effect, FreePortsResult, EffectAnswer> {
  const started = req.now();
  const ports = [...new Set(req.ports)];
  const snapshot = (yield { kind: 'find', ports }) as Snapshot;
  const killed: KillRecord[] = [];
  const refused: Refusal[] = [];
  const targets: Target[] = [];
  for (const h of snapshot.holders) {
    const v = judge(h, req.scope);
    if (v.kill) targets.push({ ...h, why: v.why });
    else refused.push({ port: h.port, pid: h.pid, command: h.command, uid: h.uid, why: v.why, rule: v.rule, ...(h.startTicks === undefined ? {} : { startTicks: h.startTicks }) });
  }
  for (const s of snapshot.hidden) {
    refused.push({ port: s.port, pid: 0, command: '?', uid: -1, why: 'the holder is not visible to this user (run as its owner or as root)' });
  }
  const record = (h: Target, signal: KillRecord['signal']): KillRecord => ({
    port: h.port, pid: h.pid, command: h.command, uid: h.uid, signal, why: h.why,
  });
  const finish = (stillHeld: readonly number[], wouldKill: KillRecord[] = []): FreePortsResult => ({
    ports, killed, refused, stillHeld, free: stillHeld.length === 0, wouldKill, elapsedMs: req.now() - started,
  });

  const heldPorts = (): number[] => [...new Set([...snapshot.holders, ...snapshot.hidden].map((h) => h.port))].sort((a, b) => a - b);
  if (req.dryRun) return finish(heldPorts(), uniqueByPid(targets).map((h) => record(h, 'SIGTERM')));
  if (targets.length === 0) return finish(heldPorts());

  // SIGTERM each target pid once, then wait for its sockets to close.
  let pending = targets;
  for (const h of uniqueByPid(pending)) if ((yield { kind: 'signal', target: h, scope: req.scope, signal: 'SIGTERM' }) as boolean) killed.push(record(h, 'SIGTERM'));
  pending = yield* waitClosed(pending, ports, req.graceMs, req.now);
  if (pending.length > 0) {
    for (const h of uniqueByPid(pending)) if ((yield { kind: 'signal', target: h, scope: req.scope, signal: 'SIGKILL' }) as boolean) killed.push(record(h, 'SIGKILL'));
    pending = yield* waitClosed(pending, ports, req.killWaitMs ?? 1000, req.now);
  }
  // Every holder seen was a target and each has released its sockets: the ports are free, and
  // another full table read (~10 ms) would only repeat it.
  if (pending.length === 0 && refused.length === 0) return finish([]);
  const after = (yield { kind: 'listening', ports }) as ReadonlySet<string>;
  const portsBySocket = new Map([...snapshot.holders, ...snapshot.hidden].map((h) => [h.socket, h.port]));
  // Sockets opened after our first look (e.g. PM2 already restarted the app) are not ours to judge.
  const still = [...after].map((s) => portsBySocket.get(s)).filter((p): p is number => p !== undefined);
  return finish([...new Set(still)].sort((a, b) => a - b));
}

interface Target extends PortHolder {
  readonly why: string;
}

function* waitClosed(
  pending: readonly Target[],
  ports: readonly number[],
  limitMs: number,
  now: () => number,
): Generator<Effect, Target[], EffectAnswer> {
  const deadline = now() + limitMs;
  let left = [...pending];
  let pause = 2;
  while (left.length > 0) {
    const open = (yield { kind: 'listening', ports, pids: [...new Set(left.map((h) => h.pid))], sockets: [...new Set(left.map((h) => h.socket))] }) as ReadonlySet<string>;
    left = left.filter((h) => open.has(h.socket));
    if (left.length === 0 || now() >= deadline) break;
    yield { kind: 'sleep', ms: Math.min(pause, Math.max(1, deadline - now())) };
    pause = Math.min(pause * 2, 50);
  }
  return left;
}

function uniqueByPid(holders: readonly Target[]): Target[] {
  const seen = new Set<number>();
  return holders.filter((h) => (seen.has(h.pid) ? false : (seen.add(h.pid), true)));
}
