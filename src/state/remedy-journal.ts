/**
 * The remedy journal on disk: `<state_dir>/remedies/<app>.json`, one file per app (a private
 * 0700 folder, files 0600 written by atomic rename, read without following links). A remedy's
 * PM2 restart writes the step it is about to take (stopping, stopped, starting, restarting) with
 * the app's instances and who we are; the file goes when the remedy ends. A file still there at
 * the next start is a remedy cut short (engine/resume.ts finishes it). One file per app, so two
 * remedies never write over each other; an unreadable or foreign file is ignored (and removed
 * once the app is resumed), never trusted.
 */
import { createHash } from 'node:crypto';
import { readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { JournalEntry, RemedyJournal } from '../engine/resume.js';
import { describeError } from '../errors.js';
import { ensurePrivateDir } from '../fsx/private-dir.js';
import { readOwnFile, writeJsonAtomic } from '../fsx/safe-write.js';
import type { JournalInstance, JournalStep } from '../strategies/types.js';

const STEPS: readonly JournalStep[] = ['stopping', 'stopped', 'starting', 'restarting'];

export const remediesDir = (stateDir: string): string => join(stateDir, 'remedies');

/** A file-name-safe form of an app name that stays unique (a hash when anything was replaced). */
function fileKey(app: string): string {
  const safe = app.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 80);
  return safe === app && !safe.startsWith('.') ? app : `${safe}-${createHash('sha256').update(app).digest('hex').slice(0, 8)}`;
}

export const journalFile = (stateDir: string, app: string): string => join(remediesDir(stateDir), `${fileKey(app)}.json`);

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** The entry in a file, or undefined when it is not one (nothing in it is trusted unchecked). */
export function parseEntry(text: string): JournalEntry | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const d = doc as Record<string, unknown>;
  const by = d['by'] as Record<string, unknown> | undefined;
  const instances = d['instances'];
  if (typeof d['app'] !== 'string' || typeof d['incident_id'] !== 'string' || typeof d['at'] !== 'string') return undefined;
  if (!STEPS.includes(d['step'] as JournalStep) || !Array.isArray(instances)) return undefined;
  if (typeof by !== 'object' || by === null || typeof by['monitor'] !== 'string' || !isInt(by['pid'])) return undefined;
  const parsed: JournalInstance[] = [];
  for (const i of instances as unknown[]) {
    const r = i as Record<string, unknown> | null;
    if (!r || !isInt(r['pm_id']) || !isInt(r['pid']) || !isInt(r['restarts']) || typeof r['started_at'] !== 'number') return undefined;
    parsed.push({ pmId: r['pm_id'], pid: r['pid'], restarts: r['restarts'], startedAt: r['started_at'] });
  }
  return { app: d['app'], incidentId: d['incident_id'], step: d['step'] as JournalStep, instances: parsed, at: d['at'], by: { monitor: by['monitor'], pid: by['pid'] } };
}

/** The file's form (snake_case, as the other state files). */
function record(e: JournalEntry): unknown {
  return {
    version: 1, app: e.app, incident_id: e.incidentId, step: e.step, at: e.at, by: e.by,
    instances: e.instances.map((i) => ({ pm_id: i.pmId, pid: i.pid, restarts: i.restarts, started_at: i.startedAt })),
  };
}

/**
 * The journal under a state dir. `monitor` names the door that writes (run, module, check);
 * `warn` hears a write that failed (once per remedy): the remedy goes on without its journal.
 */
export function remedyJournal(stateDir: string, monitor: string, warn: (message: string) => void): RemedyJournal {
  const dir = remediesDir(stateDir);
  const clear = (app: string): void => {
    try {
      unlinkSync(journalFile(stateDir, app));
    } catch {
      // already gone
    }
  };
  return {
    forRemedy(app, incidentId) {
      let told = false;
      return {
        note: (step, instances) => {
          try {
            ensurePrivateDir(dir, 'state_dir/remedies');
            writeJsonAtomic(journalFile(stateDir, app), record({ app, incidentId, step, instances, at: new Date().toISOString(), by: { monitor, pid: process.pid } }));
          } catch (err) {
            if (!told) warn(`cannot write the remedy journal (a shutdown now could leave ${app} stopped): ${describeError(err)}`);
            told = true;
          }
        },
        clear: () => clear(app),
      };
    },
    entries() {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        return [];
      }
      const out: JournalEntry[] = [];
      for (const name of names.filter((n) => n.endsWith('.json'))) {
        const r = readOwnFile(join(dir, name), 1024 * 1024);
        const entry = r.kind === 'ok' ? parseEntry(r.bytes.toString('utf8')) : undefined;
        // An entry must sit in its own app's file: a file renamed or planted under another name is not ours.
        if (entry && journalFile(stateDir, entry.app) === join(dir, name)) out.push(entry);
        else warn(`ignored ${join(dir, name)}: not a remedy journal entry of ours`);
      }
      return out;
    },
    clear,
  };
}
