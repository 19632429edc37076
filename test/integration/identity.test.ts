// The identity rule against real processes: a kill is a claim that the process is the app's. Each
// test is a reproduction of issue 10 that used to end with a foreign process killed: another user's
// holder in the app's directory, another PM2 app's child in the same folder, a command line that
// merely contains the app's script, and the process strategy run from `/` without a cwd. Each now
// ends with the holder alive and the refusal said, with its rule.
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CLI, ROOT, createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { runCli } from '../helpers/cli.js';
import { PidLedger, holdersOf, identify, isAlive, nobodyIds, type ProcIdentity } from '../helpers/holders.js';
import { configIn, freshDir, sandboxCliEnv } from '../helpers/operator.js';

const HOOK = join(ROOT, 'hooks', 'pre-start.cjs');
const T = { timeout: 120_000 };
const asNobody = nobodyIds();
const needsRoot = asNobody ? false : 'needs root to start a process as user nobody (run the suite as root, as CI does)';

let sb: Sandbox;
let env: NodeJS.ProcessEnv;
let dir: string;
const ledger = new PidLedger();

const LISTENER = (port: number): string => `require('net').createServer().listen(${port}, '127.0.0.1'); setInterval(() => {}, 60000);`;

before(async () => {
  sb = await createSandbox('identity');
  env = sandboxCliEnv(sb);
  // One folder for two PM2 apps that user nobody can enter (mkdtemp makes 0700 directories).
  dir = freshDir(join('/tmp', `hdm-identity-${process.pid}`), 'apps');
  spawnSync('chmod', ['-R', 'a+rx', join('/tmp', `hdm-identity-${process.pid}`)]);
  writeFileSync(join(dir, 'a.cjs'), `require('http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');\n`);
  // App B leaves a child that listens on the port it is told (it inherits B's env, pm_id included).
  writeFileSync(join(dir, 'b.cjs'), [
    "const { spawn } = require('child_process');",
    "const code = \"require('net').createServer().listen(\" + process.env.SQUAT_PORT + \", '127.0.0.1'); setInterval(() => {}, 60000);\";",
    "spawn(process.execPath, ['-e', code], { stdio: 'ignore' });",
    'setInterval(() => {}, 60000);',
  ].join('\n'));
});
after(async () => {
  ledger.killAll();
  await sb.teardown();
  spawnSync('rm', ['-rf', join('/tmp', `hdm-identity-${process.pid}`)]);
});

/** A listener started by us (tracked), with `cwd`, argv and uid chosen by the test. */
async function holder(port: number, options: { cwd: string; argv?: string[]; uid?: { uid: number; gid: number }; env?: NodeJS.ProcessEnv }): Promise<ProcIdentity> {
  const argv = options.argv ?? ['-e', LISTENER(port)];
  const child = spawn(process.execPath, argv, {
    cwd: options.cwd, stdio: 'ignore', detached: true,
    env: options.env ?? { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
    ...(options.uid ? { uid: options.uid.uid, gid: options.uid.gid } : {}),
  });
  child.unref();
  const id = ledger.add(child.pid!);
  assert.ok(id, 'the holder started');
  await waitFor(`pid ${child.pid} listening on ${port}`, () => holdersOf(port).some((h) => h.pid === child.pid), 10_000, 20);
  return id;
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

test("a process of user nobody in the app's directory is refused by the engine and by the pre-start hook", { ...T, skip: needsRoot }, async () => {
  const port = await freePort();
  await sb.start({ name: 'id-a', script: join(dir, 'a.cjs'), cwd: dir, env: { PORT: String(port) }, autorestart: false });
  const a = await waitFor('id-a online', async () => ((await sb.info('id-a'))?.status === 'online' ? sb.info('id-a') : undefined));
  await sb.pm2.act('stop', a.pmId);
  const foreign = await holder(port, { cwd: dir, uid: asNobody! });
  const cfg = configIn(sb.home, { apps: [{ name: 'id-a', ports: [port], kill_grace: '300ms' }] });

  const r = await runCli(['cleanup-ports', '--app', 'id-a', '--config', cfg, '--json'], env);
  assert.equal(r.code, 1, r.stderr);
  const doc = JSON.parse(r.stdout) as { results: { refused: { pid: number; why: string }[]; killed: unknown[] }[] };
  assert.deepEqual(doc.results[0]!.killed, []);
  assert.equal(doc.results[0]!.refused[0]!.pid, foreign.pid);
  assert.match(doc.results[0]!.refused[0]!.why, /owned by uid \d+, the app runs as uid 0 \(rule uid/);
  assert.ok(isAlive(foreign), 'the foreign holder is alive');

  // The hook, as PM2 runs it for id-a: its own pm_id and PM2_HOME in its env, the app's cwd.
  const hook = spawnSync(process.execPath, ['--require', HOOK, '-e', ''], {
    cwd: dir, encoding: 'utf8', timeout: 30_000,
    env: { PATH: process.env['PATH'], HDM_PORTS: String(port), HDM_KILL_GRACE_MS: '300', pm_id: String(a.pmId), name: 'id-a', PM2_HOME: sb.home },
  });
  assert.match(hook.stderr, new RegExp(`refused to kill pid ${foreign.pid} .*rule uid`));
  assert.doesNotMatch(hook.stderr, /killed pid/);
  assert.ok(isAlive(foreign), 'the foreign holder survived the hook');
});

test("two PM2 apps in one folder: A's hook and cleanup-ports --app A leave B's child alone", T, async () => {
  const port = await freePort();
  const errLog = join(sb.home, 'id-two-a-error.log');
  await sb.start({ name: 'id-two-a', script: join(dir, 'a.cjs'), cwd: dir, env: { PORT: String(port), HDM_PORTS: String(port), HDM_KILL_GRACE_MS: '300' }, node_args: ['--require', HOOK], error_file: errLog, autorestart: false });
  const a = await waitFor('id-two-a online', async () => ((await sb.info('id-two-a'))?.status === 'online' ? sb.info('id-two-a') : undefined));
  await sb.pm2.act('stop', a.pmId);
  await sb.start({ name: 'id-two-b', script: join(dir, 'b.cjs'), cwd: dir, env: { SQUAT_PORT: String(port) }, autorestart: false });
  const bChild = await waitFor("B's child holding A's port", () => holdersOf(port)[0]);
  const childId = identify(bChild.pid)!;
  ledger.addIdentity(childId);
  assert.equal(bChild.cwd, dir, "B's child runs in the shared folder");

  const cfg = configIn(sb.home, { apps: [{ name: 'id-two-a', ports: [port], kill_grace: '300ms' }] });
  const r = await runCli(['cleanup-ports', '--app', 'id-two-a', '--config', cfg], env);
  assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
  // B's child descends from B's instance and carries B's pm_id: either is reason enough.
  assert.match(r.stdout, /\(id-two-b\).*\(rule other-app under kill_scope app/);
  assert.ok(isAlive(childId), "B's child survived cleanup-ports --app A");

  // PM2 starts A again: its preloaded hook knows A's pm_id and refuses B's child.
  await sb.pm2.act('restart', a.pmId);
  const log = await waitFor('the hook refusal in A\'s error log', () => {
    const text = readFileSync(errLog, 'utf8');
    return /refused to kill pid/.test(text) ? text : undefined;
  }, 20_000);
  assert.match(log, new RegExp(`refused to kill pid ${childId.pid} .*rule other-app`));
  assert.ok(isAlive(childId), "B's child survived A's pre-start hook");
});

test("a command line that merely contains the app's script (server.js.bak) is not the app's", T, async () => {
  const port = await freePort();
  await sb.start({ name: 'id-bak', script: join(dir, 'a.cjs'), cwd: dir, env: { PORT: String(port) }, autorestart: false });
  const app = await waitFor('id-bak online', async () => ((await sb.info('id-bak'))?.status === 'online' ? sb.info('id-bak') : undefined));
  await sb.pm2.act('stop', app.pmId);
  const other = freshDir(sb.home, 'elsewhere');
  writeFileSync(join(dir, 'a.cjs.bak'), LISTENER(port));
  const bak = await holder(port, { cwd: other, argv: [join(dir, 'a.cjs.bak')] });
  const cfg = configIn(sb.home, { apps: [{ name: 'id-bak', ports: [port], kill_grace: '300ms' }] });
  const r = await runCli(['cleanup-ports', '--app', 'id-bak', '--config', cfg], env);
  assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /rule not-the-app under kill_scope app; kill_scope user would allow it/);
  assert.ok(isAlive(bak), 'the .bak process survived');
});

test('restart_strategy process without cwd, monitor started in /: a daemon in / on the port is left alone', T, async () => {
  const port = await freePort();
  const appDir = freshDir(sb.home, 'proc-app');
  mkdirSync(appDir, { recursive: true });
  writeFileSync(join(appDir, 'p.cjs'), LISTENER(port));
  const daemon = await holder(port, { cwd: '/' });
  const cfg = configIn(sb.home, {
    apps: [{
      name: 'id-proc', restart_strategy: 'process', ports: [port], kill_grace: '300ms', startup_grace: 0, verify_timeout: '2s',
      process: { command: `${process.execPath} ${join(appDir, 'p.cjs')}`, pattern: join(appDir, 'p.cjs') },
      health: { tcp: port, interval: '1s', timeout: '500ms', failure_threshold: 1 },
    }],
  });
  const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
    execFile(process.execPath, [CLI, 'check', '--config', cfg], { cwd: '/', env, timeout: 60_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, out: `${stdout}${stderr}` });
    });
  });
  assert.equal(r.code, 1, r.out);
  assert.ok(isAlive(daemon), `the daemon in / survived:\n${r.out}`);
  assert.match(r.out, /rule not-the-app/);
  assert.doesNotMatch(r.out, /runs in the app's directory \/[^a-z]/);
});
