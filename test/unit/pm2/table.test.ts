// The process table kept from the bus: a full list only to load, after our actions, for unknown
// pm_ids, after a bus reconnect and every reconcile period; events fold in without a list; a pid
// is looked up (describe) for an instance that came online. PM2 answers by hand here; the
// integration test (test/integration/table.test.ts) drives a real daemon.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Clock } from '../../../src/clock.js';
import type { Pm2Port, ProcessEvent, ProcessInfo } from '../../../src/pm2/adapter.js';
import { ProcessTable } from '../../../src/pm2/table.js';

const row = (pmId: number, name: string, extra: Partial<ProcessInfo> = {}): ProcessInfo => ({
  pmId, name, pid: 100 + pmId, status: 'online', restarts: 0, unstableRestarts: 0, startedAt: 1, memory: 0, cpu: 0, execMode: 'fork', isModule: false, ...extra,
});

/** PM2 with a fixed list and describe answers; counts the calls. */
class FakePm2 {
  lists = 0;
  describes: number[] = [];
  constructor(public rows: ProcessInfo[]) {}
  list(): Promise<ProcessInfo[]> {
    this.lists++;
    return Promise.resolve(this.rows.map((r) => ({ ...r })));
  }
  describe(pmId: number): Promise<ProcessInfo | undefined> {
    this.describes.push(pmId);
    return Promise.resolve(this.rows.find((r) => r.pmId === pmId));
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

const event = (pmId: number, name: string, ev: string, extra: Partial<ProcessEvent> = {}): ProcessEvent => ({ name, pmId, event: ev, manually: false, ...extra });
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(rows: ProcessInfo[], reconcileMs = 30_000) {
  const pm2 = new FakePm2(rows);
  const clock = new FakeClock();
  const table = new ProcessTable(pm2.asPort(), clock, { reconcileMs: () => reconcileMs });
  return { pm2, clock, table };
}

describe('ProcessTable', () => {
  test('one list at the start, then none until the reconcile period has passed', async () => {
    const { pm2, clock, table } = setup([row(0, 'api'), row(1, 'web')]);
    assert.equal((await table.current()).length, 2);
    for (let i = 0; i < 29; i++) {
      clock.t += 1000;
      await table.current();
    }
    assert.equal(pm2.lists, 1, 'a check every second for 29 s reads the table, not PM2');
    clock.t += 1000;
    await table.current();
    assert.equal(pm2.lists, 2, 'the reconcile lists again at 30 s');
    assert.deepEqual([...table.refreshes], [['start', 1], ['reconcile', 1]]);
  });

  test('peek() answers without a promise exactly when current() would not list', async () => {
    const { clock, table } = setup([row(0, 'api')]);
    assert.equal(table.peek(), undefined, 'nothing loaded yet');
    await table.current();
    assert.equal(table.peek()?.length, 1);
    assert.equal(table.peek(0), undefined, 'a one-pass check wants a fresh list');
    table.invalidate();
    assert.equal(table.peek(), undefined, 'stale after our own action');
    await table.current();
    clock.t += 30_000;
    assert.equal(table.peek(), undefined, 'due for the reconcile');
    await table.current();
    table.busDisconnected();
    assert.equal(table.peek(), undefined, 'the bus lost the daemon');
  });

  test('a missed event is corrected by the reconcile', async () => {
    const { pm2, clock, table } = setup([row(0, 'api')]);
    await table.current();
    // PM2 restarted the app and the bus never told us (a dropped packet).
    pm2.rows = [row(0, 'api', { pid: 777, restarts: 1, startedAt: 5 })];
    clock.t += 10_000;
    assert.equal((await table.current())[0]!.pid, 100, 'not yet: nothing said it changed');
    clock.t += 20_000;
    const after = await table.current();
    assert.equal(after[0]!.pid, 777);
    assert.equal(after[0]!.restarts, 1);
  });

  test('events fold in without a list; an instance that came online gets its pid by describe', async () => {
    const { pm2, table } = setup([row(0, 'api')]);
    await table.current();
    table.apply(event(0, 'api', 'exit', { status: 'stopped', restarts: 0 }));
    let now = await table.current();
    assert.equal(now[0]!.status, 'stopped');
    assert.equal(now[0]!.pid, 0, 'a stopped instance has no pid');
    pm2.rows = [row(0, 'api', { pid: 555, restarts: 1, startedAt: 9 })];
    table.apply(event(0, 'api', 'online', { status: 'online', restarts: 1, startedAt: 9 }));
    await settle();
    now = await table.current();
    assert.deepEqual(pm2.describes, [0]);
    assert.equal(now[0]!.status, 'online');
    assert.equal(now[0]!.pid, 555);
    assert.equal(now[0]!.restarts, 1);
    assert.equal(pm2.lists, 1, 'no full list for events about known pm_ids');
  });

  test('an event naming an unknown pm_id, a reconnected bus and invalidate() each force one list', async () => {
    const { pm2, table } = setup([row(0, 'api')]);
    await table.current();
    pm2.rows = [row(0, 'api'), row(1, 'new')];
    table.apply(event(1, 'new', 'online', { status: 'online' }));
    assert.equal((await table.current()).length, 2);
    assert.equal(pm2.lists, 2);
    table.busConnected();
    await table.current();
    table.invalidate();
    await table.current();
    assert.equal(pm2.lists, 4);
    assert.deepEqual([...table.refreshes.keys()], ['start', 'unknown pm_id', 'bus reconnected', 'invalidated']);
  });

  test('a pm_id reused by another app is not taken for the old one', async () => {
    const { pm2, table } = setup([row(0, 'api')]);
    await table.current();
    pm2.rows = [row(0, 'other', { pid: 300 })];
    table.apply(event(0, 'other', 'online', { status: 'online' }));
    const now = await table.current();
    assert.equal(now[0]!.name, 'other');
    assert.equal(now[0]!.pid, 300);
  });

  test('a delete event removes the row at once', async () => {
    const { table } = setup([row(0, 'api'), row(1, 'web')]);
    await table.current();
    table.apply(event(0, 'api', 'delete', { status: 'stopped' }));
    assert.deepEqual((await table.current()).map((r) => r.name), ['web']);
  });

  test('a list started before an event does not overwrite what the event said', async () => {
    const { pm2, table } = setup([row(0, 'api')]);
    await table.current();
    table.invalidate();
    const pending = table.current();
    table.apply(event(0, 'api', 'exit', { status: 'stopped' }));
    await pending;
    // The list that raced the event is not trusted as fresh: the next read lists again.
    await table.current();
    assert.equal(pm2.lists, 3);
  });
});
