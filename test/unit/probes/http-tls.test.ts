/**
 * The probe over HTTPS, against a real TLS server on 127.0.0.1 with the self-signed certificate
 * in test/fixtures/tls. Untrusted, the certificate is an error in the old words; trusted (a
 * child Node with NODE_EXTRA_CA_CERTS: the trust store is fixed at start-up), probes pass, share
 * one TLS connection, and a plain-http redirect to https is followed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:https';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { HealthConfig } from '../../../src/config/schema.js';
import { createHttpProber } from '../../../src/probes/http.js';
import type { HttpOutcome } from '../../../src/probes/types.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..', '..');
const TLS = join(ROOT, 'test', 'fixtures', 'tls');
const PROBER = pathToFileURL(join(ROOT, 'dist', 'src', 'probes', 'http.js')).href;

let server: Server;
let redirector: HttpServer;
let base: string;
let tlsConnections = 0;
let hits = 0;

before(async () => {
  server = createServer({ key: readFileSync(join(TLS, 'key.pem')), cert: readFileSync(join(TLS, 'cert.pem')) }, (req, res) => {
    hits++;
    if (req.url === '/health') return void res.end('ok');
    res.statusCode = 404;
    res.end();
  });
  server.on('secureConnection', () => tlsConnections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  redirector = createHttpServer((_req, res) => {
    res.writeHead(302, { location: `${base}/health` });
    res.end();
  });
  await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
});

after(async () => {
  for (const s of [server, redirector]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const health = (url: string, patch: Partial<HealthConfig> = {}): HealthConfig => ({
  url, timeoutMs: 5000, intervalMs: 5000, failureThreshold: 3, expectStatus: [200], maxBodyBytes: 1024, followRedirects: false, ...patch,
});

/** Probe each health config in turn in a child Node that trusts the fixture certificate. */
function probeTrusting(healths: readonly HealthConfig[]): Promise<HttpOutcome[]> {
  const script = `import { createHttpProber } from ${JSON.stringify(PROBER)};
const p = createHttpProber();
const out = [];
for (const h of JSON.parse(process.argv[1])) out.push(await p.probe(h));
p.close();
process.stdout.write(JSON.stringify(out));`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(healths)], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: join(TLS, 'cert.pem') }, timeout: 30_000,
    }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as HttpOutcome[])));
  });
}

describe('the probe over HTTPS', () => {
  test('an untrusted self-signed certificate is an error in the old words', async () => {
    const p = createHttpProber();
    try {
      const r = await p.probe(health(`${base}/health`));
      assert.deepEqual([r.ok, !r.ok && r.failure, !r.ok && r.detail], [false, 'error', 'DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate']);
    } finally {
      p.close();
    }
  });

  test('trusted, two probes pass over one TLS connection', async () => {
    tlsConnections = 0;
    hits = 0;
    const rs = await probeTrusting([health(`${base}/health`), health(`${base}/health`), health(`${base}/nope`)]);
    assert.deepEqual(rs.map((r) => [r.ok, r.ok ? r.status : r.failure]), [[true, 200], [true, 200], [false, 'status']]);
    assert.equal(hits, 3);
    assert.equal(tlsConnections, 1, 'the connection was kept alive');
  });

  test('an http:// check redirected to https:// follows it when allowed', async () => {
    hits = 0;
    const from = `http://127.0.0.1:${(redirector.address() as { port: number }).port}/health`;
    const [followed, notFollowed] = await probeTrusting([health(from, { followRedirects: true }), health(from)]);
    assert.deepEqual([followed!.ok, followed!.ok && followed!.status], [true, 200]);
    assert.deepEqual([notFollowed!.ok, !notFollowed!.ok && notFollowed!.status], [false, 302]);
    assert.equal(hits, 1);
  });
});
