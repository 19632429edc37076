// The git deployment fixture itself, with real git and real node: a push reaches the bare remote and
// the deploy clone fetches it as origin/main; a force push rewrites history (the old tip is no
// ancestor of the new one); the build step fails for 'failing-build' and leaves a clean tree when it
// passes; the app of each kind behaves as its name says (good answers its version, health-500
// answers 500 and stays up, crash-at-boot exits non-zero before listening).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createGitDeploy, type GitDeploy } from '../helpers/git-deploy.js';
import { PidLedger } from '../helpers/holders.js';
import { waitFor } from '../helpers/wait.js';

const PORTS = [48400, 48401, 48402, 48403, 48404, 48405, 48406, 48407, 48408, 48409];
const T = { timeout: 60_000 };
const SHA = /^[0-9a-f]{40}$/;

const dirs: string[] = [];
const ledger = new PidLedger();
after(() => {
  ledger.killAll();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function fixture(): GitDeploy {
  const dir = mkdtempSync(join(tmpdir(), 'hdm-gitdeploy-'));
  dirs.push(dir);
  return createGitDeploy(dir, PORTS[0] ?? 48400);
}

/** git as a test reads it: no system or global config, no prompt; the exit status is kept. */
function git(cwd: string, args: readonly string[]): { status: number | null; out: string } {
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: cwd, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' };
  const r = spawnSync('git', args, { cwd, env, encoding: 'utf8', timeout: 15_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

function gitOk(cwd: string, args: readonly string[]): string {
  const r = git(cwd, args);
  assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.out}`);
  return r.out;
}

/** The first port of 48400-48409 that nothing listens on (127.0.0.1). */
async function freePort(skip: readonly number[] = []): Promise<number> {
  for (const port of PORTS.filter((p) => !skip.includes(p))) {
    const free = await new Promise<boolean>((res) => {
      const s = createServer();
      s.once('error', () => res(false));
      s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port in 48400-48409');
}

interface Spawned {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  readonly ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `node server.js` in `cwd` on `port`, tracked by pid for the cleanup. */
function runServer(cwd: string, port: number): Spawned {
  const child = spawn(process.execPath, ['server.js'], { cwd, env: { PATH: process.env['PATH'] ?? '', PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  if (child.pid) ledger.add(child.pid);
  let err = '';
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  const ended = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  return { child, stderr: () => err, ended };
}

async function health(port: number): Promise<{ status: number; body: unknown } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
    return { status: res.status, body: await res.json() };
  } catch {
    return undefined;
  }
}

async function stop(s: Spawned): Promise<void> {
  if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGTERM');
  const end = await s.ended;
  assert.equal(end.code, 0, `SIGTERM ends the fixture server with 0 (${JSON.stringify(end)}): ${s.stderr()}`);
}

test('the initial layout: a bare remote on main, the deploy clone on main tracking origin/main, one good v1 commit', T, () => {
  const d = fixture();
  assert.equal(gitOk(d.remote, ['rev-parse', '--is-bare-repository']), 'true');
  assert.equal(gitOk(d.remote, ['symbolic-ref', 'HEAD']), 'refs/heads/main');
  assert.equal(gitOk(d.deploy, ['rev-parse', '--abbrev-ref', 'HEAD']), 'main');
  assert.equal(gitOk(d.deploy, ['rev-parse', '--abbrev-ref', 'main@{upstream}']), 'origin/main');
  assert.equal(gitOk(d.deploy, ['config', '--get', 'remote.origin.url']), d.remote);
  assert.match(d.head(), SHA);
  assert.equal(d.head(), d.head(d.pusher));
  assert.equal(d.head(), gitOk(d.remote, ['rev-parse', 'main']));
  assert.equal(d.subject(d.head()), 'good v1');
  assert.equal(readFileSync(join(d.deploy, 'version.txt'), 'utf8').trim(), 'v1');
  assert.equal(d.script, join(d.deploy, 'server.js'));
  assert.deepEqual(d.appOptions('app'), { name: 'app', script: d.script, cwd: d.deploy, env: { PORT: '48400' }, autorestart: true });
  assert.equal(gitOk(d.deploy, ['status', '--porcelain']), '', 'the deploy clone starts clean');
});

test('push: the remote has the commit, and the deploy clone fetches it as origin/main and fast-forwards to it', T, () => {
  const d = fixture();
  const v1 = d.head();
  const v2 = d.push('good', 'v2');
  assert.match(v2, SHA);
  assert.notEqual(v2, v1);
  assert.equal(gitOk(d.remote, ['rev-parse', 'main']), v2, 'the remote main is the pushed commit');
  assert.equal(d.head(), v1, 'the deploy clone does not move by itself');
  gitOk(d.deploy, ['fetch', '--quiet', 'origin']);
  assert.equal(gitOk(d.deploy, ['rev-parse', 'origin/main']), v2);
  assert.equal(d.subject(v2), 'good v2');
  assert.equal(gitOk(d.deploy, ['diff', '--name-only', v1, v2]), 'version.txt', 'a good push changes the version only');
  gitOk(d.deploy, ['merge', '--ff-only', '--quiet', 'origin/main']);
  assert.equal(d.head(), v2);
  assert.equal(readFileSync(join(d.deploy, 'version.txt'), 'utf8').trim(), 'v2');
  assert.throws(() => d.push('good', 'v2'), /already checked out/, 'a push must change version.txt');
});

test('forcePush rewrites main: after a fetch the old tip is no ancestor of origin/main', T, () => {
  const d = fixture();
  const v1 = d.head();
  const v2 = d.push('crash-at-boot', 'v2');
  gitOk(d.deploy, ['fetch', '--quiet', 'origin']);
  assert.equal(gitOk(d.deploy, ['rev-parse', 'origin/main']), v2);
  const v3 = d.forcePush('v3');
  assert.match(v3, SHA);
  assert.equal(gitOk(d.remote, ['rev-parse', 'main']), v3);
  gitOk(d.deploy, ['fetch', '--quiet', 'origin']);
  assert.equal(gitOk(d.deploy, ['rev-parse', 'origin/main']), v3);
  assert.equal(git(d.deploy, ['merge-base', '--is-ancestor', v2, v3]).status, 1, 'the replaced commit is not in the new history');
  assert.equal(gitOk(d.deploy, ['rev-parse', `${v3}^`]), v1, 'the new commit sits on the old HEAD~1');
  assert.equal(d.subject(v3), 'force good v3');
});

test('build.js: a good build writes build-stamp.txt and leaves the tree clean; failing-build exits 1 with an error', T, () => {
  const d = fixture();
  const good = spawnSync(process.execPath, ['build.js'], { cwd: d.deploy, encoding: 'utf8', timeout: 15_000 });
  assert.equal(good.status, 0, good.stderr);
  assert.equal(readFileSync(join(d.deploy, 'build-stamp.txt'), 'utf8'), 'v1');
  assert.equal(gitOk(d.deploy, ['status', '--porcelain', '--untracked-files=all']), '', 'build-stamp.txt is git-ignored');

  d.push('failing-build', 'v2');
  const bad = spawnSync(process.execPath, ['build.js'], { cwd: d.pusher, encoding: 'utf8', timeout: 15_000 });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /build failed for v2/);
  assert.throws(() => readFileSync(join(d.pusher, 'build-stamp.txt')), /ENOENT/, 'a failed build writes no stamp');
});

test('the app of each kind: good answers its version, health-500 answers 500 and stays up, crash-at-boot exits non-zero', T, async (t) => {
  const d = fixture();
  // good v2, deployed the way an update would: fetch and fast-forward the deploy clone.
  d.push('good', 'v2');
  gitOk(d.deploy, ['fetch', '--quiet', 'origin']);
  gitOk(d.deploy, ['merge', '--ff-only', '--quiet', 'origin/main']);
  const goodPort = await freePort();
  const good = runServer(d.deploy, goodPort);
  const answer = await waitFor(`good v2 on ${goodPort}: ${good.stderr()}`, () => health(goodPort), 10_000);
  assert.deepEqual(answer, { status: 200, body: { status: 'ok', version: 'v2' } });

  d.push('health-500', 'v3');
  const sickPort = await freePort([goodPort]);
  const sick = runServer(d.pusher, sickPort);
  const sickAnswer = await waitFor(`health-500 v3 on ${sickPort}: ${sick.stderr()}`, () => health(sickPort), 10_000);
  assert.deepEqual(sickAnswer, { status: 500, body: { status: 'failing', version: 'v3' } });
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(sick.child.exitCode, null, 'the health-500 process stays up');

  d.push('crash-at-boot', 'v4');
  const crashPort = await freePort([goodPort, sickPort]);
  const crash = runServer(d.pusher, crashPort);
  let timer: NodeJS.Timeout | undefined;
  const end = await Promise.race([crash.ended, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 10_000)))]);
  clearTimeout(timer);
  assert.notEqual(end, 'timeout', 'crash-at-boot exits by itself');
  assert.ok(end !== 'timeout' && end.code !== 0 && end.code !== null, `exit ${JSON.stringify(end)}`);
  assert.match(crash.stderr(), /boot failure in v4/);
  assert.equal(await health(crashPort), undefined, 'nothing listens for crash-at-boot');
  t.diagnostic(`good on ${goodPort}, health-500 on ${sickPort}, crash-at-boot exit ${end.code}`);

  await stop(good);
  await stop(sick);
});
