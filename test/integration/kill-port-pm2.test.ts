// kill-port names the live PM2 apps among the pids it would kill, and among those it killed: a
// kill of an app's process is a restart of that app (PM2's autorestart), which the operator should
// see before deciding. A real PM2 daemon in a temp PM2_HOME runs the app; the JSON carries the same
// as `pm2_app`, in snake_case with whole milliseconds.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { createSandbox, exampleApp, httpStatus, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { holdersOf } from '../helpers/holders.js';
import { pidAlive, sandboxCliEnv } from '../helpers/operator.js';
import { assertMatchesSchema } from '../helpers/schema.js';

const T = { timeout: 180_000 };
let sb: Sandbox;
let env: NodeJS.ProcessEnv;

before(async () => {
  sb = await createSandbox('killport-pm2');
  env = sandboxCliEnv(sb);
});
after(async () => {
  await sb.teardown();
});

const show = (r: CliResult): string => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

test('kill-port --dry-run names the live PM2 app it would kill; the kill says it was one', T, async () => {
  const port = await freePort();
  // autorestart off: the kill leaves the port free, so the exit code is the kill's own.
  await sb.start({ ...exampleApp('kp-api', port), autorestart: false });
  const app = await waitFor('kp-api healthy', async () => ((await httpStatus(`http://127.0.0.1:${port}/health`)) === 200 ? sb.info('kp-api') : undefined), 30_000);
  assert.ok(holdersOf(port).some((h) => h.pid === app.pid), 'the app\'s own process listens');

  const dry = await runCli(['kill-port', '--dry-run', String(port)], env, 60_000);
  assert.equal(dry.code, 0, show(dry));
  assert.match(dry.stdout, new RegExp(`^would kill pid ${app.pid} \\(.*server\\.js.*\\) on port ${port}: .* — this is the live PM2 app "kp-api" \\(pm_id ${app.pmId}\\); PM2 may restart it after the kill \\(\`helpdesk-monitor stop kp-api\` stops it for good\\)$`, 'm'), show(dry));
  assert.ok(pidAlive(app.pid), 'a dry run kills nothing');

  const json = await runCli(['kill-port', '--dry-run', '--json', String(port)], env, 60_000);
  assert.equal(json.code, 0, show(json));
  const doc = JSON.parse(json.stdout) as { dry_run: boolean; results: { would_kill: { pid: number; pm2_app?: unknown }[]; elapsed_ms: number; still_held: number[] }[] };
  assert.equal(doc.dry_run, true);
  const target = doc.results[0]!.would_kill.find((w) => w.pid === app.pid);
  assert.deepEqual(target?.pm2_app, { name: 'kp-api', pm_id: app.pmId, relation: 'app', module: false }, json.stdout);
  assert.ok(Number.isInteger(doc.results[0]!.elapsed_ms), `elapsed_ms is whole: ${doc.results[0]!.elapsed_ms}`);
  assertMatchesSchema('ports', doc); // and snake_case keys, integer *_ms

  const kill = await runCli(['kill-port', '--grace', '2s', String(port)], env, 60_000);
  assert.equal(kill.code, 0, show(kill));
  assert.match(kill.stdout, new RegExp(`^killed pid ${app.pid} \\(.*\\) on port ${port} with SIGTERM: .* — it was the live PM2 app "kp-api" \\(pm_id ${app.pmId}\\); PM2 may restart it`, 'm'), show(kill));
  await waitFor('the app process gone', () => !pidAlive(app.pid), 10_000);
});

test('a listener that is not a PM2 app is not named as one', T, async () => {
  const port = await freePort();
  const stray = sb.spawnTracked(process.execPath, ['-e', `require('net').createServer().listen(${port}, '127.0.0.1'); setInterval(() => {}, 1e9);`]);
  await waitFor(`the stray listening on ${port}`, () => holdersOf(port).some((h) => h.pid === stray.pid), 10_000, 20);
  const dry = await runCli(['kill-port', '--dry-run', String(port)], env, 60_000);
  assert.equal(dry.code, 0, show(dry));
  assert.match(dry.stdout, new RegExp(`^would kill pid ${stray.pid} `, 'm'), show(dry));
  assert.doesNotMatch(dry.stdout, /PM2 app/, show(dry));
  stray.kill('SIGKILL');
});
