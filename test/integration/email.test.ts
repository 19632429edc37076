// Email notifications from the real `helpdesk-monitor run`, to a real SMTP server in this process
// (smtp-server, STARTTLS with the test certificate, a login whose password comes from
// HELPDESK_MONITOR_SMTP_PASSWORD). A real PM2 app whose health command keeps failing is restarted,
// the remedy fails, and exactly one email arrives: subject naming the app and the event, the body
// the webhooks' text, the token the failing command printed redacted. A relay that is down is
// retried, then dropped with a log line; one that never greets holds only its own queue: another
// app's hang is remedied in the normal time meanwhile. No secret reaches the log.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { PidLedger, holdersOf, thaw } from '../helpers/holders.js';
import { configIn, freshDir, sandboxCliEnv, stopRun, waitReplaced, startHealthy } from '../helpers/operator.js';
import { lineRe } from '../helpers/flap.js';
import { FIXTURE_CERT, startSilentRelay, startSmtpSink, type SmtpSink } from '../helpers/smtp.js';

const SMTP_PORT = 48610;
const FAIL_PORT = 48611;
const A_PORT = 48612;
const B_PORT = 48613;
const DOWN_PORT = 48614; // nothing listens
const SILENT_PORT = 48615; // accepts, never greets
const T = { timeout: 150_000 };

const SMTP_PASSWORD = 'smtp-Pa55-48610-c0ffee';
/** Printed by the failing health command (and so in the remedy's reason): must reach no email and no log. */
const APP_TOKEN = 'tok-48611-9a8b7c6d5e4f3a2b1c0d';

let sb: Sandbox;
let sink: SmtpSink;
const ledger = new PidLedger();
const stopped: number[] = [];

before(async () => {
  sb = await createSandbox('email');
  sink = await startSmtpSink({ port: SMTP_PORT, security: 'starttls', login: { user: 'monitor', pass: SMTP_PASSWORD } });
});
after(async () => {
  thaw(stopped);
  ledger.killAll();
  await sink?.close();
  await sb?.teardown();
});

const mailTarget = (port: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  format: 'email', host: '127.0.0.1', port, security: 'starttls', ca_file: FIXTURE_CERT, user: 'monitor',
  from: 'helpdesk-monitor@example.com', to: ['ops@example.com', 'oncall@example.com'], ...extra,
});

function allLog(run: RunningCli, stateDir: string): string {
  return `${run.stderrLines.join('\n')}\n${readFileSync(join(stateDir, 'monitor.log'), 'utf8')}`;
}

test('a failed remedy of a real PM2 app sends exactly one email: subject naming app and event, the webhooks\' text, no secret', T, async (t) => {
  const app = 'em-fail';
  await startHealthy(sb, app, FAIL_PORT);
  const stateDir = freshDir(sb.home, 'state');
  const config = configIn(sb.home, {
    state_dir: stateDir,
    notify: [mailTarget(SMTP_PORT, { events: ['remedy_failed', 'remedy_succeeded'] })],
    apps: [{
      name: app,
      health: { url: `http://127.0.0.1:${FAIL_PORT}/health`, interval: '1s', timeout: '500ms', failure_threshold: 2 },
      // Healthy over HTTP, failing by its command, which says why with the token in it: the remedy
      // (a restart) cannot mend that, so it fails after verify_timeout.
      health_check_command: `echo "upstream refused GET /status?token=${APP_TOKEN}" >&2; exit 3`,
      health_check_timeout: '2s',
      startup_grace: 0,
      verify_timeout: '3s',
      // One remedy in this test's time: the next would come 10 min later.
      restart_delay: '10m',
      ports: [FAIL_PORT],
    }],
  });
  const env = sandboxCliEnv(sb, { HELPDESK_MONITOR_SMTP_PASSWORD: SMTP_PASSWORD });
  const run = startCli(['run', '--verbose', '--config', config], env, ledger);
  try {
    const t0 = Date.now();
    await run.waitForLine(lineRe(app, 'unhealthy: .*starting .*remedy'), 30_000);
    await run.waitForLine(/notification sent to email to ops@example\.com, oncall@example\.com via smtp:\/\/127\.0\.0\.1:48610/, 30_000);
    t.diagnostic(`remedy failed and mailed ${Date.now() - t0} ms after the start`);
    // Nothing more may come: no second remedy, and only the events asked for.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(sink.received.length, 1, `exactly one email: ${sink.received.map((m) => m.subject).join(' | ')}`);
    const [mail] = sink.received;
    assert.equal(mail!.subject, `helpdesk-monitor: ${app} remedy-failed on ${hostname()}`);
    assert.deepEqual(mail!.to, ['ops@example.com', 'oncall@example.com']);
    assert.equal(mail!.from, 'helpdesk-monitor@example.com');
    assert.equal(mail!.user, 'monitor', 'logged in with the password from HELPDESK_MONITOR_SMTP_PASSWORD');
    assert.equal(mail!.secure, true, 'over STARTTLS, the relay\'s certificate checked against ca_file');
    assert.match(mail!.text, new RegExp(`^helpdesk-monitor ${app} on ${hostname()}: remedy failed after [\\d.]+ s: `));
    assert.match(mail!.text, /^event: remedy_failed$/m);
    // The command's words reached the email, the token in them did not.
    assert.match(mail!.text, /upstream refused GET \/status\?token=\*\*\*/, mail!.text);
    for (const secret of [APP_TOKEN, SMTP_PASSWORD]) {
      assert.ok(!mail!.raw.includes(secret), `the secret ${secret} is not in the email`);
    }
    const log = allLog(run, stateDir);
    for (const secret of [APP_TOKEN, SMTP_PASSWORD]) assert.ok(!log.includes(secret), `the secret ${secret} is never logged`);
  } finally {
    await stopRun(run);
  }
});

function freeze(pid: number): void {
  stopped.push(pid);
  process.kill(pid, 'SIGSTOP');
}

const appCfg = (name: string, port: number): Record<string, unknown> => ({
  name,
  health: { url: `http://127.0.0.1:${port}/health`, interval: '1s', timeout: '500ms', failure_threshold: 2 },
  startup_grace: 0,
  ports: [port],
});

test('a relay that is down is retried then dropped with a log line; one that never greets delays no check', T, async (t) => {
  assert.deepEqual(holdersOf(DOWN_PORT), [], `nothing listens on ${DOWN_PORT}`);
  const silent = await startSilentRelay(SILENT_PORT);
  try {
    const a0 = await startHealthy(sb, 'em-a', A_PORT);
    const b0 = await startHealthy(sb, 'em-b', B_PORT);
    const stateDir = freshDir(sb.home, 'state');
    const config = configIn(sb.home, {
      state_dir: stateDir,
      notify: [
        mailTarget(SILENT_PORT, { security: 'none', user: undefined, to: 'silent@example.com', timeout: '60s' }),
        mailTarget(DOWN_PORT, { to: 'down@example.com', timeout: '5s' }),
      ].map((n) => Object.fromEntries(Object.entries(n).filter(([, v]) => v !== undefined))),
      apps: [appCfg('em-a', A_PORT), appCfg('em-b', B_PORT)],
    });
    const run = startCli(['run', '--verbose', '--config', config], sandboxCliEnv(sb, { HELPDESK_MONITOR_SMTP_PASSWORD: SMTP_PASSWORD }), ledger);
    try {
      await run.waitForLine(lineRe('em-a', 'unknown -> healthy'), 30_000);
      await run.waitForLine(lineRe('em-b', 'unknown -> healthy'), 30_000);

      freeze(a0.pid);
      await waitFor('the silent relay holding a connection', () => silent.accepted() >= 1, 20_000);
      await waitReplaced(sb, 'em-a', A_PORT, a0.pid, 20_000);

      // The second hang, while the silent relay holds a delivery and the down one retries.
      const t0 = Date.now();
      freeze(b0.pid);
      await waitReplaced(sb, 'em-b', B_PORT, b0.pid, 30_000);
      const took = Date.now() - t0;
      t.diagnostic(`em-b healthy again ${took} ms after its SIGSTOP (silent relay: ${silent.accepted()} connection(s))`);
      assert.ok(took < 2 * 1000 + 500 + 5000, `remedied within the normal time: ${took} ms`);
      assert.equal(silent.accepted(), 1, 'one delivery at a time per target: the rest wait behind the silent one');

      const gaveUp = await run.waitForLine(/notification to email to down@example\.com via smtp:\/\/127\.0\.0\.1:48614 failed after 4 attempts/, 40_000);
      assert.match(gaveUp.line, /ECONNREFUSED/);
      const log = allLog(run, stateDir);
      assert.match(log, /notification to email to down@example\.com via smtp:\/\/127\.0\.0\.1:48614 failed: .*retry 1\/3/, 'each retry is logged');
      assert.ok(!log.includes(SMTP_PASSWORD), 'the password is never logged');
    } finally {
      await stopRun(run);
    }
  } finally {
    await silent.close();
  }
});

test('bad SMTP settings: check and run exit 2 naming the key path', T, async () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ host: undefined }, /notify\[0\]\.host: expected the SMTP relay's host/],
    [{ port: 70000 }, /notify\[0\]\.port: expected a port/],
    [{ to: ['ops@example.com', 'not an address'] }, /notify\[0\]\.to\[1\]: expected an email address/],
    [{ password_file: join(sb.home, 'no-such-password-file') }, /notify\[0\]\.password_file: cannot read the password file: ENOENT/],
  ];
  for (const [patch, re] of cases) {
    const entry = Object.fromEntries(Object.entries(mailTarget(SMTP_PORT, patch)).filter(([, v]) => v !== undefined));
    const config = configIn(sb.home, { notify: [entry], apps: [{ name: 'em-any' }] });
    for (const cmd of ['check', 'run']) {
      const r = await runCli([cmd, '--config', config], sandboxCliEnv(sb), 20_000);
      assert.equal(r.code, 2, `${cmd} ${JSON.stringify(patch)}: exit ${r.code}\n${r.stderr}`);
      assert.match(r.stderr, re, `${cmd}: ${r.stderr}`);
    }
  }
});
