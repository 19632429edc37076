// The @pm2/io glue, with PM2's side of the IPC channel played by hand: process.send captures what
// the module tells PM2 (actions, metrics, replies), and PM2's action messages are emitted on
// `process` as PM2 sends them. test/integration/module-actions.test.ts runs it under real PM2.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { METRIC_NAMES, startPm2Io } from '../../../src/app/pm2-io.js';
import type { RunningMonitor } from '../../../src/app/lifetime.js';
import { initialState } from '../../../src/engine/decide.js';
import type { WorkerView } from '../../../src/engine/view.js';

interface Sent {
  readonly type: string;
  readonly data: { action_name?: string; return?: unknown; [key: string]: unknown };
}

const sent: Sent[] = [];
const realSend = process.send;
const requests: string[] = [];
let stop: () => void = () => undefined;
/** Exception listeners before @pm2/io (the test runner has its own). */
const listeners = { exception: 0, rejection: 0 };

const views: WorkerView[] = [{ app: 'hd', state: { ...initialState(0), phase: 'healthy' }, history: [], control: {}, resetSeen: 0 }];
const monitor = {
  engine: { appNames: () => ['hd'], checkFresh: () => Promise.resolve(), views: () => views },
  statusDocument: () => ({ healthy: true, monitor: null, apps: [] }),
  figures: () => ({ apps: 1, unhealthy: 0, openCircuits: 0, remedies: 2, probeP95Ms: undefined }),
  requestControl: (app: string) => void requests.push(app),
  reload: () => Promise.resolve({ ok: true, message: 'config reloaded from /srv/m.yaml: 1 app(s): hd' }),
} as unknown as RunningMonitor;

before(() => {
  process.send = ((message: Sent) => {
    sent.push(message);
    return true;
  }) as typeof process.send;
  listeners.exception = process.listenerCount('uncaughtException');
  listeners.rejection = process.listenerCount('unhandledRejection');
  stop = startPm2Io(monitor);
});
after(() => {
  stop();
  process.send = realSend;
});

/** PM2 sends an action (by name, with its parameter if any) and the module's reply comes back. */
async function trigger(name: string, opts?: string): Promise<unknown> {
  const from = sent.length;
  process.emit('message', opts === undefined ? name : { msg: name, opts }, undefined);
  for (let i = 0; i < 100; i++) {
    const reply = sent.slice(from).find((m) => m.type === 'axm:reply' && m.data.action_name === name);
    if (reply) return reply.data.return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no reply to ${name}`);
}

describe('startPm2Io', () => {
  test('registers the six actions (reload-config among them), and nothing of @pm2/io\'s own (no profiler, no heap dump)', () => {
    const actions = sent.filter((m) => m.type === 'axm:action').map((m) => m.data.action_name);
    assert.deepEqual(actions, ['check-now', 'status', 'reset-circuit', 'pause', 'resume', 'reload-config']);
  });

  test('sends the five metrics every second, and only those', async () => {
    let metrics: Sent | undefined;
    for (let i = 0; i < 300 && !metrics; i++) {
      metrics = sent.find((m) => m.type === 'axm:monitor');
      if (!metrics) await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(metrics, 'a metrics message within 3 s');
    assert.deepEqual(Object.keys(metrics.data), [...METRIC_NAMES]);
    assert.equal((metrics.data['Remedies'] as { value: unknown }).value, 2);
    assert.equal((metrics.data['Probe p95 (ms)'] as { value: unknown }).value, 'n/a');
  });

  test('replies to an action without a parameter, with one, and with an error', async () => {
    assert.deepEqual(await trigger('check-now'), { ok: true, healthy: true, apps: [{ name: 'hd', healthy: true, phase: 'healthy' }] });
    assert.deepEqual(await trigger('reload-config'), { ok: true, message: 'config reloaded from /srv/m.yaml: 1 app(s): hd' });
    assert.deepEqual(await trigger('reset-circuit', 'nosuchapp'), { ok: false, error: 'unknown app "nosuchapp" (watched: hd)' });
    assert.deepEqual(await trigger('resume', 'hd'), { ok: true, app: 'hd', done: 'resume', message: 'hd: remedies resumed' });
    assert.deepEqual(requests, ['hd']);
  });

  test('does not catch exceptions (an error ends the module as it ends `run`)', () => {
    assert.equal(process.listenerCount('uncaughtException'), listeners.exception);
    assert.equal(process.listenerCount('unhandledRejection'), listeners.rejection);
  });

  test('the transport keeps listening: its auto-exit pause is off', () => {
    const io = (globalThis as unknown as Record<symbol, { transport?: { autoExitHandle?: { _destroyed?: boolean } } }>)[Symbol.for('@pm2/io')];
    assert.equal(io?.transport?.autoExitHandle?._destroyed, true);
  });
});
