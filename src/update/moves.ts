/**
 * The real moves of an update (pipeline.ts's Moves): git in the repo, the config's commands under
 * `sh -c` in the repo, the reload through the PM2 adapter by pm_id (every instance of the app,
 * never a module and never this process), and the same proof of health a remedy uses.
 */
import { sleep } from '../clock.js';
import type { AppConfig } from '../config/schema.js';
import type { UpdateCommand, UpdateConfig } from '../config/update.js';
import { probeAll, verdictText, verifyHealthy, type ActDeps } from '../engine/verify.js';
import { probePm2Status } from '../probes/pm2-status.js';
import type { Pm2StatusOutcome } from '../probes/types.js';
import { fastForward, resetKeep, type GitAnswer } from '../git/repo.js';
import { failureText, lastLines, runProcess } from '../git/run.js';
import type { Moves } from './pipeline.js';
import type { JournalPhase } from './store.js';
import { keptTail, shortSha, type StepRecord } from './story.js';

export interface MoveContext {
  readonly app: AppConfig;
  readonly update: UpdateConfig;
  readonly repo: string;
  readonly from: string;
  readonly to: string;
  readonly deps: ActDeps;
  /** Journal writer (store.ts), given the phase and whether the app ran the new commit. */
  readonly journal: (phase: JournalPhase, reloaded: boolean) => void;
  /** Environment of the commands (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

const GIT_MOVE_MS = 60_000;

export function realMoves(ctx: MoveContext): Moves {
  const after: { restarts?: number } = {};
  const timed = async (name: string, run: () => Promise<Omit<StepRecord, 'name' | 'ms'>>): Promise<StepRecord> => {
    const t0 = Date.now();
    try {
      const r = await run();
      return { name, ms: Date.now() - t0, ...r };
    } catch (err) {
      return { name, ms: Date.now() - t0, ok: false, detail: `unexpected error: ${err instanceof Error ? err.message : String(err)}` };
    }
  };
  const gitStep = (name: string, sha: string, move: () => Promise<GitAnswer<object>>): Promise<StepRecord> =>
    timed(`${name} ${shortSha(sha)}`, async () => {
      const r = await move();
      return r.ok ? { ok: true, exitCode: 0, detail: `HEAD is ${shortSha(sha)}` } : { ok: false, exitCode: r.exitCode, detail: keptTail(r.detail) };
    });
  return {
    fastForward: (to) => gitStep('git merge --ff-only', to, () => fastForward(ctx.repo, to, GIT_MOVE_MS)),
    resetKeep: (to) => gitStep('git reset --keep', to, () => resetKeep(ctx.repo, to, GIT_MOVE_MS)),
    // The command's text may carry a token (npm config set …:_authToken=…): named redacted.
    command: (c, i) => timed(`command ${i + 1}: ${keptTail(c.command)}`, () => runCommand(c, ctx)),
    reload: () => timed(`pm2 ${ctx.update.reload}`, async () => {
      const r = await reload(ctx);
      // PM2's restart count right after our reload: any later restart is a crash of the new code.
      after.restarts = probePm2Status(ctx.app.name, await ctx.deps.pm2.list()).restarts;
      return r;
    }),
    stop: () => timed('pm2 stop', () => stop(ctx)),
    verify: () => timed('verify', () => verify(ctx, after.restarts)),
    journal: ctx.journal,
  };
}

async function runCommand(c: UpdateCommand, ctx: MoveContext): Promise<Omit<StepRecord, 'name' | 'ms'>> {
  const env = {
    ...(ctx.env ?? process.env),
    HELPDESK_MONITOR_APP: ctx.app.name, HELPDESK_MONITOR_UPDATE_FROM: ctx.from, HELPDESK_MONITOR_UPDATE_TO: ctx.to,
  };
  const r = await runProcess('/bin/sh', ['-c', c.command], { cwd: ctx.repo, timeoutMs: c.timeoutMs, env, maxStdout: 0 });
  const tail = keptTail(r.tail);
  const ok = r.code === 0 && !r.timedOut;
  return {
    ok, exitCode: r.code, ...(tail ? { tail } : {}),
    detail: ok ? (lastLines(tail, 1) || 'exit 0') : keptTail(failureText(r, c.timeoutMs)),
  };
}

/** The app's instances in PM2: never a module, never this process. */
async function instances(ctx: MoveContext) {
  const list = await ctx.deps.pm2.list();
  return list.filter((p) => p.name === ctx.app.name && !p.isModule && p.pid !== process.pid);
}

async function reload(ctx: MoveContext): Promise<Omit<StepRecord, 'name' | 'ms'>> {
  const mine = await instances(ctx);
  if (mine.length === 0) return { ok: false, detail: `PM2 has no app named ${ctx.app.name}` };
  // A stopped instance (a rollback stopped it) is started: a restart of a stopped app starts it.
  for (const p of mine) await ctx.deps.pm2.act(p.status === 'online' ? ctx.update.reload : 'restart', p.pmId);
  const started = mine.filter((p) => p.status !== 'online').map((p) => p.pmId);
  const reloaded = mine.filter((p) => p.status === 'online').map((p) => p.pmId);
  return {
    ok: true,
    detail: [reloaded.length ? `${ctx.update.reload} of pm_id ${reloaded.join(', ')}` : '', started.length ? `started pm_id ${started.join(', ')}` : ''].filter(Boolean).join('; '),
  };
}

async function stop(ctx: MoveContext): Promise<Omit<StepRecord, 'name' | 'ms'>> {
  const mine = await instances(ctx);
  for (const p of mine) if (p.status !== 'stopped') await ctx.deps.pm2.act('stop', p.pmId);
  return { ok: true, detail: mine.length === 0 ? 'PM2 has no instance to stop' : `stopped pm_id ${mine.map((p) => p.pmId).join(', ')}` };
}

/**
 * Online and every probe passing within verify_timeout, success_threshold rounds in a row (one
 * health interval apart). A restart by PM2 during the wait (the new commit crashed) fails it at
 * once: waiting out the timeout would only lengthen the outage.
 */
async function verify(ctx: MoveContext, restartsAfterReload: number | undefined): Promise<Omit<StepRecord, 'name' | 'ms'>> {
  const { app, deps } = ctx;
  let baseline = restartsAfterReload;
  const status = async (): Promise<Pm2StatusOutcome> => {
    const s = probePm2Status(app.name, await deps.pm2.list());
    baseline ??= s.restarts;
    const n = s.restarts - baseline;
    if (n > 0) return { ...s, state: 'errored', detail: `crashed after the reload: PM2 restarted it ${n === 1 ? 'once' : `${n} times`}` };
    return s;
  };
  const v = await verifyHealthy(app, deps, ctx.update.verifyTimeoutMs, status);
  if (!v.ok) return { ok: false, detail: verdictText(v) };
  for (let round = 2; round <= app.policy.successThreshold; round++) {
    await sleep(app.health.intervalMs);
    const again = await probeAll(app, deps.prober);
    const s = await status();
    if (!again.ok || s.state !== 'online') return { ok: false, detail: `healthy once, then not: ${again.ok ? s.detail : again.detail}` };
  }
  const rounds = app.policy.successThreshold > 1 ? `, ${app.policy.successThreshold} checks in a row` : '';
  return { ok: true, detail: `healthy in ${Math.round(v.elapsedMs)} ms${rounds} (${v.detail})` };
}
