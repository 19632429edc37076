// The alarm table's database goes away for 30 s (for TCP clients: the server runs socket-only,
// so the test can still write to it): one "down" line, a hung app elsewhere is remedied
// meanwhile, one "back" line when it returns, and an alarm set during the outage is acted on at
// the first good poll. HDM_QUICK=1 shortens the outage to 8 s.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AlarmPoller } from '../../src/alarms/poller.js';
import { systemClock } from '../../src/clock.js';
import { startMariaDb, loadSeedSchema, type MariaDb, type SeedSchema } from '../helpers/mariadb.js';
import { startTestMonitor } from '../helpers/monitor.js';
import { startHealthy } from '../helpers/operator.js';
import { createSandbox, healthUrl, injectFault, waitFor, type Sandbox } from '../helpers/sandbox.js';

const OUTAGE_MS = process.env['HDM_QUICK'] === '1' ? 8000 : 30_000;
const POLL_MS = 2000;
let sb: Sandbox;
let db: MariaDb;
let seed: SeedSchema;

before(async () => {
  [sb, db] = await Promise.all([createSandbox('alarm-outage'), startMariaDb()]);
  seed = await loadSeedSchema(db);
  await db.sql(`INSERT INTO ${seed.database}.PROCESE VALUES (1, 'ao-late'), (2, 'ao-hang')`);
  await db.sql(`INSERT INTO ${seed.database}.STATUS_PROCESS VALUES (1, 0, 0, NULL), (2, 0, 0, NULL)`);
});
after(async () => {
  await Promise.all([sb?.teardown(), db?.destroy()]);
});

const app = (name: string, port: number): Record<string, unknown> => ({
  name, ports: [port], startup_grace: 0, verify_timeout: '20s', health: { url: healthUrl(port), interval: '1s', timeout: '500ms', failure_threshold: 2 },
});

test(`database down for ${OUTAGE_MS / 1000} s: told once each way, healing goes on, an alarm raised meanwhile is acted on`, async (t) => {
  await Promise.all([startHealthy(sb, 'ao-late', 48310), startHealthy(sb, 'ao-hang', 48311)]);
  process.env['HDM_OUTAGE_DB_PASSWORD'] = seed.helpdesk.password;
  const monitor = startTestMonitor(sb, {
    alarms: { host: '127.0.0.1', port: db.port, user: seed.helpdesk.user, password_env: 'HDM_OUTAGE_DB_PASSWORD', interval: `${POLL_MS}ms`, connect_timeout: '2s', query_timeout: '2s' },
    apps: [app('ao-late', 48310), app('ao-hang', 48311)],
  });
  const poller = new AlarmPoller(monitor.config.alarms!, { engine: monitor.engine, logger: monitor.logger, clock: systemClock });
  poller.start();
  const story = (): string => `\nmonitor log:\n${monitor.lines.join('\n')}`;
  try {
    await waitFor('a first good poll', () => monitor.lines.some((l) => l.includes('alarm table: polling')), 10_000);
    await new Promise((r) => setTimeout(r, POLL_MS + 500));
    const downAt = Date.now();
    await db.stop();
    await db.start({ extraArgs: ['--skip-networking'] });
    await waitFor('the down line', () => monitor.lines.some((l) => /alarm table: database down/.test(l)), 10_000);
    // Healing goes on: a hung app is remedied while the table is unreachable.
    await injectFault(48311, 'hang');
    const hung = await waitFor('the hung app remedied', () => monitor.remedies.find((r) => r.app === 'ao-hang'), 40_000);
    assert.ok(hung.ok, `${hung.failure ?? ''}${story()}`);
    // An alarm raised during the outage (root over the socket; the monitor uses TCP).
    await db.sql(`UPDATE ${seed.database}.STATUS_PROCESS SET alarma = 1 WHERE process_id = 1`);
    const left = OUTAGE_MS - (Date.now() - downAt);
    if (left > 0) await new Promise((r) => setTimeout(r, left));
    assert.equal(monitor.remedies.filter((r) => r.app === 'ao-late').length, 0, `nothing acted on the alarm while the table was down${story()}`);
    await db.stop();
    await db.start();
    const backAt = Date.now();
    const late = await waitFor('the alarm acted on', () => monitor.remedies.find((r) => r.app === 'ao-late'), 30_000);
    t.diagnostic(`outage ${Math.round((backAt - downAt) / 1000)} s; alarm remedied ${Date.now() - backAt} ms after the server came back`);
    assert.ok(late.ok, late.failure);
    assert.match(late.reason, /alarm table: process_id 1 \(ao-late\)/);
    await waitFor('the back line', () => monitor.lines.some((l) => /alarm table: database back after \d+ s/.test(l)), 10_000);
    const down = monitor.lines.filter((l) => /alarm table: database down/.test(l));
    const back = monitor.lines.filter((l) => /alarm table: database back after/.test(l));
    assert.equal(down.length, 1, `one down line${story()}`);
    assert.equal(back.length, 1, `one back line${story()}`);
    assert.match(down[0]!, /ECONNREFUSED at 127\.0\.0\.1:\d+/, 'the down line names the code and where');
    assert.doesNotMatch(monitor.lines.join('\n'), new RegExp(seed.helpdesk.password), 'no password in the log');
    const away = Number(/back after (\d+) s/.exec(back[0]!)?.[1]);
    assert.ok(away >= OUTAGE_MS / 1000 - 2 && away <= OUTAGE_MS / 1000 + 10, `back after ${away} s`);
  } finally {
    await Promise.all([poller.stop(), monitor.stop()]);
  }
});
