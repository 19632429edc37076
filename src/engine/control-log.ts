/**
 * What an operator's control.json means for one app's log. The monitor re-reads the file at
 * start, at each change and at config reloads, and every read hands each app its whole entry; a
 * line is owed only for what differs from what the worker already had: a pause that started or
 * changed, one ended by `resume`, one that expired by itself, a reset newer than the last applied.
 * What the worker had survives restarts through state.json (the pause in force, the last reset
 * seen), so a `check` logs a change once, and a restarted monitor does not log it again. Pure: the
 * memory, the entry and the wall clock in; the events, their sentences and the new memory out.
 */
import { printable } from '../text/printable.js';
import type { Control, Requester } from './view.js';

/** A pause's end: a wall-clock time, or none (until `resume`). */
export type PauseEnd = number | 'indefinite';

/** What the worker has told so far. */
export interface ControlMemory {
  /** The pause in force as last told (absent: none). */
  readonly pause?: PauseEnd;
  /** Wall-clock ms of the last reset applied (0: none). */
  readonly resetSeen: number;
}

export type ControlEvent =
  | { readonly kind: 'paused'; readonly until: PauseEnd; readonly by?: Requester; /** The pause it replaced. */ readonly before?: PauseEnd }
  | { readonly kind: 'resumed'; readonly was: PauseEnd; readonly by?: Requester }
  | { readonly kind: 'expired'; readonly at: number }
  | { readonly kind: 'reset'; readonly at: number; readonly by?: Requester };

/** The pause in force at `wallNow` (a pause whose end has passed is no pause). */
export function pauseInForce(until: PauseEnd | undefined, wallNow: number): PauseEnd | undefined {
  return until === 'indefinite' || (until !== undefined && until > wallNow) ? until : undefined;
}

/** A pause as state.json keeps it (`paused_until`), for the memory a monitor starts with. */
export function pauseOfRecord(iso: string | undefined): PauseEnd | undefined {
  if (iso === undefined) return undefined;
  if (iso === 'indefinite') return 'indefinite';
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : undefined;
}

/** The changes `control` makes to what was told, in the order to log them, and the memory after. */
export function controlEvents(memory: ControlMemory, control: Control, wallNow: number): { events: ControlEvent[]; memory: ControlMemory } {
  const events: ControlEvent[] = [];
  const told = memory.pause;
  const now = pauseInForce(control.pausedUntil, wallNow);
  if (now !== told) {
    if (now !== undefined) {
      events.push({ kind: 'paused', until: now, ...(control.pausedBy ? { by: control.pausedBy } : {}), ...(told !== undefined ? { before: told } : {}) });
    } else if (told !== undefined) {
      // Gone from the file: `resume` (or a hand edit). Still there but past: it ran out by itself.
      if (control.pausedUntil === undefined) events.push({ kind: 'resumed', was: told, ...(control.resumedBy ? { by: control.resumedBy } : {}) });
      else events.push({ kind: 'expired', at: typeof control.pausedUntil === 'number' ? control.pausedUntil : wallNow });
    }
  }
  let resetSeen = memory.resetSeen;
  if (control.resetAt !== undefined && control.resetAt > resetSeen) {
    resetSeen = control.resetAt;
    events.push({ kind: 'reset', at: control.resetAt, ...(control.resetBy ? { by: control.resetBy } : {}) });
  }
  return { events, memory: { ...(now !== undefined ? { pause: now } : {}), resetSeen } };
}

/** The log line for an event: a pause holds remedies back (warn); the rest lets them happen (info). */
export function describeControlEvent(e: ControlEvent, wallNow: number): { level: 'warn' | 'info'; message: string } {
  switch (e.kind) {
    case 'paused': {
      const until = e.until === 'indefinite' ? 'with no end: no remedies until `helpdesk-monitor resume`' : `until ${timeText(e.until, wallNow)}: no remedies until then`;
      const was = e.before === undefined ? '' : ` (was ${e.before === 'indefinite' ? 'with no end' : `until ${timeText(e.before, wallNow)}`})`;
      return { level: 'warn', message: `${e.before === undefined ? 'paused' : 'pause changed'}${by(e.by)} ${until}${was}` };
    }
    case 'resumed':
      return { level: 'info', message: `pause ended: resumed${by(e.by)}; remedies allowed again` };
    case 'expired':
      return { level: 'info', message: `pause ended: it expired at ${timeText(e.at, wallNow)}; remedies allowed again` };
    case 'reset':
      return { level: 'info', message: `reset${by(e.by)}: failed remedies, backoff and an open circuit are cleared; remedies allowed again` };
  }
}

/**
 * Who asked, for a log line: `alice (uid 1000, pid 4242)`; under sudo `alice (sudo as root, uid
 * 0, pid 4242)`. Names come from a file: shown printable and short, never obeyed by a terminal.
 */
export function requesterText(r: Requester): string {
  const facts = [
    ...(r.sudoUser ? [`sudo as ${printable(r.user, 64)}`] : []),
    ...(r.uid === undefined ? [] : [`uid ${r.uid}`]),
    ...(r.pid === undefined ? [] : [`pid ${r.pid}`]),
    ...(r.via === undefined || r.via === 'cli' ? [] : [`via ${printable(r.via, 32)}`]),
  ];
  return `${printable(r.sudoUser ?? r.user, 64)}${facts.length ? ` (${facts.join(', ')})` : ''}`;
}

/** ` by <who>`, or a note that the file does not say (written before it recorded who asked, or by hand). */
function by(r: Requester | undefined): string {
  return r ? ` by ${requesterText(r)}` : ' (who asked is not recorded)';
}

/** `12:30:00Z` on the same UTC day, else `2024-05-02 12:30:00Z`. */
export function timeText(ms: number, wallNow: number): string {
  const iso = new Date(ms).toISOString();
  const sameDay = iso.slice(0, 10) === new Date(wallNow).toISOString().slice(0, 10);
  return `${sameDay ? '' : `${iso.slice(0, 10)} `}${iso.slice(11, 19)}Z`;
}
