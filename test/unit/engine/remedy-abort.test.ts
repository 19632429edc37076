// A remedy cut short by the shutdown (engine/remedy.ts): the abort ends the wait on a strategy
// step in flight at once, no further step is taken, and the report says abandoned (the journal
// keeps the step). settlesWithin (clock.ts) bounds the worker's wait on a check in progress.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { settlesWithin, systemClock } from '../../../src/clock.js';
import { defaultAppConfig } from '../../../src/config/schema.js';
import { runRemedy, unlessAborted } from '../../../src/engine/remedy.js';
import type { RemedyDeps } from '../../../src/engine/remedy.js';
import { ABANDONED, OUTSIDE_PM2, type RestartStrategy } from '../../../src/strategies/types.js';

test('settlesWithin: true when the work ends in time (either way), false when the time runs out', async () => {
  assert.equal(await settlesWithin(Promise.resolve(1), 50), true);
  assert.equal(await settlesWithin(Promise.reject(new Error('x')), 50), true);
  assert.equal(await settlesWithin(new Promise(() => undefined), 30), false);
});

test('unlessAborted: the work\'s value, or ABANDONED as soon as the signal aborts', async () => {
  assert.equal(await unlessAborted(Promise.resolve(7), undefined), 7);
  const c = new AbortController();
  const pending = unlessAborted(new Promise<number>(() => undefined), c.signal);
  setTimeout(() => c.abort(), 20);
  assert.equal(await pending, ABANDONED);
  assert.equal(await unlessAborted(Promise.resolve(1), c.signal), ABANDONED, 'already aborted');
});

test('runRemedy: an abort during a slow restart returns at once, abandoned, and no second attempt runs', async () => {
  let calls = 0;
  let sawSignal: AbortSignal | undefined;
  const strategy: RestartStrategy = {
    name: 'process', readsTable: false,
    status: () => ({ state: 'online', detail: 'up', ...OUTSIDE_PM2 }),
    restart: (_app, _rep, options) => {
      calls++;
      sawSignal = options?.signal;
      return new Promise(() => undefined); // a stop waiting out a kill timeout
    },
  };
  const app = { ...defaultAppConfig('ab-app'), policy: { ...defaultAppConfig('ab-app').policy, maxAttempts: 3 } };
  const abort = new AbortController();
  const deps = { clock: systemClock } as unknown as RemedyDeps;
  setTimeout(() => abort.abort(), 50);
  const t0 = performance.now();
  const report = await runRemedy(app, 'test', false, strategy, deps, { signal: abort.signal });
  assert.ok(performance.now() - t0 < 1000, 'returned at once after the abort');
  assert.equal(report.ok, false);
  assert.equal(report.abandoned, true);
  assert.equal(report.failure, ABANDONED);
  assert.equal(calls, 1, 'no further attempt');
  assert.equal(sawSignal, abort.signal, 'the strategy got the signal');
});
