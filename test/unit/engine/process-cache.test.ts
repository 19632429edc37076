import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Clock } from '../../../src/clock.js';
import { Limiter, ProcessCache } from '../../../src/engine/process-cache.js';
import type { Pm2Port, ProcessInfo } from '../../../src/pm2/adapter.js';

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(v: T): void;
  reject(e: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const info = (name: string): ProcessInfo => ({
  pmId: 0, name, pid: 1, status: 'online', restarts: 0, unstableRestarts: 0, startedAt: 0, memory: 0, cpu: 0, execMode: 'fork', isModule: false,
});

/** A Pm2Port whose list() calls are answered by hand. */
class FakePm2 {
  readonly calls: Deferred<ProcessInfo[]>[] = [];
  list(): Promise<ProcessInfo[]> {
    const d = deferred<ProcessInfo[]>();
    this.calls.push(d);
    return d.promise;
  }
  asPort(): Pm2Port {
    return this as unknown as Pm2Port;
  }
}

class FakeClock implements Clock {
  t = 1000;
  now(): number {
    return this.t;
  }
}

describe('ProcessCache', () => {
  test('concurrent gets share one list call', async () => {
    const pm2 = new FakePm2();
    const cache = new ProcessCache(pm2.asPort(), new FakeClock());
    const a = cache.get(1000);
    const b = cache.get(1000);
    const c = cache.get(0);
    assert.equal(pm2.calls.length, 1);
    const list = [info('api')];
    pm2.calls[0]!.resolve(list);
    assert.equal(await a, list);
    assert.equal(await b, list);
    assert.equal(await c, list);
    assert.equal(pm2.calls.length, 1);
  });

  test('a cached list is served while younger than maxAge, then refetched', async () => {
    const pm2 = new FakePm2();
    const clock = new FakeClock();
    const cache = new ProcessCache(pm2.asPort(), clock);
    const first = cache.get(1000);
    pm2.calls[0]!.resolve([info('v1')]);
    await first;

    clock.t += 500;
    assert.equal((await cache.get(1000))[0]!.name, 'v1');
    clock.t += 500; // exactly maxAge old: still fresh enough
    assert.equal((await cache.get(1000))[0]!.name, 'v1');
    assert.equal(pm2.calls.length, 1);

    clock.t += 1;
    const refetch = cache.get(1000);
    assert.equal(pm2.calls.length, 2);
    pm2.calls[1]!.resolve([info('v2')]);
    assert.equal((await refetch)[0]!.name, 'v2');
  });

  test('the age counts from when the fetch started, not when it answered', async () => {
    const pm2 = new FakePm2();
    const clock = new FakeClock();
    const cache = new ProcessCache(pm2.asPort(), clock);
    const first = cache.get(100);
    clock.t += 80; // a slow list()
    pm2.calls[0]!.resolve([info('slow')]);
    await first;
    clock.t += 30; // 110 ms since the fetch started
    void cache.get(100);
    assert.equal(pm2.calls.length, 2);
    pm2.calls[1]!.resolve([]);
  });

  test('a larger maxAge reuses what a smaller one would refetch', async () => {
    const pm2 = new FakePm2();
    const clock = new FakeClock();
    const cache = new ProcessCache(pm2.asPort(), clock);
    const first = cache.get(0);
    pm2.calls[0]!.resolve([info('a')]);
    await first;
    clock.t += 2000;
    await cache.get(5000);
    assert.equal(pm2.calls.length, 1);
    const again = cache.get(1000);
    assert.equal(pm2.calls.length, 2);
    pm2.calls[1]!.resolve([]);
    await again;
  });

  test('maxAge 0 forces a fetch even when the clock has not moved', async () => {
    const pm2 = new FakePm2();
    const cache = new ProcessCache(pm2.asPort(), new FakeClock());
    const first = cache.get(1000);
    pm2.calls[0]!.resolve([info('a')]);
    await first;
    const forced = cache.get(0);
    assert.equal(pm2.calls.length, 2, 'get(0) must call list() again');
    pm2.calls[1]?.resolve([]);
    await forced;
  });

  test('invalidate drops the cached list', async () => {
    const pm2 = new FakePm2();
    const cache = new ProcessCache(pm2.asPort(), new FakeClock());
    const first = cache.get(60_000);
    pm2.calls[0]!.resolve([info('before')]);
    await first;
    cache.invalidate();
    const after = cache.get(60_000);
    assert.equal(pm2.calls.length, 2);
    pm2.calls[1]!.resolve([info('after')]);
    assert.equal((await after)[0]!.name, 'after');
  });

  test(
    'invalidate during a fetch: the list started before it is not served afterwards',
    async () => {
      const pm2 = new FakePm2();
      const clock = new FakeClock();
      const cache = new ProcessCache(pm2.asPort(), clock);
      const stale = cache.get(60_000); // fetch started before the action
      cache.invalidate(); // an action changed the process list
      const fresh = cache.get(60_000);
      pm2.calls[0]!.resolve([info('before-action')]);
      await stale;
      assert.equal(pm2.calls.length, 2, 'a get() after invalidate() starts a new list call');
      pm2.calls[1]?.resolve([info('after-action')]);
      assert.equal((await fresh)[0]!.name, 'after-action');
    },
  );

  test('a failed list rejects every waiter and the next get retries', async () => {
    const pm2 = new FakePm2();
    const cache = new ProcessCache(pm2.asPort(), new FakeClock());
    const a = cache.get(1000);
    const b = cache.get(1000);
    pm2.calls[0]!.reject(new Error('pm2 list timed out'));
    await assert.rejects(a, /timed out/);
    await assert.rejects(b, /timed out/);
    const c = cache.get(1000);
    assert.equal(pm2.calls.length, 2);
    pm2.calls[1]!.resolve([info('ok')]);
    assert.equal((await c)[0]!.name, 'ok');
  });
});

describe('Limiter', () => {
  /** Tasks that track how many run at once and finish by hand. */
  function harness() {
    let active = 0;
    let peak = 0;
    const gates: Deferred<number>[] = [];
    const task = (): (() => Promise<number>) => () => {
      active++;
      peak = Math.max(peak, active);
      const d = deferred<number>();
      gates.push(d);
      return d.promise.finally(() => active--);
    };
    return { task, gates, get active() { return active; }, get peak() { return peak; } };
  }

  const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

  test('never runs more than max tasks at once, and runs them all', async () => {
    const limiter = new Limiter(2);
    const h = harness();
    const results = [1, 2, 3, 4, 5].map(() => limiter.run(h.task()));
    await flush();
    assert.equal(h.active, 2);
    assert.equal(h.gates.length, 2);
    for (let i = 0; i < 5; i++) {
      await flush();
      h.gates[i]!.resolve(i + 1);
      await flush();
      assert.ok(h.active <= 2);
    }
    assert.deepEqual(await Promise.all(results), [1, 2, 3, 4, 5]);
    assert.equal(h.peak, 2);
    assert.equal(h.gates.length, 5);
  });

  test('queued tasks start in FIFO order', async () => {
    const limiter = new Limiter(1);
    const order: number[] = [];
    const gate = deferred<void>();
    const first = limiter.run(async () => {
      order.push(0);
      await gate.promise;
    });
    const rest = [1, 2, 3].map((n) => limiter.run(async () => void order.push(n)));
    await flush();
    assert.deepEqual(order, [0]);
    gate.resolve();
    await Promise.all([first, ...rest]);
    assert.deepEqual(order, [0, 1, 2, 3]);
  });

  test('a failing task releases its slot', async () => {
    const limiter = new Limiter(1);
    await assert.rejects(limiter.run(() => Promise.reject(new Error('probe failed'))), /probe failed/);
    const r = await Promise.race([limiter.run(async () => 'next'), new Promise((res) => setTimeout(() => res('stuck'), 200))]);
    assert.equal(r, 'next');
  });

  test(
    'a caller arriving while a slot is being handed over does not exceed max',
    async () => {
      const limiter = new Limiter(1);
      let running = 0;
      let peak = 0;
      const gateA = deferred<string>();
      const gateB = deferred<string>();
      const gateC = deferred<string>();
      const track = (gate: Deferred<string>) => (): Promise<string> => {
        running++;
        peak = Math.max(peak, running);
        return gate.promise;
      };
      // A's task resolves straight from its gate, so Limiter.run's own await reacts first.
      const a = limiter.run(() => gateA.promise);
      running = 1;
      peak = 1;
      const b = limiter.run(track(gateB)); // queued behind A
      let c: Promise<string> | undefined;
      // A new caller arrives in the very next reaction after A's slot is released, before B resumes.
      void gateA.promise.then(() => {
        running--;
        c = limiter.run(track(gateC));
      });
      gateA.resolve('a');
      await flush();
      const peakSeen = peak;
      gateB.resolve('b');
      gateC.resolve('c');
      await Promise.all([a, b, c]);
      assert.equal(peakSeen, 1, `peak concurrency ${peakSeen} with max 1`);
    },
  );
});
