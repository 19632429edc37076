// Webhook notifications from the real `helpdesk-monitor run`: a hung (SIGSTOPped) app is remedied
// and three local receivers get remedy_started and remedy_succeeded in the documented shapes:
// generic JSON, Slack ({text}) and Discord ({content, username}). A receiver that is down (nothing
// listens) or that accepts and never answers (30 s target timeout) delays no check: a second app's
// hang is remedied in the normal time while those deliveries hang or retry. The monitor's log names
// webhook URLs redacted only; their secret path segments never appear in it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { startCli, type RunningCli } from '../helpers/cli.js';
import { PidLedger, holdersOf, thaw } from '../helpers/holders.js';
import { configIn, freshDir, sandboxCliEnv, stopRun, waitReplaced, startHealthy as startHealthyApp } from '../helpers/operator.js';
import { flapApp, lineRe, writeFlapScript } from '../helpers/flap.js';
import { bodiesAt, startReceiver, type Receiver } from '../helpers/receiver.js';
import type { ProcessInfo } from '../../src/pm2/adapter.js';

const GOOD_PORT = 47760;
const HUNG_PORT = 47761;
const A_PORT = 47762;
const B_PORT = 47763;
const DOWN_PORT = 47778; // nothing listens
const FLAP_PORT = 47764; // nothing listens: the flapping app's /health
const HANG_PORT = 47779; // accepts, never answers
const T = { timeout: 120_000 };

// Each URL's secret: everything after its first path segment.
const SECRETS = {
  json: 'tok-json-5ecret-47760',
  slack: 'tok-slack-5ecret-47760',
  discord: 'tok-discord-5ecret-47760',
  down: 'tok-down-5ecret-47778',
  hang: 'tok-hang-5ecret-47779',
};
const PATHS = {
  json: `/json/${SECRETS.json}`,
  slack: `/services/T0HDM/B0HDM/${SECRETS.slack}`,
  discord: `/api/webhooks/4776047760/${SECRETS.discord}`,
};

let sb: Sandbox;
let env: NodeJS.ProcessEnv;
let good: Receiver;
let hanging: Receiver;
const ledger = new PidLedger();
const stopped: number[] = [];

before(async () => {
  sb = await createSandbox('notify');
  env = sandboxCliEnv(sb);
  good = await startReceiver(GOOD_PORT);
  hanging = await startReceiver(HANG_PORT, { hang: true });
});
after(async () => {
  thaw(stopped);
  ledger.killAll();
  await good?.close();
  await hanging?.close();
  await sb?.teardown();
});

const appCfg = (name: string, port: number): Record<string, unknown> => ({
  name,
  health: { url: `http://127.0.0.1:${port}/health`, interval: '1s', timeout: '500ms', failure_threshold: 2 },
  startup_grace: 0,
  ports: [port],
});

const startHealthy = (name: string, port: number): Promise<ProcessInfo> => startHealthyApp(sb, name, port);

function freeze(pid: number): void {
  stopped.push(pid);
  process.kill(pid, 'SIGSTOP');
}

/** The monitor's whole log output: its stderr and its log file. */
function allLog(run: RunningCli, stateDir: string): string {
  return `${run.stderrLines.join('\n')}\n${readFileSync(join(stateDir, 'monitor.log'), 'utf8')}`;
}

const JSON_KEYS = new Set(['event', 'app', 'host', 'at', 'reason', 'detail', 'duration_ms', 'killed', 'source']);

test('a remedied hang reaches json, slack and discord receivers as remedy_started then remedy_succeeded, in the documented shapes', T, async (t) => {
  const app = 'nt-hung';
  const first = await startHealthy(app, HUNG_PORT);
  const stateDir = freshDir(sb.home, 'state');
  const config = configIn(sb.home, {
    state_dir: stateDir,
    notify: [
      { url: good.url(PATHS.json), format: 'json', timeout: '5s' },
      { url: good.url(PATHS.slack), format: 'slack', timeout: '5s' },
      { url: good.url(PATHS.discord), format: 'discord', timeout: '5s' },
    ],
    apps: [appCfg(app, HUNG_PORT)],
  });
  const run = startCli(['run', '--verbose', '--config', config], env, ledger);
  try {
    await run.waitForLine(lineRe(app, 'unknown -> healthy'), 30_000);
    const t0 = Date.now();
    freeze(first.pid);
    await waitReplaced(sb, app, HUNG_PORT, first.pid, 20_000);
    await run.waitForLine(lineRe(app, 'remedy succeeded'), 10_000);
    await waitFor('remedy_started and remedy_succeeded at all three receivers', () => {
      const json = bodiesAt(good, PATHS.json) as { event?: string }[];
      return json.some((b) => b.event === 'remedy_succeeded') && bodiesAt(good, PATHS.slack).length >= 2 && bodiesAt(good, PATHS.discord).length >= 2;
    }, 15_000);
    t.diagnostic(`healthy again and notified ${Date.now() - t0} ms after the SIGSTOP`);

    // Generic JSON.
    const json = bodiesAt(good, PATHS.json) as Record<string, unknown>[];
    assert.deepEqual(json.map((b) => b['event']), ['remedy_started', 'remedy_succeeded'], JSON.stringify(json));
    for (const b of json) {
      for (const k of Object.keys(b)) assert.ok(JSON_KEYS.has(k), `documented key ${k}`);
      assert.equal(b['app'], app);
      assert.equal(b['host'], hostname());
      assert.equal(b['source'], 'helpdesk-monitor');
      assert.equal(typeof b['at'], 'string');
      const at = Date.parse(b['at'] as string);
      assert.ok(at >= t0 - 1000 && at <= Date.now(), `at is the event time: ${String(b['at'])}`);
      assert.equal(new Date(at).toISOString(), b['at'], 'ISO 8601');
      assert.match(String(b['reason']), /health timeout/, 'the reason: /health timed out');
    }
    assert.equal(typeof json[1]!['duration_ms'], 'number');

    // Slack: {text} only.
    const slack = bodiesAt(good, PATHS.slack) as Record<string, unknown>[];
    assert.equal(slack.length, 2, JSON.stringify(slack));
    for (const b of slack) assert.deepEqual(Object.keys(b), ['text']);
    assert.match(String(slack[0]!['text']), new RegExp(`\\*helpdesk-monitor\\* ${app} on .*: remedy started: `));
    assert.match(String(slack[1]!['text']), new RegExp(`\\*helpdesk-monitor\\* ${app} on .*: remedy succeeded`));

    // Discord: {content, username} (and no pings).
    const discord = bodiesAt(good, PATHS.discord) as Record<string, unknown>[];
    assert.equal(discord.length, 2, JSON.stringify(discord));
    for (const b of discord) {
      assert.equal(b['username'], 'helpdesk-monitor');
      assert.deepEqual(b['allowed_mentions'], { parse: [] });
      assert.ok(Object.keys(b).every((k) => ['content', 'username', 'allowed_mentions'].includes(k)), Object.keys(b).join(','));
    }
    assert.match(String(discord[0]!['content']), new RegExp(`\\*\\*helpdesk-monitor\\*\\* ${app} on .*: remedy started: `));
    assert.match(String(discord[1]!['content']), /remedy succeeded/);
    assert.ok(good.received.every((r) => r.headers['content-type'] === 'application/json'), 'sent as JSON');

    // The log names the targets (debug level: "notification sent to ...") redacted only.
    const log = allLog(run, stateDir);
    for (const label of ['json/***', 'services/***', 'api/***']) {
      assert.ok(log.includes(`notification sent to http://127.0.0.1:${GOOD_PORT}/${label}`), `the log names ${label}`);
    }
    for (const s of [SECRETS.json, SECRETS.slack, SECRETS.discord, 'T0HDM', '4776047760']) assert.ok(!log.includes(s), `the secret ${s} is never logged`);
  } finally {
    await stopRun(run);
  }
});

test('a receiver that is down or never answers delays no check: another app\'s hang is remedied in the normal time; URLs logged redacted', T, async (t) => {
  assert.deepEqual(holdersOf(DOWN_PORT), [], `nothing listens on ${DOWN_PORT}`);
  const a0 = await startHealthy('nt-a', A_PORT);
  const b0 = await startHealthy('nt-b', B_PORT);
  const stateDir = freshDir(sb.home, 'state');
  const downUrl = `http://127.0.0.1:${DOWN_PORT}/down/${SECRETS.down}`;
  const hangUrl = hanging.url(`/hang/${SECRETS.hang}`);
  const config = configIn(sb.home, {
    state_dir: stateDir,
    notify: [
      { url: hangUrl, format: 'json', timeout: '30s' },
      { url: downUrl, format: 'slack', timeout: '30s' },
    ],
    apps: [appCfg('nt-a', A_PORT), appCfg('nt-b', B_PORT)],
  });
  const run = startCli(['run', '--verbose', '--config', config], env, ledger);
  try {
    await run.waitForLine(lineRe('nt-a', 'unknown -> healthy'), 30_000);
    await run.waitForLine(lineRe('nt-b', 'unknown -> healthy'), 30_000);

    // The first hang: its remedy_started goes to the receiver that never answers, and stays there.
    freeze(a0.pid);
    await waitFor('the hanging receiver holding a request', () => hanging.open() >= 1, 20_000);
    await waitReplaced(sb, 'nt-a', A_PORT, a0.pid, 20_000);
    await run.waitForLine(lineRe('nt-a', 'remedy succeeded'), 10_000);

    // The second hang, while the first notification still hangs and the down target retries.
    assert.ok(hanging.open() >= 1, 'still hanging');
    const t0 = Date.now();
    freeze(b0.pid);
    await waitReplaced(sb, 'nt-b', B_PORT, b0.pid, 30_000);
    const took = Date.now() - t0;
    t.diagnostic(`nt-b healthy again ${took} ms after its SIGSTOP (hanging receiver: ${hanging.open()} open, ${hanging.received.length} received)`);
    // failure_threshold 2 x interval 1 s + timeout 0.5 s + cold start, with room for a loaded machine.
    assert.ok(took < 2 * 1000 + 500 + 5000, `remedied within the normal time: ${took} ms`);
    assert.ok(hanging.open() >= 1, 'the hanging delivery was still in flight the whole time');
    assert.equal(hanging.received.length, 1, 'one delivery at a time per target: the rest wait behind it');

    // The down target gives up after its retries, and says so with the URL redacted.
    const gaveUp = await run.waitForLine(/notification to http:\/\/127\.0\.0\.1:47778\/down\/\*\*\* failed after 4 attempts/, 30_000);
    assert.match(gaveUp.line, /ECONNREFUSED/);
    const log = allLog(run, stateDir);
    assert.ok(log.includes(`notification to http://127.0.0.1:${DOWN_PORT}/down/*** failed: `), 'each retry names the target, redacted');
    for (const s of [SECRETS.down, SECRETS.hang]) assert.ok(!log.includes(s), `the secret ${s} is never logged`);
  } finally {
    await stopRun(run);
  }
  assert.ok(allLog(run, stateDir).split('\n').every((l) => !l.includes(SECRETS.hang) && !l.includes(SECRETS.down)), 'nor at shutdown');
});

/** circuit_opened as each format delivered it (filled by the next test, judged by the one after). */
const circuit: { json?: Record<string, unknown>; slack?: string; discord?: string } = {};

test('a circuit that opens is announced to every format: circuit_opened after the failed remedies', T, async () => {
  const app = 'nt-flap';
  await sb.start(flapApp(app, writeFlapScript(sb)));
  await waitFor(`${app} errored in PM2`, async () => (await sb.info(app))?.status === 'errored', 20_000);
  const paths = { json: '/flap-json/s3cret-a', slack: '/flap-slack/s3cret-b', discord: '/flap-discord/s3cret-c' };
  const stateDir = freshDir(sb.home, 'state');
  const config = configIn(sb.home, {
    state_dir: stateDir,
    notify: [
      { url: good.url(paths.json), format: 'json', timeout: '5s' },
      { url: good.url(paths.slack), format: 'slack', timeout: '5s' },
      { url: good.url(paths.discord), format: 'discord', timeout: '5s' },
    ],
    apps: [{
      name: app, startup_grace: 0, verify_timeout: '3s',
      health: { url: `http://127.0.0.1:${FLAP_PORT}/health`, interval: '1s', timeout: '500ms' },
      restart_delay: '500ms', max_restart_failures: 2, failure_window: '10m', circuit_reset_time: '10m',
    }],
  });
  const run = startCli(['run', '--config', config], env, ledger);
  try {
    await run.waitForLine(lineRe(app, 'circuit opened: '), 30_000);
    const opened = (path: string, pick: (b: Record<string, unknown>) => boolean) =>
      (bodiesAt(good, path) as Record<string, unknown>[]).find(pick);
    await waitFor('circuit_opened at the three receivers', () => {
      circuit.json = opened(paths.json, (b) => b['event'] === 'circuit_opened');
      circuit.slack = opened(paths.slack, (b) => /circuit opened/.test(String(b['text'])))?.['text'] as string | undefined;
      circuit.discord = opened(paths.discord, (b) => /circuit opened/.test(String(b['content'])))?.['content'] as string | undefined;
      return circuit.json && circuit.slack && circuit.discord;
    }, 15_000);
    const json = bodiesAt(good, paths.json) as Record<string, unknown>[];
    assert.deepEqual(json.map((b) => b['event']), ['remedy_started', 'remedy_failed', 'remedy_started', 'remedy_failed', 'circuit_opened'], JSON.stringify(json));
    const c = circuit.json!;
    assert.equal(c['app'], app);
    assert.equal(c['host'], hostname());
    assert.equal(c['source'], 'helpdesk-monitor');
    assert.ok(Object.keys(c).every((k) => JSON_KEYS.has(k)), Object.keys(c).join(','));
    assert.match(`${String(c['reason'] ?? '')} ${String(c['detail'] ?? '')}`, /2 failed remedies within 600 s/, 'it says why');
    assert.match(circuit.slack!, new RegExp(`^🚨 \\*helpdesk-monitor\\* ${app} on .*: circuit opened`));
    assert.match(circuit.discord!, new RegExp(`^🚨 \\*\\*helpdesk-monitor\\*\\* ${app} on .*: circuit opened`));
  } finally {
    await stopRun(run);
  }
});

test('the chat message of circuit_opened reads "circuit opened after <why>: no more automatic restarts <until when>"', T, () => {
  assert.ok(circuit.slack && circuit.discord, 'the previous test received them');
  for (const text of [circuit.slack, circuit.discord]) {
    assert.match(text, /circuit opened after 2 failed remedies within 600 s: no more automatic restarts/, text);
    assert.doesNotMatch(text, /no more automatic restarts \d+ failed remedies/, text);
  }
});
