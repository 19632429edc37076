// The status server of the real `helpdesk-monitor run` (http: in the config): the token guards
// /, /metrics and /api/status (401 without it, 200 with it as Bearer or Basic), /healthz stays
// open; promtool finds nothing to say about the metrics; a forced remedy adds exactly 1 to
// remedies_total for its app and result; an app whose remedies fail reads circuit_state open 1;
// /api/status is the status document; a taken port or 0.0.0.0 without a token refuse to start;
// a reload moves the server, and a new port that is taken leaves the old one answering.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import YAML from 'yaml';
import { createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { PidLedger, thaw } from '../helpers/holders.js';
import { configIn, freshDir, healthPid, sandboxCliEnv, startHealthy } from '../helpers/operator.js';
import { assertMatchesSchema } from '../helpers/schema.js';

const APP_PORT = 48540;
const BAD_PORT = 48541;
const HTTP_PORT = 48545;
const TAKEN_PORT = 48546;
const TOKEN = 'test-token-0123456789abcdef';
const T = { timeout: 180_000 };

let sb: Sandbox;
let env: NodeJS.ProcessEnv;
let run: RunningCli | undefined;
let configFile: string;
const ledger = new PidLedger();
const frozen: number[] = [];
const base = `http://127.0.0.1:${HTTP_PORT}`;

before(async () => {
  sb = await createSandbox('web');
  env = sandboxCliEnv(sb, { HDM_TEST_TOKEN: TOKEN });
  const dir = freshDir(join(sb.home, 'apps'), 'web');
  const ok = join(dir, 'ok.cjs');
  writeFileSync(ok, `require('node:http').createServer((q, s) => s.end(JSON.stringify({ pid: process.pid }))).listen(Number(process.env.PORT), '127.0.0.1');\n`);
  const bad = join(dir, 'bad.cjs');
  writeFileSync(bad, `require('node:http').createServer((q, s) => { s.statusCode = 500; s.end('broken'); }).listen(Number(process.env.PORT), '127.0.0.1');\n`);
  await startHealthy(sb, 'web-ok', APP_PORT, { name: 'web-ok', script: ok, env: { PORT: String(APP_PORT) }, autorestart: true });
  await sb.start({ name: 'web-bad', script: bad, env: { PORT: String(BAD_PORT) }, autorestart: true });
  const health = (port: number) => ({ url: `http://127.0.0.1:${port}/`, interval: '1s', timeout: '500ms', failure_threshold: 2 });
  configFile = configIn(sb.home, {
    http: { port: HTTP_PORT, token_env: 'HDM_TEST_TOKEN', refresh: '2s' },
    apps: [
      { name: 'web-ok', health: health(APP_PORT), startup_grace: 0, ports: [APP_PORT], verify_timeout: '10s' },
      { name: 'web-bad', health: health(BAD_PORT), startup_grace: 0, ports: [BAD_PORT], verify_timeout: '2s', restart_delay: 0, max_restart_failures: 1 },
    ],
  });
  run = startCli(['run', '--config', configFile], env, ledger);
  await run.waitForLine(/status server on http:\/\/127\.0\.0\.1:48545/, 60_000);
});
after(async () => {
  thaw(frozen);
  if (run && run.child.exitCode === null) run.child.kill('SIGTERM');
  await run?.exited;
  ledger.killAll();
  await sb?.teardown();
});

async function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; type: string; body: string; headers: Headers }> {
  const res = await fetch(base + path, { method, headers, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text(), headers: res.headers };
}
const bearer = { Authorization: `Bearer ${TOKEN}` };

/** The value of one series in the exposition text (undefined when absent). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.indexOf('}'));
    const got = Object.fromEntries([...body.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

test('the token guards /, /metrics and /api/status; /healthz is open; other methods and paths are refused', T, async () => {
  for (const path of ['/', '/metrics', '/api/status']) {
    const none = await get(path);
    assert.equal(none.status, 401, path);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Basic realm="helpdesk-monitor"/);
    assert.equal((await get(path, { Authorization: 'Bearer wrong-token-wrong-token' })).status, 401, path);
    assert.equal((await get(path, bearer)).status, 200, path);
    const basic = { Authorization: `Basic ${Buffer.from(`anyone:${TOKEN}`).toString('base64')}` };
    assert.equal((await get(path, basic)).status, 200, path);
  }
  const page = await get('/', bearer);
  assert.match(page.type, /^text\/html/);
  assert.equal(page.headers.get('content-security-policy'), "default-src 'none'; style-src 'unsafe-inline'");
  assert.match(page.body, /web-ok/);
  const healthz = await get('/healthz');
  assert.equal(healthz.status, 200);
  assert.equal(JSON.parse(healthz.body).ok, true);
  assert.equal((await get('/metrics', bearer, 'POST')).status, 405);
  const head = await get('/metrics', bearer, 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal((await get('/nope', bearer)).status, 404);
});

test('promtool check metrics has nothing to say; build_info and default metrics are there', T, async () => {
  const m = await get('/metrics', bearer);
  assert.match(m.type, /^text\/plain; version=0\.0\.4/);
  const check = spawnSync('promtool', ['check', 'metrics'], { input: m.body, encoding: 'utf8' });
  assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
  assert.equal(`${check.stdout}${check.stderr}`.trim(), '', 'promtool said something');
  assert.equal(sample(m.body, 'helpdesk_monitor_build_info', {}), 1);
  assert.match(m.body, /^helpdesk_monitor_process_resident_memory_bytes \d/m);
  const gaugesNamedTotal = [...m.body.matchAll(/^# TYPE (\S+) gauge$/gm)].map((x) => x[1]!).filter((n) => n.endsWith('_total'));
  assert.deepEqual(gaugesNamedTotal, []);
});

test('a forced remedy adds exactly 1 to remedies_total for its app and result; a failing app opens its circuit', T, async () => {
  const before = await get('/metrics', bearer);
  const was = sample(before.body, 'helpdesk_monitor_remedies_total', { app: 'web-ok', result: 'healed' }) ?? 0;
  const old = await waitFor('web-ok healthy', async () => {
    const info = await sb.info('web-ok');
    return info?.status === 'online' && (await healthPid(APP_PORT)) === info.pid ? info : undefined;
  }, 30_000);
  frozen.push(old.pid);
  process.kill(old.pid, 'SIGSTOP');
  const text = await waitFor('remedies_total +1', async () => {
    const m = await get('/metrics', bearer);
    return (sample(m.body, 'helpdesk_monitor_remedies_total', { app: 'web-ok', result: 'healed' }) ?? 0) > was ? m.body : undefined;
  }, 60_000);
  assert.equal(sample(text, 'helpdesk_monitor_remedies_total', { app: 'web-ok', reason: 'probe', result: 'healed' }), was + 1);
  assert.equal(sample(text, 'helpdesk_monitor_time_to_healthy_seconds_count', { app: 'web-ok', reason: 'probe' }), was + 1);
  // Healthy again afterwards: no second remedy on its heels.
  await new Promise((r) => setTimeout(r, 3000));
  const later = await get('/metrics', bearer);
  assert.equal(sample(later.body, 'helpdesk_monitor_remedies_total', { app: 'web-ok', reason: 'probe', result: 'healed' }), was + 1);
  assert.equal(sample(later.body, 'helpdesk_monitor_app_healthy', { app: 'web-ok' }), 1);

  const open = await waitFor('web-bad circuit open', async () => {
    const m = await get('/metrics', bearer);
    return sample(m.body, 'helpdesk_monitor_circuit_state', { app: 'web-bad', state: 'open' }) === 1 ? m.body : undefined;
  }, 90_000);
  assert.equal(sample(open, 'helpdesk_monitor_circuit_state', { app: 'web-bad', state: 'closed' }), 0);
  assert.equal(sample(open, 'helpdesk_monitor_app_healthy', { app: 'web-bad' }), 0);
  assert.ok((sample(open, 'helpdesk_monitor_remedies_total', { app: 'web-bad', result: 'failed' }) ?? 0) >= 1);
  assert.ok((sample(open, 'helpdesk_monitor_probe_duration_seconds_count', { app: 'web-bad', probe: 'http', result: 'status' }) ?? 0) >= 1);
});

test('/api/status is the status document, from the running monitor', T, async () => {
  const res = await get('/api/status', bearer);
  const doc = JSON.parse(res.body) as { healthy: boolean; monitor: { pid: number; live: boolean }; apps: { name: string; healthy: boolean }[] };
  assertMatchesSchema('status', doc);
  assert.equal(doc.monitor.pid, run!.child.pid);
  assert.deepEqual(doc.apps.map((a) => a.name).sort(), ['web-bad', 'web-ok']);
  assert.equal(doc.apps.find((a) => a.name === 'web-bad')?.healthy, false);
  assert.equal(doc.healthy, false);
});

test('a taken port: run exits 1 naming the address; 0.0.0.0 without a token: exit 2 naming http.host', T, async () => {
  const squat: Server = createServer(() => undefined);
  await new Promise<void>((r) => squat.listen(TAKEN_PORT, '127.0.0.1', r));
  try {
    const cfg = configIn(sb.home, { state_dir: freshDir(sb.home, 'st2'), http: { port: TAKEN_PORT }, apps: [{ name: 'web-ok', ports: [APP_PORT] }] });
    const r = await runCli(['run', '--config', cfg], env, 60_000);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /status server cannot listen on 127\.0\.0\.1:48546: the address is in use/);
  } finally {
    squat.close();
  }
  const open = configIn(sb.home, { http: { host: '0.0.0.0' }, apps: [{ name: 'web-ok' }] });
  const r = await runCli(['run', '--config', open], env, 30_000);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /http\.host/);
  assert.match(r.stderr, /token_env or token_file/);
});

test('SIGUSR1 writes the status document to the log', T, async () => {
  const from = run!.stderrLines.length;
  process.kill(run!.child.pid!, 'SIGUSR1');
  const { line } = await run!.waitForLine(/status \(SIGUSR1\)/, 10_000, from);
  assert.match(line, /web-ok/);
});

test('a reload moves the server; a new port that is taken keeps the old server answering, and says why', T, async () => {
  const doc = YAML.parse(readFileSync(configFile, 'utf8')) as { http: { port: number } };
  const MOVED = 48547;
  writeFileSync(configFile, YAML.stringify({ ...doc, http: { ...doc.http, port: MOVED } }));
  await run!.waitForLine(/status server on http:\/\/127\.0\.0\.1:48547/, 20_000);
  const moved = await fetch(`http://127.0.0.1:${MOVED}/healthz`, { signal: AbortSignal.timeout(5000) });
  assert.equal(moved.status, 200);
  await assert.rejects(fetch(`${base}/healthz`, { signal: AbortSignal.timeout(2000) }), 'the old port is closed');

  const squat: Server = createServer(() => undefined);
  await new Promise<void>((r) => squat.listen(TAKEN_PORT, '127.0.0.1', r));
  try {
    const from = run!.stderrLines.length;
    writeFileSync(configFile, YAML.stringify({ ...doc, http: { ...doc.http, port: TAKEN_PORT } }));
    const { line } = await run!.waitForLine(/the http: block was not applied/, 20_000, from);
    assert.match(line, /48546: the address is in use/);
    assert.match(line, /stays on http:\/\/127\.0\.0\.1:48547/);
    assert.equal((await fetch(`http://127.0.0.1:${MOVED}/healthz`, { signal: AbortSignal.timeout(5000) })).status, 200);
  } finally {
    squat.close();
  }
});
