/**
 * Bad input to git auto-update: not a git repo, a missing branch, an unreachable remote, a
 * command that is not there, a step past its timeout. Each is reported with the step and its exit
 * code; nothing changes on disk; the app keeps running the commit it had.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { createGitDeploy, type GitDeploy } from '../helpers/git-deploy.js';
import { configIn, freshDir, sandboxCliEnv } from '../helpers/operator.js';
import { runCli } from '../helpers/cli.js';
import { createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';

const PORT = 48425;
const APP = 'upderr';
let sb: Sandbox;
let repo: GitDeploy;
let env: NodeJS.ProcessEnv;

async function served(): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${PORT}/health`, { signal: AbortSignal.timeout(1000) });
    return res.status === 200 ? ((await res.json()) as { version?: string }).version : undefined;
  } catch {
    return undefined;
  }
}

const porcelain = (): string => execFileSync('git', ['status', '--porcelain'], { cwd: repo.deploy, encoding: 'utf8' });

async function updateWith(update: Record<string, unknown>): Promise<{ code: number | null; report: { outcome: string; detail: string; story?: { steps: { name: string; ok: boolean; exit_code?: number | null; detail: string }[] } } }> {
  const config = configIn(sb.home, {
    apps: [{ name: APP, health: { url: `http://127.0.0.1:${PORT}/health`, interval: '1s', timeout: '1s' }, startup_grace: '1s', update: { verify_timeout: '4s', ...update } }],
  });
  const r = await runCli(['update', APP, '--json', '--config', config], env, 90_000);
  assert.ok(r.stdout.trim(), r.stderr);
  return { code: r.code, report: JSON.parse(r.stdout) as never };
}

before(async () => {
  sb = await createSandbox('update-errors');
  repo = createGitDeploy(freshDir(sb.home, 'git'), PORT);
  env = sandboxCliEnv(sb);
  execFileSync('git', ['remote', 'add', 'broken', '/nonexistent/remote.git'], { cwd: repo.deploy });
  await sb.start(repo.appOptions(APP));
  await waitFor('v1 served', async () => (await served()) === 'v1', 30_000);
});

after(async () => {
  await sb?.teardown();
});

test('git failures before any move: not a repo, a missing branch, an unreachable remote', async () => {
  const head = repo.head();
  repo.push('good', 'v2');
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ repo: freshDir(sb.home, 'not-a-repo') }, /git fetch origin main failed: exit 128: .*not a git repository/i],
    [{ branch: 'no-such-branch' }, /git fetch origin no-such-branch failed: exit 128: .*couldn't find remote ref/i],
    [{ remote: 'broken' }, /git fetch broken main failed: exit 128: .*(does not appear to be a git repository|not found)/i],
  ];
  for (const [update, re] of cases) {
    const { code, report } = await updateWith(update);
    assert.equal(code, 1);
    assert.equal(report.outcome, 'failed');
    assert.match(report.detail, re);
    assert.equal(repo.head(), head);
    assert.equal(porcelain(), '');
  }
  assert.equal(await served(), 'v1');
});

test('a command that is not there, and a step past its timeout: rolled back before any reload, with the step and exit code', async () => {
  const head = repo.head();
  const pid = (await sb.info(APP))!.pid;
  // Missing only for the new commit, so the rollback's rebuild of the old one works.
  const missing = await updateWith({ commands: ['node build.js', 'if grep -q v2 version.txt; then no-such-build-tool-hdm --prod; fi'] });
  assert.equal(missing.code, 1);
  assert.equal(missing.report.outcome, 'rolled_back', missing.report.detail);
  const failed = missing.report.story!.steps.find((s) => !s.ok)!;
  assert.match(failed.name, /^command 2: /);
  assert.equal(failed.exit_code, 127);
  assert.match(failed.detail, /no-such-build-tool-hdm: not found/);
  assert.equal(repo.head(), head);

  repo.push('good', 'v3');
  const t0 = Date.now();
  const slow = await updateWith({ commands: [{ run: 'if grep -q v3 version.txt; then sleep 30; fi', timeout: '1s' }] });
  assert.ok(Date.now() - t0 < 20_000);
  assert.equal(slow.report.outcome, 'rolled_back', slow.report.detail);
  assert.match(slow.report.detail, /command 1: .* failed: timed out after 1000 ms/);
  assert.equal(repo.head(), head);
  assert.equal(porcelain(), '');
  assert.equal((await sb.info(APP))!.pid, pid, 'never reloaded');
  assert.equal(await served(), 'v1');
});

test('a rollback that fails too stops updates for the app until update --retry', async () => {
  const head = repo.head();
  const sha = repo.push('good', 'v4');
  // Broken for every commit: the rollback's rebuild fails as well.
  const broken = await updateWith({ commands: ['no-such-build-tool-hdm'] });
  assert.equal(broken.report.outcome, 'rollback_failed', broken.report.detail);
  assert.match(broken.report.detail, /the rollback failed too/);
  assert.equal(repo.head(), head, 'the reset itself worked');
  const held = await updateWith({});
  assert.equal(held.report.outcome, 'skipped');
  assert.match(held.report.detail, /updates stopped/);
  const retried = await (async () => {
    const config = configIn(sb.home, { apps: [{ name: APP, health: { url: `http://127.0.0.1:${PORT}/health`, interval: '1s', timeout: '1s' }, startup_grace: '1s', update: { verify_timeout: '4s' } }] });
    const st = await runCli(['status', APP, '--json', '--config', config], env);
    const row = (JSON.parse(st.stdout) as { apps: { update?: { halted?: { why: string } } }[] }).apps[0]!;
    assert.match(row.update?.halted?.why ?? '', /rollback .* failed/);
    const r = await runCli(['update', APP, '--retry', '--json', '--config', config], env, 90_000);
    return JSON.parse(r.stdout) as { outcome: string; detail: string };
  })();
  assert.equal(retried.outcome, 'applied', retried.detail);
  assert.equal(repo.head(), sha);
  assert.equal(await served(), 'v4');
  const after = await updateWith({});
  assert.equal(after.report.outcome, 'up_to_date', 'the halt is over');
});

/** A commit of the pusher clone with these files (beside the fixture's own kinds), pushed. */
function pushFiles(files: Record<string, { text: string; mode?: number }>, subject: string): string {
  const id = ['-c', 'user.name=hdm test', '-c', 'user.email=test@hdm.invalid', '-c', 'commit.gpgsign=false', '-c', 'core.hooksPath=/dev/null'];
  for (const [path, f] of Object.entries(files)) {
    mkdirSync(dirname(join(repo.pusher, path)), { recursive: true });
    writeFileSync(join(repo.pusher, path), f.text, { mode: f.mode ?? 0o644 });
    execFileSync('git', [...id, 'add', '-f', path], { cwd: repo.pusher });
  }
  execFileSync('git', [...id, 'commit', '-q', '-m', subject], { cwd: repo.pusher });
  execFileSync('git', [...id, 'push', '-q', 'origin', 'main'], { cwd: repo.pusher });
  return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo.pusher, encoding: 'utf8' }).trim();
}

test('git hooks never run: not from .git/hooks, not from a hooksPath inside the deployed tree', async () => {
  const marker = join(sb.home, 'hook-ran');
  const hook = `#!/bin/sh\necho "$0" >> '${marker}'\n`;
  // husky's layout: core.hooksPath points into the work tree, so a commit can bring the hook.
  execFileSync('git', ['config', 'core.hooksPath', '.hooks'], { cwd: repo.deploy });
  writeFileSync(join(repo.deploy, '.git', 'hooks', 'post-merge'), hook, { mode: 0o755 });
  const sha = pushFiles({ '.hooks/post-merge': { text: hook, mode: 0o755 }, '.hooks/reference-transaction': { text: hook, mode: 0o755 } }, 'bring hooks');
  const { report } = await updateWith({});
  assert.equal(report.outcome, 'applied', report.detail);
  assert.equal(repo.head(), sha);
  assert.ok(!existsSync(marker), `a hook ran: ${existsSync(marker) ? readFileSync(marker, 'utf8') : ''}`);
  execFileSync('git', ['config', '--unset', 'core.hooksPath'], { cwd: repo.deploy });
});

test('an ignored local file that a commit starts tracking is never overwritten; the refused move is told once', async () => {
  const head = repo.head();
  const local = join(repo.deploy, 'local.conf');
  writeFileSync(local, 'hand-made setting\n');
  writeFileSync(join(repo.deploy, '.git', 'info', 'exclude'), 'local.conf\n');
  assert.equal(porcelain(), '', 'ignored: the tree is clean');
  pushFiles({ 'local.conf': { text: 'upstream default\n' } }, 'track local.conf');
  const first = await updateWith({});
  assert.equal(first.report.outcome, 'failed', first.report.detail);
  assert.match(first.report.detail, /git merge --ff-only .* failed/);
  assert.equal(readFileSync(local, 'utf8'), 'hand-made setting\n');
  assert.equal(repo.head(), head);
  const memoryFile = join(sb.home, 'helpdesk-monitor', 'updates', `${APP}.json`);
  const stories = (): number => (JSON.parse(readFileSync(memoryFile, 'utf8')) as { history: unknown[] }).history.length;
  const told = stories();
  const second = await updateWith({});
  assert.equal(second.report.outcome, 'failed');
  assert.equal(stories(), told, 'the same refused move is not a new story');
  assert.equal(readFileSync(local, 'utf8'), 'hand-made setting\n');
});
