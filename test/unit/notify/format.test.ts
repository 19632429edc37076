import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  cut,
  discordPayload,
  eventSentence,
  formatDuration,
  formatPayload,
  jsonPayload,
  slackPayload,
} from '../../../src/notify/format.js';
import { NOTIFY_EVENT_TYPES, type NotifyEvent } from '../../../src/notify/types.js';

const at = new Date('2025-01-02T03:04:05.678Z');
const ev = (patch: Partial<NotifyEvent> = {}): NotifyEvent => ({
  type: 'remedy_started',
  app: 'helpdesk-backend',
  host: 'web-1',
  at,
  ...patch,
});

describe('jsonPayload', () => {
  test('all fields, snake_case, ISO time, source', () => {
    assert.deepEqual(
      jsonPayload(
        ev({ type: 'remedy_succeeded', reason: 'health check failed 3 times', detail: 'online', durationMs: 1234, killed: [11, 12] }),
      ),
      {
        event: 'remedy_succeeded',
        app: 'helpdesk-backend',
        host: 'web-1',
        at: '2025-01-02T03:04:05.678Z',
        reason: 'health check failed 3 times',
        detail: 'online',
        duration_ms: 1234,
        killed: [11, 12],
        source: 'helpdesk-monitor',
      },
    );
  });
  test('undefined fields are omitted', () => {
    const p = jsonPayload(ev());
    assert.deepEqual(Object.keys(p).sort(), ['app', 'at', 'event', 'host', 'source']);
    assert.ok(!JSON.stringify(p).includes('null'));
  });
  test('an invalid date does not throw', () => {
    assert.equal(jsonPayload(ev({ at: new Date(Number.NaN) })).at, 'Invalid Date');
  });
  test('killed is copied, not shared', () => {
    const killed = [1];
    const p = jsonPayload(ev({ killed }));
    killed.push(2);
    assert.deepEqual(p.killed, [1]);
  });
});

describe('eventSentence', () => {
  test('every type has a sentence naming what happened', () => {
    for (const type of NOTIFY_EVENT_TYPES) {
      const s = eventSentence(ev({ type }));
      assert.ok(s.length > 5, type);
      // The daemon events are about PM2 itself, and say so first.
      assert.match(s, type.startsWith('daemon_') ? /^PM2 daemon / : new RegExp(`^${type.split('_')[0]} `));
    }
  });
  test('update events name the move and what became of it', () => {
    assert.equal(
      eventSentence(ev({ type: 'update_rolled_back', reason: 'aaaaaaaaaa -> bbbbbbbbbb "crash": not healthy', detail: 'back on aaaaaaaaaa' })),
      'update rolled back: aaaaaaaaaa -> bbbbbbbbbb "crash": not healthy (back on aaaaaaaaaa)',
    );
    assert.equal(eventSentence(ev({ type: 'update_applied', reason: 'a -> b', durationMs: 2100 })), 'update applied: a -> b in 2.1 s');
  });
  test('circuit_opened reads "after <reason>: no more automatic restarts <detail>"', () => {
    assert.equal(
      eventSentence(ev({ type: 'circuit_opened', reason: '3 failed remedies in 10 min', detail: 'until 14:05:00 UTC' })),
      'circuit opened after 3 failed remedies in 10 min: no more automatic restarts until 14:05:00 UTC',
    );
    assert.equal(eventSentence(ev({ type: 'circuit_opened' })), 'circuit opened: no more automatic restarts for now');
  });
  test('remedies: reason, duration, killed PIDs', () => {
    assert.equal(
      eventSentence(ev({ reason: 'health check failed 3 times (timeout)', detail: 'strategy restart' })),
      'remedy started: health check failed 3 times (timeout) (strategy restart)',
    );
    assert.equal(
      eventSentence(ev({ type: 'remedy_succeeded', durationMs: 1400, killed: [4242], reason: 'HTTP 503' })),
      'remedy succeeded in 1.4 s, healthy again (was: HTTP 503); killed PID 4242 holding its ports',
    );
    assert.equal(
      eventSentence(ev({ type: 'remedy_failed', durationMs: 10_000, reason: 'not healthy within 10 s', killed: [1, 2] })),
      'remedy failed after 10.0 s: not healthy within 10 s; killed PIDs 1, 2 holding its ports',
    );
    assert.equal(eventSentence(ev({ type: 'remedy_skipped', reason: 'circuit open' })), 'remedy skipped: circuit open');
    assert.equal(eventSentence(ev({ type: 'circuit_half_open', reason: 'cooldown of 5 min elapsed' })), 'circuit half-open (cooldown of 5 min elapsed): allowing one remedy attempt');
    assert.equal(eventSentence(ev({ type: 'circuit_closed' })), 'circuit closed: automatic restarts resumed');
  });
  test('many killed PIDs are summarised', () => {
    const s = eventSentence(ev({ type: 'remedy_succeeded', killed: Array.from({ length: 15 }, (_, i) => i + 1) }));
    assert.match(s, /killed PIDs 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 5 more/);
  });
  test('durations', () => {
    assert.equal(formatDuration(850), '850 ms');
    assert.equal(formatDuration(1234), '1.2 s');
    assert.equal(formatDuration(125_000), '2 min 5 s');
    assert.equal(formatDuration(120_000), '2 min');
  });
});

describe('slackPayload', () => {
  test('{ text } only: emoji, bold source, app on host, sentence', () => {
    const p = slackPayload(ev({ type: 'circuit_opened', reason: '3 failed remedies', detail: 'until 14:05 UTC' }));
    assert.deepEqual(Object.keys(p), ['text']);
    assert.equal(p.text, '🚨 *helpdesk-monitor* helpdesk-backend on web-1: circuit opened after 3 failed remedies: no more automatic restarts until 14:05 UTC');
  });
  test('mrkdwn control characters are escaped; one line', () => {
    const p = slackPayload(ev({ reason: 'a <b> & c\nnext line' }));
    assert.match(p.text, /a &lt;b&gt; &amp; c next line$/);
    assert.ok(!p.text.includes('\n'));
  });
  test('long texts are cut', () => {
    const p = slackPayload(ev({ detail: 'x'.repeat(10_000) }));
    assert.equal(Array.from(p.text).length, 3000);
    assert.ok(p.text.endsWith('…'));
  });
});

describe('discordPayload', () => {
  test('content, username, no mentions', () => {
    const p = discordPayload(ev({ type: 'remedy_failed', reason: 'not healthy within 10 s' }));
    assert.deepEqual(p, {
      content: '❌ **helpdesk-monitor** helpdesk-backend on web-1: remedy failed: not healthy within 10 s',
      username: 'helpdesk-monitor',
      allowed_mentions: { parse: [] },
    });
  });
  test('content is cut to 2000 characters (code points, emoji intact)', () => {
    const p = discordPayload(ev({ detail: '😀'.repeat(3000) }));
    assert.equal(Array.from(p.content).length, 2000);
    assert.ok(p.content.endsWith('…'));
    assert.ok(!/[\uD800-\uDBFF]…$/.test(p.content), 'no lone surrogate before the ellipsis');
  });
  test('markdown in app names is escaped', () => {
    assert.match(discordPayload(ev({ app: 'my_app*' })).content, /my\\_app\\\* on/);
  });
});

describe('formatPayload and cut', () => {
  test('dispatches by format', () => {
    assert.ok('event' in formatPayload('json', ev()));
    assert.ok('text' in formatPayload('slack', ev()));
    assert.ok('content' in formatPayload('discord', ev()));
  });
  test('cut keeps short strings and counts code points', () => {
    assert.equal(cut('abc', 3), 'abc');
    assert.equal(cut('abcd', 3), 'ab…');
    assert.equal(cut('😀😀', 2), '😀😀');
  });
});
