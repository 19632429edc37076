/**
 * `node dist/bench/probe-parity.js` (after `npm run build`): the shipped prober against the axios
 * prober it replaced (bench/lib/probe-variants.ts), case by case on loopback servers made here.
 * Prints each outcome without its latency, SAME or DIFF, and exits 1 on an unexpected DIFF.
 * The one expected DIFF: a corrupt compressed body that the app sent unasked (axios
 * decompressed it; the probe does not, see bench/README.md, "probe clients").
 */
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import type { HealthConfig } from '../src/config/schema.js';
import { createHttpProber } from '../src/probes/http.js';
import type { HttpOutcome } from '../src/probes/types.js';
import { ROOT } from '../test/helpers/sandbox.js';
import { createAxiosProber } from './lib/probe-variants.js';

const EXPECTED_DIFFS = new Set(['unasked corrupt gzip']);
let port = 0;
let tlsPort = 0;

function handle(req: IncomingMessage, res: ServerResponse): void {
  const u = req.url ?? '/';
  const redirect = (status: number, location?: string): void => void res.writeHead(status, location ? { location } : {}).end('moved');
  if (u === '/health') return void res.end('ok');
  if (u === '/204') return void res.writeHead(204).end();
  if (u === '/503') return void res.writeHead(503).end('down');
  if (u === '/hang') return;
  if (u === '/big') return void res.writeHead(200, { 'content-length': 10_000 }).end('x'.repeat(10_000));
  if (u === '/exact') return void res.end('x'.repeat(1024));
  if (u === '/chunked') {
    for (let i = 0; i < 10; i++) res.write('y'.repeat(1000));
    return void res.end();
  }
  if (u.startsWith('/r/')) {
    const n = Number(u.slice(3));
    return redirect(302, n > 0 ? `/r/${n - 1}` : '/health');
  }
  if (/^\/(300|301|303|307)$/.test(u)) return redirect(Number(u.slice(1)), '/health');
  if (u === '/308') return redirect(308, '/503');
  if (u === '/304') return redirect(304);
  if (u === '/302-no-location') return redirect(302);
  if (u === '/ftp') return redirect(302, 'ftp://127.0.0.1/x');
  if (u === '/bad-location') return redirect(302, 'http://[::1');
  if (u === '/absolute') return redirect(302, `http://127.0.0.1:${port}/health`);
  if (u === '/to-https') return redirect(302, `https://127.0.0.1:${tlsPort}/health`);
  if (u === '/cut') {
    res.writeHead(200, { 'content-length': 100 }).write('0123456789');
    return void setTimeout(() => res.socket?.destroy(), 20);
  }
  if (u === '/drop') return void req.socket.destroy();
  if (u === '/gzip') return void res.writeHead(200, { 'content-encoding': 'gzip' }).end('not gzip');
  res.writeHead(404).end();
}

const listen = async <S extends net.Server>(server: S): Promise<number> => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
};

async function main(): Promise<number> {
  const tls = join(ROOT, 'test', 'fixtures', 'tls');
  const plain = http.createServer(handle);
  const secure = https.createServer({ key: readFileSync(join(tls, 'key.pem')), cert: readFileSync(join(tls, 'cert.pem')) }, handle);
  const garbage = net.createServer((s) => s.once('data', () => s.end('garbage\r\n\r\n')));
  const closed = net.createServer();
  port = await listen(plain);
  tlsPort = await listen(secure);
  const garbagePort = await listen(garbage);
  const deadPort = await listen(closed);
  await new Promise((r) => closed.close(r));
  const base = `http://127.0.0.1:${port}`;
  const h = (url: string | undefined, patch: Partial<HealthConfig> = {}): HealthConfig => ({
    ...(url === undefined ? {} : { url }), timeoutMs: 600, intervalMs: 1000, failureThreshold: 3, expectStatus: [200], maxBodyBytes: 1024, followRedirects: false, ...patch,
  });
  const f = (path: string, patch: Partial<HealthConfig> = {}): HealthConfig => h(`${base}${path}`, { followRedirects: true, ...patch });
  const cases: [string, HealthConfig][] = [
    ['200', h(`${base}/health`)], ['204 expected', h(`${base}/204`, { expectStatus: [200, 204] })], ['204 unexpected', h(`${base}/204`)],
    ['503', h(`${base}/503`)], ['503, two expected', h(`${base}/503`, { expectStatus: [204, 302] })],
    ['hang', h(`${base}/hang`)], ['hang, fractional timeout', h(`${base}/hang`, { timeoutMs: 288.7 })],
    ['big', h(`${base}/big`)], ['exactly max_body', h(`${base}/exact`)], ['chunked over max_body', h(`${base}/chunked`)], ['big under a larger cap', h(`${base}/big`, { maxBodyBytes: 20_000 })],
    ['302 not followed', h(`${base}/r/0`)], ['302 followed', f('/r/0')], ['5 hops', f('/r/4')], ['6 hops', f('/r/5')],
    ['300', f('/300')], ['301', f('/301')], ['303', f('/303')], ['307', f('/307')], ['308 to a 503', f('/308')],
    ['304 without Location', f('/304')], ['302 without Location', f('/302-no-location')],
    ['redirect to ftp', f('/ftp')], ['invalid Location', f('/bad-location')], ['absolute Location', f('/absolute')],
    ['http to https, self-signed', f('/to-https')],
    ['cut mid-body', h(`${base}/cut`)], ['dropped connection', h(`${base}/drop`)], ['garbage answer', h(`http://127.0.0.1:${garbagePort}/health`)],
    ['refused', h(`http://127.0.0.1:${deadPort}/health`)], ['refused, localhost', h(`http://localhost:${deadPort}/health`)],
    ['https self-signed', h(`https://127.0.0.1:${tlsPort}/health`)],
    ['unasked corrupt gzip', h(`${base}/gzip`)], ['ftp url', h(`ftp://127.0.0.1:${port}/x`)], ['invalid url', h('http://[::1')], ['no url', h(undefined)],
  ];
  const before = createAxiosProber();
  const now = createHttpProber();
  const shown = (r: HttpOutcome): string => JSON.stringify({ ...r, latencyMs: undefined });
  let unexpected = 0;
  try {
    for (const [name, health] of cases) {
      const [a, b] = [shown(await before.probe(health)), shown(await now.probe(health))];
      const same = a === b;
      if (!same && !EXPECTED_DIFFS.has(name)) unexpected++;
      process.stdout.write(`${same ? 'SAME' : EXPECTED_DIFFS.has(name) ? 'DIFF (expected)' : 'DIFF'}  ${name.padEnd(28)} ${b}${same ? '' : `\n      axios: ${a}`}\n`);
    }
  } finally {
    before.close();
    now.close();
    for (const s of [plain, secure]) s.closeAllConnections();
    for (const s of [plain, secure, garbage]) s.close();
  }
  process.stdout.write(`${cases.length} cases, ${unexpected} unexpected difference(s)\n`);
  return unexpected ? 1 : 0;
}

main().then((code) => (process.exitCode = code), (err: unknown) => {
  process.stderr.write(`probe-parity failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
