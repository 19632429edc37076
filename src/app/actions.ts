/**
 * The PM2 module's actions (`pm2 trigger helpdesk-monitor <action> [params]`), without @pm2/io:
 * each reads its parameters, runs against the running monitor and replies. `pm2 trigger` waits
 * for a reply and never gives up, so every action replies exactly once, within a hard timeout,
 * errors included (`{ok: false, error}`); replies are redacted like everything else written.
 * PM2 hands over one parameter (`pm2 trigger helpdesk-monitor pause "hd 30m"`): it is split
 * into words. Control requests are the CLI's (app/control.ts), applied by the monitor at once.
 */
import type { Requester, WorkerView } from '../engine/view.js';
import { describeError } from '../errors.js';
import { redactDeep } from '../redact.js';
import type { StatusDocument } from '../status/live.js';
import { pauseEnd, requestDone, type ControlRequest } from './control.js';

export type ActionReply = { readonly ok: true; readonly [key: string]: unknown } | { readonly ok: false; readonly error: string };

/** What the actions need of the running monitor. */
export interface ActionTarget {
  appNames(): readonly string[];
  /** Check the app now; resolves once a check begun after the call has ended (undefined: no such app). */
  checkFresh(app: string): Promise<void> | undefined;
  views(): readonly WorkerView[];
  statusDocument(): StatusDocument;
  requestControl(app: string, request: ControlRequest, by: Requester): void;
  /** Re-read the config file, as SIGHUP does (the module has no other way in). */
  reload(): Promise<{ readonly ok: boolean; readonly message: string }>;
}

export interface ActionOptions {
  /** A reply within this, whatever the action does (default 4500 ms). */
  readonly timeoutMs?: number;
  /** How long check-now waits for its checks before it replies with what it has (default 4000 ms). */
  readonly checkWaitMs?: number;
  /** Who asks, as control.json records it. */
  readonly by: () => Requester;
  readonly wallNow?: () => number;
}

export interface MonitorAction {
  readonly name: string;
  /** How to call it, for the README and error replies. */
  readonly usage: string;
  /** Reply exactly once, within the timeout. */
  handle(params: unknown, reply: (answer: ActionReply) => void): void;
}

/** Bad parameters: the reply says what was expected. */
class ActionInputError extends Error {}

const TIMEOUT_MS = 4500;
const CHECK_WAIT_MS = 4000;
const MODULE = 'helpdesk-monitor';

/** Every action of the module, bound to a monitor. */
export function monitorActions(target: ActionTarget, options: ActionOptions): MonitorAction[] {
  const timeoutMs = options.timeoutMs ?? TIMEOUT_MS;
  const checkWaitMs = Math.min(options.checkWaitMs ?? CHECK_WAIT_MS, timeoutMs);
  const wallNow = options.wallNow ?? Date.now;
  const known = (app: string): string => {
    const names = target.appNames();
    if (!names.includes(app)) throw new ActionInputError(`unknown app ${JSON.stringify(app.slice(0, 100))} (watched: ${names.join(', ') || 'none'})`);
    return app;
  };
  const control = (app: string, request: ControlRequest): ActionReply => {
    target.requestControl(app, request, options.by());
    return {
      ok: true, app, done: request.kind,
      ...(request.kind === 'pause' ? { paused_until: request.until === 'indefinite' ? 'indefinite' : new Date(request.until).toISOString() } : {}),
      message: requestDone(app, request),
    };
  };
  const specs: { name: string; usage: string; words: [number, number]; run: (words: string[]) => Promise<ActionReply> | ActionReply }[] = [
    {
      name: 'check-now', usage: 'check-now [APP]', words: [0, 1],
      run: (words) => checkNow(target, words[0] === undefined ? target.appNames() : [known(words[0])], checkWaitMs),
    },
    { name: 'status', usage: 'status', words: [0, 0], run: () => ({ ok: true, status: target.statusDocument() }) },
    { name: 'reset-circuit', usage: 'reset-circuit APP', words: [1, 1], run: ([app]) => control(known(app!), { kind: 'reset' }) },
    {
      name: 'pause', usage: 'pause "APP DURATION"', words: [2, 2],
      run: ([app, duration]) => {
        known(app!);
        let until: number | 'indefinite';
        try {
          until = duration === 'indefinite' ? 'indefinite' : pauseEnd(duration!, wallNow());
        } catch {
          throw new ActionInputError(`DURATION: expected a duration like 30m (or "indefinite"), got ${JSON.stringify(duration!.slice(0, 100))}`);
        }
        return control(app!, { kind: 'pause', until });
      },
    },
    { name: 'resume', usage: 'resume APP', words: [1, 1], run: ([app]) => control(known(app!), { kind: 'resume' }) },
    {
      name: 'reload-config', usage: 'reload-config', words: [0, 0],
      run: async () => {
        const r = await target.reload();
        return r.ok ? { ok: true, message: r.message } : { ok: false, error: r.message };
      },
    },
  ];
  return specs.map((spec) => ({
    name: spec.name,
    usage: spec.usage,
    handle: (params, reply) =>
      answer(() => {
        const words = paramWords(params);
        const [min, max] = spec.words;
        if (words.length < min || words.length > max) {
          const quoted = max > 1 ? ' (one parameter: quote it)' : '';
          throw new ActionInputError(`usage: pm2 trigger ${MODULE} ${spec.usage}${quoted}; got ${words.length} parameter word(s)`);
        }
        return spec.run(words);
      }, reply, timeoutMs, spec.name),
  }));
}

/**
 * The words of PM2's parameter: none when absent (PM2 passes `{}` or nothing), a string split on
 * white space; anything else (an object from the programmatic API) is refused.
 */
export function paramWords(params: unknown): string[] {
  if (params === undefined || params === null) return [];
  if (typeof params === 'string') return params.trim() === '' ? [] : params.trim().split(/\s+/);
  if (typeof params === 'object' && !Array.isArray(params) && Object.keys(params).length === 0) return [];
  throw new ActionInputError(`expected the parameters as one string of words (e.g. "hd 30m"), got ${Array.isArray(params) ? 'an array' : typeof params}`);
}

/** Run, and reply once: the answer, the error, or a timeout, whichever comes first. */
export function answer(run: () => Promise<ActionReply> | ActionReply, reply: (answer: ActionReply) => void, timeoutMs: number, name: string): void {
  let sent = false;
  const send = (a: ActionReply): void => {
    if (sent) return;
    sent = true;
    clearTimeout(timer);
    try {
      reply(redactDeep(a));
    } catch {
      // the channel to PM2 is gone: there is no one left to tell
    }
  };
  const timer = setTimeout(() => send({ ok: false, error: `${name} did not finish within ${timeoutMs} ms` }), timeoutMs);
  Promise.resolve()
    .then(run)
    .then(send, (err: unknown) => send({ ok: false, error: describeError(err) }));
}

/** One app in check-now's reply. */
export interface CheckSummary {
  readonly name: string;
  readonly healthy: boolean;
  readonly phase: string;
  readonly reason?: string;
}

/** Check the apps now and reply once their checks have ended, or after `waitMs` with what is known. */
async function checkNow(target: ActionTarget, names: readonly string[], waitMs: number): Promise<ActionReply> {
  const finished = new Set<string>();
  const checks = Promise.all(names.map((n) => target.checkFresh(n)?.then(() => void finished.add(n))));
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, waitMs);
  });
  try {
    await Promise.race([checks, waited]);
  } finally {
    clearTimeout(timer);
  }
  const apps = target.views().filter((v) => names.includes(v.app)).map(summary);
  const unfinished = names.filter((n) => !finished.has(n));
  return { ok: true, healthy: apps.every((a) => a.healthy), apps, ...(unfinished.length > 0 ? { unfinished } : {}) };
}

function summary(v: WorkerView): CheckSummary {
  const healthy = v.state.phase === 'healthy';
  const reason = healthy ? undefined : (v.lastError ?? v.state.lastReason ?? (v.lastObservation ? undefined : 'not checked yet'));
  return { name: v.app, healthy, phase: v.state.phase, ...(reason === undefined ? {} : { reason }) };
}
