import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { probeTcp } from '../../../src/probes/tcp.js';

// Loopback only. The timeout case needs a port where a SYN goes unanswered: a listener whose
// accept queue is full drops new SYNs on Linux, so the client waits (and retransmits after 1 s).
// A Node server always accepts, so the listener is a child process that blocks its own event loop
// right after listen(); the queue is then filled until one more connect does not complete.

let server: Server;
let port: number;
const accepted: Socket[] = [];

let stuck: ChildProcess | undefined;
let stuckPort: number;
const fillers: Socket[] = [];

const NEVER_ACCEPTS = `
const net = require('node:net');
const s = net.createServer();
s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
  process.stdout.write(s.address().port + '\\n', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0));
});`;

function tryConnect(p: number, withinMs: number): Promise<{ socket: Socket; connected: boolean }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: p });
    socket.on('error', () => {});
    const t = setTimeout(() => resolve({ socket, connected: false }), withinMs);
    socket.once('connect', () => {
      clearTimeout(t);
      resolve({ socket, connected: true });
    });
  });
}

before(async () => {
  server = createServer((s) => void accepted.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;

  stuck = spawn(process.execPath, ['-e', NEVER_ACCEPTS], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(stuck.stdout!, 'data')) as [Buffer];
  stuckPort = Number(String(line).trim());
  assert.ok(stuckPort > 0);
  for (let i = 0; i < 16; i++) {
    const { socket, connected } = await tryConnect(stuckPort, 300);
    fillers.push(socket);
    if (!connected) return; // the queue is full: SYNs to this port are now dropped
  }
  throw new Error('could not fill the accept queue of the non-accepting listener');
});

after(async () => {
  for (const s of [...fillers, ...accepted]) s.destroy();
  if (stuck && stuck.exitCode === null && stuck.signalCode === null) {
    const gone = once(stuck, 'exit');
    stuck.kill('SIGKILL'); // our own child, by its ChildProcess handle
    await gone;
  }
  await new Promise((r) => server.close(r));
});

describe('probeTcp', () => {
  test('a listening port is ok, and the probe hangs up at once', async () => {
    const closed = new Promise<void>((resolve) => server.once('connection', (s) => s.once('close', () => resolve())));
    const r = await probeTcp({ host: '127.0.0.1', port, timeoutMs: 2000 });
    assert.equal(r.ok, true);
    assert.ok(r.latencyMs >= 0 && r.latencyMs < 2000, String(r.latencyMs));
    await closed; // the server saw the connection end without the test closing anything
  });

  test('a closed port is refused', async () => {
    const tmp = createServer();
    await new Promise<void>((resolve) => tmp.listen(0, '127.0.0.1', resolve));
    const closedPort = (tmp.address() as { port: number }).port;
    await new Promise((r) => tmp.close(r));
    const r = await probeTcp({ host: '127.0.0.1', port: closedPort, timeoutMs: 2000 });
    assert.ok(!r.ok);
    assert.equal(r.failure, 'refused');
    assert.equal(r.detail, 'connection refused');
  });

  test('a connect that gets no answer is a timeout within timeout + slack', async () => {
    const started = performance.now();
    const r = await probeTcp({ host: '127.0.0.1', port: stuckPort, timeoutMs: 300 });
    const took = performance.now() - started;
    assert.ok(!r.ok);
    assert.equal(r.failure, 'timeout');
    assert.equal(r.detail, 'no connection within 300 ms');
    // Nothing would ever answer: the slack is for a loaded machine.
    assert.ok(took >= 290 && took < 300 + 2000, `took ${took} ms`);
    assert.ok(r.latencyMs >= 290, String(r.latencyMs));
  });

  test('one deadline covers the name lookup and every address tried', async () => {
    // localhost may resolve to ::1 and 127.0.0.1: ::1 is refused at once, 127.0.0.1 gets no answer.
    // The attempts share the probe's deadline; none of them restarts it.
    const started = performance.now();
    const r = await probeTcp({ host: 'localhost', port: stuckPort, timeoutMs: 400 });
    const took = performance.now() - started;
    assert.ok(!r.ok);
    assert.equal(r.failure, 'timeout', r.detail);
    assert.ok(took >= 390 && took < 400 + 500, `took ${took} ms`);
  });

  test('an abort ends a pending connect as a timeout', async () => {
    const ac = new AbortController();
    const pending = probeTcp({ host: '127.0.0.1', port: stuckPort, timeoutMs: 5000 }, ac.signal);
    setTimeout(() => ac.abort(), 50);
    const started = performance.now();
    const r = await pending;
    assert.ok(performance.now() - started < 3000);
    assert.ok(!r.ok);
    assert.equal(r.failure, 'timeout');
    assert.equal(r.detail, 'aborted');
    const early = await probeTcp({ host: '127.0.0.1', port, timeoutMs: 5000 }, AbortSignal.abort());
    assert.deepEqual(early, { ok: false, latencyMs: 0, failure: 'timeout', detail: 'aborted before it started' });
  });

  test('a bad port is an error, not a throw', async () => {
    for (const bad of [70_000, -1, Number.NaN]) {
      const r = await probeTcp({ host: '127.0.0.1', port: bad, timeoutMs: 1000 });
      assert.ok(!r.ok, String(bad));
      assert.equal(r.failure, 'error');
      assert.match(r.detail, /^ERR_SOCKET_BAD_PORT: /);
    }
  });
});
