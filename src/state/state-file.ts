/**
 * The monitor's memory on disk (`<state_dir>/state.json`): reading, judging and writing the
 * state document whose shape and conversions live beside the worker's view
 * (engine/state-document.ts). Written atomically (random temp file, fsync, rename; never through
 * a link). Read back through a schema: nothing in the file can stop the monitor. A file that is
 * not a state document is kept aside and every app starts fresh; an app whose record is invalid
 * starts fresh and the others keep theirs (the file is kept aside once). A leaf shared by the
 * monitor (src/app/) and the commands that only read or point at its files (`status`).
 */
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { formatPath } from '../config/load.js';
import type { AppStateRecord, HandledAlarmRecord, StateDocument } from '../engine/state-document.js';
import { ensurePrivateDir } from '../fsx/private-dir.js';
import { readOwnFile, setAside, writeJsonAtomic as writeJsonFile } from '../fsx/safe-write.js';

export const stateFilePath = (dir: string): string => join(dir, 'state.json');

/**
 * Write a JSON document atomically (see fsx/safe-write). A state dir removed under a running
 * monitor is made again, private.
 */
export function writeJsonAtomic(path: string, doc: unknown): void {
  try {
    writeJsonFile(path, doc);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    ensurePrivateDir(dirname(path));
    writeJsonFile(path, doc);
  }
}

const count = z.number().int().nonnegative();
const phaseSchema = z.enum(['unknown', 'healthy', 'failing', 'remedying', 'unhealthy', 'stopped', 'missing']);
const circuitSchema = z.enum(['closed', 'open', 'half-open']);
// Times stay strings: an unparsable one is dropped by timeBridge (the app keeps the rest).
const remedyEntrySchema = z.object({
  at: z.string(),
  ok: z.boolean(),
  skipped: z.boolean().optional(),
  reason: z.string(),
  failure: z.string().optional(),
  strategy: z.string(),
  attempts: count,
  duration_ms: z.number().nonnegative(),
  time_to_healthy_ms: z.number().nonnegative().optional(),
  steps: z.array(z.object({ step: z.string(), ok: z.boolean(), ms: z.number(), detail: z.string() })),
  killed: z.array(z.number().int()),
  refused: z.array(z.number().int()),
});
const appRecordSchema = z.object({
  phase: phaseSchema,
  consecutive_failures: count,
  consecutive_successes: count.optional(),
  failed_remedies: count,
  left_stopped: z.boolean().optional(),
  circuit: circuitSchema.optional(),
  circuit_since: z.string().optional(),
  recent_failures: z.array(z.string()).optional(),
  backoff_until: z.string().optional(),
  paused_until: z.string().optional(),
  reset_seen: z.string().optional(),
  update_halt_seen: z.string().max(1000).optional(),
  last_reason: z.string().optional(),
  waiting_for: z.string().max(1000).optional(),
  last_check_at: z.string().optional(),
  last_health: z.object({ ok: z.boolean(), status: z.number().int().optional(), latency_ms: z.number().nonnegative(), detail: z.string().optional() }).optional(),
  last_remedy: remedyEntrySchema.optional(),
  remedies: z.array(remedyEntrySchema).optional(),
}) satisfies z.ZodType<AppStateRecord>;
const handledAlarmSchema = z.object({
  process_id: z.number().int(),
  process_name: z.string(),
  app: z.string(),
  value: z.number(),
  first_seen: z.string(),
  handled_at: z.string(),
  result: z.enum(['remedied', 'failed', 'skipped', 'held', 'unobserved', 'superseded']),
  detail: z.string(),
  incident: z.string(),
  cleared: z.boolean().optional(),
}) satisfies z.ZodType<HandledAlarmRecord>;
// `apps` is checked here only for being an object: its entries are judged one by one (and zod
// would copy the keys into a plain object, where `__proto__` is not a key).
const documentSchema = z.object({
  version: z.literal(1),
  written_at: z.string().optional(),
  pid: z.number().optional(),
  apps: z.custom<Record<string, unknown>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'expected an object of apps by name'),
  // Judged record by record below: one bad record must not cost the others.
  alarms: z.object({ handled: z.array(z.unknown()) }).optional().catch(undefined),
});

/** An app whose record was dropped, and why. */
export interface InvalidRecord {
  readonly app: string;
  readonly why: string;
}

export type StateRead =
  | { readonly kind: 'ok'; readonly doc: StateDocument; readonly invalid: readonly InvalidRecord[]; readonly bytes?: Buffer }
  | { readonly kind: 'missing' }
  /** bytes: what was read (absent when the file could not be read at all, e.g. a link). */
  | { readonly kind: 'corrupt'; readonly why: string; readonly bytes?: Buffer };

/** Read the state document, telling a missing file from a corrupt one and keeping the valid apps of a partly invalid one. */
export function loadStateDocument(path: string): StateRead {
  const read = readOwnFile(path);
  if (read.kind === 'missing') return { kind: 'missing' };
  if (read.kind === 'unsafe') return { kind: 'corrupt', why: read.why };
  const bytes = read.bytes;
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    return { kind: 'corrupt', why: (err as Error).message, bytes };
  }
  const parsed = documentSchema.safeParse(raw);
  if (!parsed.success) return { kind: 'corrupt', why: `not a helpdesk-monitor state document (${issueText(parsed.error)})`, bytes };
  const apps = Object.create(null) as Record<string, AppStateRecord>;
  const invalid: InvalidRecord[] = [];
  for (const [app, rec] of Object.entries(parsed.data.apps)) {
    const r = appRecordSchema.safeParse(rec);
    if (r.success) apps[app] = r.data;
    else invalid.push({ app, why: issueText(r.error) });
  }
  const handled = (parsed.data.alarms?.handled ?? []).flatMap((r) => {
    const h = handledAlarmSchema.safeParse(r);
    if (!h.success) invalid.push({ app: `alarms.handled[${JSON.stringify((r as { process_id?: unknown } | null)?.process_id ?? '?')}]`, why: issueText(h.error) });
    return h.success ? [h.data] : [];
  });
  const doc: StateDocument = {
    version: 1,
    written_at: parsed.data.written_at ?? '',
    pid: parsed.data.pid ?? 0,
    apps,
    ...(parsed.data.alarms ? { alarms: { handled } } : {}),
  };
  return { kind: 'ok', doc, invalid, bytes };
}

/** The first problems of a zod error, short and on one line. */
export function issueText(err: z.ZodError): string {
  const parts = err.issues.slice(0, 2).map((i) => `${formatPath(i.path) || '(root)'}: ${i.message}`);
  return oneLine(`${parts.join('; ')}${err.issues.length > 2 ? `; and ${err.issues.length - 2} more` : ''}`);
}

/**
 * Keep a state file we will not use aside (state.json.corrupt-<time>) and return where it went:
 * a copy of the bytes we read, or the file itself moved when it could not be read (a link).
 */
export function quarantine(path: string, bytes?: Uint8Array): string {
  if (bytes) return setAside(path, bytes, 'corrupt');
  const r = readOwnFile(path);
  if (r.kind === 'missing') throw Object.assign(new Error(`ENOENT: ${path} is missing`), { code: 'ENOENT' });
  return setAside(path, r.kind === 'ok' ? r.bytes : undefined, 'corrupt');
}

/**
 * What a starting monitor restores: the valid records by app (a null-prototype object), and the
 * one warning to log when something was kept aside. Never throws: a state file cannot stop the
 * monitor. The next write replaces the file, so a bad one is kept aside (and told) once.
 */
export function openStateFile(path: string): { readonly apps: Readonly<Record<string, AppStateRecord>>; readonly alarms?: readonly HandledAlarmRecord[]; readonly warning?: string } {
  const read = loadStateDocument(path);
  if (read.kind === 'missing') return { apps: Object.create(null) as Record<string, AppStateRecord> };
  const apps = read.kind === 'ok' ? read.doc.apps : (Object.create(null) as Record<string, AppStateRecord>);
  if (read.kind === 'ok' && read.invalid.length === 0) return { apps, ...(read.doc.alarms ? { alarms: read.doc.alarms.handled } : {}) };
  let aside = '';
  try {
    aside = ` (kept as ${quarantine(path, read.bytes)})`;
  } catch {
    // could not keep it: it will be overwritten
  }
  if (read.kind === 'corrupt') return { apps, warning: `the state file ${path} is unreadable (${oneLine(read.why)})${aside}; starting with fresh state` };
  const listed = read.invalid.slice(0, 5).map((i) => `${oneLine(JSON.stringify(i.app))}: ${oneLine(i.why)}`).join('; ');
  const more = read.invalid.length > 5 ? `; and ${read.invalid.length - 5} more` : '';
  const who = read.invalid.length === 1 ? 'that app starts' : 'those apps start';
  return { apps, ...(read.doc.alarms ? { alarms: read.doc.alarms.handled } : {}), warning: `the state file ${path} has invalid records (${listed}${more})${aside}; ${who} with fresh state` };
}

/** JSON.parse quotes the raw bytes it choked on, and app names come from the file: one short line. */
export function oneLine(text: string): string {
  return [...text].map((c) => (c < ' ' || (c >= '\u007f' && c <= '\u009f') ? '?' : c)).join('').slice(0, 160);
}

/** Read the state document; undefined when missing or unreadable (for `status`). */
export function readStateDocument(path: string): StateDocument | undefined {
  const r = loadStateDocument(path);
  return r.kind === 'ok' ? r.doc : undefined;
}
