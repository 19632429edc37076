import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { LogActivityTracker, type LogActivityOutcome } from '../../../src/probes/log-activity.js';

interface Seen {
  size: number;
  mtimeMs: number;
  ino: number;
}

const FILE = '/var/log/app/out.log';
const TIMEOUT = 3000;

/** A fake file the tracker stats through its injected stat function (undefined: missing). */
function fakeFile(initial: Seen | undefined): { stat: (path: string) => Seen | undefined; set: (s: Seen | undefined) => void; calls: string[] } {
  let cur = initial;
  const calls: string[] = [];
  return {
    stat: (path) => {
      calls.push(path);
      return cur ? { ...cur } : undefined;
    },
    set: (s) => {
      cur = s;
    },
    calls,
  };
}

function assertOk(o: LogActivityOutcome): asserts o is Extract<LogActivityOutcome, { ok: true }> {
  assert.equal(o.ok, true, `expected activity or tolerated silence, got ${JSON.stringify(o)}`);
}

function assertFailed(o: LogActivityOutcome): asserts o is Extract<LogActivityOutcome, { ok: false }> {
  assert.equal(o.ok, false, `expected a failure, got ${JSON.stringify(o)}`);
}

describe('LogActivityTracker (injected stat, explicit now)', () => {
  test('stats the configured file, at construction and on every observation', () => {
    const f = fakeFile({ size: 10, mtimeMs: 1, ino: 7 });
    const t = new LogActivityTracker(FILE, TIMEOUT, 0, f.stat);
    t.observe(500);
    assert.equal(t.file, FILE);
    assert.deepEqual(f.calls, [FILE, FILE]);
  });

  test('an unchanged file right after construction is ok: silence counts from construction', () => {
    const f = fakeFile({ size: 10, mtimeMs: 1, ino: 7 });
    const t = new LogActivityTracker(FILE, TIMEOUT, 1000, f.stat);
    const o = t.observe(1000);
    assertOk(o);
    assert.deepEqual(o, { ok: true, file: FILE, newBytes: 0, silentMs: 0, rotated: false });
    const later = t.observe(3999);
    assertOk(later);
    assert.equal(later.silentMs, 2999);
  });

  test('growth is activity and reports the new bytes', () => {
    const f = fakeFile({ size: 100, mtimeMs: 1, ino: 7 });
    const t = new LogActivityTracker(FILE, TIMEOUT, 0, f.stat);
    f.set({ size: 142, mtimeMs: 2, ino: 7 });
    const o = t.observe(2500);
    assertOk(o);
    assert.deepEqual(o, { ok: true, file: FILE, newBytes: 42, silentMs: 0, rotated: false });
    // The clock restarted at 2500: 2999 ms later is still inside the timeout.
    const quiet = t.observe(5499);
    assertOk(quiet);
    assert.equal(quiet.newBytes, 0);
    assert.equal(quiet.silentMs, 2999);
  });

  test('growth alone (same mtime, e.g. a coarse-mtime filesystem) is activity', () => {
    const f = fakeFile({ size: 100, mtimeMs: 1, ino: 7 });
    const t = new LogActivityTracker(FILE, TIMEOUT, 0, f.stat);
    f.set({ size: 120, mtimeMs: 1, ino: 7 });
    const o = t.observe(2900);
    assertOk(o);
    assert.equal(o.newBytes, 20);
    assert.equal(o.silentMs, 0);
  });

  test('an mtime change without growth (touch, rewrite in place) is activity', () => {
    const f = fakeFile({ size: 100, mtimeMs: 1000, ino: 7 });
    const t = new LogActivityTracker(FILE, TIMEOUT, 0, f.stat);
    f.set({ size: 100, mtimeMs: 2500, ino: 7 });
    const o = t.observe(2900);
    assertOk(o);
    assert.deepEqual(o, { ok: true, file: FILE, newBytes: 0, silentMs: 0, rotated: false });
    assertOk(t.observe(5800));
    assertFailed(t.observe(5900));
  });

  test('truncation (same inode, smaller size) is activity flagged as rotated, not silence', () => {
    const f = fakeFile({ size: 5000, mtimeMs: 1, ino: 7 });
    const t = new LogActivityTracker(FILE, TIMEOUT, 0, f.stat);
    // Truncated to 0 just before the timeout; even with an unchanged mtime it is activity.
    f.set({ size: 0, mtimeMs: 1, ino: 7 });
    const o = t.observe(2999);
    assertOk(o);
    assert.equal(o.rotated, true);
    assert.equal(o.silentMs, 0);
    assert.equal(o.newBytes, 0, 'nothing written since the truncation');
    // The clock restarted at the truncation: still fine 2.9 s later.
    const quiet = t.observe(5900);
    assertOk(quiet);
    assert.equal(quiet.rotated, false);
    // Writes after the truncation grow from 0, far below the old size: still activity.
    f.set({ size: 30, mtimeMs: 2, ino: 7 });
    const grew = t.observe(6000);
    assertOk(grew);
    assert.equal(grew.newBytes, 30);
    assert.equal(grew.rotated, false);
  });

  test('truncated and rewritten to the same size between two checks: the mtime shows the activity', () => {
    const f = fakeFile({ size: 100, mtimeMs: 10, ino: 7 });
    const t = new LogActivityTracker(FILE, TIMEOUT, 0, f.stat);
    f.set({ size: 100, mtimeMs: 20, ino: 7 });
    const o = t.observe(2999);
    assertOk(o);
    assert.equal(o.silentMs, 0);
  });

  test('rotation (new inode, smaller size) is activity; newBytes counts the new file', () => {
    const f = fakeFile({ size: 5000, mtimeMs: 10, ino: 7 });
    const t = new LogActivityTracker(FILE, TIMEOUT, 0, f.stat);
    f.set({ size: 64, mtimeMs: 20, ino: 8 });
    const o = t.observe(2000);
    assertOk(o);
    assert.deepEqual(o, { ok: true, file: FILE, newBytes: 64, silentMs: 0, rotated: true });
  });

  test('a new inode is rotation even when the new file is larger and has the same mtime', () => {
    const f = fakeFile({ size: 50, mtimeMs: 10, ino: 7 });
    const t = new LogActivityTracker(FILE, TIMEOUT, 0, f.stat);
    f.set({ size: 80, mtimeMs: 10, ino: 9 });
    const o = t.observe(2000);
    assertOk(o);
    assert.equal(o.rotated, true);
    assert.equal(o.newBytes, 80);
    // Same size and mtime, new inode (an empty file replaced by another empty one) is activity too.
    f.set({ size: 80, mtimeMs: 10, ino: 10 });
    const again = t.observe(4500);
    assertOk(again);
    assert.equal(again.rotated, true);
    assert.equal(again.silentMs, 0);
  });

  test('silence of exactly the timeout fails with a clear detail, and keeps failing', () => {
    const f = fakeFile({ size: 100, mtimeMs: 1, ino: 7 });
    const t = new LogActivityTracker(FILE, TIMEOUT, 1000, f.stat);
    assertOk(t.observe(2000));
    assertOk(t.observe(3999));
    const o = t.observe(4000);
    assertFailed(o);
    assert.equal(o.failure, 'silent');
    assert.equal(o.silentMs, 3000);
    assert.equal(o.file, FILE);
    assert.equal(o.detail, `no new log lines in ${FILE} for 3 s (timeout 3 s)`);
    const later = t.observe(9400);
    assertFailed(later);
    assert.equal(later.failure, 'silent');
    assert.equal(later.silentMs, 8400);
    assert.match(later.detail, /for 8 s \(timeout 3 s\)/);
  });

  test('silence just under the timeout is ok and reports how long it has been silent', () => {
    const f = fakeFile({ size: 100, mtimeMs: 1, ino: 7 });
    const t = new LogActivityTracker(FILE, 60_000, 0, f.stat);
    const o = t.observe(59_999);
    assertOk(o);
    assert.deepEqual(o, { ok: true, file: FILE, newBytes: 0, silentMs: 59_999, rotated: false });
    assertFailed(t.observe(60_000));
  });

  test('a write after a silent failure recovers at once', () => {
    const f = fakeFile({ size: 100, mtimeMs: 1, ino: 7 });
    const t = new LogActivityTracker(FILE, TIMEOUT, 0, f.stat);
    assertFailed(t.observe(3500));
    f.set({ size: 110, mtimeMs: 2, ino: 7 });
    const o = t.observe(4000);
    assertOk(o);
    assert.equal(o.newBytes, 10);
    assert.equal(o.silentMs, 0);
  });

  test('a missing file is a "missing" failure, never "silent", however long it stays missing', () => {
    const f = fakeFile(undefined);
    const t = new LogActivityTracker(FILE, TIMEOUT, 0, f.stat);
    for (const now of [0, 1000, 3000, 60_000]) {
      const o = t.observe(now);
      assertFailed(o);
      assert.equal(o.failure, 'missing', `at ${now} ms`);
      assert.equal(o.silentMs, now);
      assert.equal(o.detail, `log file ${FILE} does not exist`);
    }
  });

  test('a file that appears after being missing is activity', () => {
    const f = fakeFile(undefined);
    const t = new LogActivityTracker(FILE, TIMEOUT, 0, f.stat);
    assertFailed(t.observe(5000));
    f.set({ size: 12, mtimeMs: 1, ino: 3 });
    const o = t.observe(6000);
    assertOk(o);
    assert.deepEqual(o, { ok: true, file: FILE, newBytes: 12, silentMs: 0, rotated: false });
    assertOk(t.observe(8999));
    assertFailed(t.observe(9000));
  });

  test('a file that disappears (rename-rotation) and comes back as a new file is missing, then activity', () => {
    const f = fakeFile({ size: 5000, mtimeMs: 1, ino: 7 });
    const t = new LogActivityTracker(FILE, TIMEOUT, 0, f.stat);
    f.set(undefined);
    const gone = t.observe(1000);
    assertFailed(gone);
    assert.equal(gone.failure, 'missing');
    f.set({ size: 40, mtimeMs: 2, ino: 8 });
    const back = t.observe(3500);
    assertOk(back);
    assert.equal(back.rotated, true);
    assert.equal(back.silentMs, 0);
  });

  test('reset() restarts the silence clock and takes the file as it is now', () => {
    const f = fakeFile({ size: 100, mtimeMs: 1, ino: 7 });
    const t = new LogActivityTracker(FILE, TIMEOUT, 0, f.stat);
    assertFailed(t.observe(3000));
    // The app was restarted at 3200 and wrote a banner; reset sees the file with it.
    f.set({ size: 150, mtimeMs: 2, ino: 7 });
    t.reset(3200);
    const o = t.observe(3300);
    assertOk(o);
    assert.equal(o.newBytes, 0, 'the banner written before reset() is not new');
    assert.equal(o.silentMs, 100);
    assertOk(t.observe(6199));
    const silent = t.observe(6200);
    assertFailed(silent);
    assert.equal(silent.silentMs, 3000);
  });

  test('reset() before the timeout also postpones the failure', () => {
    const f = fakeFile({ size: 100, mtimeMs: 1, ino: 7 });
    const t = new LogActivityTracker(FILE, TIMEOUT, 0, f.stat);
    assertOk(t.observe(2900));
    t.reset(2900);
    assertOk(t.observe(5000));
    assertOk(t.observe(5899));
    assertFailed(t.observe(5900));
  });
});

describe('LogActivityTracker on real files (default stat)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hdm-logact-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('growth, touch, truncation, rotation and deletion of a real file', () => {
    const file = join(dir, 'app.log');
    writeFileSync(file, 'ready\n');
    const t = new LogActivityTracker(file, TIMEOUT, 0);
    assertOk(t.observe(100));

    appendFileSync(file, 'line 1\n');
    const grew = t.observe(1000);
    assertOk(grew);
    assert.equal(grew.newBytes, 7);
    assert.equal(grew.rotated, false);

    assertFailed(t.observe(4000));

    // mtime only (`touch`): same size, new mtime.
    const mtime = new Date(Date.now() + 5000);
    utimesSync(file, mtime, mtime);
    const touched = t.observe(4100);
    assertOk(touched);
    assert.equal(touched.newBytes, 0);
    assert.equal(touched.silentMs, 0);

    // Truncation in place (copytruncate).
    truncateSync(file, 0);
    const truncated = t.observe(5000);
    assertOk(truncated);
    assert.equal(truncated.rotated, true);

    // Rename rotation: the app opens the path again and writes a new, smaller file.
    appendFileSync(file, 'x'.repeat(4096));
    assertOk(t.observe(6000));
    renameSync(file, `${file}.1`);
    appendFileSync(file, 'after rotation\n');
    const rotated = t.observe(7000);
    assertOk(rotated);
    assert.equal(rotated.rotated, true);
    assert.equal(rotated.newBytes, 15);

    assertOk(t.observe(9999));
    assertFailed(t.observe(10_000));

    unlinkSync(file);
    const missing = t.observe(11_000);
    assertFailed(missing);
    assert.equal(missing.failure, 'missing');
    assert.match(missing.detail, /does not exist/);
  });

  test('a real file that does not exist yet: missing, then activity once it is written', () => {
    const file = join(dir, 'later.log');
    const t = new LogActivityTracker(file, TIMEOUT, 0);
    const o = t.observe(10_000);
    assertFailed(o);
    assert.equal(o.failure, 'missing');
    writeFileSync(file, 'hello\n');
    const w = t.observe(11_000);
    assertOk(w);
    assert.equal(w.newBytes, 6);
  });

  test('a rename-rotation keeping the same size is still caught through the inode', () => {
    const file = join(dir, 'same-size.log');
    writeFileSync(file, 'abc\n');
    const t = new LogActivityTracker(file, TIMEOUT, 0);
    const mtime = new Date(1_700_000_000_000);
    utimesSync(file, mtime, mtime);
    t.reset(0);
    renameSync(file, `${file}.1`);
    writeFileSync(file, 'xyz\n');
    utimesSync(file, mtime, mtime);
    const o = t.observe(2999);
    assertOk(o);
    assert.equal(o.rotated, true);
    assert.equal(o.silentMs, 0);
  });
});
