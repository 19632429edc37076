/**
 * The poller's bookkeeping over sequences of pollOnce(), with a scripted table and engine in
 * place of MariaDB and the workers (the real server is the integration tests' job): a still
 * raised alarm is remedied once, written back once, warned about once, and an outage is told
 * once each way.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import winston from 'winston';
import { alarmsSchema, toAlarmsConfig, type AlarmsConfig } from '../../../src/config/alarms.js';
import { AlarmPoller } from '../../../src/alarms/poller.js';
import type { AlarmSource } from '../../../src/alarms/source.js';
import { AlarmSourceError } from '../../../src/errors.js';
import type { AlarmRow } from '../../../src/alarms/plan.js';
import type { Statement } from '../../../src/alarms/sql.js';
import type { AlarmOutcome, RaisedAlarm } from '../../../src/engine/alarm-inbox.js';

const config = (raw: Record<string, unknown> = {}): AlarmsConfig => toAlarmsConfig(alarmsSchema.parse({ user: 'helpdesk', ...raw }));
const T0 = Date.parse('2026-12-01T10:00:00.000Z');

/** A table whose rows the test sets; records every UPDATE. `down` makes a poll fail as unreachable. */
class FakeTable implements AlarmSource {
  rows: AlarmRow[] = [];
  down = false;
  readonly updates: Statement[] = [];
  readonly where = '127.0.0.1:3306';
  poll(): Promise<AlarmRow[]> {
    if (this.down) return Promise.reject(new AlarmSourceError({ kind: 'unreachable', key: 'ECONNREFUSED', text: `ECONNREFUSED at ${this.where}` }));
    return Promise.resolve(this.rows.map((r) => ({ ...r })));
  }
  /** UPDATEs that fail (a blip between the SELECT and the write), one per entry. */
  failUpdates = 0;
  update(stmt: Statement): Promise<number> {
    this.updates.push(stmt);
    if (this.failUpdates > 0) {
      this.failUpdates--;
      return Promise.reject(new AlarmSourceError({ kind: 'unreachable', key: 'PROTOCOL_CONNECTION_LOST', text: 'PROTOCOL_CONNECTION_LOST at 127.0.0.1:3306' }));
    }
    return Promise.resolve(1);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** An engine that answers each raised alarm from a script (default: remedied). */
function fakeEngine(apps: string[]) {
  const raised: { app: string; alarm: RaisedAlarm }[] = [];
  const script: AlarmOutcome[] = [];
  return {
    raised,
    script,
    appNames: () => apps,
    raiseAlarm(app: string, alarm: RaisedAlarm): Promise<AlarmOutcome> {
      raised.push({ app, alarm });
      return Promise.resolve(script.shift() ?? { result: 'remedied', detail: 'healthy again after 900 ms', durationMs: 900 });
    },
  };
}

function captureLogger() {
  const lines: { level: string; message: string }[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(JSON.parse(line) as { level: string; message: string });
      cb();
    },
  });
  const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
  return { logger, lines };
}

/** A poller on fakes, with time moved by the test. */
function setup(cfg: AlarmsConfig, apps = ['api', 'worker']) {
  const table = new FakeTable();
  const engine = fakeEngine(apps);
  const log = captureLogger();
  let wall = T0;
  let mono = 0;
  const poller = new AlarmPoller(cfg, {
    engine, logger: log.logger, clock: { now: () => mono }, openSource: () => table, wallNow: () => wall, rand: () => 0.5,
  });
  /** One poll, `ms` after the previous one. */
  const pollAfter = async (ms: number) => {
    wall += ms;
    mono += ms;
    return poller.pollOnce();
  };
  /** Winston writes asynchronously: let its stream catch up. */
  const settle = () => new Promise((r) => setImmediate(r));
  return { table, engine, log, poller, pollAfter, settle };
}

const ROW: AlarmRow = { processId: 7, processName: 'api', value: 1 };
const notesOf = (updates: readonly Statement[]) => updates.filter((u) => u.sql.includes('CONCAT_WS'));
const clearsOf = (updates: readonly Statement[]) => updates.filter((u) => u.sql.includes('SET `alarma` = 0'));

describe('AlarmPoller: a still-raised alarm', () => {
  test('remedied once over 10 polls; with clear and note, one clear and one note line', async () => {
    const s = setup(config({ on_success: 'clear', note: true }));
    s.table.rows = [ROW];
    for (let i = 0; i < 10; i++) await s.pollAfter(300_000);
    assert.equal(s.engine.raised.length, 1);
    assert.equal(clearsOf(s.table.updates).length, 1);
    assert.deepEqual(clearsOf(s.table.updates)[0]!.params, [7, 1]);
    const notes = notesOf(s.table.updates);
    assert.equal(notes.length, 1);
    const incident = s.engine.raised[0]!.alarm.incidentId;
    assert.ok(String(notes[0]!.params[1]).includes(incident), 'the note names the incident');
    assert.match(String(notes[0]!.params[1]), /alarm cleared$/);
    assert.equal(s.poller.records().length, 1);
    assert.equal(s.poller.records()[0]!.result, 'remedied');
  });

  test('without clear, nothing is written back; cleared and raised again: one more remedy', async () => {
    const s = setup(config());
    s.table.rows = [ROW];
    for (let i = 0; i < 10; i++) await s.pollAfter(300_000);
    s.table.rows = [];
    await s.pollAfter(300_000);
    assert.equal(s.poller.records().length, 0, 'the record of a cleared alarm is forgotten');
    s.table.rows = [ROW];
    await s.pollAfter(300_000);
    await s.pollAfter(300_000);
    assert.equal(s.engine.raised.length, 2);
    assert.deepEqual(s.table.updates, []);
  });

  test('held (circuit open) at 3 polls, then remedied: one note for the hold, one for the remedy, one incident', async () => {
    const s = setup(config({ note: true }));
    const held: AlarmOutcome = { result: 'held', detail: 'circuit open: no restarts for 200 s more' };
    s.engine.script.push(held, held, held);
    s.table.rows = [ROW];
    for (let i = 0; i < 6; i++) await s.pollAfter(60_000);
    assert.equal(s.engine.raised.length, 4, 'offered while held, then handled');
    assert.equal(new Set(s.engine.raised.map((r) => r.alarm.incidentId)).size, 1, 'one incident throughout');
    const notes = notesOf(s.table.updates).map((u) => String(u.params[1]));
    assert.equal(notes.length, 2, notes.join('\n'));
    assert.match(notes[0]!, /api not restarted: circuit open/);
    assert.match(notes[1]!, /restarted api/);
  });
  test('with clear: a held or failed remedy leaves the alarm set, and the note says so', async () => {
    const s = setup(config({ on_success: 'clear', note: true }));
    s.engine.script.push({ result: 'held', detail: 'remedies paused by an operator' }, { result: 'failed', detail: 'did not come back within 30 s' });
    s.table.rows = [ROW];
    for (let i = 0; i < 4; i++) await s.pollAfter(60_000);
    assert.equal(s.engine.raised.length, 2, 'held: offered again; failed: settled');
    assert.deepEqual(clearsOf(s.table.updates), []);
    const notes = notesOf(s.table.updates).map((u) => String(u.params[1]));
    assert.equal(notes.length, 2);
    assert.match(notes[0]!, /api not restarted: remedies paused by an operator; alarm left set$/);
    assert.match(notes[1]!, /remedy of api failed: did not come back within 30 s; alarm left set$/);
  });
});

describe('AlarmPoller: rows it cannot act on', () => {
  test('an unknown name and a NULL name: warned once each over 5 polls, nothing raised, nothing written', async () => {
    const s = setup(config({ on_success: 'clear', note: true }));
    s.table.rows = [{ processId: 5, processName: "x'; DROP TABLE PROCESE; --", value: 1 }, { processId: 6, processName: null, value: 1 }];
    for (let i = 0; i < 5; i++) await s.pollAfter(60_000);
    await s.settle();
    assert.equal(s.engine.raised.length, 0);
    assert.deepEqual(s.table.updates, []);
    const warns = s.log.lines.filter((l) => l.level === 'warn');
    assert.equal(warns.length, 2, JSON.stringify(warns));
    assert.match(warns[0]!.message, /process_id 5 .*no app "x'; DROP TABLE PROCESE; --" is configured/);
    assert.match(warns[1]!.message, /process_id 6 is in alarm, but has no process name/);
  });
});

describe('AlarmPoller: the database down', () => {
  test('one down line, one back line; an alarm raised during the outage is acted on at the first good poll', async () => {
    const s = setup(config());
    s.table.down = true;
    for (let i = 0; i < 30; i++) assert.equal((await s.pollAfter(1000)).ok, false);
    s.table.rows = [ROW];
    s.table.down = false;
    const report = await s.pollAfter(1000);
    await s.settle();
    assert.equal(report.ok, true);
    assert.equal(s.engine.raised.length, 1);
    const told = s.log.lines.filter((l) => /database (down|back)|still failing/.test(l.message)).map((l) => [l.level, l.message.replace(/ \(.*/, '')]);
    assert.deepEqual(told, [['error', 'alarm table: database down'], ['info', 'alarm table: database back after 30 s']]);
  });
});

/** An `unobserved` outcome between two holds says nothing new: the second hold is not news. */
describe('AlarmPoller: one note per outcome', () => {
  test('held, not looked at (PM2 unreachable for one check), held again: one note and one "held back" warning', async () => {
    const s = setup(config({ note: true }));
    const held: AlarmOutcome = { result: 'held', detail: 'circuit open: no restarts for 200 s more' };
    s.engine.script.push(held, { result: 'unobserved', detail: 'cannot observe the app: PM2 did not answer' }, held);
    s.table.rows = [ROW];
    for (let i = 0; i < 3; i++) await s.pollAfter(60_000);
    await s.settle();
    assert.equal(new Set(s.engine.raised.map((r) => r.alarm.incidentId)).size, 1, 'one incident throughout');
    const notes = notesOf(s.table.updates).map((u) => String(u.params[1]));
    assert.equal(notes.length, 1, `the same hold written twice:\n${notes.join('\n')}`);
    assert.equal(s.log.lines.filter((l) => /held back/.test(l.message)).length, 1);
  });
});

describe('AlarmPoller: write-back and scope', () => {
  test('a clear that failed is tried again at the next poll (no second remedy), then left alone', async () => {
    const s = setup(config({ on_success: 'clear' }));
    s.table.rows = [ROW];
    s.table.failUpdates = 1;
    await s.pollAfter(60_000);
    assert.equal(s.poller.records()[0]!.cleared, false, 'the failed clear is remembered');
    await s.pollAfter(60_000);
    assert.equal(clearsOf(s.table.updates).length, 2, 'tried again');
    assert.equal(s.poller.records()[0]!.cleared, true);
    await s.pollAfter(60_000);
    assert.equal(clearsOf(s.table.updates).length, 2, 'not a third time');
    assert.equal(s.engine.raised.length, 1, 'one remedy throughout');
    await s.settle();
    assert.equal(s.log.lines.filter((l) => /cannot clear the alarm/.test(l.message)).length, 1);
  });

  test('`only` (check --app) raises alarms for those apps alone; the others wait, unrecorded', async () => {
    const s = setup(config());
    s.table.rows = [ROW, { processId: 8, processName: 'worker', value: 1 }];
    s.poller.version = 0;
    const report = await s.poller.pollOnce({ only: new Set(['worker']) });
    assert.deepEqual(report.acted.map((a) => a.app), ['worker']);
    assert.deepEqual(s.poller.records().map((r) => r.process_id), [8]);
    await s.pollAfter(1000);
    assert.deepEqual(s.engine.raised.map((r) => r.app), ['worker', 'api'], 'api is raised by the next unscoped poll');
  });

  test('a poll that reads while the poller stops raises nothing', async () => {
    const s = setup(config());
    s.table.rows = [ROW];
    await s.poller.stop();
    const report = await s.poller.pollOnce();
    assert.equal(report.ok, true);
    assert.deepEqual(report.acted, []);
    assert.equal(s.engine.raised.length, 0);
  });
});
