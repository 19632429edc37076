// The monitor's memory across processes (<state_dir>/state.json): an open circuit survives a
// SIGKILLed `run` (the next run neither remedies nor forgets it, and the history is kept); a
// corrupt state file is kept aside, logged once, and replaced by a fresh one while the monitor
// carries on; and one-pass `check` runs share the circuit: a second check does not remedy an app
// whose circuit the first one opened.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createSandbox, exampleApp, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { runCli, startCli, type CliResult, type RunningCli } from '../helpers/cli.js';
import { PidLedger } from '../helpers/holders.js';
import { configIn, freshDir, healthPid, sandboxCliEnv } from '../helpers/operator.js';
import { appRecord, flapApp, lineRe, pm2Starts, quietFor, readState, remedyStarts, writeFlapScript } from '../helpers/flap.js';
import type { AppStateRecord } from '../../src/engine/state-document.js';

const FLAP = 'per-flap';
const FLAP_URL = 'http://127.0.0.1:47741/health'; // nothing listens there
const OK = 'per-ok';
const OK_PORT = 47742;
const CHK = 'per-chk';
const CHK_URL = 'http://127.0.0.1:47743/health';
const T = { timeout: 120_000 };

let sb: Sandbox;
let env: NodeJS.ProcessEnv;
let script: string;
const ledger = new PidLedger();
/** The flapping app's check setup, shared by the check tests (they run in order). */
let chk: { config: string; stateDir: string } | undefined;

before(async () => {
  sb = await createSandbox('persistence');
  env = sandboxCliEnv(sb);
  script = writeFlapScript(sb);
});
after(async () => {
  ledger.killAll();
  await sb?.teardown();
});

const flapping = (name: string, url: string, maxFailures: number): Record<string, unknown> => ({
  name,
  health: { url, interval: '1s', timeout: '500ms', failure_threshold: 2 },
  startup_grace: 0,
  verify_timeout: '3s',
  restart_delay: '500ms',
  max_restart_failures: maxFailures,
  failure_window: '10m',
  circuit_reset_time: '5m',
});

const show = (r: CliResult): string => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

async function stop(run: RunningCli): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
  return run.exited;
}

async function startFlapping(name: string): Promise<void> {
  await sb.start(flapApp(name, script));
  await waitFor(`${name} errored in PM2`, async () => (await sb.info(name))?.status === 'errored', 20_000);
}

test('an open circuit stays open after the monitor is SIGKILLed and started again; the history is kept', T, async (t) => {
  await startFlapping(FLAP);
  const stateDir = freshDir(sb.home, 'state');
  const config = configIn(sb.home, { state_dir: stateDir, apps: [flapping(FLAP, FLAP_URL, 2)] });

  const first = startCli(['run', '--config', config], env, ledger);
  await first.waitForLine(lineRe(FLAP, 'circuit opened: 2 failed remedies'), 40_000);
  assert.equal(remedyStarts(first.stderrLines, FLAP).length, 2, 'two remedies opened it');
  const saved = await waitFor('the open circuit in state.json', () => {
    const r = appRecord(stateDir, FLAP);
    return r?.circuit === 'open' && (r.remedies?.length ?? 0) >= 2 ? r : undefined;
  }, 10_000);
  first.child.kill('SIGKILL');
  await first.exited;

  const startsBefore = pm2Starts(sb, FLAP);
  const pm2Before = await sb.info(FLAP);
  const second = startCli(['run', '--config', config], env, ledger);
  try {
    await second.waitForLine(/took over a stale lock/, 30_000);
    const watching = await second.waitForLine(/watching 1 app\(s\)/, 30_000);
    const t0 = Date.now();
    // The new process has checked the app and written its own state file.
    const rec = await waitFor('state.json written by the new run', () => {
      const doc = readState(stateDir);
      return doc && doc.pid === second.child.pid && doc.apps[FLAP]?.last_check_at ? doc.apps[FLAP] : undefined;
    }, 15_000, 100);
    assert.equal(rec.circuit, 'open', 'restored open');
    await quietFor(10_000 - (Date.now() - t0));

    const lines = second.stderrLines.slice(watching.index);
    assert.deepEqual(remedyStarts(lines, FLAP), [], `no remedy in the 10 s after the restart:\n${lines.join('\n')}`);
    assert.ok(!lines.some((l) => lineRe(FLAP, 'circuit (half-open|closed)').test(l)), 'the circuit did not move');
    assert.equal(pm2Starts(sb, FLAP), startsBefore, 'PM2 did not start the app');
    assert.equal((await sb.info(FLAP))?.startedAt, pm2Before?.startedAt, 'pm_uptime unchanged');

    const s = await runCli(['status', '--json', '--config', config], env, 60_000);
    const doc = JSON.parse(s.stdout) as { apps: { name: string; monitor?: AppStateRecord }[] };
    const mon = doc.apps.find((a) => a.name === FLAP)?.monitor;
    assert.equal(mon?.circuit, 'open', `status --json still shows the circuit open: ${show(s)}`);
    assert.ok(Math.abs(Date.parse(mon.circuit_since!) - Date.parse(saved.circuit_since!)) < 2000, `open since the first run opened it (${saved.circuit_since} vs ${mon.circuit_since})`);

    const kept = appRecord(stateDir, FLAP)!;
    const history = kept.remedies ?? [];
    assert.equal(history.length, 2, `the two remedies of the first run are kept: ${JSON.stringify(history)}`);
    assert.ok(history.length <= 100);
    assert.deepEqual(history.map((h) => h.at), saved.remedies!.map((h) => h.at), 'the same entries');
    for (const h of history) {
      assert.equal(h.ok, false);
      assert.match(h.reason, /PM2 marked the app errored/);
      assert.ok(h.steps.length > 0, 'with their steps');
    }
    assert.deepEqual(kept.last_remedy, history.at(-1));
    assert.equal(kept.failed_remedies, 2);
    t.diagnostic(`circuit open since ${mon.circuit_since}; ${history.length} remedies kept`);
  } finally {
    const end = await stop(second);
    assert.equal(end.code, 0, `the second run exits 0 on SIGTERM: ${JSON.stringify(end)}`);
  }
});

test('a corrupt state file does not stop the monitor: kept aside, logged once, replaced by a fresh one', T, async () => {
  await sb.start(exampleApp(OK, OK_PORT));
  await waitFor(`${OK} healthy`, async () => {
    const info = await sb.info(OK);
    return info?.status === 'online' && (await healthPid(OK_PORT)) === info.pid;
  }, 30_000);
  const stateDir = freshDir(sb.home, 'state');
  const garbage = Buffer.concat([Buffer.from([0xff, 0x00, 0x7b]), randomBytes(509)]);
  writeFileSync(join(stateDir, 'state.json'), garbage);
  const config = configIn(sb.home, {
    state_dir: stateDir,
    apps: [{ name: OK, health: { url: `http://127.0.0.1:${OK_PORT}/health`, interval: '500ms', timeout: '1s' }, startup_grace: 0, ports: [OK_PORT] }],
  });

  const run = startCli(['run', '--config', config], env, ledger);
  try {
    await run.waitForLine(/watching 1 app\(s\)/, 30_000);
    await run.waitForLine(lineRe(OK, 'unknown -> healthy'), 15_000);
    const fresh = await waitFor('a fresh state.json', () => {
      const doc = readState(stateDir);
      return doc?.version === 1 && doc.apps[OK]?.phase === 'healthy' ? doc : undefined;
    }, 15_000, 100);
    assert.equal(fresh.pid, run.child.pid);
    assert.equal(fresh.apps[OK]?.circuit, 'closed');

    const aside = readdirSync(stateDir).filter((f) => f.startsWith('state.json.corrupt-'));
    assert.equal(aside.length, 1, `the corrupt file kept aside once: ${readdirSync(stateDir).join(', ')}`);
    assert.deepEqual(readFileSync(join(stateDir, aside[0]!)), garbage, 'byte for byte');

    await quietFor(2000); // a few more checks and state writes: still one warning
    const unreadable = run.stderrLines.filter((l) => /unreadable/.test(l));
    assert.equal(unreadable.length, 1, `logged exactly once:\n${unreadable.join('\n')}`);
    assert.ok(unreadable[0]!.includes(join(stateDir, aside[0]!)), `the line says where the file went: ${unreadable[0]}`);
    assert.match(unreadable[0]!, /starting with fresh state/);
    const logFile = readFileSync(join(stateDir, 'monitor.log'), 'utf8');
    assert.equal(logFile.split('\n').filter((l) => /unreadable/.test(l)).length, 1, 'once in monitor.log too');
    assert.equal(run.child.exitCode, null, 'still running');
  } finally {
    const end = await stop(run);
    assert.equal(end.code, 0, JSON.stringify(end));
  }
});

test('`check` keeps the circuit across runs: the second check does not remedy while it is open, and exits 1', T, async () => {
  await startFlapping(CHK);
  const stateDir = freshDir(sb.home, 'state');
  const config = configIn(sb.home, { state_dir: stateDir, apps: [flapping(CHK, CHK_URL, 1)] });
  const starts0 = pm2Starts(sb, CHK);

  const one = await runCli(['check', '--config', config], env, 60_000);
  assert.equal(one.code, 1, show(one));
  assert.equal(remedyStarts(one.stderr.split('\n'), CHK).length, 1, `the first check remedies once:\n${one.stderr}`);
  assert.match(one.stderr, lineRe(CHK, 'circuit opened: 1 failed remedies within 600 s'));
  assert.match(one.stdout, new RegExp(`FAIL ${CHK}: unhealthy: .*\\(remedy failed: `));
  const starts1 = pm2Starts(sb, CHK);
  assert.equal(starts1, starts0 + 1, 'PM2 started it once for the remedy');
  assert.equal(appRecord(stateDir, CHK)?.circuit, 'open');

  const two = await runCli(['check', '--config', config], env, 60_000);
  assert.equal(two.code, 1, show(two));
  assert.deepEqual(remedyStarts(two.stderr.split('\n'), CHK), [], `the second check does not remedy:\n${two.stderr}`);
  assert.match(two.stdout, new RegExp(`FAIL ${CHK}: unhealthy: PM2 marked the app errored`));
  assert.doesNotMatch(two.stderr, /\(remedy /, 'no remedy reported');
  assert.equal(pm2Starts(sb, CHK), starts1, 'PM2 did not start it');
  const rec = appRecord(stateDir, CHK);
  assert.equal(rec?.circuit, 'open', 'still open');
  assert.equal(rec?.remedies?.length, 1, 'the history still holds the first check\'s remedy');
  chk = { config, stateDir };
});

test('an invalid record of one app (the issue\'s `"demo": null`) is kept aside once; the other app\'s open circuit is still restored', T, async () => {
  assert.ok(chk, 'the previous test opened the circuit');
  const { config, stateDir } = chk;
  const path = join(stateDir, 'state.json');
  const doc = JSON.parse(readFileSync(path, 'utf8')) as { apps: Record<string, unknown> };
  doc.apps['demo'] = null;
  const text = JSON.stringify(doc);
  writeFileSync(path, text);
  const starts0 = pm2Starts(sb, CHK);

  const r = await runCli(['check', '--config', config], env, 60_000);
  assert.equal(r.code, 1, show(r));
  const warned = r.stderr.split('\n').filter((l) => /the state file .* has invalid records/.test(l));
  assert.equal(warned.length, 1, `one warning:\n${r.stderr}`);
  assert.match(warned[0]!, /\("demo": \(root\): .*expected object, received null\) \(kept as .*\); that app starts with fresh state/);
  assert.deepEqual(remedyStarts(r.stderr.split('\n'), CHK), [], 'the restored open circuit still holds the remedy');
  assert.equal(pm2Starts(sb, CHK), starts0);
  assert.equal(appRecord(stateDir, CHK)?.circuit, 'open');
  const aside = readdirSync(stateDir).filter((f) => f.startsWith('state.json.corrupt-'));
  assert.equal(aside.length, 1);
  assert.equal(readFileSync(join(stateDir, aside[0]!), 'utf8'), text);
  assert.equal((readState(stateDir)?.apps as Record<string, unknown> | undefined)?.['demo'], undefined, 'the rewritten state.json has no invalid record');
});

test('`reset` and `pause --for` given while no monitor runs are applied by the next `check`; the pause ends by itself', T, async () => {
  assert.ok(chk, 'the previous test opened the circuit');
  const { config, stateDir } = chk;
  // Long enough for `reset` and the next `check` to run inside the pause on a loaded machine (with
  // 3 s, a check that started late found the pause already over and remedied).
  const p = await runCli(['pause', CHK, '--for', '10s', '--config', config], env);
  assert.equal(p.code, 0, show(p));
  const pausedUntil = Date.now() + 10_000;
  assert.equal((await runCli(['reset', CHK, '--config', config], env)).code, 0);
  const starts0 = pm2Starts(sb, CHK);

  const three = await runCli(['check', '--config', config], env, 60_000);
  assert.equal(three.code, 1, show(three));
  assert.match(three.stderr, lineRe(CHK, 'circuit closed: reset by an operator'), 'the reset is applied by the next check');
  assert.deepEqual(remedyStarts(three.stderr.split('\n'), CHK), [], 'but the pause holds the remedy');
  assert.equal(pm2Starts(sb, CHK), starts0);
  const rec = appRecord(stateDir, CHK);
  assert.equal(rec?.circuit, 'closed');
  assert.ok(rec?.paused_until, 'the pause is in state.json');

  await quietFor(pausedUntil + 200 - Date.now());
  const four = await runCli(['check', '--config', config], env, 60_000);
  assert.equal(four.code, 1, show(four));
  assert.equal(remedyStarts(four.stderr.split('\n'), CHK).length, 1, `the pause is over: remedied again\n${four.stderr}`);
  assert.equal(pm2Starts(sb, CHK), starts0 + 1);
});

test('status no longer shows a `pause --for` that has ended', T, async () => {
  assert.ok(chk, 'the previous tests paused the app and the pause ended');
  const { config } = chk;
  const s = await runCli(['status', '--json', '--config', config], env, 60_000);
  const doc = JSON.parse(s.stdout) as { apps: { name: string; monitor?: AppStateRecord }[] };
  const until = doc.apps.find((a) => a.name === CHK)?.monitor?.paused_until;
  assert.ok(until === undefined || until === 'indefinite' || Date.parse(until) > Date.now(), `status --json shows an ended pause: paused_until ${until}`);
  const table = await runCli(['status', '--config', config], env, 60_000);
  assert.doesNotMatch(table.stdout, /PAUS|paused until/, `the status table shows an ended pause:\n${table.stdout}`);
});

test('the history in state.json is capped at the last 100 remedies', T, async () => {
  const stateDir = freshDir(sb.home, 'state');
  const t0 = Date.now() - 3_600_000;
  const seeded = Array.from({ length: 150 }, (_, i) => ({
    at: new Date(t0 + i * 1000).toISOString(), ok: true, reason: `seeded #${i}`, strategy: 'pm2', attempts: 1, duration_ms: 5, steps: [], killed: [], refused: [],
  }));
  writeFileSync(join(stateDir, 'state.json'), JSON.stringify({
    version: 1, written_at: new Date().toISOString(), pid: 1,
    apps: { [OK]: { phase: 'healthy', consecutive_failures: 0, failed_remedies: 0, circuit: 'closed', last_remedy: seeded.at(-1), remedies: seeded } },
  }));
  const config = configIn(sb.home, {
    state_dir: stateDir,
    apps: [{ name: OK, health: { url: `http://127.0.0.1:${OK_PORT}/health`, interval: '500ms', timeout: '1s' }, startup_grace: 0, ports: [OK_PORT] }],
  });
  const r = await runCli(['check', '--config', config], env, 60_000);
  assert.equal(r.code, 0, show(r));
  const kept = appRecord(stateDir, OK)?.remedies ?? [];
  assert.equal(kept.length, 100, 'at most 100 entries');
  assert.deepEqual(kept.map((k) => k.reason), seeded.slice(50).map((k) => k.reason), 'the newest 100, in order');
});
