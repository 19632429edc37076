// The restart policy as an operator meets it: the real `helpdesk-monitor run` against a sandbox
// daemon, two apps that exit with code 1 at boot every time (PM2 autorestart off, so every start
// after the first is the monitor's; PM2 marks each exit `errored`). After max_restart_failures (2)
// failed remedies the circuit opens (log, status --json, one circuit_opened webhook) and nothing
// more is tried: over the next 60 s PM2 starts the app no more. With circuit_reset_time 20 s the
// second app gets exactly one half-open trial, which fails and reopens the circuit. `reset` closes
// a circuit and the monitor remedies again; `pause --for 1m` holds remedies (status shows it) even
// with the circuit closed, and `resume` lets them happen again.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { runCli, startCli, type CliResult, type RunningCli } from '../helpers/cli.js';
import { PidLedger } from '../helpers/holders.js';
import { configIn, freshDir, sandboxCliEnv } from '../helpers/operator.js';
import { appRecord, flapApp, lineRe, lineTime, pm2Starts, quietFor, remedyStarts, writeFlapScript, writeHealableScript } from '../helpers/flap.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';
import type { ProcessInfo } from '../../src/pm2/adapter.js';
import type { AppStateRecord } from '../../src/engine/state-document.js';

const RECEIVER_PORT = 47720;
const LONG = 'pol-long'; // circuit_reset_time 10m: stays open
const TRIAL = 'pol-trial'; // circuit_reset_time 20s: one half-open trial
const LONG_URL = 'http://127.0.0.1:47722/health'; // nothing ever listens there
const TRIAL_URL = 'http://127.0.0.1:47723/health';
const HEAL = 'pol-heal'; // circuit_reset_time 20s, fixed while its circuit is open: the trial closes it
const HEAL_PORT = 47724;
const HEAL_URL = `http://127.0.0.1:${HEAL_PORT}/health`;
const HOOK_PATH = '/policy/s3cr3t-policy-token';
const RESET_MS = 20_000;
const T = { timeout: 120_000 };

let sb: Sandbox;
let env: NodeJS.ProcessEnv;
let config: string;
let stateDir: string;
let receiver: Receiver;
let run: RunningCli;
const ledger = new PidLedger();

/** What the tests learn as they go (they run in order against one monitor). */
const seen: {
  longOpen?: { index: number; at: number };
  trialOpen?: { index: number; line: string };
  longPm2?: ProcessInfo;
  longStarts?: number;
  trialResetIndex?: number;
  healOpen?: { index: number; line: string };
} = {};
let heal: () => void;

const policy = (name: string, url: string, resetTime: string): Record<string, unknown> => ({
  name,
  health: { url, interval: '1s', timeout: '500ms', failure_threshold: 2 },
  startup_grace: 0,
  verify_timeout: '3s',
  restart_delay: '500ms',
  max_restart_failures: 2,
  failure_window: '10m',
  circuit_reset_time: resetTime,
});

interface Hook {
  event: string;
  app: string;
  reason?: string;
  detail?: string;
}
const hooks = (app: string, event?: string): Hook[] =>
  receiver.received.map((r) => r.body as Hook).filter((b) => b.app === app && (event === undefined || b.event === event));

interface StatusDoc {
  apps: { name: string; pm2: { status: string; restarts: number }; monitor?: AppStateRecord }[];
}
const show = (r: CliResult): string => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

async function statusJson(): Promise<StatusDoc> {
  const r = await runCli(['status', '--json', '--config', config], env, 60_000);
  assert.ok((r.code === 0 || r.code === 1) && r.stdout.trim().startsWith('{'), show(r));
  return JSON.parse(r.stdout) as StatusDoc;
}

before(async () => {
  sb = await createSandbox('policy');
  env = sandboxCliEnv(sb);
  receiver = await startReceiver(RECEIVER_PORT);
  const script = writeFlapScript(sb);
  stateDir = freshDir(sb.home, 'state');
  config = configIn(sb.home, {
    state_dir: stateDir,
    notify: [{ url: receiver.url(HOOK_PATH), format: 'json', events: ['circuit_opened', 'circuit_half_open', 'circuit_closed'], timeout: '2s' }],
    apps: [policy(LONG, LONG_URL, '10m'), policy(TRIAL, TRIAL_URL, '20s'), policy(HEAL, HEAL_URL, '20s')],
  });
  const healable = writeHealableScript(sb);
  heal = healable.heal;
  for (const [name, options] of [[LONG, flapApp(LONG, script)], [TRIAL, flapApp(TRIAL, script)], [HEAL, { ...flapApp(HEAL, healable.script), env: { PORT: String(HEAL_PORT) } }]] as const) {
    await sb.start(options);
    await waitFor(`${name} errored in PM2`, async () => (await sb.info(name))?.status === 'errored', 20_000);
  }
  run = startCli(['run', '--config', config], env, ledger);
  await run.waitForLine(/watching 3 app\(s\)/, 30_000);
});

after(async () => {
  if (run && run.child.exitCode === null && run.child.signalCode === null) {
    run.child.kill('SIGTERM');
    await Promise.race([run.exited, new Promise((r) => setTimeout(r, 15_000))]);
  }
  ledger.killAll();
  await receiver?.close();
  await sb?.teardown();
});

test('after max_restart_failures (2) failed remedies the circuit opens: log, status --json, and no remedy beyond 2', T, async (t) => {
  const longOpen = await run.waitForLine(lineRe(LONG, 'circuit opened: '), 40_000);
  seen.longOpen = { index: longOpen.index, at: Date.now() };
  const trialOpen = await run.waitForLine(lineRe(TRIAL, 'circuit opened: '), 40_000);
  seen.trialOpen = trialOpen;
  // The third app is fixed while its circuit is open: nothing starts it until the trial.
  seen.healOpen = await run.waitForLine(lineRe(HEAL, 'circuit opened: '), 40_000);
  heal();
  for (const [app, open] of [[LONG, longOpen], [TRIAL, trialOpen]] as const) {
    assert.match(open.line, /2 failed remedies within 600 s/, 'the log says why');
    const upTo = run.stderrLines.slice(0, open.index + 1);
    const starts = remedyStarts(upTo, app);
    assert.equal(starts.length, 2, `exactly max_restart_failures remedies before the circuit opened:\n${starts.join('\n')}`);
    assert.ok(starts.every((l) => /PM2 marked the app errored/.test(l)), starts.join('\n'));
    assert.equal(upTo.filter((l) => lineRe(app, 'remedy failed: ').test(l)).length, 2, 'both failed');
  }

  // state.json is written at once after a circuit change; status reads it.
  await waitFor('both circuits open in state.json', () => appRecord(stateDir, LONG)?.circuit === 'open' && appRecord(stateDir, TRIAL)?.circuit === 'open', 10_000);
  const doc = await statusJson();
  for (const app of [LONG, TRIAL]) {
    const row = doc.apps.find((a) => a.name === app);
    assert.equal(row?.monitor?.circuit, 'open', `status --json shows the circuit open for ${app}: ${JSON.stringify(row)}`);
    assert.equal(row?.monitor?.failed_remedies, 2);
    assert.equal(row?.pm2.status, 'errored');
  }

  // The baseline for "nothing more because of us": PM2 itself never restarts this app.
  const longOpenNow = remedyStarts(run.stderrLines, LONG).length;
  assert.equal(longOpenNow, 2, 'still 2 remedies');
  seen.longPm2 = await sb.info(LONG);
  seen.longStarts = pm2Starts(sb, LONG);
  assert.equal(seen.longStarts, 3, 'PM2 started the app 3 times: our first start and the 2 remedies');
  t.diagnostic(`${LONG}: circuit opened; PM2 restart_time ${seen.longPm2?.restarts}, pm_uptime ${seen.longPm2?.startedAt}`);
});

test('after circuit_reset_time: exactly one half-open trial, which fails and reopens the circuit', T, async (t) => {
  const open = seen.trialOpen;
  assert.ok(open, 'the circuit opened (previous test)');
  const half = await run.waitForLine(lineRe(TRIAL, 'circuit half-open: '), RESET_MS + 30_000, open.index + 1);
  const waited = lineTime(half.line) - lineTime(open.line);
  assert.ok(waited >= RESET_MS - 500, `half-open only after circuit_reset_time (${waited} ms)`);
  assert.ok(waited <= RESET_MS + 8000, `and about then, at the next check (${waited} ms)`);
  const reopen = await run.waitForLine(lineRe(TRIAL, 'circuit opened: the half-open trial failed'), 20_000, half.index);
  t.diagnostic(`${TRIAL}: half-open ${waited} ms after opening, reopened ${lineTime(reopen.line) - lineTime(half.line)} ms later`);

  const window = run.stderrLines.slice(open.index + 1, reopen.index + 1);
  const starts = remedyStarts(window, TRIAL);
  assert.equal(starts.length, 1, `exactly one remedy between opening and reopening:\n${starts.join('\n')}`);
  assert.match(starts[0]!, /starting the half-open trial remedy/, 'and it is the trial');
  assert.ok(run.stderrLines.indexOf(starts[0]!, open.index + 1) > half.index, 'the trial comes after the half-open line');

  await waitFor('the webhooks: circuit_opened twice, circuit_half_open once', () => hooks(TRIAL, 'circuit_opened').length >= 2 && hooks(TRIAL, 'circuit_half_open').length >= 1, 10_000);
  const opened = hooks(TRIAL, 'circuit_opened');
  assert.equal(opened.length, 2, JSON.stringify(opened));
  assert.match(opened[0]!.reason ?? '', /2 failed remedies within 600 s/);
  assert.match(opened[1]!.reason ?? '', /the half-open trial failed/);
  await waitFor('state.json: open again', () => appRecord(stateDir, TRIAL)?.circuit === 'open', 10_000);
});

test('a half-open trial that is verified healthy closes the circuit', T, async () => {
  const open = seen.healOpen;
  assert.ok(open, 'its circuit opened (first test)');
  const half = await run.waitForLine(lineRe(HEAL, 'circuit half-open: '), RESET_MS + 30_000, open.index + 1);
  assert.ok(lineTime(half.line) - lineTime(open.line) >= RESET_MS - 500, 'not before circuit_reset_time');
  const window = run.stderrLines.slice(open.index + 1, half.index);
  assert.deepEqual(remedyStarts(window, HEAL), [], 'the fixed app waited for the trial');
  await run.waitForLine(lineRe(HEAL, 'unhealthy: .*; starting the half-open trial remedy'), 15_000, half.index);
  await run.waitForLine(lineRe(HEAL, 'remedy succeeded: healthy again'), 20_000, half.index);
  await run.waitForLine(lineRe(HEAL, 'circuit closed: a remedy restored the app'), 10_000, half.index);
  await waitFor('state.json: closed and healthy', () => {
    const r = appRecord(stateDir, HEAL);
    return r?.circuit === 'closed' && r.phase === 'healthy' && r.failed_remedies === 0;
  }, 10_000);
  await waitFor('circuit_half_open then circuit_closed webhooks', () => hooks(HEAL).map((h) => h.event).join(',') === 'circuit_opened,circuit_half_open,circuit_closed', 10_000);
  assert.equal(remedyStarts(run.stderrLines.slice(open.index + 1), HEAL).length, 1, 'one remedy: the trial');
});

test('`helpdesk-monitor reset APP` closes the circuit and the monitor remedies again', T, async () => {
  const mark = run.stderrLines.length;
  const r = await runCli(['reset', TRIAL, '--config', config], env);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, new RegExp(`${TRIAL}: circuit reset requested`));
  const closed = await run.waitForLine(lineRe(TRIAL, 'circuit closed: reset by an operator'), 15_000, mark);
  seen.trialResetIndex = closed.index;
  const again = await run.waitForLine(lineRe(TRIAL, 'unhealthy: .*; starting remedy'), 15_000, closed.index);
  assert.ok(lineTime(again.line) - lineTime(closed.line) < 5000, `remedied right after the reset:\n${closed.line}\n${again.line}`);
  await waitFor('a circuit_closed webhook', () => hooks(TRIAL, 'circuit_closed').some((h) => /reset by an operator/.test(h.reason ?? '')), 10_000);
});

test('an open circuit stays quiet: 60 s without a remedy, PM2 never starts the app, exactly one circuit_opened webhook', T, async (t) => {
  const { longOpen, longPm2, longStarts } = seen;
  assert.ok(longOpen && longPm2 && longStarts !== undefined, 'the circuit opened (first test)');
  await quietFor(longOpen.at + 60_000 - Date.now());

  const later = run.stderrLines.slice(longOpen.index + 1);
  assert.deepEqual(remedyStarts(later, LONG), [], 'no remedy of the open-circuit app in 60 s');
  assert.equal(later.filter((l) => lineRe(LONG, 'circuit (half-open|closed)').test(l)).length, 0, 'the circuit never left open');
  const now = await sb.info(LONG);
  assert.equal(now?.restarts, longPm2.restarts, 'PM2 restart_time unchanged');
  assert.equal(now?.startedAt, longPm2.startedAt, 'pm_uptime unchanged: PM2 did not start it');
  assert.equal(now?.status, 'errored');
  assert.equal(pm2Starts(sb, LONG), longStarts, 'no new start in the PM2 daemon log');
  assert.equal(hooks(LONG, 'circuit_opened').length, 1, `exactly one circuit_opened webhook: ${JSON.stringify(hooks(LONG))}`);
  assert.equal(hooks(LONG).length, 1, 'and nothing else about it');
  const doc = await statusJson();
  assert.equal(doc.apps.find((a) => a.name === LONG)?.monitor?.circuit, 'open', 'status --json: still open');

  // The short-reset app, up to its reset: every remedy after the circuit first opened was a
  // half-open trial announced by a half-open line, at least circuit_reset_time apart.
  const trialOpen = seen.trialOpen!;
  const upToReset = run.stderrLines.slice(trialOpen.index + 1, seen.trialResetIndex);
  const trialLines = upToReset.filter((l) => lineRe(TRIAL, '').test(l));
  const trials = remedyStarts(trialLines, TRIAL);
  assert.ok(trials.length >= 1 && trials.every((l) => /half-open trial/.test(l)), `only trials:\n${trials.join('\n')}`);
  for (const tr of trials) {
    const i = trialLines.indexOf(tr);
    assert.ok(trialLines.slice(0, i).some((l) => /circuit half-open/.test(l)), 'each trial follows a half-open line');
  }
  t.diagnostic(`${TRIAL}: ${trials.length} half-open trial(s) before the reset`);
});

test('`pause APP --for 1m` holds remedies even with the circuit closed (status shows it); `resume APP` lets them happen', T, async () => {
  const p = await runCli(['pause', LONG, '--for', '1m', '--config', config], env);
  assert.equal(p.code, 0, show(p));
  assert.match(p.stdout, /remedies paused until \d{4}-\d\d-\d\dT/);
  const rec = await waitFor('the monitor to record the pause', () => {
    const r = appRecord(stateDir, LONG);
    return r?.paused_until ? r : undefined;
  }, 15_000, 100);
  const until = Date.parse(rec.paused_until!);
  assert.ok(until > Date.now() + 40_000 && until < Date.now() + 61_000, `paused for about a minute: ${rec.paused_until}`);

  const doc = await statusJson();
  assert.equal(doc.apps.find((a) => a.name === LONG)?.monitor?.paused_until, rec.paused_until, 'status --json shows paused_until');
  // The MONITOR column says PAUSED (over the open circuit); the note under the table gives the end.
  const table = await runCli(['status', '--config', config], env, 60_000);
  assert.match(table.stdout, new RegExp(`^${LONG}(\\n)? .* PAUSED$`, 'm'), `the row says PAUSED:\n${table.stdout}`);
  assert.match(table.stdout, new RegExp(`^  ${LONG}: .*paused until \\d\\d:\\d\\d:\\d\\dZ`, 'm'), `the status table shows the pause:\n${table.stdout}`);

  // Close the circuit: only the pause now stands between the failing app and a remedy.
  const mark = run.stderrLines.length;
  const startsBefore = pm2Starts(sb, LONG);
  assert.equal((await runCli(['reset', LONG, '--config', config], env)).code, 0);
  const closed = await run.waitForLine(lineRe(LONG, 'circuit closed: reset by an operator'), 15_000, mark);
  await quietFor(5000);
  assert.deepEqual(remedyStarts(run.stderrLines.slice(mark), LONG), [], 'no remedy while paused');
  assert.equal(pm2Starts(sb, LONG), startsBefore, 'PM2 did not start it while paused');
  assert.equal(appRecord(stateDir, LONG)?.circuit, 'closed');

  const mark2 = run.stderrLines.length;
  const r = await runCli(['resume', LONG, '--config', config], env);
  assert.equal(r.code, 0, show(r));
  assert.match(r.stdout, /remedies resumed/);
  const again = await run.waitForLine(lineRe(LONG, 'unhealthy: .*; starting remedy'), 15_000, mark2);
  assert.ok(again.index > closed.index);
  await waitFor('PM2 starts the app again (the remedy)', () => pm2Starts(sb, LONG) > startsBefore, 10_000);
  await waitFor('the pause gone from state.json', () => appRecord(stateDir, LONG)?.paused_until === undefined, 10_000);
});
