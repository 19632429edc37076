/**
 * The update bench's table (measure | median | min..max | vs floor | n), the notes under it and
 * the JSON parts. The floor is the fixture app's cold start measured in the same run.
 */
import { jsonNumber, summarize, summaryJson, table, type Summary } from './stats.js';
import type { PullResult } from './update-pull.js';
import { VERIFY_TIMEOUT_MS } from './update-rig.js';
import type { ColdTrial, IdleCheck, UpdateTrial } from './update-trials.js';

export interface UpdateRun {
  readonly cold: readonly ColdTrial[];
  readonly good: readonly UpdateTrial[];
  readonly crash: readonly UpdateTrial[];
  readonly h500: readonly UpdateTrial[];
  readonly idle: readonly IdleCheck[];
  /** As many bare git processes as one check starts, alternated with the checks. */
  readonly idleBaseline: readonly IdleCheck[];
  readonly idleSpawns: readonly string[];
  readonly pull: PullResult;
}

const s2 = (ms: number): string => (Number.isFinite(ms) ? (ms / 1000).toFixed(2) : 'never');
const secs = (ms: number): string => (Number.isFinite(ms) ? `${s2(ms)} s` : 'never');
const msText = (v: number, d = 1): string => (Number.isFinite(v) ? `${v.toFixed(d)} ms` : '?');
const med = (xs: readonly number[]): number => summarize(xs).median;
const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
const ok = (s: Summary): string => `${s.recovered}/${s.n}`;

/** The first 200 of the expected version after the outage; a trial without one counts as never. */
const firstBack = (ts: readonly UpdateTrial[]): Summary => summarize(ts.map((t) => t.healthyMs ?? null));
/** The start of the last stretch of those 200s, up to the return. */
const stableBack = (ts: readonly UpdateTrial[]): Summary => summarize(ts.map((t) => t.stableMs ?? null));

/** A step's name without its SHA: `git merge --ff-only 1a2b3c4d5e` -> `git merge --ff-only`. */
const stepName = (name: string): string => name.replace(/ [0-9a-f]{7,40}$/, '');

/** Median ms of each step, in the order the steps first ran. */
export function stepMedians(ts: readonly UpdateTrial[]): { name: string; ms: number; n: number }[] {
  const by = new Map<string, number[]>();
  for (const t of ts) for (const s of t.steps) by.set(stepName(s.name), [...(by.get(stepName(s.name)) ?? []), s.ms]);
  return [...by].map(([name, xs]) => ({ name, ms: med(xs), n: xs.length }));
}

/** The failed verify of a rolled-back update (the step that sent it back). */
const failedVerify = (t: UpdateTrial): number | undefined => t.steps.find((s) => s.name === 'verify' && !s.ok)?.ms;

/** What ended the failed verify, in words for the table. */
function verifyWord(ts: readonly UpdateTrial[]): string {
  const v = med(ts.map(failedVerify).filter((x): x is number => x !== undefined));
  if (!Number.isFinite(v)) return `verify_timeout ${VERIFY_TIMEOUT_MS / 1000} s`;
  return v >= 0.9 * VERIFY_TIMEOUT_MS
    ? `dominated by verify_timeout ${VERIFY_TIMEOUT_MS / 1000} s, by design`
    : `verify ended early at PM2 'errored' (${secs(v)}), not at verify_timeout ${VERIFY_TIMEOUT_MS / 1000} s`;
}

export function summaries(r: UpdateRun) {
  return {
    cold: summarize(r.cold.map((t) => t.ms)),
    good: summarize(r.good.map((t) => t.ms)), goodFirst: firstBack(r.good),
    crash: summarize(r.crash.map((t) => t.ms)), crashBack: stableBack(r.crash),
    h500: summarize(r.h500.map((t) => t.ms)), h500Back: stableBack(r.h500),
    idleWall: summarize(r.idle.map((c) => c.wallMs)), idleCpu: summarize(r.idle.map((c) => c.cpuMs)), idleChild: summarize(r.idle.map((c) => c.childCpuMs)),
    baseWall: summarize(r.idleBaseline.map((c) => c.wallMs)), baseCpu: summarize(r.idleBaseline.map((c) => c.cpuMs)), baseChild: summarize(r.idleBaseline.map((c) => c.childCpuMs)),
  };
}

export function updateTable(r: UpdateRun): string {
  const s = summaries(r);
  const floor = s.cold.median;
  const timeRow = (label: string, x: Summary, vsFloor = true): string[] => [
    label, secs(x.median), `${s2(x.min)}..${s2(x.max)} s`, vsFloor && Number.isFinite(x.median / floor) ? `${(x.median / floor).toFixed(2)}x` : '-', ok(x),
  ];
  const cpuRow = (label: string, x: Summary, base?: Summary): string[] => [
    label, msText(x.median), `${x.min.toFixed(1)}..${x.max.toFixed(1)} ms`, base && base.median > 0 ? `${(x.median / base.median).toFixed(2)}x base` : '-', String(x.n),
  ];
  const nGit = r.idleSpawns.length;
  const p = r.pull;
  const pullText = p.healthyAgainMs !== undefined
    ? secs(p.healthyAgainMs)
    : `never (${p.status === 'errored' ? `errored after ${p.restarts} restarts` : `${p.status}, ${p.restarts} restarts`})`;
  return table(['measure', 'median', 'min..max', 'ratio vs floor', 'n'], [
    timeRow('cold start (floor): pm2 restart by pm_id -> first 200 from the new process', s.cold, false),
    timeRow('good commit: runUpdate start -> return "applied", new version on /health', s.good),
    timeRow('  good commit: start -> first 200 with the new version', s.goodFirst),
    timeRow(`crash-at-boot commit: runUpdate -> "rolled_back", old version on /health (${verifyWord(r.crash)})`, s.crash),
    timeRow('  crash-at-boot: start -> old version served again, for good (last outage over)', s.crashBack),
    timeRow(`health-500 commit: runUpdate -> "rolled_back", old version on /health (${verifyWord(r.h500)})`, s.h500),
    timeRow('  health-500: start -> old version served again, for good (last outage over)', s.h500Back),
    cpuRow('idle check ("up_to_date"): wall time', s.idleWall, s.baseWall),
    cpuRow('idle check: CPU of this process (process.cpuUsage)', s.idleCpu, s.baseCpu),
    cpuRow('idle check: CPU of its git processes (cutime+cstime, 10 ms ticks)', s.idleChild, s.baseChild),
    cpuRow(`  base: ${nGit} bare \`git rev-parse HEAD\`, one after another: wall time`, s.baseWall),
    cpuRow(`  base: ${nGit} bare \`git rev-parse HEAD\`: CPU of this process`, s.baseCpu),
    cpuRow(`  base: ${nGit} bare \`git rev-parse HEAD\`: CPU of the git processes`, s.baseChild),
    ['pm2 pull, same crash-at-boot commit: healthy again (watched 10 s)', pullText, '-', '-', `${p.healthyAgainMs !== undefined ? 1 : 0}/1`],
  ]);
}

function stepText(ts: readonly UpdateTrial[]): string {
  return stepMedians(ts).map((x) => `${x.name} ${Math.round(x.ms)} ms${x.n !== ts.length ? ` (in ${x.n} of ${ts.length})` : ''}`).join(', ');
}

function updateNotes(label: string, ts: readonly UpdateTrial[]): string {
  const pre = med(ts.filter((t) => t.storyMs !== undefined).map((t) => t.returnMs - t.storyMs!));
  const out = med(ts.filter((t) => t.downMs !== undefined && t.stableMs !== undefined).map((t) => t.stableMs! - t.downMs!));
  const failed = ts.filter((t) => t.ms === null);
  return `${label}: median per step: ${stepText(ts)}; before the steps (fetch, read the tree, decide) ${Math.round(pre)} ms ` +
    `(return minus the story's own ms, which also holds the subjects and the record); /health: first request without the old 200 at ${secs(med(ts.flatMap((t) => t.downMs ?? [])))}, ` +
    `first 200 of the ${ts[0]?.kind === 'good' ? 'new' : 'old'} version after it at ${secs(firstBack(ts).median)}, for good from ${secs(stableBack(ts).median)} (medians); from the first failed request to healthy for good ${secs(out)}; ` +
    `outages (runs of requests with no 200) per trial ${ts.map((t) => t.outages).join(', ')}; PM2 restarts per trial ${ts.map((t) => t.restarts).join(', ')}` +
    (ts.some((t) => t.badServed) ? '; A 200 FROM THE BAD COMMIT WAS SEEN' : '') +
    (failed.length ? `; ${failed.length} trial(s) did not end as expected: ${failed.map((t) => `${t.outcome}, /health ${t.servedAtReturn}: ${t.detail}`).join(' | ')}` : '');
}

export function notes(r: UpdateRun, machineNote: string): string[] {
  const s = summaries(r);
  const p = r.pull;
  const firstDetail = (ts: readonly UpdateTrial[]): string => ts.find((t) => t.outcome === 'rolled_back')?.detail ?? '-';
  const spawnCount = new Map<string, number>();
  for (const x of r.idleSpawns) spawnCount.set(x, (spawnCount.get(x) ?? 0) + 1);
  return [
    `cold start: PM2 answered the restart after ${secs(med(r.cold.map((t) => t.actMs)))} (median; the old process is gone by then); the first 200 counted is the first answer to a request sent after that; new pid listening on the port in ${r.cold.filter((t) => t.listener === t.newPid && t.newPid !== t.oldPid).length}/${r.cold.length} trials`,
    updateNotes('good commit', r.good) + `; the return comes ${secs(s.good.median - s.goodFirst.median)} after the first new 200 (medians: verify's 50 ms poll, then the subjects and the record)`,
    updateNotes('crash-at-boot', r.crash) + `; why it rolled back (first trial): ${firstDetail(r.crash)}`,
    updateNotes('health-500', r.h500) + `; why it rolled back (first trial): ${firstDetail(r.h500)}`,
    `ratio vs floor: the update rows against the cold start median of the same run; the idle rows against their base row (as many bare git processes as one check starts, alternated with the checks)`,
    `idle check: ${r.idle.length} checks; CPU of this process mean ${msText(mean(r.idle.map((c) => c.cpuMs)))} (base ${msText(mean(r.idleBaseline.map((c) => c.cpuMs)))}), of its git processes mean ${msText(mean(r.idle.map((c) => c.childCpuMs)))} (base ${msText(mean(r.idleBaseline.map((c) => c.childCpuMs)))}) (means: the sum over all runs divided by their number, finer than the 10 ms ticks of one run); processes started by one check (counted on one more, untimed): ${[...spawnCount].map(([k, n]) => `${k}${n > 1 ? ` x${n}` : ''}`).join(', ')} (${r.idleSpawns.length} in all)`,
    `pm2 pull: the command took ${secs(p.pullMs)} (exit ${p.pullExit}; it said: ${p.pullSaid.join(' | ') || '-'}); /health first failed at ${secs(p.downMs ?? NaN)}, 200 answers after that: ${p.healthyAgainMs === undefined ? 'none' : `first at ${secs(p.healthyAgainMs)}`} in ${p.requests} requests over ${secs(p.watchMs)}; PM2 status ${p.status}${p.erroredAfterMs !== undefined ? ` (errored ${secs(p.erroredAfterMs)} after the pull started)` : ''}, ${p.restarts} restarts, ${p.bootFailures} "boot failure in v2" lines in the app's error log; the clone ${p.headIsBad ? 'stays on the bad commit (no rollback)' : 'is NOT on the bad commit'}`,
    `warm-up before the rounds (not counted): one cold start and one good update. The rounds rotate the order of the four measures. /health is polled every 10 ms, one fresh connection per request, during every timed update, as the brief asks: that polling shares the 2 cores with git, the build step and the app`,
    machineNote,
  ];
}

const round = (t: object): Record<string, unknown> => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, typeof v === 'number' ? jsonNumber(v) : v]));

export function updateJson(r: UpdateRun): Record<string, unknown> {
  const s = summaries(r);
  const ratio = (x: Summary): number | null => (Number.isFinite(x.median / s.cold.median) ? Math.round((x.median / s.cold.median) * 1000) / 1000 : null);
  const kind = (ts: readonly UpdateTrial[], total: Summary, back: Summary) => ({
    toReturn: summaryJson(total), toHealthy: summaryJson(back), overFloor: ratio(total), healthyOverFloor: ratio(back),
    stepMediansMs: stepMedians(ts).map((x) => ({ ...x, ms: jsonNumber(x.ms) })),
    trials: ts.map((t) => ({ ...round(t), steps: t.steps.map(round) })),
  });
  return {
    coldStart: { summary: summaryJson(s.cold), trials: r.cold.map(round) },
    goodCommit: kind(r.good, s.good, s.goodFirst),
    crashAtBoot: kind(r.crash, s.crash, s.crashBack),
    health500: kind(r.h500, s.h500, s.h500Back),
    idleCheck: {
      wallMs: summaryJson(s.idleWall), cpuMs: summaryJson(s.idleCpu), gitChildrenCpuMs: summaryJson(s.idleChild),
      cpuMsMean: jsonNumber(mean(r.idle.map((c) => c.cpuMs))), gitChildrenCpuMsMean: jsonNumber(mean(r.idle.map((c) => c.childCpuMs))),
      processes: r.idleSpawns, checks: r.idle.map(round),
      baseline: {
        what: `${r.idleSpawns.length} bare git rev-parse HEAD, one after another`,
        wallMs: summaryJson(s.baseWall), cpuMs: summaryJson(s.baseCpu), gitChildrenCpuMs: summaryJson(s.baseChild),
        cpuMsMean: jsonNumber(mean(r.idleBaseline.map((c) => c.cpuMs))), gitChildrenCpuMsMean: jsonNumber(mean(r.idleBaseline.map((c) => c.childCpuMs))),
        runs: r.idleBaseline.map(round),
      },
    },
    pm2Pull: round(r.pull),
  };
}
