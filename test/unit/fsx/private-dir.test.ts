/**
 * fsx/private-dir: the state dir is created 0700; one owned by another uid or writable by others
 * is refused with a message saying what to do; one of ours only readable by others is repaired.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UnsafePathError } from '../../../src/errors.js';
import { ensurePrivateDir, octal } from '../../../src/fsx/private-dir.js';
import { nobodyIds } from '../../helpers/holders.js';

let dir: string;
let seq = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdm-pdir-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));
const fresh = (): string => join(dir, `case-${++seq}`);
const modeOf = (p: string): number => statSync(p).mode & 0o777;

describe('ensurePrivateDir', () => {
  test('a missing folder (and its missing parents) is created 0700, whatever the umask', () => {
    const p = join(fresh(), 'a', 'state');
    const old = process.umask(0);
    try {
      const r = ensurePrivateDir(p);
      assert.deepEqual(r, { path: p, created: true });
    } finally {
      process.umask(old);
    }
    assert.equal(modeOf(p), 0o700);
    assert.equal(modeOf(join(p, '..')), 0o700);
  });

  test('a private folder of ours is accepted as it is', () => {
    const p = fresh();
    mkdirSync(p, { mode: 0o700 });
    assert.deepEqual(ensurePrivateDir(p), { path: p, created: false });
  });

  test('ours but readable by others (0755 from an earlier version, 0750 from `timer install`): repaired to 0700', () => {
    for (const mode of [0o755, 0o750, 0o711]) {
      const p = fresh();
      mkdirSync(p);
      chmodSync(p, mode);
      assert.deepEqual(ensurePrivateDir(p), { path: p, created: false, repairedFrom: mode });
      assert.equal(modeOf(p), 0o700, octal(mode));
    }
  });

  test('writable by its group or by everyone: refused with what to do, mode left alone', () => {
    const cases: [number, RegExp][] = [
      [0o770, /is writable by its group \(mode 0770\)/],
      [0o777, /is writable by its group and everyone \(mode 0777\)/],
      [0o703, /is writable by everyone \(mode 0703\)/],
    ];
    for (const [mode, re] of cases) {
      const p = fresh();
      mkdirSync(p);
      chmodSync(p, mode);
      assert.throws(() => ensurePrivateDir(p), (err: unknown) => {
        assert.ok(err instanceof UnsafePathError);
        assert.match(err.message, new RegExp(`^state_dir ${p} `));
        assert.match(err.message, re);
        assert.match(err.message, new RegExp(`chmod 700 ${p}$`));
        assert.equal(err.path, p);
        return true;
      });
      assert.equal(modeOf(p), mode, 'not silently changed');
    }
  });

  test('not a folder: refused', () => {
    const p = fresh();
    writeFileSync(p, '');
    assert.throws(() => ensurePrivateDir(p), /is not a directory/);
  });

  test('owned by another uid: refused, even when private', (t) => {
    const uid = nobodyIds()?.uid;
    if (uid === undefined) return t.skip('needs root (and a user nobody) to give a folder to another uid');
    const p = fresh();
    mkdirSync(p, { mode: 0o700 });
    chownSync(p, uid, uid);
    assert.throws(() => ensurePrivateDir(p), (err: unknown) => err instanceof UnsafePathError && new RegExp(`is owned by uid ${uid}, not by the monitor's user \\(uid 0\\)`).test(err.message) && /chown 0 /.test(err.message));
    assert.equal(statSync(p).uid, uid, 'left as it was');
  });
});
