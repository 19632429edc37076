/**
 * When to look for squatters on an app's ports, and what a look means: pure rules, part of the
 * policy beside decide(). The looking itself is done by the drivers (observe.ts surveys /proc,
 * port-watch.ts polls the ports after a crash).
 *
 * Why a crash is the moment: PM2 restarts a crashed app at once (restart_delay 0), so a stranger
 * that binds the port a few ms after the exit wins the race against the app's cold start, and
 * every restart after that dies of EADDRINUSE. The check the crash triggers looks at the ports
 * right away; a stranger that binds later, while PM2's first restart is still starting, is caught
 * by the port watch, which polls the ports through PM2's restart window and asks for a check as
 * soon as something listens. A probe answered by that stranger says nothing about the app: it is
 * neither a reason nor a sign of a hang.
 */
import type { Pm2State } from '../probes/types.js';

/** 'first': before any probe (a found squatter makes the probes moot); 'after-failure': only if a probe failed. */
export type SquatterSearch = 'first' | 'after-failure' | 'none';

/** How long after a crash the port watch polls (a squatter binds within ms of the exit). */
export const PORT_WATCH_MS = 3000;

export interface SearchInput {
  /** PM2 status of the app as this check sees it. */
  readonly state: Pm2State;
  /** Unexpected exits the bus reported since the last check. */
  readonly crashes: number;
  /** A failed remedy left the app stopped. */
  readonly leftStopped: boolean;
  /** The port watch saw something listen on a port after a crash. */
  readonly watchHit: boolean;
  /** ms since the last crash the bus reported, if any since the app was last restarted by us. */
  readonly sinceCrashMs?: number;
}

/**
 * When this check should search the app's ports for holders that are not the app. Only around
 * what PM2 itself reports (a crash, a start, giving up) or a failed remedy: a listener outside
 * the app's process tree can be the app's own proxy (docker-proxy for a container), and a search
 * while it starts would take it for a squatter.
 */
export function squatterSearch(i: SearchInput): SquatterSearch {
  if (i.crashes > 0 || i.watchHit || i.state === 'errored' || i.state === 'launching') return 'first';
  if (i.state === 'stopped' && i.leftStopped) return 'first';
  // Within the watch window after a crash: a probe that failed may have reached a stranger
  // that bound the port between two looks of the watch.
  if (i.state === 'online' && i.sinceCrashMs !== undefined && i.sinceCrashMs < PORT_WATCH_MS) return 'after-failure';
  return 'none';
}

/**
 * Does this check probe the app? Not when a squatter was found (the probe would reach the
 * squatter: up to a timeout for nothing), and not when the bus reported a crash: the exit is the
 * evidence, and the instance PM2 is starting in its place has nothing to say yet.
 */
export function probesWanted(crashes: number, squatters: number): boolean {
  return crashes === 0 && squatters === 0;
}

/**
 * The port watch's next look, `elapsedMs` after the crash: every 10 ms for the first second (the
 * window in which PM2's first restart starts; a poll is one loopback connect), every 50 ms after,
 * none past PORT_WATCH_MS.
 */
export function nextPortLook(elapsedMs: number): number | undefined {
  if (elapsedMs >= PORT_WATCH_MS) return undefined;
  return elapsedMs < 1000 ? 10 : 50;
}

/** The reason a squatter gives a remedy: who holds which port, and that it is not the app. */
export function squatterReason(s: { readonly port: number; readonly pid: number; readonly command: string }): string {
  return `port ${s.port} held by pid ${s.pid} (${s.command || '?'}), not the app: a squatter`;
}
