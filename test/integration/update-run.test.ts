/**
 * Git auto-update inside a running monitor (`helpdesk-monitor run`): the schedule, the push
 * webhook, health remedies held while an update runs, five triggers at once, and a monitor
 * SIGKILLed in the middle of an update that finishes it at its next start. Real git, a bare
 * remote in a temp dir, real PM2 in a temp PM2_HOME.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createGitDeploy, type GitDeploy } from '../helpers/git-deploy.js';
import { PidLedger } from '../helpers/holders.js';
import { configIn, freshDir, sandboxCliEnv } from '../helpers/operator.js';
import { runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';

const PORT = 48430;
const HOOK_PORT = 48431;
const APP = 'updrun';
const SECRET = 'a-webhook-secret-of-32-characters';
let sb: Sandbox;
let repo: GitDeploy;
let env: NodeJS.ProcessEnv;
let slowMarker: string;
const ledger = new PidLedger();

async function served(): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${PORT}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { version?: string };
    return res.status === 200 ? body.version : undefined;
  } catch {
    return undefined;
  }
}

function configWith(interval: string): string {
  return configIn(sb.home, {
    update_webhook: { port: HOOK_PORT },
    apps: [{
      name: APP,
      health: { url: `http://127.0.0.1:${PORT}/health`, interval: '1s', timeout: '1s', failure_threshold: 2 },
      startup_grace: '1s',
      restart_delay: '1s',
      update: {
        interval,
        // The second command is slow only while the marker exists: a window to kill the monitor in.
        commands: ['node build.js', `if [ -f '${slowMarker}' ]; then sleep 4; fi`],
        verify_timeout: '4s',
      },
    }],
  });
}

function post(app: string, body: string, signature?: string): Promise<number> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (signature !== undefined) headers['x-hub-signature-256'] = signature;
  return fetch(`http://127.0.0.1:${HOOK_PORT}/hooks/update/${app}`, { method: 'POST', body, headers, signal: AbortSignal.timeout(5000) })
    .then(async (r) => (await r.arrayBuffer(), r.status));
}
const sign = (body: string): string => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;

const memory = (): { history: { result: string; trigger: string; to: { sha: string } }[] } =>
  JSON.parse(readFileSync(join(sb.home, 'helpdesk-monitor', 'updates', `${APP}.json`), 'utf8')) as never;
const journalFile = (): string => join(sb.home, 'helpdesk-monitor', 'updates', `${APP}.journal.json`);
const trackingTip = (): string => execFileSync('git', ['rev-parse', 'refs/remotes/origin/main'], { cwd: repo.deploy, encoding: 'utf8' }).trim();

async function startRun(config: string): Promise<RunningCli> {
  const run = startCli(['run', '--config', config], env, ledger);
  await run.waitForLine(/watching 1 app/, 30_000);
  return run;
}

/** The check a monitor makes at its start (fetch: up to date) is over: the webhook is the only trigger now. */
async function firstCheckDone(): Promise<void> {
  await waitFor('the first update check', () => { try { return memory().history.length >= 0 && trackingTip() === repo.head(repo.remote); } catch { return false; } }, 10_000);
  await new Promise((r) => setTimeout(r, 1000));
}

async function stopRun(run: RunningCli): Promise<void> {
  run.child.kill('SIGTERM');
  const { code } = await run.exited;
  assert.equal(code, 0);
}

before(async () => {
  sb = await createSandbox('update-run');
  repo = createGitDeploy(freshDir(sb.home, 'git'), PORT);
  slowMarker = join(sb.home, 'slow-commands');
  env = sandboxCliEnv(sb, { HELPDESK_MONITOR_WEBHOOK_SECRET: SECRET });
  await sb.start(repo.appOptions(APP));
  await waitFor('v1 served', async () => (await served()) === 'v1', 30_000);
});

after(async () => {
  ledger.killAll();
  await sb?.teardown();
});

test('on the schedule: a pushed commit is live within one interval; a broken one is rolled back with remedies held meanwhile', async () => {
  const run = await startRun(configWith('5s'));
  try {
    const sha = repo.push('good', 'v2');
    const t0 = Date.now();
    await waitFor('v2 served', async () => (await served()) === 'v2', 30_000);
    const took = Date.now() - t0;
    assert.ok(took < 5000 + 8000, `live after ${took} ms (interval 5 s + build + cold start)`);
    await run.waitForLine(/update applied \(schedule\)/, 10_000);
    assert.equal(repo.head(), sha);

    const from = run.stderrLines.length;
    repo.push('crash-at-boot', 'v3');
    await run.waitForLine(/update rolled back \(schedule\)/, 60_000, from);
    const during = run.stderrLines.slice(from);
    assert.ok(during.some((l) => /update in progress .*remedies wait/.test(l)), 'the worker saw the update and held its remedies');
    assert.ok(!during.some((l) => /starting (the half-open trial )?remedy/.test(l)), `no remedy during the update:\n${during.join('\n')}`);
    assert.equal(repo.head(), sha);
    await waitFor('v2 served again', async () => (await served()) === 'v2', 10_000);
  } finally {
    await stopRun(run);
  }
});

test('five triggers at once (the schedule, two CLI, two webhook calls): exactly one update runs', async () => {
  const config = configWith('5s');
  const run = await startRun(config);
  try {
    writeFileSync(slowMarker, '');
    const restartsBefore = (await sb.info(APP))!.restarts;
    const sha = repo.push('good', 'v4');
    const body = '{"ref":"refs/heads/main"}';
    const [cli1, cli2, hook1, hook2] = await Promise.all([
      runCli(['update', APP, '--json', '--config', config], env, 90_000),
      runCli(['update', APP, '--json', '--config', config], env, 90_000),
      post(APP, body, sign(body)),
      post(APP, body, sign(body)),
    ]);
    await waitFor('v4 served', async () => (await served()) === 'v4', 60_000);
    rmSync(slowMarker);
    for (const h of [hook1, hook2]) assert.ok([202, 409].includes(h), `webhook answered ${h}`);
    for (const c of [cli1, cli2]) assert.ok([0, 3].includes(c.code ?? -1), `cli exit ${c.code}: ${c.stdout}${c.stderr}`);
    // Whoever won, the others were told "in progress" (exit 3, 409) or found it done (up to date).
    await waitFor('the update recorded', () => memory().history.some((s) => s.to.sha === sha), 30_000);
    await new Promise((r) => setTimeout(r, 6000)); // one more schedule tick: still one
    const applied = memory().history.filter((s) => s.to.sha === sha);
    assert.equal(applied.length, 1, JSON.stringify(applied));
    assert.equal(applied[0]!.result, 'applied');
    assert.equal((await sb.info(APP))!.restarts, restartsBefore + 1, 'one reload');
  } finally {
    rmSync(slowMarker, { force: true });
    await stopRun(run);
  }
});

test('the webhook: a bad signature gets 401 and no fetch; a good one updates', async () => {
  const run = await startRun(configWith('1h'));
  try {
    await firstCheckDone();
    const tipBefore = trackingTip();
    const sha = repo.push('good', 'v5');
    const body = '{"ref":"refs/heads/main"}';
    assert.equal(await post(APP, body, sign(`${body} `)), 401);
    assert.equal(await post(APP, body), 401);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(trackingTip(), tipBefore, 'no fetch after a bad signature');
    assert.equal(await post(APP, body, sign(body)), 202);
    await waitFor('v5 served', async () => (await served()) === 'v5', 30_000);
    assert.equal(repo.head(), sha);
  } finally {
    await stopRun(run);
  }
});

test('the monitor SIGKILLed after the merge and before verify finishes the update at its next start', async () => {
  const config = configWith('1h');
  let run = await startRun(config);
  await firstCheckDone();
  writeFileSync(slowMarker, '');
  const sha = repo.push('good', 'v6');
  const body = '{}';
  assert.equal(await post(APP, body, sign(body)), 202);
  await waitFor('the slow command running', () => existsSync(journalFile()) && /"phase": "commands"/.test(readFileSync(journalFile(), 'utf8')) && repo.head() === sha, 30_000);
  await new Promise((r) => setTimeout(r, 500)); // inside the second command
  run.child.kill('SIGKILL');
  await run.exited;
  rmSync(slowMarker);
  assert.equal(repo.head(), sha, 'killed after the merge');
  assert.equal(await served(), 'v5', 'killed before the reload');
  run = await startRun(config);
  try {
    await run.waitForLine(/finishing an interrupted update/, 30_000);
    await run.waitForLine(/update (applied|rolled back) \(resume\)/, 60_000);
    await waitFor('healthy on a known-good SHA', async () => (await served()) === 'v6', 30_000);
    assert.equal(repo.head(), sha);
    assert.ok(!existsSync(journalFile()), 'the journal is cleared');
    assert.equal(memory().history.at(-1)?.trigger, 'resume');
  } finally {
    await stopRun(run);
  }
});

test('a rollback that fails in the CLI opens the circuit in the running monitor, once: a restart does not open it again', async () => {
  const config = configWith('1h');
  const broken = configIn(sb.home, {
    apps: [{
      name: APP, health: { url: `http://127.0.0.1:${PORT}/health`, interval: '1s', timeout: '1s', failure_threshold: 2 }, startup_grace: '1s',
      update: { interval: '1h', commands: ['no-such-build-tool-hdm'], verify_timeout: '4s' },
    }],
  });
  let run = await startRun(config);
  try {
    await firstCheckDone();
    repo.push('good', 'v7');
    const r = await runCli(['update', APP, '--json', '--config', broken], env, 90_000);
    assert.equal((JSON.parse(r.stdout) as { outcome: string }).outcome, 'rollback_failed', r.stdout);
    // The app never ran the bad build and is healthy: the circuit opens, and the next healthy
    // check closes it (an unhealthy app would keep it open until circuit_reset_time).
    await run.waitForLine(/circuit opened.*rollback of .* failed/, 30_000);
    await run.waitForLine(/circuit closed/, 30_000);
    await stopRun(run);
    run = await startRun(config);
    await new Promise((res) => setTimeout(res, 3000)); // a few checks of the restarted monitor
    assert.ok(!run.stderrLines.some((l) => /circuit opened/.test(l)), run.stderrLines.join('\n'));
    const st = await runCli(['status', APP, '--json', '--config', config], env);
    const row = (JSON.parse(st.stdout) as { apps: { update?: { halted?: { why: string } } }[] }).apps[0]!;
    assert.match(row.update?.halted?.why ?? '', /rollback .* failed/, 'updates stay stopped until --retry');
  } finally {
    await stopRun(run);
  }
});
