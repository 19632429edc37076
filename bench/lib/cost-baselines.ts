/**
 * Baselines of the monitor-cost benchmark that are not the floor: the memory of a bare Node
 * process that only loads the monitor's big dependencies, and (behind --cron) the classic cron
 * script, one `pm2 jlist` + one curl per app per run.
 */
import { spawn } from 'node:child_process';
import { PM2_BIN, ROOT } from '../../test/helpers/sandbox.js';
import { memoryOf, reapedChildrenCpuMs, type Memory } from './proc.js';

const sleep = (msec: number): Promise<void> => new Promise((r) => setTimeout(r, msec));

/** A bare Node process that loads pm2 + axios + winston (optionally connects and lists): its VmRSS 3 s later. */
export async function bareShell(env: NodeJS.ProcessEnv, connect: boolean): Promise<Memory> {
  const code = `require('pm2');require('axios');require('winston');` +
    (connect
      ? `const pm2=require('pm2');pm2.connect(e=>{if(e)process.exit(4);pm2.list(()=>console.log('ready'))});`
      : `console.log('ready');`) +
    `setInterval(()=>{},1000);`;
  const child = spawn(process.execPath, ['-e', code], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('the bare shell did not start within 20 s')), 20_000);
      child.stdout.setEncoding('utf8').once('data', () => {
        clearTimeout(t);
        resolve();
      });
      child.once('exit', (c) => reject(new Error(`the bare shell exited ${c}`)));
    });
    await sleep(3000); // let start-up garbage settle
    const mem = memoryOf(child.pid!);
    if (!mem) throw new Error('cannot read the bare shell memory');
    return mem;
  } finally {
    child.kill('SIGKILL');
  }
}

/** Run a child to completion; its CPU (utime+stime once reaped, ms) and wall time. */
function timedChild(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ cpuMs: number; wallMs: number; code: number | null }> {
  return new Promise((resolve, reject) => {
    const c0 = reapedChildrenCpuMs();
    const t0 = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'ignore'] });
    child.once('error', reject);
    // 'exit' fires after the child was reaped, so its CPU is in our cutime/cstime by then.
    child.once('exit', (code) => resolve({ cpuMs: reapedChildrenCpuMs() - c0, wallMs: performance.now() - t0, code }));
  });
}

export interface CronPass {
  readonly jlistCpuMs: number;
  readonly curlCpuMs: number;
  readonly cpuMs: number;
  readonly wallMs: number;
}

/** The classic cron script, `passes` times one interval apart: `pm2 jlist` + one curl per port. */
export async function cronScript(env: NodeJS.ProcessEnv, ports: readonly number[], passes: number, intervalMs: number, progress: (t: string) => void): Promise<CronPass[]> {
  const script = `for p in ${ports.join(' ')}; do curl -s -o /dev/null -m 2 http://127.0.0.1:$p/health; done`;
  const out: CronPass[] = [];
  for (let i = 0; i < passes; i++) {
    progress(`cron script: pass ${i + 1}/${passes}`);
    const j = await timedChild(process.execPath, [PM2_BIN, 'jlist'], { ...env, PM2_DISCRETE_MODE: 'true' });
    const c = await timedChild('bash', ['-c', script], env);
    if (j.code !== 0 || c.code !== 0) throw new Error(`cron pass: pm2 jlist exited ${j.code}, the curl loop ${c.code}`);
    out.push({ jlistCpuMs: j.cpuMs, curlCpuMs: c.cpuMs, cpuMs: j.cpuMs + c.cpuMs, wallMs: j.wallMs + c.wallMs });
    await sleep(intervalMs);
  }
  return out;
}
