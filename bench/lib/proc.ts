/**
 * /proc readings and result files for the benchmarks: a process's CPU time and memory, the CPU
 * of our reaped children, the machine, and the JSON files in bench/results/ (Linux).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../test/helpers/sandbox.js';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
export const CLK_TCK = ((): number => {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
})();

/** Fields of /proc/<pid>/stat after the command name (index 0 = state). */
function statFields(pid: number | 'self'): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** utime + stime of a process, in ms (10 ms resolution), or undefined when it is gone. */
export function cpuMsOf(pid: number): number | undefined {
  const f = statFields(pid);
  return f ? ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK : undefined;
}

/**
 * cutime + cstime of this process, in ms: the CPU of every child we have reaped (and of the
 * children they reaped). A child's CPU shows up here once its exit has been handled.
 */
export function reapedChildrenCpuMs(): number {
  const f = statFields('self');
  return f ? ((Number(f[13]) + Number(f[14])) * 1000) / CLK_TCK : NaN;
}

export interface Memory {
  /** VmRSS, KiB. */
  readonly rssKiB: number;
  /** VmHWM (peak RSS so far), KiB. */
  readonly hwmKiB: number;
}

/** VmRSS / VmHWM of a process, or undefined when unreadable. */
export function memoryOf(pid: number): Memory | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    const m = { rssKiB: kib('VmRSS'), hwmKiB: kib('VmHWM') };
    return Number.isFinite(m.rssKiB) ? m : undefined;
  } catch {
    return undefined;
  }
}

/** Start time in clock ticks since boot (tells a reused pid from ours), or undefined when gone. */
export function startTicksOf(pid: number): number | undefined {
  const f = statFields(pid);
  return f ? Number(f[19]) : undefined;
}

/** Running and not a zombie. */
export function isRunning(pid: number): boolean {
  const f = statFields(pid);
  return f !== undefined && f[0] !== 'Z' && f[0] !== 'X';
}

export const mib = (kib: number): string => (kib / 1024).toFixed(1);

export function pm2Version(): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'pm2', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

/** What the JSON records about the machine. */
export function machine(): Record<string, unknown> {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '?',
    memMiB: Math.round(totalmem() / 2 ** 20),
    loadavg: loadavg(),
    node: process.version,
    pm2: pm2Version(),
    platform: process.platform,
  };
}

/** Write bench/results/<name>-<timestamp>.json and latest-<name>.json; returns both paths. */
export function writeResults(name: string, startedAt: Date, doc: unknown): [string, string] {
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const file = join(dir, `${name}-${stamp}.json`);
  const latest = join(dir, `latest-${name}.json`);
  const json = `${JSON.stringify(doc, null, 2)}\n`;
  writeFileSync(file, json);
  writeFileSync(latest, json);
  return [file, latest];
}

/** "1.23x" */
export function ratio(a: number, b: number, digits = 2): string {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(digits)}x` : 'n/a';
}

/** "12.3 ms", "never" */
export function ms(v: number, digits = 1): string {
  return Number.isFinite(v) ? `${v.toFixed(digits)} ms` : 'never';
}
