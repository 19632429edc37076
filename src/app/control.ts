/**
 * Operator requests to a monitor (`reset`, `pause`, `resume`), one way for every door that asks:
 * the CLI commands and the PM2 module's actions (`pm2 trigger helpdesk-monitor pause ...`). A
 * request becomes one change to `<state_dir>/control.json`, recorded with who asked; the running
 * monitor applies the file (within a second, or at once when the request came through it).
 */
import { userInfo } from 'node:os';
import { parseDuration } from '../config/duration.js';
import type { Requester } from '../engine/view.js';
import { UsageError } from '../errors.js';
import { requesterOf, updateControl, type ControlUpdate } from '../state/control.js';

export type ControlRequest =
  | { readonly kind: 'reset' }
  /** A pause until a wall-clock time (ms), or until `resume`. */
  | { readonly kind: 'pause'; readonly until: number | 'indefinite' }
  | { readonly kind: 'resume' };

/**
 * When a pause asked for `duration` ends: undefined (no duration) is until `resume`. Throws
 * UsageError for anything that is not a positive duration (`30m`, `2h`, `90` seconds).
 */
export function pauseEnd(duration: string | undefined, wallNow: number): number | 'indefinite' {
  if (duration === undefined) return 'indefinite';
  const ms = parseDuration(duration);
  if (ms === undefined || ms <= 0) throw new UsageError(`expected a duration like 30m, got "${duration}"`);
  return wallNow + ms;
}

/** The change to the app's control entry a request makes. */
export function controlChange(request: ControlRequest, by: Requester, wallNow: number): ControlUpdate {
  switch (request.kind) {
    case 'reset':
      return { resetAt: wallNow, by };
    case 'pause':
      return { pausedUntil: request.until, by };
    case 'resume':
      return { pausedUntil: null, by };
  }
}

/** Write the request for `app` into the control file (see updateControl for what it may throw). */
export function requestControl(file: string, app: string, request: ControlRequest, by: Requester, wallNow = Date.now()): void {
  updateControl(file, app, controlChange(request, by, wallNow));
}

/** What a request did, in one line (`hd: remedies paused until ...`). */
export function requestDone(app: string, request: ControlRequest): string {
  switch (request.kind) {
    case 'reset':
      return `${app}: circuit reset requested`;
    case 'pause':
      return `${app}: remedies paused ${request.until === 'indefinite' ? 'until `helpdesk-monitor resume`' : `until ${new Date(request.until).toISOString()}`}`;
    case 'resume':
      return `${app}: remedies resumed`;
  }
}

/** Who this process is, as control.json records it; `via` says how the request came (`cli`, `pm2 trigger`). */
export function thisProcess(via: string): Requester {
  let username: string | undefined;
  try {
    username = userInfo().username;
  } catch {
    // a uid without a passwd entry (a container): requesterOf falls back to $USER or the uid
  }
  return requesterOf({ username, uid: process.getuid?.(), pid: process.pid, env: process.env }, via);
}
