/**
 * `npm run bench:ports`: free a squatted port (find every holder + kill + confirm free), ours
 * (runFreePorts, runFreePortsSync) against fkill, find-process and a raw /proc scan, in the same
 * run, on the same loopback port. Then the same with TWO holders sharing one socket (a parent that
 * handed its server to a child): the tools that resolve one pid per port leave one behind.
 * Prints tables and writes JSON to bench/results/. See bench/README.md.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import findProcess from 'find-process';
import fkill from 'fkill';
import { runFreePorts } from '../src/ports/async.js';
import { buildScope } from '../src/ports/context.js';
import type { FreePortsResult } from '../src/ports/free-port.js';
import { listeningInodes, socketOwners } from '../src/proc/sockets.js';
import { runFreePortsSync, snapshotSync } from '../src/ports/sync.js';
import { canBind, holderPids, listening, spawnHolder, Tracker, waitFree } from './lib/holders.js';
import { findFreePorts } from './lib/ports.js';
import { machine, ms, ratio, writeResults } from './lib/proc.js';
import { Output } from './lib/progress.js';
import { jsonNumber, summarize, summaryJson, table, type Summary } from './lib/stats.js';
import { benchFlags } from './lib/args.js';

const HELP = `Usage: npm run bench:ports -- [--trials N] [--pair-trials N] [--cap MS] [--port FIRST]

Free a squatted loopback port (find every holder, kill, confirm free) with helpdesk-monitor's
ports module (async and sync drivers), fkill, find-process + process.kill, and a raw /proc scan.

  --trials N       timed trials per method, one holder (default 20)
  --pair-trials N  trials per method with two holders sharing the socket (default 10)
  --cap MS         how long a method gets before the port counts as never freed (default 1000)
  --port FIRST     first loopback port to try (default 47900; one is used)
`;

const { values: opts } = parseArgs({
  options: {
    trials: { type: 'string', default: '20' },
    'pair-trials': { type: 'string', default: '10' },
    cap: { type: 'string', default: '1000' },
    port: { type: 'string', default: '47900' },
    help: { type: 'boolean', short: 'h' },
  },
});
const intArg = benchFlags(HELP, opts.help);
const TRIALS = intArg('trials', opts.trials, 1);
const PAIR_TRIALS = intArg('pair-trials', opts['pair-trials'], 0);
const CAP_MS = intArg('cap', opts.cap, 10);
const FIRST_PORT = intArg('port', opts.port, 1024);

const out = new Output(process.stderr);
const tracker = new Tracker();

type MethodKey = 'ours' | 'ours-sync' | 'fkill' | 'find-process' | 'proc-floor';

interface Method {
  readonly key: MethodKey;
  readonly label: string;
  /** Find the holders and kill them; returns the pids it signalled (when it says). */
  readonly run: (port: number) => Promise<{ killed: number[]; internalMs?: number; error?: string }>;
}

/**
 * The engine's call, with every identity check: scope `app`, the holder judged by the identity
 * rule (uid, PM2 marks from its environment, lineage, cwd: it runs in the app's directory as the
 * app's uid with no PM2 marks) and re-identified by start time before each signal; grace 2 s.
 */
function request(port: number): Parameters<typeof runFreePortsSync>[0] {
  const scope = buildScope({ scope: 'app', app: { name: 'bench', cwd: process.cwd(), ...(process.getuid ? { uid: process.getuid() } : {}) } });
  return { ports: [port], scope, graceMs: 2000, now: () => performance.now() };
}

const fromResult = (r: FreePortsResult): { killed: number[]; internalMs: number } => ({
  killed: [...new Set(r.killed.map((k) => k.pid))],
  internalMs: r.elapsedMs,
});

/** The floor: read /proc/net/tcp{,6} for LISTEN inodes on the port, scan /proc/*\/fd, SIGTERM. */
function rawScan(port: number): number[] {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const lines = readFileSync(table, 'latin1').split('\n');
    for (let i = 1; i < lines.length; i++) {
      const cols = lines[i]!.trim().split(/\s+/);
      if (cols[3] !== '0A' || cols.length < 10) continue;
      const local = cols[1]!;
      if (parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port) inodes.add(`socket:[${cols[9]}]`);
    }
  }
  const pids: number[] = [];
  if (inodes.size === 0) return pids;
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (inodes.has(readlinkSync(`/proc/${entry}/fd/${fd}`))) {
          pids.push(pid);
          break;
        }
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return pids;
}

interface Found {
  pid: number;
}
const find = findProcess as unknown as (type: 'port', value: number) => Promise<Found[]>;

const METHODS: readonly Method[] = [
  { key: 'ours', label: 'ours: runFreePorts (async)', run: async (port) => fromResult(await runFreePorts(request(port))) },
  { key: 'ours-sync', label: 'ours: runFreePortsSync', run: async (port) => fromResult(runFreePortsSync(request(port))) },
  {
    key: 'fkill',
    label: "fkill(':PORT')",
    run: async (port) => {
      try {
        await fkill(`:${port}`);
        return { killed: [] };
      } catch (err) {
        return { killed: [], error: err instanceof Error ? err.message : String(err) };
      }
    },
  },
  {
    key: 'find-process',
    label: 'find-process + process.kill',
    run: async (port) => {
      const killed: number[] = [];
      for (const p of await find('port', port)) {
        try {
          process.kill(p.pid, 'SIGTERM');
          killed.push(p.pid);
        } catch {
          // gone
        }
      }
      return { killed };
    },
  },
  {
    key: 'proc-floor',
    label: 'floor: raw /proc scan + kill',
    run: async (port) => {
      const killed = rawScan(port);
      for (const pid of killed) process.kill(pid, 'SIGTERM');
      return { killed };
    },
  },
];

interface Trial {
  /** Call to "port confirmed free"; null when still held at the cap. */
  readonly ms: number | null;
  readonly holders: readonly number[];
  /** Pids the method says it signalled (fkill does not say). */
  readonly killed: readonly number[];
  /** Our holders still listening when the trial ended. */
  readonly leftovers: readonly number[];
  /** The plan's own elapsedMs (ours only). */
  readonly internalMs?: number;
  /** /proc/net/tcp{,6} agreed that nothing listens, right after the bind succeeded (not timed). */
  readonly procFree?: boolean;
  readonly error?: string;
}

async function trial(m: Method, port: number, pair: boolean): Promise<Trial> {
  const h = await spawnHolder(port, tracker, { pair });
  // Both holders really listen (the child of a pair takes a moment to accept the handle).
  const until = performance.now() + 5000;
  while (holderPids(port).length < h.pids.length && performance.now() < until) await new Promise((r) => setTimeout(r, 2));
  const t0 = performance.now();
  const r = await m.run(port);
  const freeAt = await waitFree(port, Math.max(1, CAP_MS - (performance.now() - t0)));
  const elapsed = freeAt === undefined ? null : freeAt - t0;
  const procFree = elapsed === null ? undefined : !listening(port);
  const leftovers = holderPids(port).filter((pid) => h.pids.includes(pid));
  // Clean slate for the next trial: end whatever of ours survived, wait for the port.
  tracker.killAll('SIGKILL');
  if ((await waitFree(port, 5000)) === undefined) throw new Error(`port ${port} still held after cleanup: ${holderPids(port).join(', ')}`);
  return {
    ms: elapsed, holders: h.pids, killed: r.killed, leftovers,
    ...(r.internalMs === undefined ? {} : { internalMs: r.internalMs }),
    ...(procFree === undefined ? {} : { procFree }),
    ...(r.error ? { error: r.error } : {}),
  };
}

/** Rounds over all methods, the starting method rotating each round (no method always goes first). */
async function rounds(port: number, n: number, pair: boolean, label: string): Promise<Map<MethodKey, Trial[]>> {
  const results = new Map<MethodKey, Trial[]>(METHODS.map((m) => [m.key, []]));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < METHODS.length; j++) {
      const m = METHODS[(i + j) % METHODS.length]!;
      out.progress(`${label}: round ${i + 1}/${n}, ${m.label}`, 5000);
      results.get(m.key)!.push(await trial(m, port, pair));
    }
  }
  out.done();
  return results;
}

function leftoverCount(ts: readonly Trial[]): number {
  return ts.reduce((n, t) => n + t.leftovers.length, 0);
}

function describe(ts: readonly Trial[]): { s: Summary; freed: number } {
  const s = summarize(ts.map((t) => t.ms));
  return { s, freed: s.recovered };
}

/** Median cost of the /proc readers the plan is made of, measured now (context for the table). */
function measureProcCosts(port: number): Record<string, number | null> {
  const time = (f: () => unknown, n = 25): number => {
    const xs: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      f();
      xs.push(performance.now() - t);
    }
    return summarize(xs).median;
  };
  return {
    listeningInodesMs: jsonNumber(time(() => listeningInodes(new Set([port])))),
    socketOwnersScanMs: jsonNumber(time(() => socketOwners(new Set(['0'])))),
    snapshotSyncMs: jsonNumber(time(() => snapshotSync([port]))),
    buildScopeMs: jsonNumber(time(() => buildScope({ scope: 'port' }))),
    bindProbeMs: null,
  };
}

async function bindCost(port: number): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < 25; i++) {
    const t = performance.now();
    await canBind(port);
    xs.push(performance.now() - t);
  }
  return summarize(xs).median;
}

let procCosts: Record<string, number | null> = {};

async function main(): Promise<number> {
  const startedAt = new Date();
  const started = performance.now();
  out.line(`free-port benchmark: ${TRIALS} trial(s) per method with one holder, ${PAIR_TRIALS} with two, cap ${CAP_MS} ms, ${cpus().length} CPU(s), node ${process.version}`);
  const [port] = await findFreePorts(FIRST_PORT, 1);
  out.line(`port 127.0.0.1:${port}; every trial starts a fresh holder (node -e, listening) and times the call until a bind of 127.0.0.1:${port} succeeds (retried every 1 ms)`);

  // Warm-up: load every module and JIT the paths once (one round, not counted).
  await rounds(port!, 1, false, 'warm-up');

  procCosts = { ...measureProcCosts(port!), bindProbeMs: Math.round((await bindCost(port!)) * 100) / 100 };
  out.line(`/proc costs now (median of 25): read of /proc/net/tcp+tcp6 ${procCosts['listeningInodesMs']} ms, /proc/*/fd scan ${procCosts['socketOwnersScanMs']} ms, snapshotSync ${procCosts['snapshotSyncMs']} ms, buildScope ${procCosts['buildScopeMs']} ms; a bind probe ${procCosts['bindProbeMs']} ms`);
  const single = await rounds(port!, TRIALS, false, 'one holder');
  const pair = PAIR_TRIALS > 0 ? await rounds(port!, PAIR_TRIALS, true, 'two holders') : undefined;

  const fkillMedian = summarize(single.get('fkill')!.map((t) => t.ms)).median;
  const rows: string[][] = [];
  const json: Record<string, unknown> = {};
  for (const m of METHODS) {
    const ts = single.get(m.key)!;
    const { s } = describe(ts);
    const internal = summarize(ts.filter((t) => t.internalMs !== undefined).map((t) => t.internalMs!));
    rows.push([m.label, ms(s.median), ms(s.p90), ms(s.min), ms(s.max), `${s.recovered}/${s.n}`, String(leftoverCount(ts)), ratio(s.median, fkillMedian)]);
    json[m.key] = {
      label: m.label,
      ...summaryJson(s),
      leftovers: leftoverCount(ts),
      medianOverFkill: Number.isFinite(s.median / fkillMedian) ? Math.round((s.median / fkillMedian) * 1000) / 1000 : null,
      ...(internal.n > 0 ? { internalMedianMs: jsonNumber(internal.median) } : {}),
      procDisagreed: ts.filter((t) => t.procFree === false).length,
      errors: [...new Set(ts.flatMap((t) => (t.error ? [t.error] : [])))],
      trials: ts.map((t) => ({ ...t, ms: t.ms === null ? null : jsonNumber(t.ms), ...(t.internalMs === undefined ? {} : { internalMs: jsonNumber(t.internalMs) }) })),
    };
  }
  const header = ['method (one holder)', 'median', 'p90', 'min', 'max', 'freed', 'leftovers', 'median/fkill'];
  const text = table(header, rows);

  let pairText = '';
  const pairJson: Record<string, unknown> = {};
  if (pair) {
    const pairFkill = summarize(pair.get('fkill')!.map((t) => t.ms)).median;
    const prow: string[][] = [];
    for (const m of METHODS) {
      const ts = pair.get(m.key)!;
      const { s, freed } = describe(ts);
      prow.push([m.label, ms(s.median), ms(s.p90), `${freed}/${s.n}`, String(leftoverCount(ts)), ratio(s.median, pairFkill)]);
      pairJson[m.key] = {
        label: m.label, ...summaryJson(s), freed, leftovers: leftoverCount(ts),
        trials: ts.map((t) => ({ ...t, ms: t.ms === null ? null : jsonNumber(t.ms) })),
      };
    }
    pairText = table(['method (two holders, one socket)', 'median', 'p90', 'freed', 'leftovers', 'median/fkill'], prow);
  }

  const ours = summarize(single.get('ours')!.map((t) => t.ms));
  const oursSync = summarize(single.get('ours-sync')!.map((t) => t.ms));
  const floor = summarize(single.get('proc-floor')!.map((t) => t.ms));
  const fp = summarize(single.get('find-process')!.map((t) => t.ms));
  const notes = [
    `ours (async) median ${ms(ours.median)}: ${ratio(ours.median, fkillMedian)} of fkill, ${ratio(ours.median, fp.median)} of find-process, ${ratio(ours.median, floor.median)} of the raw /proc floor; target <= 25 ms median: ${ours.median <= 25 ? 'met' : 'MISSED'}`,
    `ours (sync, as in the preload hook) median ${ms(oursSync.median)}: ${ratio(oursSync.median, fkillMedian)} of fkill; target <= 25 ms: ${oursSync.median <= 25 ? 'met' : 'MISSED'}`,
    `"freed" counts trials where a bind of the port succeeded within ${CAP_MS} ms; "leftovers" counts our holder pids still listening at the end of all trials of that method`,
    ...(pair
      ? [`two holders: fkill and find-process resolve one pid per port (the first one ss lists), so the other holder keeps the socket: the port is never freed; ours and the /proc floor find both`]
      : []),
    `cost of the pieces in this run (median of 25 calls): one read of /proc/net/tcp + tcp6 ${procCosts['listeningInodesMs']} ms, the /proc/*/fd scan ${procCosts['socketOwnersScanMs']} ms, a bind probe ${procCosts['bindProbeMs']} ms. The plan reads the tables once to find holders, once per wait poll and once to confirm, so ours costs at least 3 table reads + 1 fd scan`,
    `machine load average at the end: ${machine()['loadavg'] as number[]}`,
  ];
  const doc = {
    benchmark: 'free-port',
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
    machine: machine(),
    options: { trials: TRIALS, pairTrials: PAIR_TRIALS, capMs: CAP_MS, port },
    what: 'time from the call to the first successful bind of 127.0.0.1:PORT (retried every 1 ms), per fresh holder',
    procCosts,
    oneHolder: json,
    twoHolders: pair ? pairJson : null,
    table: text.split('\n'),
    pairTable: pairText ? pairText.split('\n') : [],
    notes,
  };
  const [file, latest] = writeResults('free-port', startedAt, doc);
  process.stdout.write(`\n${text}\n${pairText ? `\n${pairText}\n` : ''}\n${notes.map((n) => `- ${n}`).join('\n')}\n\nresults: ${file}\n         ${latest}\n`);
  return listening(port!) ? 1 : 0;
}

let cleaning = false;
function cleanup(): void {
  if (cleaning) return;
  cleaning = true;
  const hit = tracker.killAll('SIGKILL');
  if (hit.length) out.line(`cleanup: killed our leftover holder(s) ${hit.join(', ')}`);
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    out.line(`\n${sig}: cleaning up`);
    cleanup();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}
main().then(
  (code) => {
    cleanup();
    process.exit(code);
  },
  (err: unknown) => {
    out.done();
    out.line(`\nbenchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    cleanup();
    process.exit(1);
  },
);
