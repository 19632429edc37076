// Issue 15 (JSON logs), against a real PM2 daemon: `run` with `log.format: json` remedies a hung
// app (SIGSTOP) and a crash that leaves a squatter on the port. Every line of its log file is
// valid against schemas/log-line.schema.json; each remedy writes exactly one `incident` line,
// and every line of a remedy carries its incident_id. A token planted in the squatting app's PM2
// env, which the killed squatter also carries on its command line, is in no log line and in no
// file under state_dir. `incidents --json` reads both stories back.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, createSandbox, exampleApp, healthUrl, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { PidLedger, holdersOf, thaw } from '../helpers/holders.js';
import { configIn, freshDir, healthPid, sandboxCliEnv, startHealthy } from '../helpers/operator.js';
import { assertMatchesSchema } from '../helpers/schema.js';
import type { IncidentRecord } from '../../src/engine/incident-record.js';

const HANG_PORT = 48520;
const SQUAT_PORT = 48521;
const HANG = 'jl-hang';
const SQUAT = 'jl-squat';
const SQUAT_APP = join(ROOT, 'test', 'fixtures', 'secret-squat-app.cjs');
const SECRET = 'jlS3cr3tT0ken4815162342';
const T = { timeout: 240_000 };

let sb: Sandbox;
let env: NodeJS.ProcessEnv;
let stateDir: string;
let configFile: string;
let run: RunningCli | undefined;
const ledger = new PidLedger();
const frozen: number[] = [];

type Line = Record<string, unknown> & { message: string; level: string; app?: string; incident_id?: string; event?: string; incident?: Record<string, unknown> };

before(async () => {
  sb = await createSandbox('json-logs');
  env = sandboxCliEnv(sb);
  stateDir = join(freshDir(sb.home, 'state'), 'monitor-state');
  const health = { interval: '1s', timeout: '500ms', failure_threshold: 2 };
  configFile = configIn(sb.home, {
    state_dir: stateDir,
    log: { level: 'debug', format: 'json' },
    apps: [
      { name: HANG, health: { url: healthUrl(HANG_PORT), ...health }, startup_grace: 0, ports: [HANG_PORT] },
      { name: SQUAT, health: { url: healthUrl(SQUAT_PORT), ...health }, startup_grace: 0, ports: [SQUAT_PORT], kill_grace: '500ms' },
    ],
  });
  await startHealthy(sb, HANG, HANG_PORT, exampleApp(HANG, HANG_PORT));
  await startHealthy(sb, SQUAT, SQUAT_PORT, { name: SQUAT, script: SQUAT_APP, cwd: dirname(SQUAT_APP), env: { PORT: String(SQUAT_PORT), API_TOKEN: SECRET }, autorestart: true });
});

after(async () => {
  thaw(frozen);
  if (run && run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGTERM');
  await run?.exited;
  // A squatter the monitor did not kill (a failed test) must not outlive the sandbox.
  for (const h of holdersOf(SQUAT_PORT)) if (h.command.includes('--squatter')) ledger.add(h.pid);
  ledger.killAll();
  await sb?.teardown();
});

const logFile = (): string => join(stateDir, 'monitor.log');

/** The log file's lines, parsed (every line must be JSON). */
function logLines(): Line[] {
  let text: string;
  try {
    text = readFileSync(logFile(), 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
}

const incidentsOf = (app: string): Line[] => logLines().filter((l) => l.event === 'incident' && l.app === app);

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

test('run with JSON logs: a hang and a crash with a squatter, one valid incident line each, incident_id on every remedy line, no secret anywhere', T, async () => {
  run = startCli(['run', '--config', configFile], env, ledger);
  await waitFor('both apps healthy in the log', () => [HANG, SQUAT].every((app) => logLines().some((l) => l.app === app && /-> healthy/.test(l.message))), 30_000);

  // The hang.
  const hung = await sb.info(HANG);
  assert.ok(hung);
  frozen.push(hung.pid);
  process.kill(hung.pid, 'SIGSTOP');
  const hangIncident = (await waitFor('the hang\'s incident line', () => incidentsOf(HANG)[0], 30_000));

  // The crash with a squatter: the app hands its socket to a child that carries the token, then exits 1.
  await fetch(`http://127.0.0.1:${SQUAT_PORT}/__squat`, { method: 'POST', signal: AbortSignal.timeout(2000) }).catch(() => undefined);
  const squatIncident = await waitFor('the squat\'s incident line', () => incidentsOf(SQUAT)[0], 30_000);
  await waitFor(`${SQUAT} healthy again`, async () => {
    const info = await sb.info(SQUAT);
    return info?.status === 'online' && (await healthPid(SQUAT_PORT)) === info.pid;
  }, 30_000);

  // Let anything the remedies set off settle (a second remedy would show here), then stop.
  await new Promise((r) => setTimeout(r, 2500));
  run.child.kill('SIGTERM');
  assert.deepEqual(await run.exited, { code: 0, signal: null }, run.stderrLines.slice(-10).join('\n'));

  const lines = logLines();
  // Every line valid against the schema (and snake_case, integer *_ms).
  for (const line of lines) assertMatchesSchema('log-line', line);

  // Exactly one incident line per remedy: every remedy started is ended by one record, and no record is without its start.
  const started = lines.filter((l) => /starting (the half-open trial )?remedy/.test(l.message));
  const records = lines.filter((l) => l.event === 'incident');
  assert.deepEqual(records.map((r) => r.incident_id).sort(), started.map((s) => s.incident_id).sort(), 'one record per remedy started');
  assert.equal(new Set(records.map((r) => r.incident_id)).size, records.length, 'no incident told twice');
  assert.ok(records.length >= 2);

  // Every line of a remedy carries its incident_id: each of the app's lines from the decision to the record.
  for (const rec of records) {
    const id = rec.incident_id!;
    const appLines = lines.filter((l) => l.app === rec.app);
    const first = appLines.findIndex((l) => l.incident_id === id);
    const last = appLines.indexOf(rec);
    assert.match(appLines[first]!.message, /-> remedying/, 'the story starts at the decision');
    const untagged = appLines.slice(first, last + 1).filter((l) => l.incident_id !== id);
    assert.deepEqual(untagged.map((l) => l.message), [], `lines of ${rec.app}'s remedy without its incident_id`);
    assert.ok(last - first >= 3, 'a remedy tells more than its start and its record');
  }

  // The hang: healed, hung, the trigger, the verify, seconds to healthy.
  const h = hangIncident.incident as unknown as IncidentRecord;
  assert.equal(h.result, 'healed');
  assert.equal(h.hung, true);
  assert.equal(h.trigger.kind, 'probe');
  assert.equal(h.observation.http?.failure, 'timeout');
  assert.equal(h.verify.ok, true);
  assert.ok(typeof h.time_to_healthy_s === 'number' && h.time_to_healthy_s > 0 && h.time_to_healthy_s < 15, String(h.time_to_healthy_s));
  assert.match(h.actions.restart_method, /^pm2: /);
  assert.deepEqual(h.notifications.slice(0, 2), ['remedy_started', 'remedy_succeeded']);
  assert.equal(h.circuit_after, 'closed');

  // The squat: the squatter killed, with its command (token redacted) and its owner.
  const s = squatIncident.incident as unknown as IncidentRecord;
  assert.equal(s.result, 'healed');
  const squatter = s.actions.killed.find((k) => k.command.includes('--squatter'));
  assert.ok(squatter, JSON.stringify(s.actions));
  assert.equal(squatter.port, SQUAT_PORT);
  assert.equal(squatter.uid, process.getuid!());
  assert.match(squatter.command, /--api-token=\*\*\*/, 'the command was logged, its token hidden');
  assert.deepEqual(s.actions.ports?.freed, [SQUAT_PORT]);

  // The secret: in no log line, and in no file under state_dir (state.json included), nor on run's console.
  const haystacks = [...walk(stateDir).map((f) => ({ what: f, text: readFileSync(f, 'latin1') })), { what: 'run stderr', text: run.stderrLines.join('\n') }, { what: 'run stdout', text: run.stdout() }];
  for (const { what, text } of haystacks) assert.ok(!text.includes(SECRET), `the secret is in ${what}`);
  assert.ok(haystacks[0]!.text.length > 0);

  // incidents --json reads both back, valid against its schema.
  const out = await runCli(['incidents', '--json', '--config', configFile], env);
  assert.equal(out.code, 0, out.stderr);
  const doc = JSON.parse(out.stdout) as { incidents: { app: string; incident_id: string; story: unknown[] }[] };
  assertMatchesSchema('incidents', doc);
  assert.deepEqual(doc.incidents.map((i) => i.incident_id), records.map((r) => r.incident_id));
  assert.ok(doc.incidents.every((i) => i.story.length >= 3), 'each with its story');
  const squatOnly = await runCli(['incidents', '--app', SQUAT, '--config', configFile], env);
  assert.equal(squatOnly.code, 0, squatOnly.stderr);
  assert.match(squatOnly.stdout, new RegExp(`${SQUAT}  HEALED`));
  assert.doesNotMatch(squatOnly.stdout, new RegExp(HANG));
  assert.ok(!squatOnly.stdout.includes(SECRET));
});
