/**
 * The one door to PM2. Everything else talks to this adapter: typed process snapshots, actions by
 * pm_id with a timeout on every call (PM2 queues calls forever while its daemon is down), and the
 * bus as typed process events.
 */
import { Pm2Error, describeError } from '../errors.js';
import { daemonPidOf } from '../proc/guard.js';
import { loadPm2, type Pm2Api, type Pm2Bus, type RawProcess } from './load.js';
import { pingRpc } from './ping.js';

export interface ProcessInfo {
  readonly pmId: number;
  readonly name: string;
  /** 0 when not running. */
  readonly pid: number;
  readonly status: string;
  readonly restarts: number;
  readonly unstableRestarts: number;
  /** Wall-clock ms of the last start (PM2's pm_uptime). */
  readonly startedAt: number;
  readonly memory: number;
  readonly cpu: number;
  readonly execMode: 'fork' | 'cluster';
  readonly cwd?: string;
  readonly script?: string;
  readonly outLog?: string;
  readonly errLog?: string;
  /** A PM2 module (never monitored, never acted on). */
  readonly isModule: boolean;
  /** PM2's cron_restart expression, when the process has one. */
  readonly cronRestart?: string;
}

export interface ProcessEvent {
  readonly name: string;
  readonly pmId: number;
  /** PM2's event: exit, online, restart, stop, 'restart overlimit', ... */
  readonly event: string;
  readonly status?: string;
  readonly exitCode?: number;
  readonly manually: boolean;
  /** PM2's restart_time and pm_uptime at the event (the packet carries no pid). */
  readonly restarts?: number;
  readonly startedAt?: number;
}

/** What the bus says besides process events: it lost the daemon, or (re)connected after that. */
export type BusSignal = 'connected' | 'disconnected';

export type Pm2Action = 'stop' | 'restart' | 'reload' | 'delete';

/** What the engine and the CLI need from PM2. */
export interface Pm2Port {
  list(): Promise<ProcessInfo[]>;
  /** One process by pm_id (undefined when PM2 no longer has it): cheaper than a full list. */
  describe(pmId: number): Promise<ProcessInfo | undefined>;
  act(action: Pm2Action, pmId: number): Promise<void>;
  /** Start an ecosystem file or an app spec (wrapper commands). */
  start(config: string | Record<string, unknown>): Promise<void>;
  /** Pid of the PM2 daemon, if known: never to be killed. */
  daemonPid(): number | undefined;
  /** Subscribe to process events; returns an unsubscribe function. */
  onProcessEvent(listener: (e: ProcessEvent) => void): () => void;
  /** Subscribe to the bus's own (re)connections; returns an unsubscribe function. */
  onBusSignal(listener: (s: BusSignal) => void): () => void;
  close(): Promise<void>;
}

export interface Pm2AdapterOptions {
  readonly pm2Home: string;
  readonly callTimeoutMs?: number;
  /** Longer limit for actions: a stop waits for PM2's kill_timeout. */
  readonly actionTimeoutMs?: number;
  readonly api?: Pm2Api;
}

/** The PM2 daemon's pid from `$PM2_HOME/pm2.pid`, if any (read where the never-killed list reads it). */
export const readDaemonPid = daemonPidOf;

/**
 * Is a daemon answering in this PM2_HOME? A real round trip (pm2/ping.ts): a hung daemon whose
 * socket still accepts connections does not count. Never spawns one.
 */
export async function pingDaemon(pm2Home: string, timeoutMs = 3000): Promise<boolean> {
  return (await pingRpc(pm2Home, timeoutMs)) === 'answered';
}

/** Connect to the (already running) daemon and return the adapter. */
export async function connectPm2(options: Pm2AdapterOptions): Promise<Pm2Port> {
  const api = options.api ?? loadPm2();
  await withTimeout('connect', undefined, options.callTimeoutMs ?? 10_000, (cb) => api.connect((err) => cb(err, undefined)));
  return new Pm2Adapter(api, options);
}

class Pm2Adapter implements Pm2Port {
  private readonly listeners = new Set<(e: ProcessEvent) => void>();
  private readonly signalListeners = new Set<(s: BusSignal) => void>();
  private bus: Pm2Bus | undefined;
  private busRequested = false;
  private readonly callTimeoutMs: number;
  private readonly actionTimeoutMs: number;

  constructor(
    private readonly api: Pm2Api,
    private readonly options: Pm2AdapterOptions,
  ) {
    this.callTimeoutMs = options.callTimeoutMs ?? 5000;
    this.actionTimeoutMs = options.actionTimeoutMs ?? 30_000;
  }

  async list(): Promise<ProcessInfo[]> {
    const raw = await withTimeout<RawProcess[]>('list', undefined, this.callTimeoutMs, (cb) => this.api.list(cb));
    return raw.map(toProcessInfo);
  }

  async describe(pmId: number): Promise<ProcessInfo | undefined> {
    const raw = await withTimeout<RawProcess[]>('describe', String(pmId), this.callTimeoutMs, (cb) => this.api.describe(pmId, cb));
    return raw[0] ? toProcessInfo(raw[0]) : undefined;
  }

  async act(action: Pm2Action, pmId: number): Promise<void> {
    await withTimeout(action, String(pmId), this.actionTimeoutMs, (cb) => this.api[action](pmId, cb));
  }

  async start(config: string | Record<string, unknown>): Promise<void> {
    await withTimeout('start', undefined, this.actionTimeoutMs, (cb) => this.api.start(config, cb));
  }

  daemonPid(): number | undefined {
    return readDaemonPid(this.options.pm2Home);
  }

  onProcessEvent(listener: (e: ProcessEvent) => void): () => void {
    this.listeners.add(listener);
    this.launchBus();
    return () => this.listeners.delete(listener);
  }

  onBusSignal(listener: (s: BusSignal) => void): () => void {
    this.signalListeners.add(listener);
    this.launchBus();
    return () => this.signalListeners.delete(listener);
  }

  private launchBus(): void {
    if (this.busRequested) return;
    this.busRequested = true;
    // The bus reconnects by itself after a daemon restart, so one subscription lasts; its socket
    // says 'connect' again each time, and events sent while it was away are lost: tell listeners.
    this.api.launchBus((err, bus, socket) => {
      if (err) return;
      this.bus = bus;
      bus.on('process:event', (data) => {
        const e = toProcessEvent(data);
        if (e) for (const l of this.listeners) l(e);
      });
      // Its client socket says 'reconnect attempt' after losing the daemon (and again at each try).
      let down = false;
      const tell = (signal: BusSignal): void => {
        if (down === (signal === 'disconnected')) return;
        down = signal === 'disconnected';
        for (const l of this.signalListeners) l(signal);
      };
      socket?.on?.('reconnect attempt', () => tell('disconnected'));
      socket?.on?.('connect', () => tell('connected'));
    });
  }

  async close(): Promise<void> {
    this.listeners.clear();
    // PM2 7's disconnectBus arms a 200 ms fallback that reads `Client.sub_sock` (the class, not
    // the instance: a typo) and so throws from a timer when the bus socket has not said 'close'
    // by then, as when we close right after launching the bus (a start that fails, which the
    // module retries in the same process). Give the class the property it reads: the fallback
    // then just ends quietly.
    const klass = (this.api as { Client?: { constructor?: { sub_sock?: unknown } } }).Client?.constructor;
    if (klass && klass.sub_sock === undefined) klass.sub_sock = {};
    try {
      this.bus?.close?.();
    } catch {
      // a bus that is already gone is closed enough
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000);
      this.api.disconnect(() => {
        clearTimeout(t);
        resolve();
      });
    });
    await this.rpcClosed();
  }

  /**
   * PM2's disconnect can call back before its RPC socket has closed (once the bus is closed, its
   * disconnectBus answers at once). Anything that then blocks the event loop past PM2's 200 ms
   * fallback timer makes PM2 call back twice: an uncaught "Callback was already called" in the
   * caller. Wait (bounded) for the socket's own 'close'.
   */
  private rpcClosed(): Promise<void> {
    const sock = (this.api as { Client?: { client_sock?: { connected?: boolean; once?(event: 'close', f: () => void): unknown } } }).Client?.client_sock;
    if (!sock?.once || sock.connected === false) return Promise.resolve();
    const once = sock.once.bind(sock);
    return new Promise((resolve) => {
      const t = setTimeout(resolve, 2000);
      once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

function withTimeout<T>(
  operation: string,
  target: string | undefined,
  ms: number,
  call: (cb: (err: Error | null, value: T) => void) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Pm2Error(operation, `no answer from the PM2 daemon within ${ms} ms`, target)), ms);
    try {
      call((err, value) => {
        clearTimeout(t);
        if (err) reject(new Pm2Error(operation, describeError(err), target, { cause: err }));
        else resolve(value);
      });
    } catch (err) {
      clearTimeout(t);
      reject(new Pm2Error(operation, describeError(err), target, { cause: err }));
    }
  });
}

function toProcessInfo(p: RawProcess): ProcessInfo {
  const env = p.pm2_env ?? {};
  return {
    pmId: p.pm_id ?? -1,
    name: p.name ?? '',
    pid: p.pid ?? 0,
    status: env.status ?? 'unknown',
    restarts: env.restart_time ?? 0,
    unstableRestarts: env.unstable_restarts ?? 0,
    startedAt: env.pm_uptime ?? 0,
    memory: p.monit?.memory ?? 0,
    cpu: p.monit?.cpu ?? 0,
    execMode: env.exec_mode === 'cluster_mode' ? 'cluster' : 'fork',
    ...(env.pm_cwd ? { cwd: env.pm_cwd } : {}),
    ...(env.pm_exec_path ? { script: env.pm_exec_path } : {}),
    ...(env.pm_out_log_path ? { outLog: env.pm_out_log_path } : {}),
    ...(env.pm_err_log_path ? { errLog: env.pm_err_log_path } : {}),
    isModule: env.pmx_module === true,
    ...(typeof env.cron_restart === 'string' && env.cron_restart.trim() !== '' && env.cron_restart.trim() !== '0' ? { cronRestart: env.cron_restart } : {}),
  };
}

/** Pick the few fields we need: data.process is the whole pm2_env, secrets included. */
function toProcessEvent(data: unknown): ProcessEvent | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const d = data as {
    event?: unknown;
    manually?: unknown;
    process?: { name?: unknown; pm_id?: unknown; status?: unknown; exit_code?: unknown; restart_time?: unknown; pm_uptime?: unknown };
  };
  if (typeof d.event !== 'string' || typeof d.process?.name !== 'string') return undefined;
  return {
    name: d.process.name,
    pmId: typeof d.process.pm_id === 'number' ? d.process.pm_id : -1,
    event: d.event,
    ...(typeof d.process.status === 'string' ? { status: d.process.status } : {}),
    ...(typeof d.process.exit_code === 'number' ? { exitCode: d.process.exit_code } : {}),
    manually: d.manually === true,
    ...(typeof d.process.restart_time === 'number' ? { restarts: d.process.restart_time } : {}),
    ...(typeof d.process.pm_uptime === 'number' ? { startedAt: d.process.pm_uptime } : {}),
  };
}
