// Planted secrets are found nowhere the monitor writes. The config holds a Slack-style webhook
// token, a health URL with `user:password@` and `?token=`, and notify header values; the real
// CLI runs against a sandbox daemon: `run` (a hang remedied with notifications, a reload with an
// invalid value next to the webhook URL, which is rejected), `check` remedying a hang, the wrapper's
// `restart`, `status`, and a `check` with an invalid config. Then every file under state_dir,
// every captured stdout/stderr and every webhook body received is searched for each secret.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import YAML from 'yaml';
import { createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { runCli, startCli, type CliResult, type RunningCli } from '../helpers/cli.js';
import { PidLedger, thaw } from '../helpers/holders.js';
import { freshDir, healthPid, sandboxCliEnv } from '../helpers/operator.js';
import { lineRe } from '../helpers/flap.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import type { ProcessInfo } from '../../src/pm2/adapter.js';

const APP_PORT = 47820;
const RECEIVER_PORT = 47821;
const APP = 'sec-app';
const T = { timeout: 240_000 };

const SECRET = {
  slackToken: 'xSlackTok3nSecret0123456789',
  slackTeam: 'T0SECRET1',
  slackBot: 'B0SECRET2',
  bearer: 'hdrSecretValue42',
  signature: 'sigSecret77abc',
  healthUser: 'hcuser',
  healthPassword: 'hcPassw0rd99',
  healthToken: 'qTokenSecret55',
} as const;
const SLACK_PATH = `/services/${SECRET.slackTeam}/${SECRET.slackBot}/${SECRET.slackToken}`;
const HEALTH_URL = `http://${SECRET.healthUser}:${SECRET.healthPassword}@127.0.0.1:${APP_PORT}/health?token=${SECRET.healthToken}`;
const HEALTH_SHOWN = `http://***@127.0.0.1:${APP_PORT}/health?token=***`;

let sb: Sandbox;
let env: NodeJS.ProcessEnv;
let receiver: Receiver;
let stateDir: string;
let configFile: string;
const ledger = new PidLedger();
const frozen: number[] = [];
/** Everything the CLI printed, by command. */
const printed: { what: string; text: string }[] = [];

/** A /health server that answers any query string (the example app wants `/health` exactly). */
function writeHealthApp(): string {
  const file = join(freshDir(join(sb.home, 'apps'), 'sec'), 'health-app.cjs');
  writeFileSync(
    file,
    `require('node:http').createServer((q, s) => {
  if (q.url.startsWith('/health')) { s.setHeader('content-type', 'application/json'); s.end(JSON.stringify({ ok: true, pid: process.pid })); }
  else { s.statusCode = 404; s.end(); }
}).listen(Number(process.env.PORT), '127.0.0.1');
`,
  );
  return file;
}

function configDoc(notifyPatch: Record<string, unknown>[] = [{}, {}]): Record<string, unknown> {
  return {
    state_dir: stateDir,
    log: { level: 'debug' },
    notify: [
      { url: receiver.url(SLACK_PATH), format: 'slack', timeout: '5s', ...notifyPatch[0] },
      { url: receiver.url('/json/hook'), format: 'json', timeout: '5s', headers: { Authorization: `Bearer ${SECRET.bearer}`, 'X-Signature': SECRET.signature }, ...notifyPatch[1] },
    ],
    apps: [{ name: APP, health: { url: HEALTH_URL, interval: '1s', timeout: '500ms', failure_threshold: 2 }, startup_grace: 0, ports: [APP_PORT], verify_timeout: '20s' }],
  };
}

before(async () => {
  sb = await createSandbox('secrets');
  env = sandboxCliEnv(sb);
  receiver = await startReceiver(RECEIVER_PORT);
  stateDir = join(freshDir(sb.home, 'state'), 'monitor-state');
  configFile = join(freshDir(sb.home, 'cfg'), 'monitor.yaml');
  writeFileSync(configFile, YAML.stringify(configDoc()));
  await sb.start({ name: APP, script: writeHealthApp(), env: { PORT: String(APP_PORT) }, autorestart: true });
});
after(async () => {
  thaw(frozen);
  ledger.killAll();
  await receiver?.close();
  await sb?.teardown();
});

async function healthyInstance(): Promise<ProcessInfo> {
  return waitFor(`${APP} healthy`, async () => {
    const info = await sb.info(APP);
    return info?.status === 'online' && (await healthPid(APP_PORT)) === info.pid ? info : undefined;
  }, 30_000);
}

/** SIGSTOP the app's instance and wait until the monitor replaced it with a healthy one. */
async function hangAndWaitReplaced(): Promise<void> {
  const before_ = await healthyInstance();
  frozen.push(before_.pid);
  process.kill(before_.pid, 'SIGSTOP');
  await waitFor(`${APP} replaced`, async () => {
    const info = await sb.info(APP);
    return info?.status === 'online' && info.pid !== before_.pid && (await healthPid(APP_PORT)) === info.pid;
  }, 60_000);
}

function record(what: string, r: CliResult): CliResult {
  printed.push({ what: `${what} stdout`, text: r.stdout }, { what: `${what} stderr`, text: r.stderr });
  return r;
}

const bodies = (path: string): string[] => receiver.received.filter((r) => r.path === path).map((r) => JSON.stringify(r.body));

async function stopRun(run: RunningCli): Promise<void> {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
  const end = await Promise.race([run.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000))]);
  assert.deepEqual(end, { code: 0, signal: null }, `run exits 0 on SIGTERM:\n${run.stderrLines.slice(-10).join('\n')}`);
}

test('run: a hang remedied with notifications, an invalid reload next to the webhook URL rejected, a second remedy', T, async () => {
  await healthyInstance();
  const run = startCli(['run', '--config', configFile], env, ledger);
  try {
    await run.waitForLine(lineRe(APP, 'unknown -> healthy'), 30_000);
    await hangAndWaitReplaced();
    await waitFor('remedy_succeeded at both targets', () => bodies(SLACK_PATH).length >= 2 && bodies('/json/hook').some((b) => b.includes('remedy_succeeded')), 20_000);

    // A reload with bad values next to the webhook URL: a timeout that is no duration, headers
    // given as a string, and the Slack URL without its scheme. Rejected, quoted redacted.
    const from = run.stderrLines.length;
    writeFileSync(configFile, YAML.stringify(configDoc([
      { url: `hooks.slack.com${SLACK_PATH}`, timeout: 'soon' },
      { headers: `Bearer ${SECRET.bearer}` },
    ])));
    const rejected = await run.waitForLine(/config reload rejected, keeping the last good config/, 20_000, from);
    const errorText = run.stderrLines.slice(rejected.index, rejected.index + 6).join('\n');
    assert.match(errorText, /notify\[0\]\.url: .*\(got "hooks\.slack\.com\/services\/\*\*\*"\)/, errorText);
    assert.match(errorText, /notify\[0\]\.timeout/, errorText);
    assert.match(errorText, /notify\[1\]\.headers: .*\(got "\*\*\*"\)/, errorText);

    // The remedy: the good config back; the last good config kept working all along.
    writeFileSync(configFile, YAML.stringify(configDoc()));
    const sent = receiver.received.length;
    await hangAndWaitReplaced();
    await waitFor('a second remedy notified', () => receiver.received.length >= sent + 4, 20_000);
    await run.waitForLine(lineRe(APP, 'remedy succeeded'), 20_000, from);
  } finally {
    await stopRun(run);
    printed.push({ what: 'run stdout', text: run.stdout() }, { what: 'run stderr', text: run.stderrLines.join('\n') });
  }
});

test('check remedying a hang, check --json, restart, restart --json, status, status --json, and a check with an invalid config', T, async () => {
  await hangAndWaitReplacedByCheck();
  record('check --json', await runCli(['check', '--json', '--config', configFile], env, 90_000));

  const restart = record('restart', await runCli(['restart', APP, '--config', configFile], env, 90_000));
  assert.equal(restart.code, 0, restart.stderr);
  assert.ok(restart.stderr.includes(`${APP}: wait for online and ${HEALTH_SHOWN}`), `the wrapper shows the redacted health URL:\n${restart.stderr}`);
  const restartJson = record('restart --json', await runCli(['restart', APP, '--json', '--config', configFile], env, 90_000));
  assert.equal(restartJson.code, 0, restartJson.stderr);

  const status = record('status', await runCli(['status', '--config', configFile], env, 60_000));
  assert.equal(status.code, 0, status.stderr);
  record('status --json', await runCli(['status', '--json', '--config', configFile], env, 60_000));

  const bad = join(freshDir(sb.home, 'cfg'), 'bad.yaml');
  writeFileSync(bad, YAML.stringify({ ...configDoc([{ url: `hooks.slack.com${SLACK_PATH}`, timeout: 'soon' }, {}]), apps: [{ name: APP, health: { url: HEALTH_URL.replace('http://', 'htp://') } }] }));
  const invalid = record('check (invalid config)', await runCli(['check', '--config', bad], env, 30_000));
  assert.equal(invalid.code, 2, invalid.stderr);
  assert.match(invalid.stderr, /notify\[0\]\.url: .*\(got "hooks\.slack\.com\/services\/\*\*\*"\)/, invalid.stderr);
  assert.ok(invalid.stderr.includes(`(got "${HEALTH_SHOWN.replace('http://', 'htp://')}")`), invalid.stderr);
});

async function hangAndWaitReplacedByCheck(): Promise<void> {
  const old = await healthyInstance();
  frozen.push(old.pid);
  process.kill(old.pid, 'SIGSTOP');
  const sent = receiver.received.length;
  const check = record('check (remedy)', await runCli(['check', '--config', configFile], env, 90_000));
  assert.equal(check.code, 0, `check remedied the hang:\n${check.stderr}`);
  const now = await healthyInstance();
  assert.notEqual(now.pid, old.pid, 'check replaced the hung instance');
  assert.ok(receiver.received.length >= sent + 4, 'check notified both targets of its remedy');
}

test('no secret is found in any file under state_dir, in any output, or in any webhook body', T, () => {
  // The secrets were really used: the receiver saw the token in its path and the header values.
  assert.ok(receiver.received.some((r) => r.path === SLACK_PATH), 'the Slack-style URL was posted to');
  assert.ok(receiver.received.some((r) => r.headers.authorization === `Bearer ${SECRET.bearer}` && r.headers['x-signature'] === SECRET.signature), 'headers sent');

  const files = walk(stateDir);
  const haystacks = [
    ...files.map((f) => ({ what: f, text: readFileSync(f, 'latin1') })),
    ...printed,
    ...receiver.received.map((r, i) => ({ what: `webhook body ${i} (${r.path.split('/')[1]})`, text: JSON.stringify(r.body) })),
  ];
  assert.ok(printed.length >= 16, 'every command output was captured');
  const leaks: string[] = [];
  for (const [name, secret] of Object.entries(SECRET)) {
    for (const h of haystacks) if (h.text.includes(secret)) leaks.push(`${name} (${secret}) in ${h.what}: ${context(h.text, secret)}`);
  }
  assert.deepEqual(leaks, [], leaks.join('\n'));

  // ... and what was searched holds what it should, redacted.
  const names = files.map((f) => f.slice(stateDir.length + 1));
  assert.ok(names.includes('state.json') && names.includes('monitor.log'), `state_dir holds the state and the log: ${names.join(', ')}`);
  const state = readFileSync(join(stateDir, 'state.json'), 'utf8');
  assert.ok(state.includes(HEALTH_SHOWN), `state.json quotes the health URL, redacted:\n${state}`);
  const log = readFileSync(join(stateDir, 'monitor.log'), 'utf8');
  assert.match(log, /config reload rejected/);
  assert.ok(log.includes(`notification sent to http://127.0.0.1:${RECEIVER_PORT}/services/***`), 'the log names the webhook, redacted');

});

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

function context(text: string, needle: string): string {
  const i = text.indexOf(needle);
  return JSON.stringify(text.slice(Math.max(0, i - 80), i + needle.length + 40));
}
