/**
 * One update check of one app, whoever triggers it (the schedule, the CLI, the webhook):
 * observe (fetch, read the tree), decide (decide.ts), act and verify (pipeline.ts), record
 * (record.ts). It holds the repo's lock from the fetch to the record, so a second trigger, in
 * this process or another, answers "update in progress"; an interrupted update found in the
 * journal is finished first.
 */
import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../config/schema.js';
import type { ActDeps } from '../engine/verify.js';
import { LockHeldError } from '../errors.js';
import { commitOf, fetchBranch, isAncestor, readTree, subjectOf } from '../git/repo.js';
import { acquireLock } from '../lock/lock.js';
import { decideUpdate, type Refusal, type UpdateGate } from './decide.js';
import { realMoves } from './moves.js';
import { applyUpdate, rollBack, type Moves } from './pipeline.js';
import { recordQuiet, recordRefusal, recordStory, type RecordDeps } from './record.js';
import { clearJournal, readJournal, readMemory, repoLockPath, writeJournal, writeMemory, type UpdateJournal } from './store.js';
import { keptTail, shortSha, type UpdateStory, type UpdateTrigger } from './story.js';

export interface UpdateDeps extends RecordDeps {
  readonly act: ActDeps;
  /** The pause and circuit of the app as the monitor knows them. */
  readonly gate: (app: string) => Pick<UpdateGate, 'paused' | 'circuitOpen' | 'remedying'>;
}

export interface UpdateRequest {
  readonly trigger: UpdateTrigger;
  readonly dryRun?: boolean;
  /** `--to SHA`: a commit of the remote branch instead of its tip. */
  readonly to?: string;
  /** `--retry`: bad marks and a halt do not hold this one back (and are forgotten when it applies). */
  readonly retry?: boolean;
}

export type UpdateOutcome = 'up_to_date' | 'skipped' | 'refused' | 'would_update' | 'busy' | 'failed' | 'applied' | 'rolled_back' | 'rollback_failed';

export interface UpdateReport {
  readonly app: string;
  readonly outcome: UpdateOutcome;
  readonly detail: string;
  readonly repo?: string;
  readonly head?: string;
  readonly tip?: string;
  readonly refusal?: Refusal;
  readonly story?: UpdateStory;
  /** An interrupted update finished before this check. */
  readonly resumed?: UpdateStory;
}

const GIT_READ_MS = 30_000;

/** The work tree of an app: `update.repo`, else the cwd PM2 runs it in. */
export async function repoOf(app: AppConfig, act: ActDeps): Promise<string | undefined> {
  if (app.update?.repo) return app.update.repo;
  const list = await act.pm2.list();
  return list.find((p) => p.name === app.name && !p.isModule)?.cwd;
}

export async function runUpdate(app: AppConfig, req: UpdateRequest, deps: UpdateDeps): Promise<UpdateReport> {
  const update = app.update;
  if (!update) return { app: app.name, outcome: 'failed', detail: `${app.name} has no update: block in the config` };
  const repo = await repoOf(app, deps.act).catch(() => undefined);
  if (!repo) return { app: app.name, outcome: 'failed', detail: `no work tree: PM2 has no app named ${app.name} (or cannot be reached) and update.repo is not set` };
  return underRepoLock(app, repo, deps, async () => {
    const journal = readJournal(deps.stateDir, app.name);
    if (journal && req.dryRun) {
      const report = await checkAndApply(app, repo, req, deps);
      return { ...report, detail: `an interrupted update ${shortSha(journal.from)} -> ${shortSha(journal.to)} (stopped at ${journal.phase}) would be finished first; then: ${report.detail}` };
    }
    // The journal's repo is the one locked: an update block that moved since is left alone.
    const resumed = journal && journal.repo === repo ? await resume(app, journal, deps) : undefined;
    const report = await checkAndApply(app, repo, req, deps);
    return resumed ? { ...report, resumed } : report;
  });
}

/** Run `work` holding the repo's lock; another holder (any door, any process) makes it `busy`. */
async function underRepoLock(app: AppConfig, repo: string, deps: UpdateDeps, work: () => Promise<UpdateReport>): Promise<UpdateReport> {
  let lock;
  try {
    lock = acquireLock({ path: repoLockPath(deps.stateDir, repo), role: 'update' });
  } catch (err) {
    if (err instanceof LockHeldError) return { app: app.name, outcome: 'busy', repo, detail: `update in progress: ${err.message}` };
    throw err;
  }
  try {
    return await work();
  } finally {
    lock.release();
  }
}

async function checkAndApply(app: AppConfig, repo: string, req: UpdateRequest, deps: UpdateDeps): Promise<UpdateReport> {
  const u = app.update!;
  const base = { app: app.name, repo };
  const quiet = (outcome: UpdateOutcome, detail: string, extra: Partial<UpdateReport> = {}): UpdateReport => {
    const said = keptTail(detail);
    if (!req.dryRun) recordQuiet(app.name, outcome, said, outcome === 'failed', deps);
    return { ...base, ...extra, outcome, detail: said };
  };
  const fetched = await fetchBranch(repo, u.remote, u.branch, u.fetchTimeoutMs);
  if (!fetched.ok) return quiet('failed', `${fetched.step} ${u.remote} ${u.branch} failed: ${fetched.detail}`);
  const read = await readTree(repo, GIT_READ_MS);
  if (!read.ok) return quiet('failed', `${read.step} failed: ${read.detail}`);
  const tree = read.facts;
  let target = fetched.tip;
  if (req.to) {
    const sha = await commitOf(repo, req.to, GIT_READ_MS);
    if (!sha || !(await isAncestor(repo, sha, fetched.tip, GIT_READ_MS))) {
      return { ...base, outcome: 'failed', detail: `--to ${req.to} is not a commit of ${u.remote}/${u.branch}` };
    }
    target = sha;
  }
  const mem = readMemory(deps.stateDir, app.name);
  const g = deps.gate(app.name);
  const gate: UpdateGate = { ...g, bad: mem.bad.map((b) => b.sha), retry: req.retry === true, ...(mem.halted && !req.retry ? { halted: mem.halted.why } : {}) };
  // --retry after a failed rollback: the circuit that halt opened does not hold the retry back.
  const retryHalt = req.retry === true && mem.halted !== undefined;
  const ahead = await isAncestor(repo, tree.head, target, GIT_READ_MS);
  // --to an older commit of the branch: a deliberate step back, made with reset --keep.
  const back = req.to !== undefined && !ahead && (await isAncestor(repo, target, tree.head, GIT_READ_MS));
  const decision = decideUpdate({
    tree, branch: u.branch, remote: u.remote, tip: target, fastForward: ahead || back, allowUntracked: u.allowUntracked,
    ...(fetched.previous ? { tipMovedForward: await isAncestor(repo, fetched.previous, fetched.tip, GIT_READ_MS) } : {}),
  }, retryHalt ? { ...gate, circuitOpen: false } : gate);
  const facts = { head: tree.head, tip: target };
  if (decision.action === 'none') return quiet(decision.why.startsWith('up to date') ? 'up_to_date' : 'skipped', decision.why, facts);
  if (decision.action === 'refuse') {
    if (!req.dryRun) recordRefusal(app.name, decision.refusal, deps);
    return { ...base, ...facts, outcome: 'refused', refusal: decision.refusal, detail: `${decision.refusal.text}; way out: ${decision.refusal.wayOut}` };
  }
  if (req.dryRun) return { ...base, ...facts, outcome: 'would_update', detail: `would update ${shortSha(decision.from)} -> ${shortSha(decision.to)} "${await subjectOf(repo, decision.to, GIT_READ_MS)}"` };
  const story = await act(app, repo, decision.from, decision.to, req.trigger, deps, back);
  if (req.retry && story.result === 'applied') forgetMarks(app.name, deps);
  return { ...base, head: story.result === 'applied' ? decision.to : decision.from, tip: target, outcome: story.result, detail: story.detail, story };
}

/** Merge (or step back), build, reload, verify; roll back on failure; record. */
export async function act(app: AppConfig, repo: string, from: string, to: string, trigger: UpdateTrigger, deps: UpdateDeps, back = false): Promise<UpdateStory> {
  const started = Date.now();
  const id = randomUUID();
  const journal = journalWriter(deps.stateDir, { id, app: app.name, repo, from, to, startedAt: new Date().toISOString(), resumes: 0 });
  const moves = movesFor(app, repo, from, to, deps, journal);
  const run = back ? { ...moves, fastForward: moves.resetKeep } : moves;
  const outcome = await applyUpdate(from, to, app.update!.commands, run);
  return finish(app, repo, { id, trigger, from, to, started }, outcome, deps);
}

/** Roll back the last applied update (`rollback APP`): the commit it replaced, reloaded and verified. */
export async function rollbackLast(app: AppConfig, deps: UpdateDeps): Promise<UpdateReport> {
  const repo = await repoOf(app, deps.act).catch(() => undefined);
  const update = app.update;
  if (!update || !repo) return { app: app.name, outcome: 'failed', detail: 'no work tree to roll back (no update: block, or PM2 does not know the app)' };
  return underRepoLock(app, repo, deps, async () => {
    const read = await readTree(repo, GIT_READ_MS);
    if (!read.ok) return { app: app.name, repo, outcome: 'failed', detail: `${read.step} failed: ${read.detail}` };
    const head = read.facts.head;
    const last = [...readMemory(deps.stateDir, app.name).history].reverse().find((s) => s.result === 'applied' && s.to.sha === head);
    if (!last) return { app: app.name, repo, head, outcome: 'failed', detail: `no applied update leads to HEAD ${shortSha(head)}: nothing to roll back to` };
    const started = Date.now();
    const id = randomUUID();
    const journal = journalWriter(deps.stateDir, { id, app: app.name, repo, from: last.from.sha, to: head, startedAt: new Date().toISOString(), resumes: 0 });
    const moves = movesFor(app, repo, last.from.sha, head, deps, journal);
    const outcome = await rollBack(last.from.sha, true, update.commands, moves, [], 'rolled back by an operator');
    // Told as updates are: from the known-good commit to the one that is marked bad now.
    const story = await finish(app, repo, { id, trigger: 'rollback', from: last.from.sha, to: head, started }, outcome, deps);
    return { app: app.name, repo, head: outcome.result === 'rolled_back' ? last.from.sha : head, outcome: story.result, detail: story.detail, story };
  });
}

/** Finish an update a killed monitor left in the journal: complete it once, else roll it back. */
async function resume(app: AppConfig, j: UpdateJournal, deps: UpdateDeps): Promise<UpdateStory | undefined> {
  const read = await readTree(j.repo, GIT_READ_MS);
  const log = deps.logger.child({ app: app.name });
  if (!read.ok) {
    log.error(`an interrupted update (${shortSha(j.from)} -> ${shortSha(j.to)}) cannot be finished: ${read.detail}`);
    return undefined;
  }
  const head = read.facts.head;
  const again: UpdateJournal = { ...j, resumes: j.resumes + 1, pid: process.pid };
  writeJournal(deps.stateDir, again);
  const journal = journalWriter(deps.stateDir, again);
  const moves = movesFor(app, j.repo, j.from, j.to, deps, journal);
  const started = Date.now();
  const meta = { id: j.id, trigger: 'resume' as const, from: j.from, to: j.to, started };
  log.warn(`finishing an interrupted update ${shortSha(j.from)} -> ${shortSha(j.to)} (it stopped at ${j.phase}, HEAD is ${shortSha(head)})`);
  if (head !== j.to && head !== j.from) {
    clearJournal(deps.stateDir, app.name);
    log.error(`HEAD ${shortSha(head)} is neither side of the interrupted update: someone moved the tree; leaving it alone`);
    return undefined;
  }
  // The reload may have run (its journal entry is written before it): the app may run the new commit.
  const ranNew = j.reloaded || j.phase === 'reload' || j.phase === 'verify';
  if (j.phase !== 'rollback' && head === j.to && again.resumes <= 1) {
    return finish(app, j.repo, meta, await applyUpdate(j.from, j.to, app.update!.commands, moves, 'commands', ranNew), deps);
  }
  if (head === j.from && j.phase !== 'rollback' && !j.reloaded) {
    // Stopped before the merge took effect: nothing to finish.
    clearJournal(deps.stateDir, app.name);
    return undefined;
  }
  const outcome = await rollBack(j.from, ranNew, app.update!.commands, moves, [], `an interrupted update (stopped at ${j.phase}) is rolled back`);
  return finish(app, j.repo, meta, outcome, deps);
}

function movesFor(app: AppConfig, repo: string, from: string, to: string, deps: UpdateDeps, journal: Moves['journal']): Moves {
  return realMoves({ app, update: app.update!, repo, from, to, deps: deps.act, journal });
}

function journalWriter(stateDir: string, fixed: Omit<UpdateJournal, 'phase' | 'reloaded' | 'at' | 'pid'>): Moves['journal'] {
  return (phase, reloaded) => writeJournal(stateDir, { ...fixed, phase, reloaded, at: new Date().toISOString(), pid: process.pid });
}

async function finish(
  app: AppConfig, repo: string, meta: { id: string; trigger: UpdateTrigger; from: string; to: string; started: number },
  outcome: Awaited<ReturnType<typeof applyUpdate>>, deps: UpdateDeps,
): Promise<UpdateStory> {
  const [fromSubject, toSubject] = await Promise.all([subjectOf(repo, meta.from, GIT_READ_MS), subjectOf(repo, meta.to, GIT_READ_MS)]);
  const story: UpdateStory = {
    id: meta.id, app: app.name, trigger: meta.trigger, at: new Date(meta.started).toISOString(),
    from: { sha: meta.from, subject: fromSubject }, to: { sha: meta.to, subject: toSubject },
    result: outcome.result, steps: outcome.steps, ms: Date.now() - meta.started, detail: outcome.detail,
  };
  // The update is over whatever the record does: a journal kept by a failed write would be
  // "finished" again at the next start, and a second resume would roll back a healthy commit.
  clearJournal(deps.stateDir, app.name);
  try {
    recordStory(story, deps);
  } catch (err) {
    deps.logger.child({ app: app.name }).error(`update ${story.result}, but its record could not be written: ${err instanceof Error ? err.message : String(err)}`);
  }
  return story;
}

/** A retried update that applied: its bad marks and a halt are history. */
function forgetMarks(app: string, deps: UpdateDeps): void {
  const { halted: _halted, ...rest } = readMemory(deps.stateDir, app);
  writeMemory(deps.stateDir, app, { ...rest, bad: [] });
}
