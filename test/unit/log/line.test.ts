/** The text form of a log line, shared by winston's format and the PM2 module's early lines. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { textLine, textLines } from '../../../src/log/line.js';

const T = '2024-05-01T12:00:00.000Z';

describe('textLine', () => {
  test('time, the level padded to 5, the app in brackets, the message, then fields', () => {
    assert.equal(textLine(T, 'info', 'watching 1 app(s): api'), `${T} info  watching 1 app(s): api`);
    assert.equal(textLine(T, 'error', 'failing -> unhealthy', 'api', { hung: true, strategy: 'pm2', why: 'a b' }), `${T} error [api] failing -> unhealthy hung=true strategy=pm2 why="a b"`);
  });
});

describe('textLines', () => {
  test('a message of several lines becomes as many lines, each with the time and the level', () => {
    const out = textLines(T, 'error', 'cannot start: invalid config /x.yaml:\n  - apps.0.health.interval: expected a duration\nwaiting for /x.yaml to change');
    assert.deepEqual(out.split('\n'), [
      `${T} error cannot start: invalid config /x.yaml:`,
      `${T} error   - apps.0.health.interval: expected a duration`,
      `${T} error waiting for /x.yaml to change`,
      '',
    ]);
  });
  test('one line stays one line, ended by a newline', () => {
    assert.equal(textLines(T, 'warn', 'no config set'), `${T} warn  no config set\n`);
  });
});
