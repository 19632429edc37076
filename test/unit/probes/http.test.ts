import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { HealthConfig } from '../../../src/config/schema.js';
import { createHttpProber, type HttpProber } from '../../../src/probes/http.js';

let server: Server;
let base: string;
let prober: HttpProber;
let hits: Record<string, number> = {};

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
  prober.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const health = (path: string, patch: Partial<HealthConfig> = {}): HealthConfig => ({
  url: `${base}${path}`,
  timeoutMs: 2000,
  intervalMs: 5000,
  failureThreshold: 3,
  expectStatus: [200],
  maxBodyBytes: 64 * 1024,
  followRedirects: false,
  ...patch,
});

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
});
