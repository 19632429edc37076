/**
 * The incident record: an Incident as its one log line, valid against schemas/log-line.schema.json
 * in JSON, recoverable whole from a text line, redacted in both.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { Observation } from '../../../src/engine/decide.js';
import type { Incident } from '../../../src/engine/incident.js';
import { incidentLine, incidentRecord, logIncident } from '../../../src/engine/incident-record.js';
import type { RemedyReport } from '../../../src/engine/remedy.js';
import { createLogger, type Logger } from '../../../src/log/logger.js';
import { userName } from '../../../src/proc/users.js';
import { LOG_SCHEMA } from '../../../src/log/line.js';
import { parseLogLine } from '../../../src/log/parse-line.js';
import { assertMatchesSchema } from '../../helpers/schema.js';

const dir = mkdtempSync(join(tmpdir(), 'hdm-incident-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ID = '0b7f1c2e-3a4b-4c5d-8e9f-0123456789ab';
const SECRET = 's3cr3tT0kenValue42';

const obs: Observation = {
  at: 1000,
  pm2: { state: 'online', pids: [4242], pmIds: [0], restarts: 3, uptimeMs: 60_000, detail: 'online' },
  http: { ok: false, failure: 'refused', latencyMs: 1.4, detail: 'connect ECONNREFUSED 127.0.0.1:5000' },
  others: [{ kind: 'tcp', ok: false, latencyMs: 0.5, detail: 'tcp 127.0.0.1:5000 refused: ECONNREFUSED' }, { kind: 'exec', ok: true, latencyMs: 3 }],
  crashes: 1,
  squatters: [{ port: 5000, pid: 777, command: `node squat.js --api-token=${SECRET}` }],
};

const report: RemedyReport = {
  app: 'api', reason: 'port 5000 held by pid 777', ok: true, skipped: false, attempts: 1, strategy: 'pm2',
  steps: [
    { step: 'look up the app in PM2', ok: true, ms: 2.2, detail: '1 instance' },
    { step: 'survey ports 5000,5001', ok: true, ms: 1.1, detail: 'pid 777 on 5000' },
    { step: 'stop through PM2', ok: true, ms: 40.6, detail: 'stopped' },
    { step: 'free ports 5000', ok: true, ms: 12.49, detail: 'killed pid 777' },
    { step: 'start through PM2', ok: true, ms: 30.1, detail: 'started' },
    { step: 'wait for online and http://127.0.0.1:5000/health', ok: true, ms: 210.7, detail: 'online, 200 in 3ms' },
  ],
  ports: {
    ports: [5000, 5001],
    killed: [{ port: 5000, pid: 777, command: `node squat.js --api-token=${SECRET}`, uid: 0, signal: 'SIGTERM', why: 'carries the app\'s PM2 marks' }],
    refused: [{ port: 5001, pid: 888, command: 'nginx: worker', uid: 33, why: 'another user (uid 33)' }],
    stillHeld: [5001], free: false, wouldKill: [], elapsedMs: 12.4,
  },
  timeToHealthyMs: 1234.56, totalMs: 1234.56,
};

const incident: Incident = {
  id: ID, app: 'api', startedAt: '2025-01-31T08:00:00.000Z', trigger: { kind: 'alarm', text: 'alarm: port 5000 held by pid 777 while the app is down' },
  reason: report.reason, trial: false, hung: false, observation: obs, report, circuitAfter: 'closed', told: ['remedy_started', 'remedy_succeeded'],
};

const users = (uid: number): string | undefined => ({ 0: 'root' } as Record<number, string>)[uid];

function end(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.on('finish', resolve).end());
}

describe('incidentRecord', () => {
  test('the trigger, what was seen, what was done, the proof, seconds to healthy, the circuit and the notifications', () => {
    const r = incidentRecord(incident, users);
    assert.equal(r.result, 'healed');
    assert.equal(r.time_to_healthy_s, 1.235);
    assert.equal(r.total_ms, 1235);
    assert.deepEqual(r.trigger, incident.trigger);
    assert.deepEqual(r.observation.failing_probes, [
      { kind: 'http', detail: 'refused: connect ECONNREFUSED 127.0.0.1:5000' },
      { kind: 'tcp', detail: 'tcp 127.0.0.1:5000 refused: ECONNREFUSED' },
    ]);
    assert.deepEqual(r.observation.http, { ok: false, failure: 'refused', detail: 'connect ECONNREFUSED 127.0.0.1:5000', latency_ms: 1 });
    assert.equal(r.actions.restart_method, 'pm2: stop through PM2 -> free ports 5000 -> start through PM2');
    assert.deepEqual(r.actions.ports, { checked: [5000, 5001], freed: [5000], still_held: [5001] });
    assert.deepEqual(r.actions.killed[0], { pid: 777, command: `node squat.js --api-token=${SECRET}`, uid: 0, user: 'root', port: 5000, signal: 'SIGTERM', why: 'carries the app\'s PM2 marks' });
    assert.deepEqual(r.actions.refused[0], { pid: 888, command: 'nginx: worker', uid: 33, port: 5001, why: 'another user (uid 33)' }, 'no name known: the uid alone');
    assert.deepEqual(r.verify, { ok: true, detail: 'online, 200 in 3ms', ms: 211 });
    assert.equal(r.circuit_after, 'closed');
    assert.deepEqual(r.notifications, ['remedy_started', 'remedy_succeeded']);
    assert.equal('failure' in r, false);
  });

  test('a failed remedy: no time to healthy, the failure, the verify step that failed; a skipped one: verify not run', () => {
    const failed = incidentRecord({ ...incident, report: { ...report, ok: false, failure: 'not healthy within 20s', timeToHealthyMs: undefined, steps: report.steps.map((s) => (s.step.startsWith('wait for online') ? { ...s, ok: false, detail: 'timeout' } : s)) }, circuitAfter: 'open' });
    assert.equal(failed.result, 'failed');
    assert.equal(failed.time_to_healthy_s, null);
    assert.equal(failed.failure, 'not healthy within 20s');
    assert.deepEqual(failed.verify, { ok: false, detail: 'timeout', ms: 211 });
    const skipped = incidentRecord({ ...incident, report: { ...report, ok: false, skipped: true, attempts: 0, failure: 'pre_restart_command failed', steps: [{ step: 'pre_restart_command', ok: false, ms: 5, detail: 'exit 1' }] } });
    assert.equal(skipped.result, 'skipped');
    assert.equal(skipped.actions.restart_method, 'pm2: nothing restarted');
    assert.deepEqual(skipped.verify, { ok: false, detail: 'not run: the restart was skipped' });
    assert.deepEqual(incidentLine(incident, failed).level, 'error');
    assert.deepEqual(incidentLine(incident, skipped).level, 'warn');
  });
});

describe('the incident line', () => {
  test('json: one line valid against the schema, with the version, time, app, incident_id; the secret in a command is redacted', async () => {
    const file = join(dir, 'incident.json.log');
    const logger = createLogger({ level: 'info', format: 'json', file, console: 'none' });
    logIncident(logger.child({ app: 'api' }).child({ incident_id: ID }), incident);
    await end(logger);
    const text = readFileSync(file, 'utf8');
    assert.ok(!text.includes(SECRET), text);
    const lines = text.trim().split('\n');
    assert.equal(lines.length, 1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    assertMatchesSchema('log-line', line);
    assert.equal(line['schema'], LOG_SCHEMA);
    assert.equal(line['event'], 'incident');
    assert.equal(line['incident_id'], ID);
    assert.equal(line['app'], 'api');
    assert.equal('timestamp' in line, false, 'time, not winston\'s timestamp');
    assert.deepEqual(Object.keys(line).slice(0, 6), ['schema', 'time', 'level', 'app', 'incident_id', 'message']);
    const killed = (line['incident'] as { actions: { killed: { command: string }[] } }).actions.killed[0]!;
    assert.equal(killed.command, 'node squat.js --api-token=***');
  });

  test('text: the record is the last field, JSON to the end of the line, and reads back whole', async () => {
    const file = join(dir, 'incident.text.log');
    const logger = createLogger({ level: 'info', format: 'text', file, console: 'none' });
    logIncident(logger.child({ app: 'api' }).child({ incident_id: ID }), incident);
    await end(logger);
    const text = readFileSync(file, 'utf8').trim();
    assert.ok(!text.includes(SECRET), text);
    assert.match(text, /^\S+Z info {2}\[api\] incident healed in 1\.235 s \(port 5000 held by pid 777; trigger: alarm: port 5000 held by pid 777 while the app is down\) incident_id=\S+ event=incident incident=\{/);
    const parsed = parseLogLine(text);
    assert.ok(parsed);
    assert.equal(parsed.incident_id, ID);
    assert.equal(parsed.event, 'incident');
    assert.equal(parsed.app, 'api');
    assert.match(parsed.message, /^incident healed in 1\.235 s \(/);
    const expected = JSON.parse(JSON.stringify(incidentRecord(incident, userName))) as Record<string, unknown>;
    (expected as { actions: { killed: { command: string }[] } }).actions.killed[0]!.command = 'node squat.js --api-token=***';
    (expected as { observation: { squatters: { command: string }[] } }).observation.squatters[0]!.command = 'node squat.js --api-token=***';
    assert.deepEqual(parsed.incident, expected);
  });
});
