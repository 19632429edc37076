/**
 * The late squatter of issue 12 (for the crash-squatter test and the time-to-healthy bench): a
 * process of the same user, outside the app (no PM2 marks, not a descendant of the app), that
 * binds the app's port just after the app crashed. It is spawned
 * and armed before the fault (a `node -e` start-up takes tens of ms), then told to bind by a
 * signal, so it binds within a millisecond of the moment the bench chooses. Like any stray
 * listener it accepts connections and never answers them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { withoutPm2Marks } from '../../src/proc/read.js';

const CODE = `
if (process.env.SQUAT_IGNORE_TERM === '1') process.on('SIGTERM', () => process.stdout.write('ignored SIGTERM\\n'));
const server = require('net').createServer();
let until = 0;
const bind = () => server.listen(Number(process.env.SQUAT_PORT), '127.0.0.1');
process.on('SIGUSR2', () => { until = Date.now() + Number(process.env.SQUAT_RETRY_MS || 0); bind(); });
server.on('error', (e) => {
  if (e.code === 'EADDRINUSE' && Date.now() < until) return void setTimeout(bind, 2);
  process.stdout.write('error ' + e.code + '\\n');
});
server.on('listening', () => process.stdout.write('listening\\n'));
setInterval(() => {}, 60000);
process.stdout.write('armed\\n');
`;

export interface ArmedSquatter {
  readonly pid: number;
  /** Bind the port now. */
  fire(): void;
  /** Did it bind (false: the app's new instance got there first, EADDRINUSE)? */
  readonly outcome: Promise<'listening' | 'lost' | 'exited'>;
  readonly child: ChildProcess;
}

export interface SquatterOptions {
  /** Ignore SIGTERM (only SIGKILL ends it: a remedy waits its whole kill_grace). */
  readonly ignoreTerm?: boolean;
  /** Keep trying to bind for this long (ms) while the port is still in use (a SIGKILLed holder's socket closes a moment later). */
  readonly retryMs?: number;
  /** A command to run it through, e.g. `setpriv --reuid U --regid G --clear-groups --` (another user's squatter). */
  readonly prefix?: readonly string[];
}

/**
 * Spawn the squatter in `cwd` (the app's directory, so kill_scope app may judge it the app's by
 * the cwd rule; anywhere else only kill_scope user would) and wait until it is armed.
 */
export async function armSquatter(port: number, cwd: string, env: NodeJS.ProcessEnv, options: SquatterOptions = {}): Promise<ArmedSquatter> {
  const [cmd, ...pre] = options.prefix?.length ? options.prefix : [process.execPath];
  const args = options.prefix?.length ? [...pre, process.execPath, '-e', CODE] : ['-e', CODE];
  const child = spawn(cmd!, args, {
    cwd, detached: true, stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...withoutPm2Marks(env), SQUAT_PORT: String(port), ...(options.ignoreTerm ? { SQUAT_IGNORE_TERM: '1' } : {}), ...(options.retryMs ? { SQUAT_RETRY_MS: String(options.retryMs) } : {}) },
  });
  child.unref();
  const pid = child.pid;
  if (!pid) throw new Error('could not spawn the late squatter');
  let buf = '';
  let armed: () => void = () => undefined;
  let settle: (o: 'listening' | 'lost' | 'exited') => void = () => undefined;
  const ready = new Promise<void>((r) => (armed = r));
  const outcome = new Promise<'listening' | 'lost' | 'exited'>((r) => (settle = r));
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    buf += chunk;
    if (buf.includes('armed')) armed();
    if (buf.includes('listening')) settle('listening');
    if (buf.includes('error')) settle('lost');
  });
  child.once('exit', () => {
    armed();
    settle('exited');
  });
  (child.stdout as { unref?: () => void } | null)?.unref?.();
  await ready;
  return {
    pid, child, outcome,
    fire: () => {
      try {
        process.kill(pid, 'SIGUSR2');
      } catch {
        // gone
      }
    },
  };
}

/** End a squatter the monitor did not (it lost the race, or the scope refused it). */
export function endSquatter(s: ArmedSquatter): void {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  try {
    process.kill(s.pid, 'SIGKILL');
  } catch {
    // gone
  }
}
