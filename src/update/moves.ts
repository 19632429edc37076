/**
 * The real moves of an update (pipeline.ts's Moves): git in the repo, the config's commands under
 * `sh -c` in the repo, the reload through the PM2 adapter by pm_id (every instance of the app,
 * never a module and never this process), and the same proof of health a remedy uses.
 */
import type { AppConfig } from '../config/schema.js';
import type { UpdateCommand, UpdateConfig } from '../config/update.js';
import { verdictText, verifyHealthy, type ActDeps } from '../engine/verify.js';
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
    command: (c, i) => timed(`command ${i + 1}: ${c.command}`, () => runCommand(c, ctx)),
    reload: () => timed(`pm2 ${ctx.update.reload}`, () => reload(ctx)),
    verify: () => timed('verify', async () => {
      const v = await verifyHealthy(ctx.app, ctx.deps, ctx.update.verifyTimeoutMs);
      return { ok: v.ok, detail: v.ok ? `healthy in ${v.elapsedMs} ms (${v.detail})` : verdictText(v) };
    }),
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

async function reload(ctx: MoveContext): Promise<Omit<StepRecord, 'name' | 'ms'>> {
  const list = await ctx.deps.pm2.list();
  const mine = list.filter((p) => p.name === ctx.app.name && !p.isModule && p.pid !== process.pid);
  if (mine.length === 0) return { ok: false, detail: `PM2 has no app named ${ctx.app.name}` };
  for (const p of mine) await ctx.deps.pm2.act(ctx.update.reload, p.pmId);
  return { ok: true, detail: `${ctx.update.reload} of pm_id ${mine.map((p) => p.pmId).join(', ')}` };
}
