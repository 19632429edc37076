/**
 * A real, isolated PM2 daemon per test file: a temp PM2_HOME, set before pm2 is first loaded.
 * Teardown disconnects first, then `pm2 kill`s the daemon, ends the pids the test started, and
 * removes the home. Import this module before anything that loads pm2.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectPm2, type Pm2Port, type ProcessInfo } from '../../src/pm2/adapter.js';
import { loadPm2, type Pm2Api } from '../../src/pm2/load.js';
import { PidLedger } from './holders.js';
import { waitFor } from './wait.js';

export { waitFor };

export const ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const EXAMPLE_APP = join(ROOT, 'examples', 'helpdesk-backend', 'server.js');
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'index.js');
const require = createRequire(import.meta.url);
export const PM2_BIN = require.resolve('pm2/bin/pm2');

export interface Sandbox {
  readonly home: string;
  readonly api: Pm2Api;
  readonly pm2: Pm2Port;
  readonly env: NodeJS.ProcessEnv;
  /** Start an app in this daemon. */
  start(options: Record<string, unknown>): Promise<void>;
  list(): Promise<ProcessInfo[]>;
  /** The app's single instance, or undefined. */
  info(name: string): Promise<ProcessInfo | undefined>;
  /** Run the pm2 CLI against this home. */
  pm2Cli(args: readonly string[]): string;
  /** Spawn a process the teardown will end (by pid). */
  spawnTracked(cmd: string, args: readonly string[], options?: Parameters<typeof spawn>[2]): ChildProcess;
  /** Remember a pid for teardown. */
  track(pid: number): void;
  teardown(): Promise<void>;
}

/** Create the sandbox and start its daemon. */
export async function createSandbox(label: string): Promise<Sandbox> {
  const home = mkdtempSync(join(tmpdir(), `hdm-${label}-`));
  mkdirSync(join(home, 'tmp'), { recursive: true });
  process.env['PM2_HOME'] = home;
  process.env['PM2_DISCRETE_MODE'] = 'true';
  process.env['PM2_DISABLE_VERSION_CHECK'] = 'true';
  const env = { ...process.env, TMPDIR: join(home, 'tmp') };
  const api = loadPm2();
  const pm2 = await connectPm2({ pm2Home: home, api, callTimeoutMs: 30_000 });
  // Identity (pid + start time), so teardown never kills a pid reused by an unrelated process.
  const tracked = new PidLedger();
  const sandbox: Sandbox = {
    home, api, pm2, env,
    start: (options) => pm2.start(options),
    list: () => pm2.list(),
    info: async (name) => (await pm2.list()).find((p) => p.name === name),
    pm2Cli: (args) => execFileSync(process.execPath, [PM2_BIN, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    spawnTracked(cmd, args, options = {}) {
      const child = spawn(cmd, args, { stdio: 'ignore', ...options });
      if (child.pid) tracked.add(child.pid);
      return child;
    },
    track: (pid) => void tracked.add(pid),
    async teardown() {
      // close() returns once PM2's RPC socket has closed: the blocking `pm2 kill` below must not
      // start before that (PM2 would call its disconnect callback twice).
      await pm2.close();
      try {
        execFileSync(process.execPath, [PM2_BIN, 'kill'], { env, stdio: 'ignore', timeout: 30_000 });
      } catch {
        // the daemon may already be gone
      }
      tracked.killAll();
      rmSync(home, { recursive: true, force: true });
    },
  };
  return sandbox;
}

/** The example app's health URL on loopback. */
export function healthUrl(port: number): string {
  return `http://127.0.0.1:${port}/health`;
}

/** GET a URL on loopback; resolves with the status or 0 on any error within `timeoutMs`. */
export async function httpStatus(url: string, timeoutMs = 500): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

/** POST to a fault endpoint of the example app. */
export async function injectFault(port: number, kind: 'crash' | 'hang' | 'hang-health' | 'squat'): Promise<void> {
  await fetch(`http://127.0.0.1:${port}/__fault/${kind}`, { method: 'POST', signal: AbortSignal.timeout(2000) }).catch(() => undefined);
}

/** PM2 app options for the example backend on `port`. */
export function exampleApp(name: string, port: number, env: Record<string, string> = {}): Record<string, unknown> {
  return {
    name, script: EXAMPLE_APP, cwd: join(ROOT, 'examples', 'helpdesk-backend'),
    env: { PORT: String(port), FAULTS: '1', ...env },
    autorestart: true,
  };
}

/** The PM2 module's out log in a sandbox (empty until the module has written). */
export function moduleLogOf(sb: Sandbox): string {
  try {
    return readFileSync(join(sb.home, 'logs', 'helpdesk-monitor-out.log'), 'utf8');
  } catch {
    return '';
  }
}
