/**
 * Git auto-update through `helpdesk-monitor update APP` and `rollback APP`, end to end: a bare
 * remote in a temp dir, the clone PM2 runs in a temp PM2_HOME, a second clone pushing fixture
 * commits (good, crash at boot, /health 500, failing build, a rewritten history), a local webhook
 * receiver for the notifications. The tests run in order on one app: each starts from the
 * healthy state the one before left.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createGitDeploy, type GitDeploy } from '../helpers/git-deploy.js';
import { configIn, freshDir, sandboxCliEnv } from '../helpers/operator.js';
import { runCli } from '../helpers/cli.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import { createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';

const PORT = 48420;
const APP = 'upd';
let sb: Sandbox;
let repo: GitDeploy;
let receiver: Receiver;
let config: string;
let env: NodeJS.ProcessEnv;

async function version(): Promise<{ status: number; version?: string }> {
  try {
    const res = await fetch(`http://127.0.0.1:${PORT}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { version?: string };
    return { status: res.status, ...(body.version ? { version: body.version } : {}) };
  } catch {
    return { status: 0 };
  }
}

interface Report {
  readonly outcome: string;
  readonly detail: string;
  readonly head?: string;
  readonly refusal?: { kind: string; files: string[]; way_out: string };
  readonly story?: { result: string; from: { sha: string }; to: { sha: string }; steps: { name: string; ok: boolean; exit_code?: number | null; detail: string }[] };
}

async function update(...args: string[]): Promise<{ code: number | null; report: Report; stderr: string }> {
  const r = await runCli(['update', APP, '--json', '--config', config, ...args], env, 120_000);
  assert.ok(r.stdout.trim(), `update printed nothing (exit ${r.code}): ${r.stderr}`);
  return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
}

const notices = (type: string): { reason?: string; detail?: string }[] =>
  receiver.received.map((r) => r.body as { event?: string; reason?: string; detail?: string }).filter((b) => b.event === type);

before(async () => {
  sb = await createSandbox('update');
  receiver = await startReceiver(0);
  repo = createGitDeploy(freshDir(sb.home, 'git'), PORT);
  config = configIn(sb.home, {
    notify: [{ url: receiver.url('/notify'), format: 'json' }],
    apps: [{
      name: APP,
      health: { url: `http://127.0.0.1:${PORT}/health`, interval: '1s', timeout: '1s', failure_threshold: 2 },
      startup_grace: '1s',
      update: { interval: '1h', commands: ['node build.js'], verify_timeout: '5s' },
    }],
  });
  env = sandboxCliEnv(sb);
  await sb.start(repo.appOptions(APP));
  await waitFor('v1 healthy', async () => (await version()).version === 'v1', 30_000);
});

after(async () => {
  await receiver?.close();
  await sb?.teardown();
});

test('a good commit is fetched, built, reloaded and verified: the new version serves, one story, one notification naming both SHAs', async () => {
  const before = repo.head();
  const sha = repo.push('good', 'v2');
  const { code, report } = await update();
  assert.equal(code, 0, report.detail);
  assert.equal(report.outcome, 'applied');
  assert.equal(repo.head(), sha);
  assert.equal((await version()).version, 'v2');
  assert.equal(readFileSync(join(repo.deploy, 'build-stamp.txt'), 'utf8'), 'v2', 'the build command ran in the repo');
  assert.deepEqual(report.story?.steps.map((s) => s.name.split(' ').slice(0, 2).join(' ')), ['git merge', 'command 1:', 'pm2 reload', 'verify']);
  await waitFor('update_applied notification', () => notices('update_applied').length === 1, 10_000);
  const n = notices('update_applied')[0]!;
  assert.ok(n.reason?.includes(before.slice(0, 10)) && n.reason.includes(sha.slice(0, 10)), n.reason);
  const again = await update();
  assert.equal(again.report.outcome, 'up_to_date');
});

test('a crash-at-boot commit is rolled back to the previous SHA, healthy, and not retried over the next 5 fetches', async () => {
  const good = repo.head();
  const bad = repo.push('crash-at-boot', 'v3');
  const { code, report } = await update();
  assert.equal(code, 1);
  assert.equal(report.outcome, 'rolled_back', report.detail);
  assert.equal(repo.head(), good);
  assert.equal((await version()).version, 'v2');
  assert.match(report.detail, /not healthy on the new commit/);
  await waitFor('update_rolled_back notification', () => notices('update_rolled_back').length === 1, 10_000);
  const n = notices('update_rolled_back')[0]!;
  assert.ok(n.reason?.includes(good.slice(0, 10)) && n.reason.includes(bad.slice(0, 10)), n.reason);
  for (let i = 0; i < 5; i++) {
    const skip = await update();
    assert.equal(skip.report.outcome, 'skipped', skip.report.detail);
    assert.match(skip.report.detail, /marked bad/);
    assert.equal(repo.head(), good);
  }
  assert.equal((await version()).version, 'v2');
  // status shows the SHA it is healthy on, the last update and the bad SHA.
  const st = await runCli(['status', APP, '--json', '--config', config], env);
  const row = (JSON.parse(st.stdout) as { apps: { update?: { good_sha?: string; bad: { sha: string }[]; last_update?: { result: string } } }[] }).apps[0]!;
  assert.equal(row.update?.good_sha, good);
  assert.deepEqual(row.update?.bad.map((b) => b.sha), [bad]);
  assert.equal(row.update?.last_update?.result, 'rolled_back');
  const text = await runCli(['status', APP, '--config', config], env);
  assert.match(text.stdout, new RegExp(`bad commits .*${bad.slice(0, 10)}`));
});

test('a /health-500 commit is rolled back', async () => {
  const good = repo.head();
  repo.push('health-500', 'v4');
  const { report } = await update();
  assert.equal(report.outcome, 'rolled_back', report.detail);
  assert.equal(repo.head(), good);
  assert.deepEqual(await version(), { status: 200, version: 'v2' });
});

test('a failing build is rolled back before any reload: the app never runs the bad commit', async () => {
  const good = repo.head();
  const pidBefore = (await sb.info(APP))!.pid;
  repo.push('failing-build', 'v5');
  const { report } = await update();
  assert.equal(report.outcome, 'rolled_back', report.detail);
  assert.equal(repo.head(), good);
  const steps = report.story!.steps;
  assert.ok(!steps.some((s) => s.name.includes('reload')), steps.map((s) => s.name).join(', '));
  const failed = steps.find((s) => !s.ok)!;
  assert.equal(failed.exit_code, 1);
  assert.match(report.detail, /command 1: node build.js failed/);
  assert.equal((await sb.info(APP))!.pid, pidBefore, 'the app was not restarted');
  assert.equal(readFileSync(join(repo.deploy, 'build-stamp.txt'), 'utf8'), 'v2', 'the rollback rebuilt the good commit');
});

test('a later good commit applies after bad ones', async () => {
  const sha = repo.push('good', 'v6');
  const { report } = await update();
  assert.equal(report.outcome, 'applied', report.detail);
  assert.equal(repo.head(), sha);
  assert.equal((await version()).version, 'v6');
});

test('a dirty tree is refused: HEAD unchanged, both files byte-identical, one refusal logged and notified', async () => {
  const head = repo.head();
  const tracked = join(repo.deploy, 'server.js');
  const hotfix = `${readFileSync(tracked, 'utf8')}\n// hotfix on the server\n`;
  writeFileSync(tracked, hotfix);
  writeFileSync(join(repo.deploy, 'notes.txt'), 'local notes\n');
  repo.push('good', 'v7');
  const first = await update();
  const second = await update();
  for (const r of [first, second]) {
    assert.equal(r.code, 1);
    assert.equal(r.report.outcome, 'refused');
    assert.equal(r.report.refusal?.kind, 'dirty');
    assert.deepEqual([...r.report.refusal!.files].sort(), ['notes.txt', 'server.js']);
  }
  assert.equal(repo.head(), head);
  assert.equal(readFileSync(tracked, 'utf8'), hotfix);
  assert.equal(readFileSync(join(repo.deploy, 'notes.txt'), 'utf8'), 'local notes\n');
  const logged = (first.stderr + second.stderr).split('\n').filter((l) => l.includes('update refused'));
  assert.equal(logged.length, 1, logged.join('\n'));
  await waitFor('one update_refused notification', () => notices('update_refused').length >= 1, 10_000);
  assert.equal(notices('update_refused').length, 1);
  // The operator cleans up: the same commit applies.
  execFileSync('git', ['checkout', '--', 'server.js'], { cwd: repo.deploy });
  rmSync(join(repo.deploy, 'notes.txt'));
  const clean = await update();
  assert.equal(clean.report.outcome, 'applied', clean.report.detail);
});

test('a rewritten remote (force push) is refused and HEAD stays', async () => {
  const head = repo.head();
  repo.forcePush('v8');
  const { code, report } = await update();
  assert.equal(code, 1);
  assert.equal(report.outcome, 'refused');
  assert.equal(report.refusal?.kind, 'rewritten', report.detail);
  assert.equal(repo.head(), head);
  assert.equal((await version()).version, 'v7');
});

test('rollback APP steps back to the commit the last update replaced, verifies it, and marks the other bad', async () => {
  const head = repo.head();
  const r = await runCli(['rollback', APP, '--json', '--config', config], env, 120_000);
  const report = JSON.parse(r.stdout) as Report;
  assert.equal(r.code, 0, report.detail);
  assert.equal(report.outcome, 'rolled_back');
  assert.notEqual(repo.head(), head);
  assert.equal((await version()).version, 'v6');
});

test('--dry-run says what would happen and moves nothing; a bad --to is a usage error', async () => {
  // Back on v6, the rewritten tip (v8, made on v6) is a fast forward again.
  const head = repo.head();
  const dry = await update('--dry-run');
  assert.equal(dry.code, 0, dry.report.detail);
  assert.equal(dry.report.outcome, 'would_update');
  assert.match(dry.report.detail, /force good v8/);
  assert.equal(repo.head(), head);
  const usage = await runCli(['update', APP, '--to', 'not-a-sha', '--config', config], env);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--to expects a commit SHA/);
});
