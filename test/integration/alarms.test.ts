// The alarm table trigger against a real MariaDB (the seed's DDL, a least-privilege account) and a
// real PM2: an alarm is remedied and cleared with a note, a still-raised alarm is not remedied
// twice, unknown names are warned about once, an open circuit holds the remedy back, a hostile
// process_name is only a name, and SELECT-only grants still remedy.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import { AlarmPoller } from '../../src/alarms/poller.js';
import { systemClock } from '../../src/clock.js';
import { startMariaDb, loadSeedSchema, type MariaDb, type SeedSchema } from '../helpers/mariadb.js';
import { startTestMonitor, type TestMonitor } from '../helpers/monitor.js';
import { startHealthy } from '../helpers/operator.js';
import { createSandbox, healthUrl, waitFor, type Sandbox } from '../helpers/sandbox.js';

const POLL_MS = 1000;
let sb: Sandbox;
let db: MariaDb;
let seed: SeedSchema;

before(async () => {
  [sb, db] = await Promise.all([createSandbox('alarms'), startMariaDb()]);
  seed = await loadSeedSchema(db);
});
after(async () => {
  await Promise.all([sb?.teardown(), db?.destroy()]);
});

interface Harness {
  readonly monitor: TestMonitor;
  readonly poller: AlarmPoller;
  stop(): Promise<void>;
}

/** The engine for `apps` and an alarm poller beside it, as the monitor wires them (app/open.ts). */
function watch(apps: unknown[], alarms: Record<string, unknown>, account = seed.helpdesk): Harness {
  process.env['HDM_TEST_DB_PASSWORD'] = account.password;
  const monitor = startTestMonitor(sb, {
    alarms: { host: '127.0.0.1', port: db.port, user: account.user, password_env: 'HDM_TEST_DB_PASSWORD', interval: `${POLL_MS}ms`, ...alarms },
    apps,
  });
  const poller = new AlarmPoller(monitor.config.alarms!, { engine: monitor.engine, logger: monitor.logger, clock: systemClock });
  poller.start();
  return {
    monitor, poller,
    async stop() {
      await Promise.all([poller.stop(), monitor.stop()]);
    },
  };
}

const appConfig = (name: string, port: number, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  name, ports: [port], startup_grace: 0, verify_timeout: '20s', health: { url: healthUrl(port), interval: '1s', timeout: '1s' }, ...extra,
});

async function setRow(id: number, name: string | null, alarma: number, sound = 0): Promise<void> {
  await db.sql(`USE ${seed.database}`);
  await db.sql(`INSERT INTO ${seed.database}.PROCESE (process_id, process_name) VALUES (?, ?) ON DUPLICATE KEY UPDATE process_name = VALUES(process_name)`, [id, name]);
  await db.sql(`INSERT INTO ${seed.database}.STATUS_PROCESS (process_id, alarma, sound, notes) VALUES (?, ?, ?, NULL) ON DUPLICATE KEY UPDATE alarma = VALUES(alarma), sound = VALUES(sound), notes = NULL`, [id, alarma, sound]);
}

async function row(id: number): Promise<{ alarma: number; sound: number; notes: string | null }> {
  const rows = await db.sql<RowDataPacket[]>(`SELECT alarma, sound, notes FROM ${seed.database}.STATUS_PROCESS WHERE process_id = ?`, [id]);
  return rows[0] as { alarma: number; sound: number; notes: string | null };
}

const story = (h: Harness): string => `\nmonitor log:\n${h.monitor.lines.join('\n')}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('alarma = 1 for the app: remedied within a poll + cold start, cleared, noted with the incident id, sound untouched', async (t) => {
  const before = await startHealthy(sb, 'al-api', 48300);
  await setRow(1, 'al-api', 0, 1);
  // What the column held (non-ASCII included, in the table's latin1) is kept; our line goes below it.
  await db.sql(`UPDATE ${seed.database}.STATUS_PROCESS SET notes = ? WHERE process_id = 1`, ['opérateur: vu']);
  const h = watch([appConfig('al-api', 48300)], { on_success: 'clear', note: true });
  try {
    await sleep(1500); // a poll or two with nothing in alarm
    const raisedAt = Date.now();
    await db.sql(`UPDATE ${seed.database}.STATUS_PROCESS SET alarma = 1 WHERE process_id = 1`);
    const report = await waitFor('the remedy', () => h.monitor.remedies[0], 30_000);
    const healthyAfter = Date.now() - raisedAt;
    t.diagnostic(`alarm to healthy: ${healthyAfter} ms (poll ${POLL_MS} ms)`);
    assert.ok(report.ok, `remedied: ${report.failure ?? ''}${story(h)}`);
    assert.match(report.reason, /alarm table: process_id 1 \(al-api\)/);
    const now = await sb.info('al-api');
    assert.notEqual(now?.pid, before.pid, 'restarted under a new pid');
    const r = await waitFor('the row cleared', async () => {
      const x = await row(1);
      return x.alarma === 0 && x.notes ? x : undefined;
    }, 10_000);
    const incident = /incident (\S+)/.exec(report.reason)?.[1];
    assert.ok(incident, report.reason);
    assert.ok(r.notes?.includes(incident), `notes carry the incident id ${incident}: ${r.notes}`);
    assert.match(r.notes ?? '', /restarted al-api/);
    assert.ok(r.notes?.startsWith('opérateur: vu\n'), `the earlier notes kept, our line appended below: ${JSON.stringify(r.notes)}`);
    assert.equal(r.sound, 1, 'sound is never written without clear_sound');
    // The poller stores its record after the note's write returns; the test's own read of the row
    // can land between the two, so wait for the record rather than read it once.
    const rec = await waitFor(() => `the handled record 'remedied' (records: ${JSON.stringify(h.poller.records())})`, () => h.poller.records().find((x) => x.process_id === 1 && x.result === 'remedied'), 10_000);
    assert.equal(rec.result, 'remedied');
    assert.equal(rec.incident, incident);
    assert.ok(healthyAfter < POLL_MS + 15_000, `within a poll + cold start: ${healthyAfter} ms`);
  } finally {
    await h.stop();
    await setRow(1, 'al-api', 0, 1);
  }
});

test('without clear: no second restart over 10 polls; cleared and raised again: one more', async () => {
  await startHealthy(sb, 'al-keep', 48301);
  await setRow(2, 'al-keep', 1);
  const h = watch([appConfig('al-keep', 48301)], {});
  try {
    await waitFor('the first remedy', () => h.monitor.remedies[0], 30_000);
    const pid = (await sb.info('al-keep'))?.pid;
    await sleep(10 * POLL_MS + 500);
    assert.equal(h.monitor.remedies.length, 1, `one remedy over 10 polls${story(h)}`);
    assert.equal((await sb.info('al-keep'))?.pid, pid, 'same pid');
    assert.equal((await row(2)).alarma, 1, 'the alarm is left set (on_success keep)');
    await db.sql(`UPDATE ${seed.database}.STATUS_PROCESS SET alarma = 0 WHERE process_id = 2`);
    await sleep(2 * POLL_MS + 500);
    assert.equal(h.poller.records().length, 0, 'a cleared alarm is forgotten');
    await db.sql(`UPDATE ${seed.database}.STATUS_PROCESS SET alarma = 1 WHERE process_id = 2`);
    await waitFor('the second remedy', () => h.monitor.remedies[1], 30_000);
    await sleep(3 * POLL_MS);
    assert.equal(h.monitor.remedies.length, 2, `exactly one more${story(h)}`);
  } finally {
    await h.stop();
    await setRow(2, 'al-keep', 0);
  }
});

test('a name with no app: one warning, no action, the row untouched; NULL names warned once too', async () => {
  await setRow(3, 'no-such-app', 1);
  await setRow(4, null, 1);
  const h = watch([appConfig('al-keep', 48301)], { note: true, on_success: 'clear' });
  try {
    await sleep(4 * POLL_MS + 500);
    const unknown = h.monitor.lines.filter((l) => l.includes('process_id 3') && l.includes('no app "no-such-app"'));
    assert.equal(unknown.length, 1, `one warning for the unknown name${story(h)}`);
    assert.equal(h.monitor.lines.filter((l) => /process_id 4 is in alarm, but has no process name/.test(l)).length, 1, 'one warning for the NULL name');
    assert.equal(h.monitor.remedies.length, 0);
    assert.deepEqual(await row(3), { alarma: 1, sound: 0, notes: null }, 'row untouched');
  } finally {
    await h.stop();
    await setRow(3, 'no-such-app', 0);
    await setRow(4, null, 0);
  }
});

test('an app whose circuit is open: no restart, the alarm left set and noted', async () => {
  // The app answers 200 where 204 is expected: its one remedy fails and opens the circuit.
  await startHealthy(sb, 'al-open', 48302);
  const h = watch([appConfig('al-open', 48302, { health: { url: healthUrl(48302), interval: '1s', timeout: '1s', expect_status: 204, failure_threshold: 1 }, max_restart_failures: 1, verify_timeout: '3s' })], { note: true, on_success: 'clear' });
  try {
    await waitFor('the circuit open', () => h.monitor.engine.views()[0]?.state.circuit === 'open', 30_000);
    const remedies = h.monitor.remedies.length;
    const pid = (await sb.info('al-open'))?.pid;
    await setRow(5, 'al-open', 1);
    const held = await waitFor('the alarm held', () => h.poller.records().find((r) => r.process_id === 5 && r.result === 'held'), 10_000);
    assert.match(held.detail, /circuit open/);
    await sleep(3 * POLL_MS);
    assert.equal(h.monitor.remedies.length, remedies, `no restart${story(h)}`);
    assert.equal((await sb.info('al-open'))?.pid, pid);
    const r = await row(5);
    assert.equal(r.alarma, 1, 'left set');
    assert.match(r.notes ?? '', /al-open not restarted: circuit open/);
    assert.equal((r.notes ?? '').split('\n').length, 1, `noted once, not at every poll: ${r.notes}`);
  } finally {
    await h.stop();
    await setRow(5, 'al-open', 0);
  }
});

test("a process_name of x'; DROP TABLE PROCESE; -- is only a name; both tables still exist", async () => {
  const hostile = "x'; DROP TABLE PROCESE; --";
  await setRow(6, hostile, 1);
  const h = watch([appConfig('al-keep', 48301)], { note: true, map: { [hostile]: 'al-keep' } });
  try {
    const report = await waitFor('the remedy of the mapped app', () => h.monitor.remedies[0], 30_000);
    assert.ok(report.ok, report.failure);
    const tables = await db.sql<RowDataPacket[]>(`SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME`, [seed.database]);
    assert.deepEqual(tables.map((t) => t['TABLE_NAME'] as string), ['PROCESE', 'STATUS_PROCESS']);
    const rows = await db.sql<RowDataPacket[]>(`SELECT process_name FROM ${seed.database}.PROCESE WHERE process_id = 6`);
    assert.equal(rows[0]?.['process_name'], hostile, 'the name is stored and read back as it is');
  } finally {
    await h.stop();
    await setRow(6, hostile, 0);
  }
});

test('SELECT-only grants with on_success: clear: the missing UPDATE is reported once, the app is still remedied', async () => {
  await setRow(7, 'al-keep', 1);
  await setRow(8, 'al-api', 1);
  const h = watch([appConfig('al-keep', 48301), appConfig('al-api', 48300)], { on_success: 'clear' }, seed.reader);
  try {
    await waitFor('both remedies', () => h.monitor.remedies.length >= 2 ? true : undefined, 40_000);
    assert.ok(h.monitor.remedies.every((r) => r.ok), `remedied${story(h)}`);
    await sleep(2 * POLL_MS);
    const denied = h.monitor.lines.filter((l) => /cannot clear the alarm/.test(l));
    assert.equal(denied.length, 1, `reported once${story(h)}`);
    assert.match(denied[0]!, /ER_(TABLE|COLUMN)ACCESS_DENIED_ERROR/);
    assert.match(denied[0]!, /GRANT UPDATE \(`alarma`\)/);
    assert.equal((await row(7)).alarma, 1, 'the row could not be cleared');
  } finally {
    await h.stop();
    await setRow(7, 'al-keep', 0);
    await setRow(8, 'al-api', 0);
  }
});

test('an alarm raised while a remedy runs is answered by it: one restart, not two', async () => {
  await startHealthy(sb, 'al-keep', 48301);
  const monitor = startTestMonitor(sb, { apps: [appConfig('al-keep', 48301)] });
  try {
    await waitFor('healthy', () => monitor.engine.views()[0]?.state.phase === 'healthy', 20_000);
    const first = monitor.engine.raiseAlarm('al-keep', { detail: 'alarm table: process_id 1 (al-keep) in alarm (value 1), incident A', incidentId: 'A' })!;
    await waitFor('the remedy running', () => monitor.engine.views()[0]?.state.phase === 'remedying', 10_000, 5);
    const second = monitor.engine.raiseAlarm('al-keep', { detail: 'alarm table: process_id 2 (al-keep) in alarm (value 1), incident B', incidentId: 'B' })!;
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.result, 'remedied');
    assert.equal(b.result, 'remedied');
    assert.match(b.detail, /answered by the remedy that was running/);
    await sleep(2500);
    assert.equal(monitor.remedies.length, 1, `one restart:\n${monitor.lines.join('\n')}`);
  } finally {
    await monitor.stop();
  }
  const late = await Promise.race([
    monitor.engine.raiseAlarm('al-keep', { detail: 'after stop', incidentId: 'C' })!,
    sleep(2000).then(() => ({ result: 'still waiting' })),
  ]);
  assert.equal(late.result, 'unobserved', 'a stopped engine answers at once instead of leaving the poll waiting');
});

test('a BIT(1) alarm column (a non-integer type) is read as a number: one remedy over several polls', async () => {
  await db.sql(`CREATE TABLE ${seed.database}.STATUS_BIT (process_id INT PRIMARY KEY, alarma BIT(1), sound TINYINT, notes TEXT)`);
  await db.sql(`GRANT SELECT ON ${seed.database}.STATUS_BIT TO '${seed.helpdesk.user}'@'127.0.0.1'`);
  await db.sql(`INSERT INTO ${seed.database}.STATUS_BIT VALUES (9, b'1', 0, NULL)`);
  await setRow(9, 'al-keep', 0);
  const h = watch([appConfig('al-keep', 48301)], { tables: { status: 'STATUS_BIT' } });
  try {
    await waitFor('the remedy', () => h.monitor.remedies[0], 30_000);
    await sleep(5 * POLL_MS);
    assert.equal(h.monitor.remedies.length, 1, `one remedy${story(h)}`);
    assert.deepEqual(h.poller.records().map((r) => [r.process_id, r.value, r.result]), [[9, 1, 'remedied']]);
  } finally {
    await h.stop();
  }
});
