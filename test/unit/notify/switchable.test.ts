import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { switchableNotifier } from '../../../src/notify/switchable.js';
import type { Notifier, NotifierStats, NotifyEvent } from '../../../src/notify/types.js';

/** A notifier that records events and whose close() resolves when told. */
function fake(): Notifier & { readonly got: string[]; closed: boolean; finishClose: () => void } {
  const got: string[] = [];
  let release: () => void = () => undefined;
  const closing = new Promise<void>((r) => (release = r));
  const n = {
    got,
    closed: false,
    finishClose: () => release(),
    notify: (e: NotifyEvent) => void (n.closed || got.push(e.app)),
    flush: () => Promise.resolve(),
    close: () => {
      n.closed = true;
      return closing;
    },
    stats: (): NotifierStats => ({ sent: got.length, failed: 0, attempts: got.length, rateLimited: 0, dropped: 0, pending: n.closed ? 0 : 1 }),
  };
  return n;
}

const ev = (app: string): NotifyEvent => ({ type: 'remedy_started', app, host: 'h', at: new Date(0) });

describe('switchableNotifier', () => {
  test('after replace, events reach the new notifier only; the old one is closed; close() waits for both', async () => {
    const a = fake();
    const b = fake();
    const s = switchableNotifier(a);
    s.notify(ev('one'));
    s.replace(b);
    s.notify(ev('two'));
    assert.deepEqual(a.got, ['one']);
    assert.deepEqual(b.got, ['two']);
    assert.equal(a.closed, true, 'the old notifier is closed (it flushes what it queued)');
    assert.equal(s.stats().sent, 2, 'stats stay cumulative');
    let closed = false;
    const done = s.close().then(() => (closed = true));
    b.finishClose();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(closed, false, 'close waits for the retiring notifier too');
    a.finishClose();
    await done;
    assert.equal(s.stats().sent, 2);
  });
  test('a notifier swapped in after close() is closed at once', async () => {
    const a = fake();
    const b = fake();
    const s = switchableNotifier(a);
    a.finishClose();
    await s.close();
    s.replace(b);
    assert.equal(b.closed, true);
  });
});
