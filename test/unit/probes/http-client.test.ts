/**
 * What the probe re-implements on node:http since it stopped using axios: redirects (follow-
 * redirects' rules and words), the body cap at its exact edge, the words of a cut answer, the
 * request headers, and what happens to pooled sockets (reused after a good answer and a drained
 * redirect, dropped after an oversized body). Real servers on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { HealthConfig } from '../../../src/config/schema.js';
import { createHttpProber, type HttpProber } from '../../../src/probes/http.js';
import { healthConfig } from '../../helpers/health-config.js';

let server: Server;
let other: Server;
let base: string;
let otherBase: string;
let prober: HttpProber;
let hits: Record<string, number> = {};
let otherHits = 0;
let lastHeaders: IncomingMessage['headers'] = {};
/** Connections the main server accepted, and which of them closed. */
const conns = new Set<Socket>();
const closed = new Set<Socket>();

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  hits[url] = (hits[url] ?? 0) + 1;
  lastHeaders = req.headers;
  const redirect = (status: number, location?: string, body = ''): void => {
    res.writeHead(status, location === undefined ? {} : { location });
    res.end(body);
  };
  if (url === '/health') return void res.end('ok');
  if (url === '/down') {
    res.statusCode = 503;
    return void res.end('down');
  }
  if (url === '/hang') return;
  if (url.startsWith('/bytes/')) return void res.end('b'.repeat(Number(url.slice(7))));
  // /hop/N redirects N more times (relative Location), then to /health.
  if (url.startsWith('/hop/')) {
    const n = Number(url.slice(5));
    return redirect(302, n > 1 ? `/hop/${n - 1}` : '/health');
  }
  if (/^\/(301|303|307|308)$/.test(url)) return redirect(Number(url.slice(1)), url === '/308' ? '/down' : '/health');
  if (url === '/302-no-location') return redirect(302);
  if (url === '/304') return redirect(304);
  if (url === '/to-other') return redirect(302, `${otherBase}/health`);
  if (url === '/to-hang') return redirect(307, '/hang');
  if (url === '/to-ftp') return redirect(302, 'ftp://127.0.0.1/health');
  if (url === '/to-bad') return redirect(302, 'http://[::1');
  if (url === '/fat-redirect') return redirect(302, '/health', 'r'.repeat(10_000));
  if (url === '/cut') {
    // Promises 100 bytes, sends 10, then the connection goes.
    res.writeHead(200, { 'content-length': 100 });
    res.write('0123456789');
    return void setTimeout(() => res.socket?.destroy(), 20);
  }
  if (url === '/drop') return void req.socket.destroy();
  res.statusCode = 404;
  res.end();
}

before(async () => {
  server = createServer(handle);
  server.on('connection', (s: Socket) => {
    conns.add(s);
    // A connection of an earlier test's prober may close late: only this test's count.
    s.on('close', () => conns.has(s) && closed.add(s));
  });
  other = createServer((_req, res) => {
    otherHits++;
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  otherBase = `http://127.0.0.1:${(other.address() as { port: number }).port}`;
});

beforeEach(() => {
  // A fresh prober per test: its pool starts empty, so connection counts are the test's own.
  prober?.close();
  prober = createHttpProber();
  hits = {};
  conns.clear();
  closed.clear();
});

after(async () => {
  prober.close();
  for (const s of [server, other]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const health = (path: string, patch: Partial<HealthConfig> = {}): HealthConfig => healthConfig(`${base}${path}`, { maxBodyBytes: 1024, ...patch });
const follow = (path: string, patch: Partial<HealthConfig> = {}): HealthConfig => health(path, { followRedirects: true, ...patch });
const brief = (r: Awaited<ReturnType<HttpProber['probe']>>): unknown[] => (r.ok ? [true, r.status] : [false, r.failure, r.status, r.detail]);

/** Resolves once `n` of the server's connections have closed (or after 2 s). */
async function closedCount(n: number): Promise<number> {
  const until = performance.now() + 2000;
  while (closed.size < n && performance.now() < until) await new Promise((r) => setTimeout(r, 10));
  return closed.size;
}

describe('redirects', () => {
  test('five hops are followed, relative Locations resolved against the hop', async () => {
    assert.deepEqual(brief(await prober.probe(follow('/hop/5'))), [true, 200]);
    assert.equal(hits['/health'], 1);
    for (const n of [5, 4, 3, 2, 1]) assert.equal(hits[`/hop/${n}`], 1, `/hop/${n}`);
  });

  test('a sixth hop is an error in follow-redirects\' words, and the target is never asked', async () => {
    assert.deepEqual(brief(await prober.probe(follow('/hop/6'))), [false, 'error', undefined, 'ERR_FR_TOO_MANY_REDIRECTS: Maximum number of redirects exceeded']);
    assert.equal(hits['/health'], undefined);
    assert.equal(hits['/hop/1'], 1, 'its redirect was the sixth');
  });

  test('not allowed, a redirect is an answer judged by expect_status', async () => {
    assert.deepEqual(brief(await prober.probe(health('/hop/1'))), [false, 'status', 302, 'HTTP 302, expected 200']);
    assert.deepEqual(brief(await prober.probe(health('/hop/1', { expectStatus: [302] }))), [true, 302]);
    assert.equal(hits['/health'], undefined);
  });

  test('301, 303 and 307 are followed; a 308 to a failing target is that target\'s failure', async () => {
    for (const code of [301, 303, 307]) assert.deepEqual(brief(await prober.probe(follow(`/${code}`))), [true, 200], String(code));
    assert.deepEqual(brief(await prober.probe(follow('/308'))), [false, 'status', 503, 'HTTP 503, expected 200']);
  });

  test('a 3xx without Location is an answer even when redirects are allowed', async () => {
    assert.deepEqual(brief(await prober.probe(follow('/302-no-location'))), [false, 'status', 302, 'HTTP 302, expected 200']);
    assert.deepEqual(brief(await prober.probe(follow('/304', { expectStatus: [304] }))), [true, 304]);
  });

  test('a redirect to another origin is followed there', async () => {
    otherHits = 0;
    assert.deepEqual(brief(await prober.probe(follow('/to-other'))), [true, 200]);
    assert.equal(otherHits, 1);
  });

  test('a Location that cannot be followed is an error with the old words', async () => {
    assert.deepEqual(brief(await prober.probe(follow('/to-ftp'))), [false, 'error', undefined, 'ERR_FR_REDIRECTION_FAILURE: Redirected request failed: Unsupported protocol ftp:']);
    assert.deepEqual(brief(await prober.probe(follow('/to-bad'))), [false, 'error', undefined, 'ERR_FR_REDIRECTION_FAILURE: Redirected request failed: Invalid URL']);
  });

  test('the deadline covers every hop', async () => {
    const started = performance.now();
    const r = await prober.probe(follow('/to-hang', { timeoutMs: 300 }));
    const took = performance.now() - started;
    assert.deepEqual(brief(r), [false, 'timeout', undefined, 'no answer within 300 ms']);
    assert.ok(took >= 290 && took < 300 + 1000, `took ${took} ms`);
  });

  test('a redirect\'s own body does not count against max_body', async () => {
    assert.deepEqual(brief(await prober.probe(follow('/fat-redirect', { maxBodyBytes: 1024 }))), [true, 200]);
  });

  test('a drained hop goes back to the pool: two probes through a redirect use two connections, not three', async () => {
    for (let i = 0; i < 2; i++) assert.deepEqual(brief(await prober.probe(follow('/hop/1'))), [true, 200]);
    assert.ok(conns.size <= 2, `${conns.size} connections`);
    assert.equal(closed.size, 0, 'no connection was dropped');
  });
});

describe('the body cap', () => {
  test('a body of exactly max_body bytes passes; one byte more is body-too-large', async () => {
    assert.deepEqual(brief(await prober.probe(health('/bytes/1024'))), [true, 200]);
    assert.deepEqual(brief(await prober.probe(health('/bytes/1025'))), [false, 'body-too-large', undefined, 'body larger than max_body (1024 bytes)']);
  });

  test('an oversized answer\'s connection is dropped, not pooled, and the next probe still works', async () => {
    assert.equal((await prober.probe(health('/bytes/100000'))).ok, false);
    assert.equal(await closedCount(1), 1, 'the connection of the oversized answer was closed');
    assert.deepEqual(brief(await prober.probe(health('/health'))), [true, 200]);
    assert.equal(conns.size, 2, 'the good probe came on a new connection');
  });
});

describe('connections and words', () => {
  test('two probes of one app share one kept-alive connection', async () => {
    for (let i = 0; i < 2; i++) assert.deepEqual(brief(await prober.probe(health('/health'))), [true, 200]);
    assert.equal(conns.size, 1);
    assert.equal(closed.size, 0);
  });

  test('the request says who asks and does not ask for compression', async () => {
    await prober.probe(health('/health'));
    assert.equal(lastHeaders['user-agent'], 'helpdesk-monitor');
    assert.equal(lastHeaders['accept'], '*/*');
    assert.equal(lastHeaders['accept-encoding'], undefined, 'max_body counts the bytes the app sends');
  });

  test('an answer cut mid-body and a dropped connection keep axios\' words', async () => {
    assert.deepEqual(brief(await prober.probe(health('/cut'))), [false, 'error', undefined, 'ERR_BAD_RESPONSE: stream has been aborted']);
    assert.deepEqual(brief(await prober.probe(health('/drop'))), [false, 'error', undefined, 'ECONNRESET: socket hang up']);
  });

  test('a URL the probe cannot speak is an error, not a throw', async () => {
    assert.deepEqual(brief(await prober.probe({ ...health('/'), url: 'ftp://127.0.0.1/health' })), [false, 'error', undefined, 'ERR_BAD_REQUEST: Unsupported protocol ftp:']);
  });
});
