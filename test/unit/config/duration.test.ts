import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_BODY_BYTES, MAX_PROBE_MS, MAX_TIMER_MS, formatDuration, parseDuration, parseSize } from '../../../src/config/duration.js';

describe('parseDuration', () => {
  test('a number is seconds', () => {
    assert.equal(parseDuration(60), 60_000);
    assert.equal(parseDuration(0), 0);
    assert.equal(parseDuration(0.5), 500);
    assert.equal(parseDuration(1.5), 1500);
  });

  test('strings with a unit', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('5s'), 5000);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('0.25m'), 15_000);
  });

  test('a bare numeric string is seconds', () => {
    assert.equal(parseDuration('10'), 10_000);
    assert.equal(parseDuration('2.5'), 2500);
  });

  test('surrounding and inner whitespace is tolerated', () => {
    assert.equal(parseDuration(' 5s '), 5000);
    assert.equal(parseDuration('5 s'), 5000);
  });

  test('rounds to whole milliseconds', () => {
    assert.equal(parseDuration('1.0004s'), 1000);
    assert.equal(parseDuration(0.0006), 1);
  });

  test('invalid strings are undefined', () => {
    for (const bad of ['5x', '-1', '-1s', 'abc', '', ' ', 's', '5 ms s', '.5s', '1e3', '5sec', '1,5s']) {
      assert.equal(parseDuration(bad), undefined, JSON.stringify(bad));
    }
  });

  test('invalid numbers are undefined', () => {
    assert.equal(parseDuration(-1), undefined);
    assert.equal(parseDuration(Number.NaN), undefined);
    assert.equal(parseDuration(Number.POSITIVE_INFINITY), undefined);
  });

  test('non-string, non-number inputs are undefined', () => {
    for (const bad of [undefined, null, true, {}, [], [5], { ms: 5 }, () => 5]) {
      assert.equal(parseDuration(bad), undefined, String(bad));
    }
  });
});

describe('formatDuration', () => {
  test('below a second in ms', () => {
    assert.equal(formatDuration(0), '0ms');
    assert.equal(formatDuration(450), '450ms');
    assert.equal(formatDuration(12.4), '12ms');
  });
  test('seconds, trailing zeros dropped', () => {
    assert.equal(formatDuration(1000), '1s');
    assert.equal(formatDuration(2500), '2.5s');
    assert.equal(formatDuration(1234), '1.23s');
  });
  test('minutes', () => {
    assert.equal(formatDuration(180_000), '3m');
    assert.equal(formatDuration(90_000), '1.5m');
  });
  test('hours', () => {
    assert.equal(formatDuration(3_600_000), '1h');
    assert.equal(formatDuration(5_400_000), '1.5h');
  });
  test('round-trips through parseDuration for whole units', () => {
    for (const ms of [450, 2500, 180_000, 3_600_000]) assert.equal(parseDuration(formatDuration(ms)), ms);
  });
});

describe('parseSize', () => {
  test('a number is bytes', () => {
    assert.equal(parseSize(0), 0);
    assert.equal(parseSize(1024), 1024);
  });
  test('units are binary and case-insensitive', () => {
    assert.equal(parseSize('512k'), 512 * 1024);
    assert.equal(parseSize('512KB'), 512 * 1024);
    assert.equal(parseSize('10MB'), 10 * 1024 * 1024);
    assert.equal(parseSize('10 mb'), 10 * 1024 * 1024);
    assert.equal(parseSize('2G'), 2 * 1024 ** 3);
    assert.equal(parseSize('1.5k'), 1536);
    assert.equal(parseSize('100b'), 100);
  });
  test('a bare numeric string is bytes', () => {
    assert.equal(parseSize('100'), 100);
  });
  test('invalid sizes are undefined', () => {
    for (const bad of ['10xb', '10 tb', 'abc', '', '-1', 'k', '1e3']) assert.equal(parseSize(bad), undefined, JSON.stringify(bad));
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, null, undefined, {}, []]) {
      assert.equal(parseSize(bad), undefined, String(bad));
    }
  });
});

describe('limits', () => {
  test('MAX_TIMER_MS is the longest delay setTimeout holds; one more fires at once', async () => {
    assert.equal(MAX_TIMER_MS, 2 ** 31 - 1);
    assert.equal(formatDuration(MAX_TIMER_MS), '596.5h');
    // Node's own behaviour the limit protects against: a longer delay fires after ~1 ms.
    const fired = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(true), MAX_TIMER_MS + 1);
      setTimeout(() => {
        clearTimeout(t);
        resolve(false);
      }, 200);
    });
    assert.equal(fired, true);
  });

  test('24h for probes, 16MiB for bodies', () => {
    assert.equal(MAX_PROBE_MS, parseDuration('24h'));
    assert.equal(MAX_BODY_BYTES, parseSize('16m'));
  });
});
