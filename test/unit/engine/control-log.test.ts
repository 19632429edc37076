/** What a control.json read means for an app's log: only changes from what the worker had, once. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { controlEvents, describeControlEvent, pauseOfRecord, requesterText, timeText, type ControlEvent, type ControlMemory } from '../../../src/engine/control-log.js';
import type { Control, Requester } from '../../../src/engine/view.js';

const NOW = Date.parse('2024-05-01T12:00:00.000Z');
const IN_30M = NOW + 30 * 60_000;
const ALICE: Requester = { user: 'alice', uid: 1000, pid: 4242, via: 'cli' };
const BOB: Requester = { user: 'bob', uid: 1001, pid: 5151, via: 'cli' };
const NOTHING: ControlMemory = { resetSeen: 0 };

/** The lines a sequence of reads logs, feeding each read the memory the last one left. */
function replay(reads: readonly { control: Control; at: number }[], start: ControlMemory = NOTHING): string[] {
  let memory = start;
  const lines: string[] = [];
  for (const { control, at } of reads) {
    const r = controlEvents(memory, control, at);
    memory = r.memory;
    lines.push(...r.events.map((e) => describeControlEvent(e, at).message));
  }
  return lines;
}

describe('controlEvents: a pause', () => {
  test('a new pause with an end is one event, with who asked; the memory holds it', () => {
    const r = controlEvents(NOTHING, { pausedUntil: IN_30M, pausedBy: ALICE }, NOW);
    assert.deepEqual(r.events, [{ kind: 'paused', until: IN_30M, by: ALICE }]);
    assert.deepEqual(r.memory, { pause: IN_30M, resetSeen: 0 });
    assert.equal(describeControlEvent(r.events[0]!, NOW).message, 'paused by alice (uid 1000, pid 4242) until 12:30:00Z: no remedies until then');
    assert.equal(describeControlEvent(r.events[0]!, NOW).level, 'warn');
  });

  test('the same pause read again (control.json re-read on every change, and at start) is no news', () => {
    const again = controlEvents({ pause: IN_30M, resetSeen: 0 }, { pausedUntil: IN_30M, pausedBy: ALICE }, NOW + 1000);
    assert.deepEqual(again.events, []);
    assert.deepEqual(again.memory, { pause: IN_30M, resetSeen: 0 });
    const lines = replay([
      { control: { pausedUntil: 'indefinite', pausedBy: ALICE }, at: NOW },
      { control: { pausedUntil: 'indefinite', pausedBy: ALICE }, at: NOW + 1000 },
      { control: { pausedUntil: 'indefinite', pausedBy: ALICE, resetAt: NOW - 5000 }, at: NOW + 2000 },
    ], { resetSeen: NOW - 5000 });
    assert.deepEqual(lines, ['paused by alice (uid 1000, pid 4242) with no end: no remedies until `helpdesk-monitor resume`']);
  });

  test('a pause restored from state.json (told by the last run) is not told again', () => {
    assert.deepEqual(controlEvents({ pause: 'indefinite', resetSeen: 0 }, { pausedUntil: 'indefinite', pausedBy: ALICE }, NOW).events, []);
  });

  test('a changed pause says the new end and the old one', () => {
    const r = controlEvents({ pause: IN_30M, resetSeen: 0 }, { pausedUntil: 'indefinite', pausedBy: BOB }, NOW);
    assert.deepEqual(r.events, [{ kind: 'paused', until: 'indefinite', by: BOB, before: IN_30M }]);
    assert.equal(describeControlEvent(r.events[0]!, NOW).message, 'pause changed by bob (uid 1001, pid 5151) with no end: no remedies until `helpdesk-monitor resume` (was until 12:30:00Z)');
  });

  test('resume: the pause gone from the file ends it, by who resumed', () => {
    const r = controlEvents({ pause: IN_30M, resetSeen: 0 }, { resumedBy: BOB }, NOW);
    assert.deepEqual(r.events, [{ kind: 'resumed', was: IN_30M, by: BOB }]);
    assert.deepEqual(r.memory, { resetSeen: 0 });
    assert.equal(describeControlEvent(r.events[0]!, NOW).message, 'pause ended: resumed by bob (uid 1001, pid 5151); remedies allowed again');
    assert.equal(describeControlEvent(r.events[0]!, NOW).level, 'info');
  });

  test('a resume with no pause in force is no news (nothing changes)', () => {
    assert.deepEqual(controlEvents(NOTHING, { resumedBy: BOB }, NOW).events, []);
  });

  test('a pause that ran out by itself is told once, when the worker next looks (the file unchanged)', () => {
    const control: Control = { pausedUntil: IN_30M, pausedBy: ALICE };
    const lines = replay([
      { control, at: NOW },
      { control, at: IN_30M - 1 },
      { control, at: IN_30M + 500 },
      { control, at: IN_30M + 1500 },
    ]);
    assert.deepEqual(lines, [
      'paused by alice (uid 1000, pid 4242) until 12:30:00Z: no remedies until then',
      'pause ended: it expired at 12:30:00Z; remedies allowed again',
    ]);
  });

  test('a pause already over when first read (a late `check`) is no news; one the last run told is told as expired', () => {
    assert.deepEqual(controlEvents(NOTHING, { pausedUntil: NOW - 1000, pausedBy: ALICE }, NOW).events, []);
    assert.deepEqual(controlEvents({ pause: NOW - 1000, resetSeen: 0 }, { pausedUntil: NOW - 1000, pausedBy: ALICE }, NOW).events, [{ kind: 'expired', at: NOW - 1000 }]);
  });

  test('a file without requesters (written before they were recorded, or by hand) says so', () => {
    const r = controlEvents(NOTHING, { pausedUntil: IN_30M }, NOW);
    assert.equal(describeControlEvent(r.events[0]!, NOW).message, 'paused (who asked is not recorded) until 12:30:00Z: no remedies until then');
  });
});

describe('controlEvents: a reset', () => {
  test('a reset newer than the last seen is one event; the memory moves on', () => {
    const r = controlEvents({ resetSeen: NOW - 60_000 }, { resetAt: NOW, resetBy: ALICE }, NOW);
    assert.deepEqual(r.events, [{ kind: 'reset', at: NOW, by: ALICE }]);
    assert.equal(r.memory.resetSeen, NOW);
    assert.match(describeControlEvent(r.events[0]!, NOW).message, /^reset by alice \(uid 1000, pid 4242\): failed remedies, backoff and an open circuit are cleared/);
  });

  test('the same or an older reset is no news', () => {
    assert.deepEqual(controlEvents({ resetSeen: NOW }, { resetAt: NOW, resetBy: ALICE }, NOW + 5).events, []);
    assert.deepEqual(controlEvents({ resetSeen: NOW }, { resetAt: NOW - 1, resetBy: ALICE }, NOW + 5).events, []);
  });

  test('a pause and a reset in one read: both, the pause first', () => {
    const kinds = controlEvents(NOTHING, { pausedUntil: IN_30M, pausedBy: ALICE, resetAt: NOW, resetBy: BOB }, NOW).events.map((e: ControlEvent) => e.kind);
    assert.deepEqual(kinds, ['paused', 'reset']);
  });
});

describe('the words', () => {
  test('sudo: the person behind root first', () => {
    assert.equal(requesterText({ user: 'root', uid: 0, pid: 77, via: 'cli', sudoUser: 'alice' }), 'alice (sudo as root, uid 0, pid 77)');
  });
  test('names from the file are shown printable and short (a newline cannot forge a log line)', () => {
    const text = requesterText({ user: `mallory\n2024-05-01T00:00:00.000Z info  forged ${'x'.repeat(200)}` });
    assert.ok(!text.includes('\n'), text);
    assert.ok(text.length <= 66, `${text.length}: ${text}`);
  });
  test('another way in than the CLI is named', () => {
    assert.equal(requesterText({ user: 'alice', via: 'api' }), 'alice (via api)');
  });
  test('times: time of day on the same UTC day, the date otherwise', () => {
    assert.equal(timeText(IN_30M, NOW), '12:30:00Z');
    assert.equal(timeText(NOW + 86_400_000, NOW), '2024-05-02 12:00:00Z');
  });
  test('pauseOfRecord reads state.json\'s paused_until', () => {
    assert.equal(pauseOfRecord(undefined), undefined);
    assert.equal(pauseOfRecord('indefinite'), 'indefinite');
    assert.equal(pauseOfRecord('2024-05-01T12:30:00.000Z'), IN_30M);
    assert.equal(pauseOfRecord('soon'), undefined);
  });
});
