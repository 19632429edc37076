import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { HealthConfig } from '../../../src/config/schema.js';
import { Limiter } from '../../../src/engine/limiter.js';
import { createHttpProber, type HttpProber } from '../../../src/probes/http.js';
import { healthConfig } from '../../helpers/health-config.js';

let server: Server;
let base: string;
let prober: HttpProber;
let hits: Record<string, number> = {};
/** Trickling answers still being written, and when each one's connection closed. */
const trickles = new Set<NodeJS.Timeout>();
let trickleClosedAt: number[] = [];

before(async () => {
  server = createServer((req, res) => {
    const url = req.url ?? '/';
    hits[url] = (hits[url] ?? 0) + 1;
    if (url === '/health') return void res.end('ok');
    if (url === '/no-content') {
      res.statusCode = 204;
      return void res.end();
    }
    if (url === '/down') {
      res.statusCode = 503;
      return void res.end('down');
    }
    if (url === '/hang') return; // never answers
    if (url === '/trickle') {
      // Headers at once, then one byte of body every 500 ms, for ever: every byte restarts an
      // idle timeout, so only a deadline over the whole answer ends this.
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('.');
      const t = setInterval(() => res.write('.'), 500);
      trickles.add(t);
      res.on('close', () => {
        clearInterval(t);
        trickles.delete(t);
        trickleClosedAt.push(performance.now());
      });
      return;
    }
    if (url === '/big') {
      res.setHeader('content-length', 10_000);
      return void res.end('x'.repeat(10_000));
    }
    if (url === '/big-chunked') {
      for (let i = 0; i < 10; i++) res.write('y'.repeat(1000));
      return void res.end();
    }
    if (url === '/redirect') {
      res.writeHead(302, { location: '/health' });
      return void res.end();
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  prober = createHttpProber();
});

after(async () => {
  for (const t of trickles) clearInterval(t);
  prober.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const health = (path: string, patch: Partial<HealthConfig> = {}): HealthConfig => healthConfig(`${base}${path}`, { maxBodyBytes: 64 * 1024, ...patch });

describe('createHttpProber', () => {
  test('200 is ok with a latency', async () => {
    const r = await prober.probe(health('/health'));
    assert.equal(r.ok, true);
    assert.equal(r.status, 200);
    assert.equal(typeof r.latencyMs, 'number');
    assert.ok(r.latencyMs >= 0 && r.latencyMs < 2000, String(r.latencyMs));
  });

  test('latency comes from the injected clock', async () => {
    let t = 0;
    const p = createHttpProber(() => (t += 7));
    try {
      const r = await p.probe(health('/health'));
      assert.equal(r.ok, true);
      assert.equal(r.latencyMs, 7);
    } finally {
      p.close();
    }
  });

  test('an unexpected status is a status failure', async () => {
    const r = await prober.probe(health('/down'));
    assert.ok(!r.ok);
    assert.equal(r.failure, 'status');
    assert.equal(r.status, 503);
    assert.match(r.detail, /HTTP 503, expected 200/);
  });

  test('expect_status accepts any status of the list', async () => {
    const ok = await prober.probe(health('/no-content', { expectStatus: [200, 204] }));
    assert.deepEqual([ok.ok, ok.status], [true, 204]);
    const bad = await prober.probe(health('/health', { expectStatus: [204, 503] }));
    assert.ok(!bad.ok);
    assert.equal(bad.failure, 'status');
    assert.match(bad.detail, /expected 204 or 503/);
    const down = await prober.probe(health('/down', { expectStatus: [503] }));
    assert.equal(down.ok, true);
  });

  test('a handler that never answers is a timeout within timeout + slack', async () => {
    const started = performance.now();
    const r = await prober.probe(health('/hang', { timeoutMs: 300 }));
    const took = performance.now() - started;
    assert.ok(!r.ok);
    assert.equal(r.failure, 'timeout');
    assert.match(r.detail, /no answer within 300 ms/);
    assert.ok(took >= 290, `took ${took} ms`);
    // The handler never answers: the slack is for a loaded machine.
    assert.ok(took < 300 + 2000, `took ${took} ms`);
  });

  test('an aborted probe ends at once as a timeout', async () => {
    const ac = new AbortController();
    const pending = prober.probe(health('/hang', { timeoutMs: 5000 }), ac.signal);
    setTimeout(() => ac.abort(), 50);
    const started = performance.now();
    const r = await pending;
    assert.ok(performance.now() - started < 3000);
    assert.ok(!r.ok);
    assert.equal(r.failure, 'timeout');
  });

  test('a closed port is refused', async () => {
    const tmp = createServer();
    await new Promise<void>((resolve) => tmp.listen(0, '127.0.0.1', resolve));
    const port = (tmp.address() as { port: number }).port;
    await new Promise((r) => tmp.close(r));
    const r = await prober.probe({ ...health('/'), url: `http://127.0.0.1:${port}/health` });
    assert.ok(!r.ok);
    assert.equal(r.failure, 'refused');
    assert.equal(r.detail, 'connection refused');
  });

  test('a body larger than max_body is body-too-large', async () => {
    for (const path of ['/big', '/big-chunked']) {
      const r = await prober.probe(health(path, { maxBodyBytes: 1024 }));
      assert.ok(!r.ok, path);
      assert.equal(r.failure, 'body-too-large', path);
      assert.match(r.detail, /max_body \(1024 bytes\)/);
    }
    const fits = await prober.probe(health('/big', { maxBodyBytes: 20_000 }));
    assert.equal(fits.ok, true);
  });

  test('a 302 is not followed by default', async () => {
    hits = {};
    const r = await prober.probe(health('/redirect'));
    assert.ok(!r.ok);
    assert.equal(r.failure, 'status');
    assert.equal(r.status, 302);
    assert.equal(hits['/health'], undefined, 'the target was not requested');
  });

  test('a 302 is followed with followRedirects', async () => {
    hits = {};
    const r = await prober.probe(health('/redirect', { followRedirects: true }));
    assert.equal(r.ok, true);
    assert.equal(r.status, 200);
    assert.equal(hits['/health'], 1);
  });

  test('no url is ok without any request', async () => {
    hits = {};
    const { url: _url, ...noUrl } = health('/health');
    const r = await prober.probe(noUrl);
    assert.deepEqual(r, { ok: true, status: 0, latencyMs: 0 });
    assert.deepEqual(hits, {});
  });

  test('connections are kept alive across probes', async () => {
    const sockets = new Set<unknown>();
    const onConn = (s: unknown): void => void sockets.add(s);
    server.on('connection', onConn);
    try {
      const p = createHttpProber();
      try {
        for (let i = 0; i < 3; i++) assert.equal((await p.probe(health('/health'))).ok, true);
      } finally {
        p.close();
      }
      assert.equal(sockets.size, 1);
    } finally {
      server.off('connection', onConn);
    }
  });

  describe('the deadline covers the whole answer, body included', () => {
    test('a body that trickles one byte every 500 ms is a timeout at the deadline, and its connection is dropped', async () => {
      trickleClosedAt = [];
      const started = performance.now();
      const r = await prober.probe(health('/trickle', { timeoutMs: 1200 }));
      const took = performance.now() - started;
      assert.ok(!r.ok);
      assert.equal(r.failure, 'timeout');
      assert.equal(r.detail, 'no answer within 1200 ms');
      assert.ok(took >= 1190, `took ${took} ms`);
      assert.ok(took < 1200 + 700, `decided at the deadline, not at the next byte or later: took ${took} ms`);
      // The server sees the request end: the trickle no longer ties up a pooled socket.
      const until = performance.now() + 2000;
      while (trickleClosedAt.length === 0 && performance.now() < until) await new Promise((res) => setTimeout(res, 10));
      assert.equal(trickleClosedAt.length, 1, 'the trickling connection was closed');
      assert.ok(trickleClosedAt[0]! - started < 1200 + 900, `closed ${trickleClosedAt[0]! - started} ms after the start`);
      // The prober still works afterwards, on a fresh connection.
      assert.equal((await prober.probe(health('/health'))).ok, true);
    });

    test('a trickle longer than max_body is body-too-large before the deadline', async () => {
      const r = await prober.probe(health('/trickle', { timeoutMs: 5000, maxBodyBytes: 2 }));
      assert.ok(!r.ok);
      assert.equal(r.failure, 'body-too-large');
      assert.ok(r.latencyMs < 2500, String(r.latencyMs));
    });

    test('a fractional timeout (what is left of a verify window) is reported in whole milliseconds', async () => {
      const r = await prober.probe(health('/hang', { timeoutMs: 288.302 }));
      assert.deepEqual([r.ok, !r.ok && r.failure, !r.ok && r.detail], [false, 'timeout', 'no answer within 288 ms']);
    });

    test('an abort ends a trickling probe at once', async () => {
      const ac = new AbortController();
      const pending = prober.probe(health('/trickle', { timeoutMs: 10_000 }), ac.signal);
      setTimeout(() => ac.abort(), 100);
      const started = performance.now();
      const r = await pending;
      assert.ok(performance.now() - started < 1000);
      assert.deepEqual([r.ok, !r.ok && r.failure, !r.ok && r.detail], [false, 'timeout', 'aborted']);
      const early = await prober.probe(health('/health'), AbortSignal.abort());
      assert.deepEqual([early.ok, !early.ok && early.detail], [false, 'aborted before it started']);
    });

    test('with one concurrency slot, a healthy probe waits for a trickling one only until its deadline', async () => {
      const limiter = new Limiter(1);
      const started = performance.now();
      const slow = limiter.run(() => prober.probe(health('/trickle', { timeoutMs: 800 })));
      const fast = limiter.run(() => prober.probe(health('/health'))).then((r) => ({ r, at: performance.now() - started }));
      const [s, f] = await Promise.all([slow, fast]);
      assert.equal(s.ok, false);
      assert.equal(f.r.ok, true);
      assert.ok(f.at >= 790, `the healthy probe did wait for the slot: ${f.at} ms`);
      assert.ok(f.at < 800 + 700, `the slot was freed at the trickling probe's deadline: the healthy one answered at ${f.at} ms`);
    });
  });
});

