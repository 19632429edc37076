// A config reload of the real `helpdesk-monitor run` changes everything it can in place: a
// rotated webhook URL (receiver A, then B: the next event reaches B and not A), the log level,
// format and file (debug lines appear, as JSON, in the new file); and refuses what needs a restart:
// a new state_dir is named in a warning, the old one keeps being used, the rest of the edit applies.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import YAML from 'yaml';
import { createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { PidLedger, thaw } from '../helpers/holders.js';
import { freshDir, healthPid, sandboxCliEnv, startHealthy as startHealthyApp } from '../helpers/operator.js';
import { lineRe } from '../helpers/flap.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import type { ProcessInfo } from '../../src/pm2/adapter.js';

const A_PORT = 47822;
const B_PORT = 47823;
const APP_PORT = 47824;
const IDLE_PORT = 47829; // nothing listens: the graced app's /health
const T = { timeout: 180_000 };

let sb: Sandbox;
let env: NodeJS.ProcessEnv;
let a: Receiver;
let b: Receiver;
let appScript: string;
const ledger = new PidLedger();
const frozen: number[] = [];

before(async () => {
  sb = await createSandbox('reload');
  env = sandboxCliEnv(sb);
  a = await startReceiver(A_PORT);
  b = await startReceiver(B_PORT);
  appScript = join(freshDir(join(sb.home, 'apps'), 'rl'), 'app.cjs');
  writeFileSync(
    appScript,
    `require('node:http').createServer((q, s) => s.end(JSON.stringify({ pid: process.pid }))).listen(Number(process.env.PORT), '127.0.0.1');\n`,
  );
});
after(async () => {
  thaw(frozen);
  ledger.killAll();
  await a?.close();
  await b?.close();
  await sb?.teardown();
});

const startHealthy = (name: string, port: number): Promise<ProcessInfo> => startHealthyApp(sb, name, port, { name, script: appScript, env: { PORT: String(port) }, autorestart: true });

/** SIGSTOP the app and wait until the monitor replaced it with a healthy instance. */
async function hangAndWaitReplaced(name: string, port: number): Promise<void> {
  const old = await waitFor(`${name} healthy`, async () => {
    const info = await sb.info(name);
    return info?.status === 'online' && (await healthPid(port)) === info.pid ? info : undefined;
  }, 30_000);
  frozen.push(old.pid);
  process.kill(old.pid, 'SIGSTOP');
  await waitFor(`${name} replaced`, async () => {
    const info = await sb.info(name);
    return info?.status === 'online' && info.pid !== old.pid && (await healthPid(port)) === info.pid;
  }, 60_000);
}

const events = (r: Receiver, path: string): string[] => r.received.filter((x) => x.path === path).map((x) => String((x.body as { event?: unknown }).event));

async function stopRun(run: RunningCli): Promise<void> {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
  const end = await Promise.race([run.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000))]);
  assert.deepEqual(end, { code: 0, signal: null }, `run exits 0 on SIGTERM:\n${run.stderrLines.slice(-10).join('\n')}`);
}

/** Rewrite the config in place (the monitor watches the file). */
function rewrite(file: string, doc: unknown): void {
  writeFileSync(file, YAML.stringify(doc));
}

test('a rotated webhook URL: after the reload the next event reaches B, and A receives nothing more', T, async () => {
  const app = 'rl-hook';
  await startHealthy(app, APP_PORT);
  const stateDir = freshDir(sb.home, 'state');
  const file = join(freshDir(sb.home, 'cfg'), 'monitor.yaml');
  const doc = (url: string): Record<string, unknown> => ({
    state_dir: stateDir,
    notify: [{ url, format: 'json', timeout: '5s' }],
    apps: [{ name: app, health: { url: `http://127.0.0.1:${APP_PORT}/health`, interval: '1s', timeout: '500ms', failure_threshold: 2 }, startup_grace: 0, ports: [APP_PORT] }],
  });
  rewrite(file, doc(a.url('/a/old-token-111111')));
  const run = startCli(['run', '--config', file], env, ledger);
  try {
    await run.waitForLine(lineRe(app, 'unknown -> healthy'), 30_000);
    // A is live: the first hang is announced there.
    await hangAndWaitReplaced(app, APP_PORT);
    await waitFor('remedy_succeeded at A', () => events(a, '/a/old-token-111111').includes('remedy_succeeded'), 20_000);
    const atA = a.received.length;

    const from = run.stderrLines.length;
    rewrite(file, doc(b.url('/b/new-token-222222')));
    await run.waitForLine(/config reloaded/, 20_000, from);

    await hangAndWaitReplaced(app, APP_PORT);
    await waitFor('remedy_started and remedy_succeeded at B', () => {
      const got = events(b, '/b/new-token-222222');
      return got.includes('remedy_started') && got.includes('remedy_succeeded');
    }, 20_000);
    // Give a stray late delivery to A every chance to arrive before judging.
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(a.received.length, atA, `A received nothing after the reload: ${JSON.stringify(a.received.slice(atA).map((x) => x.body))}`);
    assert.deepEqual(events(b, '/b/new-token-222222'), ['remedy_started', 'remedy_succeeded']);
    // The reload said so, naming the new target redacted.
    assert.ok(run.stderrLines.slice(from).some((l) => l.includes(`config reload: notifying 1 target(s): http://127.0.0.1:${B_PORT}/b/***`)), run.stderrLines.slice(from).join('\n'));
  } finally {
    await stopRun(run);
  }
});

/** An app whose /health never answers, inside a long startup_grace: each check logs a debug note. */
function gracedApp(name: string): Record<string, unknown> {
  return { name, health: { url: `http://127.0.0.1:${IDLE_PORT}/health`, interval: '500ms', timeout: '300ms' }, startup_grace: '1h' };
}

test('log level, format and file change at reload: debug lines appear, as JSON, in the new file; the old file gets nothing more', T, async () => {
  const app = 'rl-log';
  await startHealthy(app, APP_PORT + 1);
  const stateDir = freshDir(sb.home, 'state');
  const newLog = join(freshDir(sb.home, 'logs'), 'moved.log');
  const file = join(freshDir(sb.home, 'cfg'), 'monitor.yaml');
  const doc = (log: Record<string, unknown>): Record<string, unknown> => ({ state_dir: stateDir, log, apps: [gracedApp(app)] });
  rewrite(file, doc({ level: 'info' }));
  const oldLog = join(stateDir, 'monitor.log');
  const run = startCli(['run', '--config', file], env, ledger);
  try {
    await run.waitForLine(/watching 1 app/, 30_000);
    // Several checks at info level: the grace notes are not logged.
    await waitFor('the first checks done', () => existsSync(join(stateDir, 'state.json')), 20_000);
    await new Promise((r) => setTimeout(r, 1500));
    assert.doesNotMatch(readFileSync(oldLog, 'utf8'), /failure inside startup_grace/, 'no debug lines at info');

    const from = run.stderrLines.length;
    rewrite(file, doc({ level: 'debug', format: 'json', file: newLog }));
    await run.waitForLine(/"message":"config reloaded/, 20_000, from);
    const debug = await run.waitForLine(/failure inside startup_grace/, 20_000, from);
    const parsed = JSON.parse(debug.line) as Record<string, unknown>;
    assert.equal(parsed['level'], 'debug');
    assert.equal(parsed['app'], app);

    await waitFor('debug lines in the new file', () => existsSync(newLog) && /failure inside startup_grace/.test(readFileSync(newLog, 'utf8')), 20_000);
    const lines = readFileSync(newLog, 'utf8').trim().split('\n');
    for (const l of lines) JSON.parse(l);
    assert.ok(lines.some((l) => (JSON.parse(l) as { message?: string }).message?.startsWith('config reloaded')), 'the reload is logged in the new file');

    // The old file was closed at the reload: it ends before the first debug line.
    const old = readFileSync(oldLog, 'utf8');
    assert.doesNotMatch(old, /failure inside startup_grace/);
    assert.doesNotMatch(old, /config reloaded/);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(readFileSync(oldLog, 'utf8'), old, 'the old file does not grow');
  } finally {
    await stopRun(run);
  }
});

test('a new state_dir at reload is refused with a warning naming it; the old dir keeps being used and the rest of the edit applies', T, async () => {
  const app = 'rl-dir';
  await startHealthy(app, APP_PORT + 2);
  const oldDir = freshDir(sb.home, 'state');
  const newDir = join(freshDir(sb.home, 'elsewhere'), 'state');
  const file = join(freshDir(sb.home, 'cfg'), 'monitor.yaml');
  const doc = (stateDir: string, level: string): Record<string, unknown> => ({ state_dir: stateDir, log: { level }, apps: [gracedApp(app)] });
  rewrite(file, doc(oldDir, 'info'));
  const run = startCli(['run', '--config', file], env, ledger);
  try {
    await run.waitForLine(/watching 1 app/, 30_000);
    const statePath = join(oldDir, 'state.json');
    await waitFor('state.json in the old dir', () => existsSync(statePath), 20_000);
    const lockPid = (): unknown => (JSON.parse(readFileSync(join(oldDir, 'monitor.lock'), 'utf8')) as { pid?: unknown }).pid;
    assert.equal(lockPid(), run.child.pid);

    const from = run.stderrLines.length;
    rewrite(file, doc(newDir, 'debug'));
    const refused = await run.waitForLine(/state_dir cannot change while the monitor runs/, 20_000, from);
    assert.ok(refused.line.includes(`keeping ${oldDir}`), refused.line);
    assert.ok(refused.line.includes(newDir), refused.line);
    assert.match(refused.line, /^\S+ warn /);
    // The rest applied: the level is debug now.
    await run.waitForLine(lineRe(app, 'failure inside startup_grace'), 20_000, from);

    // The old dir stays in use: its log gets the new lines, its lock is still ours; nothing in the new one.
    await waitFor('the old log has the debug lines', () => /failure inside startup_grace/.test(readFileSync(join(oldDir, 'monitor.log'), 'utf8')), 20_000);
    assert.equal(lockPid(), run.child.pid, 'the lock in the old dir is still held');
    assert.equal(existsSync(newDir), false, `nothing was created in ${newDir}`);

    // Told once: another edit (the state_dir still new) does not repeat the warning.
    const again = run.stderrLines.length;
    rewrite(file, { ...doc(newDir, 'debug'), concurrency: 4 });
    await run.waitForLine(/config reloaded/, 20_000, again);
    assert.equal(run.stderrLines.slice(again).filter((l) => /state_dir cannot change/.test(l)).length, 0, 'the warning is not repeated');
  } finally {
    await stopRun(run);
  }
  assert.equal(existsSync(newDir), false, 'nor at shutdown');
});

test('SIGHUP makes `run` re-read its config, also an edit the file watch cannot see', T, async () => {
  const app = 'rl-hup';
  const stateDir = freshDir(sb.home, 'state');
  const file = join(freshDir(sb.home, 'cfg'), 'monitor.yaml');
  const doc = (concurrency: number): Record<string, unknown> => ({ state_dir: stateDir, concurrency, apps: [gracedApp(app)] });
  // Whole seconds are exact in every stat field: the watch compares mtime and size, and sees neither move.
  const sameStamp = (): void => utimesSync(file, 1_700_000_000, 1_700_000_000);
  rewrite(file, doc(4));
  sameStamp();
  const run = startCli(['run', '--config', file], env, ledger);
  try {
    await run.waitForLine(/watching 1 app/, 30_000);
    const size = statSync(file).size;
    const from = run.stderrLines.length;
    rewrite(file, doc(5));
    sameStamp();
    assert.equal(statSync(file).size, size, 'the edit keeps the size');
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(run.stderrLines.slice(from).filter((l) => /config reloaded/.test(l)).length, 0, 'the file watch did not see the edit');
    run.child.kill('SIGHUP');
    await run.waitForLine(/config reloaded: watching 1 app/, 20_000, from);
    assert.equal(run.child.exitCode, null, 'still running after SIGHUP');
  } finally {
    await stopRun(run);
  }
});
