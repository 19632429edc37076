/**
 * `npm run bench:rules`: what each rule costs per check, in the monitor's own process, through
 * the engine's ruleOutcomes() (the code a check runs): log_inactivity, memory and cpu (one
 * instance, then one with 4 children and include_children), and log_match with nothing new, with
 * 64 KiB and 1 MiB (max_read) of new lines, and a 100 KB line against (a+)+$. Baseline in the
 * same process: a check with no rule, and the same lines matched by JavaScript's RegExp (for the
 * patterns it can run safely), so the RE2 price is a ratio. New bytes are appended between
 * checks, outside the timing. Prints a table and writes JSON to bench/results/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultAppConfig, type AppConfig } from '../src/config/schema.js';
import { ruleOutcomes, type AppRules } from '../src/engine/rule-outcomes.js';
import type { ProcessInfo } from '../src/pm2/adapter.js';
import { benchFlags, runBench } from './lib/args.js';
import { machine, ms, ratio, writeResults } from './lib/proc.js';
import { Output } from './lib/progress.js';
import { summarize, summaryJson, table, type Summary } from './lib/stats.js';

const HELP = `Usage: npm run bench:rules -- [--checks N] [--quick]

Per-check cost of each rule (log_inactivity, memory, cpu, log_match) through the engine's rule
code, against a check with no rule and JavaScript's RegExp on the same lines.

  --checks N   timed checks per case (default 200)
  --quick      30 checks per case
`;

const { values: opts } = parseArgs({ options: { checks: { type: 'string', default: '200' }, quick: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
const intArg = benchFlags(HELP, opts.help);
const CHECKS = opts.quick ? 30 : intArg('checks', opts.checks, 5);

const out = new Output(process.stderr);
const dir = mkdtempSync(join(tmpdir(), 'hdm-bench-rules-'));
const children: ChildProcess[] = [];
const LINE = `${new Date(0).toISOString()} INFO request served in 12 ms GET /api/tickets?page=2 200\n`;
const FATAL_LINE = `${new Date(0).toISOString()} FATAL lost the database connection\n`;

interface Case {
  readonly name: string;
  readonly app: AppConfig;
  readonly pids: () => number[];
  /** Before each timed check (not timed): write what the app logs between two checks. */
  readonly feed?: () => void;
  /** The same work with JS RegExp, timed the same way (the baseline of log_match cases). */
  readonly regexp?: RegExp;
}

interface Row {
  readonly name: string;
  readonly summary: Summary;
  readonly newBytes: number;
  readonly regexp?: Summary;
}

function app(patch: Partial<AppConfig>): AppConfig {
  return { ...defaultAppConfig('bench'), ...patch };
}

function spawnIdle(kids: number): ChildProcess {
  const code = kids > 0
    ? `const {spawn}=require('child_process');for(let i=0;i<${kids};i++)spawn(process.execPath,['-e','setInterval(()=>{},1e6)'],{stdio:'ignore'});setInterval(()=>{},1e6)`
    : 'setInterval(()=>{},1e6)';
  const c = spawn(process.execPath, ['-e', code], { stdio: 'ignore', detached: true });
  children.push(c);
  return c;
}

/** Time CHECKS checks of one case (after 5 untimed warm-up checks). */
function measure(c: Case): Row {
  const rules: AppRules = {};
  const list: ProcessInfo[] = [];
  const times: number[] = [];
  const reTimes: number[] = [];
  let newBytes = 0;
  let now = 0;
  for (let i = 0; i < CHECKS + 5; i++) {
    c.feed?.();
    now += 1000;
    const t0 = performance.now();
    const outcomes = ruleOutcomes(c.app, rules, list, c.pids(), now);
    const dt = performance.now() - t0;
    if (i < 5) continue;
    times.push(dt);
    newBytes += Number(outcomes.find((o) => o.kind === 'log-match')?.info?.['newBytes'] ?? 0);
    if (c.regexp) {
      // The baseline: the same file bytes split and matched with RegExp (what a naive rule does).
      const text = c.feed ? fedText : '';
      const r0 = performance.now();
      for (const line of text.split('\n')) if (c.regexp.test(line.slice(0, 8192))) sink++;
      reTimes.push(performance.now() - r0);
    }
  }
  return { name: c.name, summary: summarize(times), newBytes: Math.round(newBytes / CHECKS), ...(c.regexp ? { regexp: summarize(reTimes) } : {}) };
}

let fedText = '';
/** Matches the RegExp baseline counted, printed at the end so the work cannot be optimised away. */
let sink = 0;
/** Append about `bytes` of `line`s (the last one a FATAL line when the lines are short) before each check. */
function feeder(file: string, bytes: number, line: string): () => void {
  const count = Math.floor(bytes / line.length);
  const chunk = count > 1 ? line.repeat(count - 1) + FATAL_LINE : line;
  return () => {
    fedText = chunk;
    appendFileSync(file, chunk);
  };
}

async function main(): Promise<number> {
  const log = join(dir, 'out.log');
  writeFileSync(log, '');
  const solo = spawnIdle(0);
  const tree = spawnIdle(4);
  await new Promise((r) => setTimeout(r, 500)); // the children are up
  const soloPid = (): number[] => [solo.pid!];
  const treePid = (): number[] => [tree.pid!];
  const match = (pattern: string, extra: Partial<NonNullable<AppConfig['logMatch']>[number]> = {}) =>
    app({ logMatch: [{ pattern, minCount: 1_000_000, windowMs: 60_000, stream: 'both', action: 'restart', maxReadBytes: 1 << 20, file: log, ...extra }] });
  const cases: Case[] = [
    { name: 'no rule (baseline)', app: app({}), pids: soloPid },
    { name: 'log_inactivity', app: app({ logInactivity: { file: log, timeoutMs: 60_000 } }), pids: soloPid },
    { name: 'memory, 1 process', app: app({ memory: { maxBytes: 1 << 30, forChecks: 3, includeChildren: false } }), pids: soloPid },
    { name: 'memory, +4 children', app: app({ memory: { maxBytes: 1 << 30, forChecks: 3, includeChildren: true } }), pids: treePid },
    { name: 'cpu, 1 process', app: app({ cpu: { abovePercent: 90, forChecks: 3, includeChildren: false } }), pids: soloPid },
    { name: 'cpu, +4 children', app: app({ cpu: { abovePercent: 90, forChecks: 3, includeChildren: true } }), pids: treePid },
    { name: 'log_match FATAL, nothing new', app: match('FATAL'), pids: soloPid },
    { name: 'log_match FATAL, 64 KiB new', app: match('FATAL'), pids: soloPid, feed: feeder(log, 64 * 1024, LINE), regexp: /FATAL/ },
    { name: 'log_match FATAL, 1 MiB new', app: match('FATAL'), pids: soloPid, feed: feeder(log, 1 << 20, LINE), regexp: /FATAL/ },
    {
      name: 'log_match (?i)error|fatal|panic, 64 KiB', app: match('(?i)(error|fatal|panic):? '), pids: soloPid,
      feed: feeder(log, 64 * 1024, LINE), regexp: /(error|fatal|panic):? /i,
    },
    { name: 'log_match (a+)+$, one 100 KB line', app: match('(a+)+$'), pids: soloPid, feed: feeder(log, 100 * 1024, `${'a'.repeat(100 * 1024)}b\n`) },
  ];
  const rows: Row[] = [];
  for (const [i, c] of cases.entries()) {
    out.progress(`[${i + 1}/${cases.length}] ${c.name}`);
    rows.push(measure(c));
  }
  out.done();
  const base = rows[0]!.summary.median;
  process.stdout.write(`\nPer-check cost of each rule (${CHECKS} checks per case; median and p90 of one ruleOutcomes() call)\n\n`);
  process.stdout.write(`${table(
    ['rule', 'median', 'p90', 'new bytes/check', 'vs no rule', 'JS RegExp median', 'RE2 / RegExp'],
    rows.map((r) => [
      r.name, ms(r.summary.median, 3), ms(r.summary.p90, 3), String(r.newBytes), ratio(r.summary.median, base, 1),
      r.regexp ? ms(r.regexp.median, 3) : '-', r.regexp ? ratio(r.summary.median, r.regexp.median, 1) : '-',
    ]),
  )}\n`);
  const started = new Date();
  const [file] = writeResults('rule-cost', started, {
    bench: 'rule-cost', at: started.toISOString(), machine: machine(), checks: CHECKS,
    rows: rows.map((r) => ({ rule: r.name, ...summaryJson(r.summary), newBytesPerCheck: r.newBytes, ...(r.regexp ? { regexp: summaryJson(r.regexp) } : {}) })),
  });
  process.stdout.write(`\nwritten: ${file} (RegExp baseline matched ${sink} lines)\n`);
  return 0;
}

runBench(main, async () => {
  for (const c of children) if (c.pid) try { process.kill(-c.pid, 'SIGKILL'); } catch { /* gone */ }
  rmSync(dir, { recursive: true, force: true });
}, out);
