// The port watch after a crash, against real loopback listeners: it asks for a check as soon as
// something listens on a watched port, once, and never after it was disarmed or its window ended.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, test } from 'node:test';
import { PortWatch } from '../../../src/engine/port-watch.js';
import { PORT_WATCH_MS } from '../../../src/engine/squat-policy.js';

const servers: net.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

/** A free loopback port (bound once by the OS, then released). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function listen(port: number): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer((c) => c.destroy());
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
    servers.push(s);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('PortWatch', () => {
  test('a listener that appears after the crash is reported within a few polls, once', async () => {
    const port = await freePort();
    const calls: number[] = [];
    const watch = new PortWatch([port], () => performance.now(), () => calls.push(performance.now()));
    watch.arm();
    await sleep(60);
    assert.equal(calls.length, 0, 'nothing listens yet');
    assert.equal(watch.take(), false);
    const bound = performance.now();
    const server = await listen(port);
    await sleep(150);
    assert.equal(calls.length, 1, 'one call for the listener');
    assert.ok(calls[0]! - bound < 100, `seen ${Math.round(calls[0]! - bound)} ms after it bound`);
    assert.equal(watch.take(), true, 'the check it asked for learns why');
    assert.equal(watch.take(), false, 'and only that check');
    await sleep(100);
    assert.equal(calls.length, 1, 'the watch ended at the first listener');
    server.close();
  });

  test('one of several ports is enough', async () => {
    const [a, b] = [await freePort(), await freePort()];
    let called = 0;
    const watch = new PortWatch([a, b], () => performance.now(), () => called++);
    watch.arm();
    const server = await listen(b);
    await sleep(100);
    assert.equal(called, 1);
    watch.disarm();
    server.close();
  });

  test('nothing after disarm, even when a listener appears', async () => {
    const port = await freePort();
    let called = 0;
    const watch = new PortWatch([port], () => performance.now(), () => called++);
    watch.arm();
    await sleep(30);
    watch.disarm();
    const server = await listen(port);
    await sleep(120);
    assert.equal(called, 0);
    assert.equal(watch.take(), false);
    server.close();
  });

  test('nothing after the window, and a new crash arms it again', async () => {
    const port = await freePort();
    let now = 0;
    let called = 0;
    const watch = new PortWatch([port], () => now, () => called++);
    watch.arm();
    await sleep(30);
    now = PORT_WATCH_MS; // the window has passed: the next look is the last
    await sleep(60);
    const server = await listen(port);
    await sleep(120);
    assert.equal(called, 0, 'the watch stopped at the end of its window');
    now = PORT_WATCH_MS + 10;
    watch.arm();
    await sleep(100);
    assert.equal(called, 1, 'armed again by the next crash, it sees the listener');
    server.close();
  });

  test('an app without ports is never watched', async () => {
    let called = 0;
    const watch = new PortWatch([], () => performance.now(), () => called++);
    watch.arm();
    await sleep(30);
    assert.equal(called, 0);
  });
});
