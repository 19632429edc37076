/**
 * The update's files under `<state_dir>/updates/` (a private folder; files 0600, written by atomic
 * rename, read without following links): per app, what the updates know (SHA, bad SHAs, the last
 * refusal, a halt, the last 50 stories) and the journal of an update in flight; per repo, the lock
 * that makes one update at a time whoever triggers it. One file per app, so the CLI and the
 * module, each holding the repo's lock, never write over each other's apps.
 */
import { createHash } from 'node:crypto';
import { realpathSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir } from '../fsx/private-dir.js';
import { readOwnFile, writeJsonAtomic } from '../fsx/safe-write.js';
import type { UpdateStory } from './story.js';

export const HISTORY_MAX = 50;
const BAD_MAX = 20;

export interface BadMark {
  readonly sha: string;
  readonly at: string;
  readonly why: string;
}

export interface AppUpdateMemory {
  /** The SHA the app was last verified healthy on. */
  readonly good?: string;
  readonly bad: readonly BadMark[];
  /** The refusal last told (its key): the same state is not told again. */
  readonly refusal?: { readonly key: string; readonly text: string; readonly at: string };
  /** Updates stopped after a failed rollback. */
  readonly halted?: { readonly why: string; readonly at: string };
  readonly lastCheck?: { readonly at: string; readonly result: string; readonly detail?: string };
  readonly history: readonly UpdateStory[];
}

export type JournalPhase = 'merge' | 'commands' | 'reload' | 'verify' | 'rollback';

/** Written before each step: a monitor killed mid-update finishes from here at its next start. */
export interface UpdateJournal {
  readonly id: string;
  readonly app: string;
  readonly repo: string;
  readonly from: string;
  readonly to: string;
  readonly phase: JournalPhase;
  /** The app was reloaded on `to` (a rollback must reload it back). */
  readonly reloaded: boolean;
  readonly startedAt: string;
  readonly at: string;
  /** Times a start found this journal and resumed it: a second resume rolls back. */
  readonly resumes: number;
  readonly pid: number;
}

const EMPTY: AppUpdateMemory = { bad: [], history: [] };

export const updatesDir = (stateDir: string): string => join(stateDir, 'updates');

/** A file-name-safe form of an app name that stays unique (a hash when anything was replaced). */
function fileKey(app: string): string {
  const safe = app.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 80);
  return safe === app ? app : `${safe}-${createHash('sha256').update(app).digest('hex').slice(0, 8)}`;
}

export const memoryPath = (stateDir: string, app: string): string => join(updatesDir(stateDir), `${fileKey(app)}.json`);
export const journalPath = (stateDir: string, app: string): string => join(updatesDir(stateDir), `${fileKey(app)}.journal.json`);

/** The lock of a repo, keyed by its real path (two spellings of one tree share it). */
export function repoLockPath(stateDir: string, repo: string): string {
  let real = repo;
  try {
    real = realpathSync(repo);
  } catch {
    // a missing repo is reported by git; its lock is keyed by the path as given
  }
  return join(updatesDir(stateDir), `repo-${createHash('sha256').update(real).digest('hex').slice(0, 16)}.lock`);
}

function readJson(path: string): unknown {
  const r = readOwnFile(path, 8 * 1024 * 1024);
  if (r.kind !== 'ok') return undefined;
  try {
    return JSON.parse(r.bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

export function readMemory(stateDir: string, app: string): AppUpdateMemory {
  const doc = readJson(memoryPath(stateDir, app));
  if (typeof doc !== 'object' || doc === null) return EMPTY;
  const d = doc as Partial<AppUpdateMemory>;
  return { ...EMPTY, ...d, bad: Array.isArray(d.bad) ? d.bad : [], history: Array.isArray(d.history) ? d.history : [] };
}

export function writeMemory(stateDir: string, app: string, memory: AppUpdateMemory): void {
  ensurePrivateDir(updatesDir(stateDir), 'state_dir/updates');
  const bounded = { ...memory, bad: memory.bad.slice(-BAD_MAX), history: memory.history.slice(-HISTORY_MAX) };
  writeJsonAtomic(memoryPath(stateDir, app), bounded);
}

export function readJournal(stateDir: string, app: string): UpdateJournal | undefined {
  const doc = readJson(journalPath(stateDir, app));
  if (typeof doc !== 'object' || doc === null) return undefined;
  const j = doc as Partial<UpdateJournal>;
  const sha = (s: unknown): boolean => typeof s === 'string' && /^[0-9a-f]{40,64}$/.test(s);
  if (j.app !== app || typeof j.repo !== 'string' || !sha(j.from) || !sha(j.to) || typeof j.phase !== 'string') return undefined;
  return { resumes: 0, reloaded: false, ...j } as UpdateJournal;
}

export function writeJournal(stateDir: string, journal: UpdateJournal): void {
  ensurePrivateDir(updatesDir(stateDir), 'state_dir/updates');
  writeJsonAtomic(journalPath(stateDir, journal.app), journal);
}

export function clearJournal(stateDir: string, app: string): void {
  try {
    unlinkSync(journalPath(stateDir, app));
  } catch {
    // already gone
  }
}
