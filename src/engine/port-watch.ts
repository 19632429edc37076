/**
 * The port watch after a crash (the policy and its reasons: squat-policy.ts). PM2 restarts the app
 * at once; a stranger may bind its port a few ms after the exit, before the restarted instance
 * does. The check the crash triggers looks at the ports once; this keeps looking through PM2's
 * restart window, cheaply (one loopback connect per port: no /proc scan, which costs ~10 ms per
 * read of the TCP tables), and asks for a check as soon as something listens. That check searches
 * /proc for holders that are not the app; if the app itself took the port, it just probes it.
 * The watch ends at the first listener, at the end of the window, or when disarmed.
 */
import { probeTcp } from '../probes/tcp.js';
import { nextPortLook } from './squat-policy.js';

/** A connect on loopback is answered at once (accepted or refused); this only bounds a stuck one. */
const CONNECT_MS = 100;

export class PortWatch {
  private timer: NodeJS.Timeout | undefined;
  private armedAt = 0;
  /** Bumped by arm() and disarm(): a look in flight from an older round must not act. */
  private round = 0;
  private seen = false;

  constructor(
    private readonly ports: readonly number[],
    private readonly now: () => number,
    private readonly onListen: () => void,
  ) {}

  /** A crash: watch (again) from now. */
  arm(): void {
    if (this.ports.length === 0) return;
    this.stopTimer();
    this.round++;
    this.armedAt = this.now();
    this.schedule(nextPortLook(0) ?? 0);
  }

  /** Stop watching (a remedy restarted the app, or the worker stops). */
  disarm(): void {
    this.stopTimer();
    this.round++;
    this.seen = false;
  }

  /** Did the watch see a listener since the last call? (Read once by the check it asked for.) */
  take(): boolean {
    const seen = this.seen;
    this.seen = false;
    return seen;
  }

  private stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(ms: number): void {
    const round = this.round;
    this.timer = setTimeout(() => void this.look(round), ms);
    // A watch never keeps the process alive on its own.
    this.timer.unref();
  }

  private async look(round: number): Promise<void> {
    this.timer = undefined;
    const outcomes = await Promise.all(this.ports.map((port) => probeTcp({ host: '127.0.0.1', port, timeoutMs: CONNECT_MS })));
    if (round !== this.round) return;
    if (outcomes.some((o) => o.ok)) {
      this.seen = true;
      this.onListen();
      return;
    }
    const next = nextPortLook(this.now() - this.armedAt);
    if (next !== undefined) this.schedule(next);
  }
}
