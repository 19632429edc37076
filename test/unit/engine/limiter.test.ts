import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Limiter } from '../../../src/engine/limiter.js';

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
