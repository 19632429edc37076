/** Which cron_restart expressions the monitor reads and follows, and its tick arithmetic. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cronError, notFollowable, tickAfter, tickAtOrBefore } from '../../../src/config/cron.js';
import { DEFAULT_SCHEDULE } from '../../../src/config/schedule.js';
import { followability } from '../../../src/schedules/view.js';

test('valid: 5 fields, or 6 with seconds first; names, ranges, lists and steps', () => {
  // `L` (last day of the month) means the same to croner and cron-parser.
  for (const e of ['0 3 * * *', '*/5 * * * * *', '0 0 1-5 * *', '0 9 * * MON-FRI', '15,45 */2 * JAN *', '0 0 L * *']) assert.equal(cronError(e), undefined, e);
});

test('invalid: wrong field count, values out of range, characters the monitor does not follow', () => {
  assert.match(cronError('* * * *') ?? '', /expected 5 fields/);
  assert.match(cronError('61 * * * *') ?? '', /0-59/);
  assert.match(cronError('@daily') ?? '', /got 1/);
  assert.match(cronError('0 0 1#2 * *') ?? '', /character/);
  assert.match(cronError('0 0 ? * *') ?? '', /character/);
});

test('day of month and day of week both set: valid, but PM2 alone (croner 4 ANDs them, cron-parser ORs)', () => {
  assert.equal(cronError('0 0 1 * MON'), undefined);
  assert.match(notFollowable('0 0 1 * MON') ?? '', /both set/);
  assert.equal(notFollowable('0 0 1 * *'), undefined);
  assert.equal(notFollowable('*/5 * * * * *'), undefined);
});

test('ticks: the next strictly after, the last at or before (a tick at exactly t counts)', () => {
  const t = Date.parse('2026-12-02T03:00:00.000Z');
  assert.equal(tickAfter('*/5 * * * * *', t), t + 5000);
  assert.equal(tickAtOrBefore('*/5 * * * * *', t), t);
  assert.equal(tickAtOrBefore('*/5 * * * * *', t + 4999), t);
});

test('followability: none without cron_restart; PM2 alone when disabled, multi-instance or not followable', () => {
  assert.deepEqual(followability(DEFAULT_SCHEDULE, [{}]), { follow: false });
  assert.deepEqual(followability(DEFAULT_SCHEDULE, [{ cronRestart: '0 3 * * *' }]), { follow: true, expression: '0 3 * * *' });
  assert.match(followability({ ...DEFAULT_SCHEDULE, enabled: false }, [{ cronRestart: '0 3 * * *' }]).follow ? '' : 'disabled', /disabled/);
  const two = followability(DEFAULT_SCHEDULE, [{ cronRestart: '0 3 * * *' }, { cronRestart: '0 3 * * *' }]);
  assert.equal(two.follow, false);
  assert.match(!two.follow ? two.why ?? '' : '', /2 instances/);
});
