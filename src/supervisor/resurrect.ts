/**
 * Running `pm2 resurrect` for a PM2_HOME: PM2's own CLI (it spawns the daemon, which relaunches
 * the installed modules, then restores the dump), as a child with a hard deadline and an
 * environment set explicitly: PM2_HOME, the PM2_HOME owner's user, HOME and LOGNAME, and a PATH
 * with this node's directory first. The daemon inherits that environment, and so do the apps it
 * starts: a daemon born from a timer's bare environment would start them with another node, or
 * none (nvm users, Unitech/pm2#3304). Our own secrets (HELPDESK_MONITOR_*) and any app's PM2
 * marks are left out.
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathWithNode } from '../paths.js';
import { withoutPm2Marks } from '../proc/read.js';
import { passwdEntry, userName } from '../proc/users.js';

export interface ResurrectRun {
  readonly ok: boolean;
  readonly ms: number;
  /** The last lines PM2 printed (bounded), for the log when it failed. */
  readonly output: string;
  readonly why?: string;
}

/** Who the daemon runs as: the PM2_HOME owner. Root may act for another user; anyone else only for themselves. */
export interface DaemonUser {
  readonly uid: number;
  readonly gid: number;
  readonly name: string;
  readonly home: string;
}

/** The owner of `home`, or why we cannot start a daemon as them. */
export function daemonUser(pm2Home: string): { user?: DaemonUser; why?: string } {
  let owner: { uid: number; gid: number };
  try {
    owner = statSync(pm2Home);
  } catch (err) {
    return { why: `cannot read PM2_HOME ${pm2Home} (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
  }
  const me = process.getuid?.() ?? owner.uid;
  if (me !== 0 && me !== owner.uid) {
    return { why: `PM2_HOME ${pm2Home} belongs to ${userName(owner.uid) ?? `uid ${owner.uid}`}; this monitor runs as ${userName(me) ?? `uid ${me}`} and cannot start a daemon for another user` };
  }
  const entry = passwdEntry(owner.uid);
  return { user: { uid: owner.uid, gid: entry?.gid ?? owner.gid, name: entry?.name ?? String(owner.uid), home: entry?.home ?? process.env['HOME'] ?? '/' } };
}

/** The daemon's environment (pure, from ours). */
export function resurrectEnv(env: NodeJS.ProcessEnv, pm2Home: string, user: DaemonUser, nodeExec: string): NodeJS.ProcessEnv {
  const out = withoutPm2Marks(env);
  for (const k of Object.keys(out)) if (k.startsWith('HELPDESK_MONITOR_') || k === 'helpdesk-monitor') delete out[k];
  const rest = (env['PATH'] ?? '').split(':').filter(Boolean);
  return {
    ...out,
    PM2_HOME: pm2Home,
    PATH: pathWithNode(nodeExec, rest.length > 0 ? rest : undefined),
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    PM2_DISCRETE_MODE: 'true',
  };
}

const MAX_OUTPUT = 4000;

/** Run `pm2 resurrect`; never throws. The child is ours: past the deadline it is killed by its pid. */
export function runResurrect(pm2Home: string, user: DaemonUser, timeoutMs: number): Promise<ResurrectRun> {
  const started = performance.now();
  const bin = createRequire(import.meta.url).resolve('pm2/bin/pm2');
  const asOther = process.getuid?.() === 0 && user.uid !== 0;
  return new Promise((resolve) => {
    let output = '';
    let settled = false;
    const done = (ok: boolean, why?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ok, ms: Math.round(performance.now() - started), output: output.slice(-MAX_OUTPUT), ...(why ? { why } : {}) });
    };
    const child = spawn(process.execPath, [bin, 'resurrect', '--no-color'], {
      env: resurrectEnv(process.env, pm2Home, user, process.execPath),
      cwd: user.home,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(asOther ? { uid: user.uid, gid: user.gid } : {}),
    });
    const take = (b: Buffer): void => {
      output = (output + b.toString('utf8')).slice(-MAX_OUTPUT * 2);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      done(false, `pm2 resurrect did not finish within ${timeoutMs} ms`);
    }, timeoutMs);
    child.on('error', (err) => done(false, `cannot run pm2 resurrect: ${err.message}`));
    const ended = (code: number | null, signal: NodeJS.Signals | null): void => done(code === 0, code === 0 ? undefined : `pm2 resurrect ended with ${signal ?? `exit code ${code}`}`);
    child.on('close', ended);
    // 'close' waits for every copy of the pipes; should something PM2 started keep one, the exit is enough.
    child.on('exit', (code, signal) => setTimeout(() => ended(code, signal), 500).unref());
  });
}
