/**
 * The update bench's trials on the rig (update-rig.ts): the app's cold start (the floor), one
 * update of a good or a broken commit through the in-process `runUpdate` with /health polled every
 * 10 ms beside it, and the CPU and wall time of an update check that finds nothing new.
 */
import cp from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import type { FixtureKind } from '../../test/helpers/git-deploy.js';
import { git } from '../../src/git/run.js';
import { runUpdate, type UpdateReport } from '../../src/update/run-update.js';
import { portHolders } from './ports.js';
import { reapedChildrenCpuMs } from './proc.js';
import { answerChanges, firstSample, getVersion, HealthWatch, outage, serves } from './update-health.js';
import type { UpdateRig } from './update-rig.js';

export interface ColdTrial {
  /** pm2 restart (by pm_id) to the first 200 from the new process; null: none within the cap. */
  readonly ms: number | null;
  /** When PM2 answered the restart (the old process is gone by then). */
  readonly actMs: number;
  readonly oldPid: number;
  readonly newPid: number;
  /** The pid listening on the port after the first 200 (must be newPid). */
  readonly listener?: number;
}

/**
 * `pm2 restart` by pm_id, clock from the call to the first 200 of a request sent after PM2
 * answered: PM2 restarts a fork-mode app by stopping it (and waiting for its exit) before it
 * starts the new one, so any answer to a request sent after that comes from the new process.
 */
export async function coldTrial(rig: UpdateRig, capMs = 20_000): Promise<ColdTrial> {
  const before = await rig.info();
  const t0 = performance.now();
  const watch = new HealthWatch(rig.port, t0);
  let actMs: number;
  try {
    await rig.sb!.pm2.act('restart', before.pmId);
    actMs = performance.now() - t0;
    while (!firstSample(watch.snapshot(), serves(rig.served), actMs) && performance.now() - t0 < capMs) await pause(10);
  } finally {
    await watch.stop();
  }
  const samples = watch.snapshot();
  const first = firstSample(samples, serves(rig.served), actMs);
  const after = await rig.info();
  const listener = portHolders([rig.port])[0]?.pid;
  return { ms: first ? first.endMs : null, actMs, oldPid: before.pid, newPid: after.pid, ...(listener ? { listener } : {}) };
}

export interface StepTime {
  readonly name: string;
  readonly ms: number;
  readonly ok: boolean;
}

export interface UpdateTrial {
  readonly kind: FixtureKind;
  readonly from: string;
  readonly to: string;
  readonly outcome: UpdateReport['outcome'];
  /** runUpdate's start to its return, when the outcome and /health right after the return are the expected ones; else null. */
  readonly ms: number | null;
  readonly returnMs: number;
  /** The version /health served right after the return. */
  readonly servedAtReturn: string;
  /** Good: the first 200 with the new version. Bad: the first 200 with the old version after the outage. */
  readonly healthyMs?: number;
  /** The start of the last stretch of those 200s (to the return): healthy for good. */
  readonly stableMs?: number;
  /** Stretches of requests with no 200 of either version. */
  readonly outages: number;
  /** The first request that did not get the old version's 200. */
  readonly downMs?: number;
  /** A 200 with the bad commit's version was seen (it never should be, for the kinds benched). */
  readonly badServed: boolean;
  /** runUpdate's own clock for its act-and-record part (story.ms). */
  readonly storyMs?: number;
  readonly steps: readonly StepTime[];
  readonly restarts: number;
  readonly detail: string;
  readonly answers: string;
}

/**
 * Push a commit of `kind` (outside the clock), then time runUpdate from the call to its return,
 * with /health polled every 10 ms from the same t0. A good commit must end 'applied' and serve its
 * version; a broken one 'rolled_back' and serve the previous version again.
 */
export async function updateTrial(rig: UpdateRig, kind: FixtureKind): Promise<UpdateTrial> {
  const from = rig.served;
  const to = rig.push(kind);
  const before = await rig.info();
  const t0 = performance.now();
  const watch = new HealthWatch(rig.port, t0);
  let report: UpdateReport;
  let returnMs: number;
  try {
    report = await runUpdate(rig.app, { trigger: 'schedule' }, rig.deps);
    returnMs = performance.now() - t0;
  } finally {
    await watch.stop();
  }
  const samples = watch.snapshot();
  const at = await getVersion(rig.port, 1000);
  const after = await rig.info();
  const good = kind === 'good';
  const expected = good ? to : from;
  const ok = report.outcome === (good ? 'applied' : 'rolled_back') && at.status === 200 && at.version === expected;
  const out = good ? outage(samples, from, to) : outage(samples, from, from);
  return {
    kind, from, to, outcome: report.outcome, ms: ok ? returnMs : null, returnMs,
    servedAtReturn: `${at.status}${at.version ? ` ${at.version}` : ''}`,
    ...(out.backMs !== undefined ? { healthyMs: out.backMs } : {}),
    ...(out.stableMs !== undefined ? { stableMs: out.stableMs } : {}),
    outages: out.outages,
    ...(out.downMs !== undefined ? { downMs: out.downMs } : {}),
    badServed: !good && samples.some(serves(to)),
    ...(report.story ? { storyMs: report.story.ms } : {}),
    steps: (report.story?.steps ?? []).map((s) => ({ name: s.name, ms: s.ms, ok: s.ok })),
    restarts: after.restarts - before.restarts,
    detail: report.detail,
    answers: answerChanges(samples),
  };
}

export interface IdleCheck {
  readonly wallMs: number;
  /** process.cpuUsage() user + system of this process around the call. */
  readonly cpuMs: number;
  /** cutime + cstime of this process around the call: the git processes (and what they ran), 10 ms ticks. */
  readonly childCpuMs: number;
}

/** Wall, own CPU and reaped children's CPU around `run`. */
async function costOf(run: () => Promise<void>): Promise<IdleCheck> {
  const c0 = process.cpuUsage();
  const k0 = reapedChildrenCpuMs();
  const t0 = performance.now();
  await run();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { wallMs, cpuMs: (c.user + c.system) / 1000, childCpuMs: reapedChildrenCpuMs() - k0 };
}

/** One update check with nothing new: it must answer up_to_date. */
export function idleCheck(rig: UpdateRig): Promise<IdleCheck> {
  return costOf(async () => {
    const report = await runUpdate(rig.app, { trigger: 'schedule' }, rig.deps);
    if (report.outcome !== 'up_to_date') throw new Error(`an idle check answered ${report.outcome}: ${report.detail}`);
  });
}

/**
 * The baseline of an idle check: as many processes as one check starts, each a bare
 * `git rev-parse HEAD` in the deploy clone through the same runner (src/git/run.ts), one after
 * another. What is left above it is the check's own work (the fetch's transfer, status, the
 * PM2 list, the files).
 */
export function spawnBaseline(rig: UpdateRig, count: number): Promise<IdleCheck> {
  return costOf(async () => {
    for (let i = 0; i < count; i++) {
      const r = await git(['rev-parse', 'HEAD'], rig.repo!.deploy, 30_000);
      if (r.code !== 0) throw new Error(`git rev-parse HEAD failed: ${r.tail}`);
    }
  });
}

/**
 * The processes one idle check starts (`git rev-parse`, `git fetch`, ...), counted by wrapping
 * child_process.spawn for one untimed call (syncBuiltinESMExports makes src/git/run.ts's named
 * import see the wrapper), then restoring it.
 */
export async function idleSpawns(rig: UpdateRig): Promise<string[]> {
  const seen: string[] = [];
  const original = cp.spawn;
  const wrapped = ((file: string, args?: readonly string[], ...rest: unknown[]) => {
    seen.push([file, ...(Array.isArray(args) ? args.filter((a) => !a.startsWith('-')).slice(0, 1) : [])].join(' '));
    return (original as (...a: unknown[]) => cp.ChildProcess)(file, args, ...rest);
  }) as typeof cp.spawn;
  cp.spawn = wrapped;
  syncBuiltinESMExports();
  try {
    const report = await runUpdate(rig.app, { trigger: 'schedule' }, rig.deps);
    if (report.outcome !== 'up_to_date') throw new Error(`an idle check answered ${report.outcome}: ${report.detail}`);
  } finally {
    cp.spawn = original;
    syncBuiltinESMExports();
  }
  return seen;
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
