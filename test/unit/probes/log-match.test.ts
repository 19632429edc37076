/**
 * The log_match tracker on real files: counts in a window, fires once per accumulation, reads
 * only new bytes, follows rotation and truncation, cuts lines at 8 KiB, bounds the bytes read per
 * check, and starts afresh on reset(). A backtracking pattern against a long line ends quickly.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { LogMatchConfig } from '../../../src/config/rules.js';
import { LogMatchTracker, splitLines } from '../../../src/probes/log-match.js';

const dir = mkdtempSync(join(tmpdir(), 'hdm-logmatch-'));
let seq = 0;
after(() => rmSync(dir, { recursive: true, force: true }));

const rule = (over: Partial<LogMatchConfig> = {}): LogMatchConfig => ({ pattern: 'FATAL', minCount: 3, windowMs: 60_000, stream: 'both', action: 'restart', maxReadBytes: 1 << 20, ...over });

function file(initial = 'old FATAL line from before the monitor\n'): string {
  const f = join(dir, `app-${++seq}.log`);
  writeFileSync(f, initial);
  return f;
}

describe('counting', () => {
  test('starts at the end: what was there before is not counted; 2 matches do not fire, the 3rd does, once', () => {
    const f = file();
    const t = new LogMatchTracker(rule(), [f]);
    assert.equal(t.observe(0).count, 0);
    appendFileSync(f, 'FATAL one\nfine\nFATAL two\n');
    const two = t.observe(1000);
    assert.equal(two.fired, false);
    assert.equal(two.count, 2);
    appendFileSync(f, 'still fine\n');
    assert.equal(t.observe(2000).fired, false);
    appendFileSync(f, 'FATAL three\n');
    const fired = t.observe(3000);
    assert.ok(fired.fired, JSON.stringify(fired));
    assert.equal(fired.line, 'FATAL three');
    assert.match(fired.detail, /log matched \/FATAL\/ 3 times within 60 s \(min_count 3\) in .*app-\d+\.log: "FATAL three"/);
    // Fired: the count starts over.
    appendFileSync(f, 'FATAL four\n');
    const after = t.observe(4000);
    assert.equal(after.fired, false);
    assert.equal(after.count, 1);
  });

  test('matches older than the window drop out', () => {
    const f = file('');
    const t = new LogMatchTracker(rule({ windowMs: 10_000 }), [f]);
    appendFileSync(f, 'FATAL a\nFATAL b\n');
    assert.equal(t.observe(0).count, 2);
    appendFileSync(f, 'FATAL c\n');
    const late = t.observe(10_000);
    assert.equal(late.fired, false, 'the first two are out of the window');
    assert.equal(late.count, 1);
  });

  test('a line not ended yet is matched once it ends, not twice', () => {
    const f = file('');
    const t = new LogMatchTracker(rule({ minCount: 1 }), [f]);
    appendFileSync(f, 'FAT');
    assert.equal(t.observe(0).fired, false);
    appendFileSync(f, 'AL split over two writes\n');
    const o = t.observe(1);
    assert.ok(o.fired);
    assert.equal(o.line, 'FATAL split over two writes');
  });

  test('several files (out and err, several instances) count together', () => {
    const out = file('');
    const err = file('');
    const t = new LogMatchTracker(rule(), [out, err]);
    appendFileSync(out, 'FATAL out\n');
    appendFileSync(err, 'FATAL err\nFATAL err again\n');
    assert.ok(t.observe(0).fired);
  });
});

describe('files change under it', () => {
  test('rotation (a new file under the name) is read from its start', () => {
    const f = file('');
    const t = new LogMatchTracker(rule({ minCount: 1 }), [f]);
    appendFileSync(f, 'fine\n'.repeat(100));
    t.observe(0);
    renameSync(f, `${f}.1`);
    writeFileSync(f, 'FATAL in the new file\n');
    const o = t.observe(1);
    assert.ok(o.fired);
    assert.equal(o.line, 'FATAL in the new file');
  });

  test('truncation (copytruncate) is read from the start', () => {
    const f = file('');
    const t = new LogMatchTracker(rule({ minCount: 1 }), [f]);
    appendFileSync(f, 'fine\n'.repeat(100));
    t.observe(0);
    truncateSync(f, 0);
    appendFileSync(f, 'FATAL after truncate\n');
    assert.ok(t.observe(1).fired);
  });

  test('a missing file is waited for, then read from its start', () => {
    const f = join(dir, `later-${++seq}.log`);
    const t = new LogMatchTracker(rule({ minCount: 1 }), [f]);
    assert.equal(t.observe(0).fired, false);
    writeFileSync(f, 'FATAL first words\n');
    assert.ok(t.observe(1).fired);
  });

  test('reset (a new instance) forgets the count and skips what was written before', () => {
    const f = file('');
    const t = new LogMatchTracker(rule(), [f]);
    appendFileSync(f, 'FATAL 1\nFATAL 2\n');
    assert.equal(t.observe(0).count, 2);
    appendFileSync(f, 'FATAL written by the dying instance\n');
    t.reset();
    const o = t.observe(1);
    assert.equal(o.fired, false);
    assert.equal(o.count, 0);
  });
});

describe('bounds', () => {
  test('lines are cut at 8 KiB: a match after the cut is not seen, one before it is', () => {
    const f = file('');
    const t = new LogMatchTracker(rule({ minCount: 1 }), [f]);
    appendFileSync(f, `${'x'.repeat(9000)} FATAL\n`);
    assert.equal(t.observe(0).fired, false);
    appendFileSync(f, `FATAL ${'y'.repeat(20_000)}\n`);
    const o = t.observe(1);
    assert.ok(o.fired);
    assert.equal(o.line.length, 200, 'the message quotes 200 characters of it');
  });

  test('a backlog above max_read is skipped to its newest part, starting at a line boundary', () => {
    const f = file('');
    const t = new LogMatchTracker(rule({ minCount: 1, maxReadBytes: 4096 }), [f]);
    appendFileSync(f, `FATAL old\n${'filler line\n'.repeat(2000)}FATAL new\n`);
    const o = t.observe(0);
    assert.ok(o.fired);
    assert.equal(o.line, 'FATAL new');
    assert.equal(o.count, 1, 'the skipped FATAL is not counted');
    assert.equal(o.newBytes, 4096);
    assert.equal(o.skippedBytes + o.newBytes, 10 + 2000 * 12 + 10, 'skipped and read add up to the backlog');
  });

  test('(a+)+$ against a 100 KB line and 1 MiB of such lines ends fast (RE2: linear time)', () => {
    const f = file('');
    const t = new LogMatchTracker(rule({ pattern: '(a+)+$', minCount: 1_000 }), [f]);
    appendFileSync(f, `${'a'.repeat(100 * 1024)}b\n`.repeat(10));
    const t0 = performance.now();
    const o = t.observe(0);
    const ms = performance.now() - t0;
    assert.equal(o.count, 10, 'each line cut at 8 KiB of a matches');
    // Backtracking would take longer than the age of the universe; generous for a slow CI machine.
    assert.ok(ms < 5000, `took ${ms.toFixed(0)} ms`);
  });

  test('splitLines carries the unfinished tail and drops the rest of an overlong line', () => {
    const st = { ino: 1, offset: 0, carry: Buffer.alloc(0), overlong: false };
    assert.deepEqual(splitLines(st, Buffer.from('a\nb\nc')), ['a', 'b']);
    assert.deepEqual(splitLines(st, Buffer.from('d\n')), ['cd']);
    const long = Buffer.alloc(10_000, 0x7a);
    assert.deepEqual(splitLines(st, long), []);
    const out = splitLines(st, Buffer.from('tail\nnext\n'));
    assert.equal(out[0]?.length, 8192);
    assert.equal(out[1], 'next');
  });
});
