/**
 * The act and verify steps of an update, and the rollback, as one algorithm over injected moves
 * (moves.ts makes the real ones: git, `sh -c`, PM2 by pm_id, the probes). Each step is journaled
 * before it runs, so a monitor killed in the middle knows at its next start where it was.
 *
 *   merge --ff-only -> commands -> reload -> verify          (any failure after the merge:)
 *   [stop, if it was reloaded] -> reset --keep <from> -> commands -> [start] -> verify
 *
 * A failed build never reaches a reload: the app never runs a commit whose build failed. An app
 * that runs the new commit is stopped before the rollback touches its files, so PM2's own
 * restarts of a crashing app never boot half-restored sources or the new commit's build output.
 */
import type { UpdateCommand } from '../config/update.js';
import type { JournalPhase } from './store.js';
import type { StepRecord, UpdateResult } from './story.js';

export interface Moves {
  fastForward(to: string): Promise<StepRecord>;
  resetKeep(to: string): Promise<StepRecord>;
  command(c: UpdateCommand, index: number): Promise<StepRecord>;
  reload(): Promise<StepRecord>;
  /** Stop the app through PM2 (a rollback of an app running the new commit). */
  stop(): Promise<StepRecord>;
  verify(): Promise<StepRecord>;
  /** Write the journal before a step; `reloaded`: the app has run the new commit. */
  journal(phase: JournalPhase, reloaded: boolean): void;
}

export interface PipelineOutcome {
  readonly result: UpdateResult;
  readonly steps: readonly StepRecord[];
  readonly detail: string;
}

/**
 * From the start (`merge`), or from the commands (a resumed update whose merge was done;
 * `ranNew`: the app may already run the new commit, so a rollback must stop and start it).
 */
export async function applyUpdate(from: string, to: string, commands: readonly UpdateCommand[], moves: Moves, startAt: 'merge' | 'commands' = 'merge', ranNew = false): Promise<PipelineOutcome> {
  const steps: StepRecord[] = [];
  const step = async (s: Promise<StepRecord>): Promise<StepRecord> => {
    const r = await s;
    steps.push(r);
    return r;
  };
  if (startAt === 'merge') {
    moves.journal('merge', false);
    const merged = await step(moves.fastForward(to));
    // A refused fast forward changes nothing on disk: nothing to roll back.
    if (!merged.ok) return { result: 'failed', steps, detail: `${merged.name} failed: ${merged.detail}` };
  }
  const built = await runCommands(commands, moves, step, 'commands', ranNew);
  if (!built.ok) return rollBack(from, ranNew, commands, moves, steps, `${built.name} failed: ${built.detail}`);
  moves.journal('reload', false);
  const reloaded = await step(moves.reload());
  // A failed reload may have stopped some instances: the rollback reloads them all.
  if (!reloaded.ok) return rollBack(from, true, commands, moves, steps, `${reloaded.name} failed: ${reloaded.detail}`);
  moves.journal('verify', true);
  const verified = await step(moves.verify());
  if (!verified.ok) return rollBack(from, true, commands, moves, steps, `not healthy on the new commit: ${verified.detail}`);
  return { result: 'applied', steps, detail: verified.detail };
}

/** Back to `from` (a known-good commit): reset --keep, commands, reload if the app ran the new one, verify. */
export async function rollBack(from: string, reloaded: boolean, commands: readonly UpdateCommand[], moves: Moves, steps: StepRecord[], why: string): Promise<PipelineOutcome> {
  const step = async (s: Promise<StepRecord>): Promise<StepRecord> => {
    const r = await s;
    steps.push({ ...r, name: `rollback: ${r.name}` });
    return r;
  };
  const failed = (what: StepRecord): PipelineOutcome => ({ result: 'rollback_failed', steps, detail: `${why}; the rollback failed too: ${what.name} ${what.detail}` });
  moves.journal('rollback', reloaded);
  // A failed stop is no reason to leave the new commit on disk: the rollback goes on.
  if (reloaded) await step(moves.stop());
  const reset = await step(moves.resetKeep(from));
  if (!reset.ok) {
    // git refused (a local change in a file the update touched): the app we stopped is started
    // again on the commit it ran, never left stopped.
    if (reloaded) await step(moves.reload());
    return failed(reset);
  }
  const built = await runCommands(commands, moves, step, 'rollback', reloaded);
  if (!built.ok) return failed(built);
  if (reloaded) {
    const again = await step(moves.reload());
    if (!again.ok) return failed(again);
  }
  const verified = await step(moves.verify());
  if (!verified.ok) return failed(verified);
  return { result: 'rolled_back', steps, detail: `${why}; back on the previous commit: ${verified.detail}` };
}

async function runCommands(
  commands: readonly UpdateCommand[],
  moves: Moves,
  step: (s: Promise<StepRecord>) => Promise<StepRecord>,
  phase: JournalPhase = 'commands',
  reloaded = false,
): Promise<StepRecord | { ok: true }> {
  for (const [i, c] of commands.entries()) {
    moves.journal(phase, reloaded);
    const r = await step(moves.command(c, i));
    if (!r.ok) return r;
  }
  return { ok: true };
}
