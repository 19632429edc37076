/** What status shows of a schedule: from PM2's process and the record under state_dir/schedules. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DEFAULT_SCHEDULE } from '../../../src/config/schedule.js';
import { readRecord, recordPath, writeRecord } from '../../../src/schedules/store.js';
import { scheduleNote, scheduleStatus } from '../../../src/schedules/view.js';

const dir = mkdtempSync(join(tmpdir(), 'hdm-schedule-view-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const NOW = Date.parse('2026-12-02T03:00:05Z');
// Seconds only: the next tick does not depend on the machine's time zone.
const EXPR = '*/5 * * * * *';

test('no cron_restart: no schedule; with one and no record: owner pm2, next tick, not fired yet', () => {
  assert.equal(scheduleStatus(dir, 'none', undefined, [{}], NOW), undefined);
  const s = scheduleStatus(dir, 'fresh', undefined, [{ cronRestart: EXPR }], NOW);
  assert.deepEqual(s, { expression: EXPR, owner: 'pm2', followed: true, next_tick: '2026-12-02T03:00:10.000Z' });
  assert.match(scheduleNote(s!), /owner pm2, next tick 2026-12-02T03:00:10.000Z; not fired yet/);
});

test('the monitor fired the last tick: owner monitor; the record is 0600, read back as written', () => {
  const fired = { at: '2026-12-02T03:00:02.100Z', by: 'monitor' as const, tick: '2026-12-02T03:00:00.000Z', reason: 'PM2 did not start the stopped app within 2 s of the tick' };
  writeRecord(dir, 'nightly', { expression: EXPR, last_tick: fired.tick, last_fired: fired });
  assert.equal(statSync(recordPath(dir, 'nightly')).mode & 0o777, 0o600);
  assert.deepEqual(readRecord(dir, 'nightly'), { expression: EXPR, last_tick: fired.tick, last_fired: fired });
  const s = scheduleStatus(dir, 'nightly', DEFAULT_SCHEDULE, [{ cronRestart: EXPR }], NOW);
  assert.equal(s?.owner, 'monitor');
  assert.deepEqual(s?.last_fired, fired);
  // The running monitor's page has no PM2 list: the record says which expression.
  assert.equal(scheduleStatus(dir, 'nightly', DEFAULT_SCHEDULE, undefined, NOW)?.owner, 'monitor');
});

test('PM2 alone: disabled, not in the config, or an expression the monitor does not follow', () => {
  const off = scheduleStatus(dir, 'nightly', { ...DEFAULT_SCHEDULE, enabled: false }, [{ cronRestart: EXPR }], NOW);
  assert.deepEqual([off?.owner, off?.followed, off?.why], ['pm2', false, 'schedule.enabled is false']);
  const stranger = scheduleStatus(dir, 'other', undefined, [{ cronRestart: EXPR }], NOW, false);
  assert.match(stranger?.why ?? '', /not in the monitor's config/);
  const both = scheduleStatus(dir, 'x', undefined, [{ cronRestart: '0 0 1 * MON' }], NOW);
  assert.equal(both?.followed, false);
  assert.match(scheduleNote(both!), /not backed up: cron_restart "0 0 1 \* MON": day of month and day of week are both set/);
});
