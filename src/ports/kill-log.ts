/**
 * The kill log: one JSON line per judgement on the one road to a signal (ports/kill.ts) and per
 * port holder the scope refused, in `<state_dir>/kills.jsonl`. It answers "did the monitor ever
 * signal that process, and why?" after the fact: the pid with its start time (pids are reused),
 * the signal, the command (cut and redacted), its uid, the rule of the verdict and its reason,
 * the app and the door that asked. Written 0600 in the 0700 state dir without following links,
 * bounded (the older half is kept as kills.jsonl.1), only into a state dir that already exists.
 * Writing it never throws and never delays the signal: the line is written after the signal went
 * out, and a failure is only counted.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { appendBounded } from '../fsx/safe-write.js';
import { ensurePrivateDir } from '../fsx/private-dir.js';
import { redactText } from '../redact.js';
import { printable } from '../text/printable.js';
import type { Refusal } from './refusal.js';

export const KILL_LOG_FILE = 'kills.jsonl';
/** Rotated past this size: the newest 1 to 2 MiB of lines survive (each line is ~400 bytes). */
export const KILL_LOG_MAX_BYTES = 1024 * 1024;
/** Commands are cut to this many characters (after redaction): enough to tell who it was. */
export const KILL_LOG_COMMAND_MAX = 300;

/** Where a scope's judgements are logged, and which door asks (`run`, `check`, `pre-start hook`...). */
export interface KillLog {
  readonly file: string;
  readonly door?: string;
  readonly maxBytes?: number;
}

/** The kill log of a state dir. */
export function killLogIn(stateDir: string, door?: string): KillLog {
  return { file: join(stateDir, KILL_LOG_FILE), ...(door ? { door } : {}) };
}

/** `sent`: the signal went out; `denied`: EPERM; `gone`: exited or pid reused; `refused`: the scope said no. */
export type KillLogOutcome = 'sent' | 'gone' | 'denied' | 'refused';

export interface KillLogEntry {
  readonly time: string;
  readonly outcome: KillLogOutcome;
  readonly pid: number;
  readonly start_ticks?: number;
  /** The signal meant (absent for a holder refused before any signal was chosen). */
  readonly signal?: string;
  readonly command: string;
  readonly uid: number;
  readonly rule?: string;
  readonly why: string;
  readonly app?: string;
  readonly door?: string;
  readonly port?: number;
  /** The process that judged (the monitor, the CLI, or the app's own pre-start hook). */
  readonly by_pid: number;
}

export type KillLogFacts = Omit<KillLogEntry, 'time' | 'by_pid' | 'door' | 'command'> & { readonly command: string };

let failures = 0;

/** How many kill log lines could not be written in this process (for tests and diagnostics). */
export const killLogFailures = (): number => failures;

/** Append one line; never throws (a full disk or a planted link must not stop a kill). */
export function noteKill(log: KillLog | undefined, facts: KillLogFacts): void {
  if (log === undefined) return;
  try {
    const entry: KillLogEntry = {
      time: new Date().toISOString(),
      ...facts,
      command: printable(redactText(facts.command), KILL_LOG_COMMAND_MAX),
      why: redactText(facts.why),
      ...(log.door ? { door: log.door } : {}),
      by_pid: process.pid,
    };
    // Only into a state dir that exists: its owner (the monitor's door) creates it. The pre-start
    // hook runs as the app's user, an operator's `kill-port` perhaps as root: a state dir either
    // made would belong to the wrong user, and the monitor would refuse it.
    const dir = dirname(log.file);
    if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return;
    ensurePrivateDir(dir);
    appendBounded(log.file, `${JSON.stringify(entry)}\n`, log.maxBytes ?? KILL_LOG_MAX_BYTES);
  } catch {
    failures++;
  }
}

/** One `refused` line per holder a port freeing left alone. Never throws. */
export function noteRefusals(log: KillLog | undefined, app: string | undefined, refused: readonly Refusal[]): void {
  if (log === undefined) return;
  for (const r of refused) {
    noteKill(log, {
      outcome: 'refused', pid: r.pid, command: r.command, uid: r.uid, why: r.why, port: r.port,
      ...(r.startTicks === undefined ? {} : { start_ticks: r.startTicks }),
      ...(r.rule === undefined ? {} : { rule: r.rule }),
      ...(app === undefined ? {} : { app }),
    });
  }
}

/**
 * The entries of a kill log, oldest first, the rotated half included; lines that do not parse
 * are skipped. For tests, the chaos harness and operators' scripts: the monitor never reads it.
 */
export function readKillLog(file: string): KillLogEntry[] {
  const out: KillLogEntry[] = [];
  for (const f of [`${file}.1`, file]) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as KillLogEntry);
      } catch {
        // a line cut by a crash mid-write
      }
    }
  }
  return out;
}
