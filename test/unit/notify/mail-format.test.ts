import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_SUBJECT, mailSubject, mailText } from '../../../src/notify/mail-format.js';
import { NOTIFY_EVENT_TYPES, type NotifyEvent } from '../../../src/notify/types.js';
import { slackPayload } from '../../../src/notify/format.js';

const ev = (patch: Partial<NotifyEvent> = {}): NotifyEvent => ({
  type: 'remedy_failed',
  app: 'api',
  host: 'web-1',
  at: new Date('2026-12-02T10:00:00.000Z'),
  reason: 'not healthy within 10 s',
  detail: 'last probe: HTTP 503',
  durationMs: 10_250,
  ...patch,
});

test('the subject names the tool, the app and the event (dashes), and the host', () => {
  assert.equal(mailSubject(ev()), 'helpdesk-monitor: api remedy-failed on web-1');
  for (const type of NOTIFY_EVENT_TYPES) assert.match(mailSubject(ev({ type })), new RegExp(`^helpdesk-monitor: api ${type.replace(/_/g, '-')} on web-1$`));
});

test('the subject is one line, at most 200 characters, whatever the app name holds', () => {
  const s = mailSubject(ev({ app: 'evil\r\nBcc: all@example.com', host: 'h'.repeat(500) }));
  assert.ok(!/[\r\n]/.test(s), s);
  assert.ok([...s].length <= MAX_SUBJECT, `${s.length}`);
  assert.ok(s.endsWith('…'));
});

test('the body leads with the text the chat webhooks carry, then one line per field', () => {
  const text = mailText(ev({ killed: [41, 42] }));
  const [headline, blank, ...fields] = text.split('\n');
  // The Slack line without its emoji and markup.
  const slack = slackPayload(ev({ killed: [41, 42] })).text.replace(/^\S+ \*helpdesk-monitor\* /, 'helpdesk-monitor ');
  assert.equal(headline, slack);
  assert.equal(headline, 'helpdesk-monitor api on web-1: remedy failed after 10.3 s: not healthy within 10 s (last probe: HTTP 503); killed PIDs 41, 42 holding its ports');
  assert.equal(blank, '');
  assert.deepEqual(fields.filter(Boolean), [
    'event: remedy_failed',
    'app: api',
    'host: web-1',
    'at: 2026-12-02T10:00:00.000Z',
    'reason: not healthy within 10 s',
    'detail: last probe: HTTP 503',
    'duration_ms: 10250',
    'killed: 41, 42',
  ]);
});

test('fields that are absent are left out; multi-line reasons become one line', () => {
  const text = mailText({ type: 'circuit_closed', app: 'db', host: 'h', at: new Date(0), reason: 'remedy\nsucceeded', killed: [] });
  assert.ok(!text.includes('detail:'));
  assert.ok(!text.includes('killed:'), 'no PIDs killed: no line');
  assert.ok(!text.includes('duration_ms:'));
  assert.match(text, /^reason: remedy succeeded$/m);
});
