/**
 * `npm run bench:cost`: CPU and memory of the monitor, as `run` and as the installed PM2 module,
 * watching 10, 50 and 200 small HTTP apps under one isolated PM2 daemon, each beside the
 * in-process floor of the same size (pm2.list() + one keep-alive GET per app per interval),
 * measured one after the other in the same run. Prints one table, writes JSON to bench/results/.
 * See bench/README.md.
 */
import { readFileSync, readlinkSync, rmSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchFlags, listFlag, runBench } from './lib/args.js';
import { bareShell, cronScript } from './lib/cost-baselines.js';
import { APP_SOURCE, appName, startApps } from './lib/cost-apps.js';
import { measureFloor, measureWatcher } from './lib/cost-measure.js';
import { killRunningCli, MODULE, ModuleHost } from './lib/cost-module.js';
import { notes, renderTable, sizesJson, TARGETS, type SizeResult, type TargetResult } from './lib/cost-report.js';
import { startRun, writeCostConfig, type TargetName, type Watcher } from './lib/cost-targets.js';
import { Lab } from './lib/lab.js';
import { findFreePorts, portHolders } from './lib/ports.js';
import { isRunning, machine, ms, pm2Version, startTicksOf, writeResults } from './lib/proc.js';
import { Output } from './lib/progress.js';

const HELP = `Usage: npm run bench:cost -- [--sizes 10,50,200] [--targets run,module] [--duration S]
                              [--rss-minutes M] [--quick] [--warmup S] [--port FIRST] [--cron]

CPU and memory of helpdesk-monitor, as \`run\` and as the installed PM2 module, watching N small
HTTP apps under an isolated PM2 (interval 1 s; 5 s from 200 apps up), each beside the in-process
floor of the same size, measured one after the other.

  --sizes LIST      app counts (default 10,50,200)
  --targets LIST    run, module or both (default run,module)
  --duration S      CPU window of the floor and of each monitor (default 60)
  --rss-minutes M   long window for RSS and its slope, containing the CPU window
                    (default 10 at 50 apps, 2 at other sizes)
  --quick           sizes 10,50, 20 s CPU windows, 1 min RSS windows (a few minutes);
                    explicit flags still win
  --warmup S        after every app has been probed twice, before each window (default 5,
                    at least two intervals)
  --port FIRST      first loopback port (default 31800, below Linux's ephemeral range and the
                    tests' ports; the first max(sizes) free ones from there are used)
  --cron            also time the classic cron script (pm2 jlist + one curl per app), 5 passes
`;

const { values: opts } = parseArgs({
  options: {
    sizes: { type: 'string' },
    targets: { type: 'string', default: 'run,module' },
    duration: { type: 'string' },
    'rss-minutes': { type: 'string' },
    quick: { type: 'boolean', default: false },
    warmup: { type: 'string', default: '5' },
    port: { type: 'string', default: '31800' },
    cron: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
const intArg = benchFlags(HELP, opts.help);
const SIZES = listFlag(HELP, 'sizes', opts.sizes ?? (opts.quick ? '10,50' : '10,50,200'), (s) => /^\d+$/.test(s) && Number(s) >= 1 && Number(s) <= 1000, 'app counts 1-1000, comma-separated')
  .map(Number).sort((a, b) => a - b);
const TARGET_NAMES = listFlag(HELP, 'targets', opts.targets, (s) => s === 'run' || s === 'module', 'run, module or run,module') as TargetName[];
const DURATION_MS = intArg('duration', opts.duration ?? (opts.quick ? '20' : '60'), 5) * 1000;
const RSS_MINUTES = opts['rss-minutes'] !== undefined ? intArg('rss-minutes', opts['rss-minutes'], 1) : opts.quick ? 1 : undefined;
const WARMUP_MS = intArg('warmup', opts.warmup, 0) * 1000;
const FIRST_PORT = intArg('port', opts.port, 1024);
const intervalFor = (apps: number): number => (apps >= 200 ? 5000 : 1000);
const longFor = (apps: number): number => Math.max(DURATION_MS, (RSS_MINUTES ?? (apps === 50 ? 10 : 2)) * 60_000);

const out = new Output(process.stderr);
const lab = new Lab('bench-cost', (l) => out.line(l));
const progress = (text: string): void => out.progress(text, 10_000);
let workdir: string | undefined;
let ports: number[] = [];
let host: ModuleHost | undefined;

/** Start, measure and stop one target at one size; a failure is recorded, not thrown. */
async function measureTarget(target: TargetName, apps: number, intervalMs: number): Promise<TargetResult> {
  const config = writeCostConfig(lab.home, ports.slice(0, apps).map((port, i) => ({ name: appName(i), port })), {
    interval: `${intervalMs / 1000}s`, timeout: '500ms', failureThreshold: 3, startupGrace: '1s',
  }, join(lab.home, `state-${target}-${apps}`));
  let w: Watcher | undefined;
  try {
    w = target === 'run' ? startRun(lab, config) : await host!.start();
    out.line(`  ${target}: pid ${w.pid}, ${apps} apps, CPU window ${DURATION_MS / 1000} s, RSS window ${longFor(apps) / 60_000} min`);
    const window = await measureWatcher(w, {
      ports: ports.slice(0, apps), intervalMs, warmupMs: Math.max(WARMUP_MS, 2 * intervalMs), durationMs: DURATION_MS,
      longMs: longFor(apps), daemonPid: lab.daemonPid(), progress,
    });
    return { target, window, problems: [...w.problems] };
  } catch (err) {
    if (lab.interrupted) throw err;
    const error = err instanceof Error ? err.message : String(err);
    out.line(`  ${target}: FAILED: ${error}`);
    return { target, error, problems: [...(w?.problems ?? [])] };
  } finally {
    out.done();
    await w?.stop().catch((e: unknown) => out.line(`  ${target}: stopping failed: ${e instanceof Error ? e.message : String(e)}`));
  }
}

async function main(): Promise<number> {
  const startedAt = new Date();
  const started = performance.now();
  const max = SIZES[SIZES.length - 1]!;
  out.line(`monitor-cost benchmark: sizes ${SIZES.join(', ')}, targets ${TARGET_NAMES.join(', ')}, CPU windows ${DURATION_MS / 1000} s, ` +
    `RSS windows ${SIZES.map((s) => `${longFor(s) / 60_000} min at ${s}`).join(', ')}; ${cpus().length} CPU(s), node ${process.version}, pm2 ${pm2Version()}`);
  ports = await findFreePorts(FIRST_PORT, max, max + 200).catch(() => {
    throw new Error(`no ${max} free ports from ${FIRST_PORT} on (use --port)`);
  });
  workdir = mkdtempSync(join(tmpdir(), 'hdm-bench-cost-'));
  const script = join(workdir, 'tiny-app.js');
  writeFileSync(script, APP_SOURCE);
  const sb = await lab.open();
  out.line(`isolated PM2_HOME ${sb.home}; apps run ${script} on 127.0.0.1:${ports[0]}-${ports[max - 1]}`);
  if (TARGET_NAMES.includes('module')) {
    host = new ModuleHost(sb, progress);
    await host.install(join(sb.home, 'monitor.yaml'), workdir);
    out.done();
    out.line(`module: ${host.tarball} installed in ${ms(host.installMs, 0)}, stopped until measured`);
  }

  const sizes: SizeResult[] = [];
  let running = 0;
  for (const apps of SIZES) {
    const intervalMs = intervalFor(apps);
    out.line(`\n== ${apps} apps, interval ${intervalMs / 1000} s`);
    const t0 = performance.now();
    await startApps(sb, { script, cwd: workdir, ports, from: running, to: apps, onProgress: progress });
    running = apps;
    const appsStartMs = performance.now() - t0;
    out.done();
    out.line(`  ${apps} apps answer (started in ${ms(appsStartMs, 0)})`);

    let floor: SizeResult['floor'];
    let floorError: string | undefined;
    try {
      floor = await measureFloor(sb.pm2, { ports: ports.slice(0, apps), intervalMs, warmupMs: Math.max(WARMUP_MS, 2 * intervalMs), durationMs: DURATION_MS, daemonPid: lab.daemonPid(), progress });
      out.done();
      out.line(`  floor: ${floor.passes} passes, ${((floor.cpuMs * 1000) / floor.wallMs).toFixed(2)} CPU ms/s`);
    } catch (err) {
      if (lab.interrupted) throw err;
      floorError = err instanceof Error ? err.message : String(err);
      out.done();
      out.line(`  floor: FAILED: ${floorError}`);
    }
    const targets: TargetResult[] = [];
    for (const t of TARGET_NAMES) targets.push(await measureTarget(t, apps, intervalMs));
    progress('bare node shells (memory baseline)');
    const bare = { plain: await bareShell(sb.env, false), connected: await bareShell(sb.env, true) };
    const cron = opts.cron ? await cronScript(sb.env, ports.slice(0, apps), 5, intervalMs, progress) : undefined;
    out.done();
    sizes.push({
      apps, intervalMs, longMs: longFor(apps), ports: [ports[0]!, ports[apps - 1]!], appsStartMs,
      ...(floor ? { floor } : { floorError: floorError ?? '?' }), targets, bare, ...(cron ? { cron } : {}),
    });
  }

  const text = renderTable(sizes);
  const noteLines = [
    ...notes(sizes),
    `machine load average at the end: ${(machine()['loadavg'] as number[]).map((x) => x.toFixed(2)).join(', ')} (other work on the machine adds to every column)`,
  ];
  const doc = {
    benchmark: 'monitor-cost',
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
    machine: machine(),
    options: { sizes: SIZES, targets: TARGET_NAMES, durationMs: DURATION_MS, rssMinutes: RSS_MINUTES ?? 'default (10 at 50 apps, 2 otherwise)', warmupMs: WARMUP_MS, quick: opts.quick, cron: opts.cron },
    monitorConfig: { interval: '1s (5s from 200 apps)', timeout: '500ms', failure_threshold: 3, startup_grace: '1s', ports: '[port]', state_dir: 'one per target x size' },
    method: {
      floor: 'in this process: pm2.list() through src/pm2/adapter + one keep-alive GET /health per app, fixed rate; CPU = process.cpuUsage()',
      run: 'node dist/src/cli/index.js run --config <yaml>; CPU = utime+stime from /proc/<pid>/stat',
      module: `npm pack + pm2 set ${MODULE}:config <yaml> + pm2 install <tgz> (node_args from package.json apps), pm2 restart per measurement, pid from pm2 jlist (pmx_module); CPU as for run`,
      ticks: 'from the stamps each app keeps of its /health requests: skipped = gaps > 1.5 intervals, doubled = gaps < 0.5 intervals',
      slope: 'least squares over per-second VmRSS samples of the long window',
    },
    module: host ? { tarball: host.tarball, installMs: Math.round(host.installMs) } : null,
    targets: { ...TARGETS, perProbeAt200: 'no higher than at 50' },
    sizes: sizesJson(sizes),
    table: text.split('\n'),
    notes: noteLines,
  };
  const [file, latest] = writeResults('monitor-cost', startedAt, doc);
  process.stdout.write(`\n${text}\n\n${noteLines.map((n) => `- ${n}`).join('\n')}\n\nresults: ${file}\n         ${latest}\n`);
  return sizes.some((s) => !s.floor || s.targets.some((t) => !t.window)) ? 1 : 0;
}

async function cleanup(): Promise<void> {
  out.done();
  const cli = killRunningCli();
  if (cli.length) out.line(`cleanup: ended the unfinished pm2/npm command(s) (process groups ${cli.join(', ')})`);
  progress('cleanup: pm2 kill');
  for (const n of await lab.cleanup()) out.line(`cleanup: ${n}`);
  // pm2 kill ends the module; if it could not, end the module pids we saw, if still the same processes.
  for (const [pid, ticks] of host?.seen ?? []) {
    if (ticks === undefined || !isRunning(pid) || startTicksOf(pid) !== ticks) continue;
    try {
      process.kill(pid, 'SIGKILL');
      out.line(`cleanup: killed leftover module pid ${pid}`);
    } catch {
      // gone
    }
  }
  // ...and whatever of ours (cwd = our temp dir) still holds our ports.
  if (workdir) {
    // One /proc snapshot for all ports (each read of /proc/net/tcp costs milliseconds).
    for (const { pid, port } of portHolders(ports)) {
      try {
        // PM2 runs fork-mode apps as `node .../ProcessContainerFork.js`: tell ours by their cwd.
        if (readlinkSync(`/proc/${pid}/cwd`) !== workdir && !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(workdir)) continue;
        process.kill(pid, 'SIGKILL');
        out.line(`cleanup: killed leftover app pid ${pid} on port ${port}`);
      } catch {
        // gone
      }
    }
    rmSync(workdir, { recursive: true, force: true });
  }
  out.done();
}

runBench(main, cleanup, out, () => {
  const m = lab.monitor;
  if (m) out.line(`last run-monitor lines:\n${m.lines.slice(-10).map((l) => `  | ${l.text}`).join('\n')}`);
});
