/**
 * fsx/safe-write: no write of ours follows a link or lands in a file someone else chose. Planted
 * links and hard links point at a victim file that must stay byte-identical.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UnsafePathError } from '../../../src/errors.js';
import { createExclusive, ensureAppendable, readOwnFile, setAside, tempNameFor, writeFileAtomic } from '../../../src/fsx/safe-write.js';

let dir: string;
let seq = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdm-fsx-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh folder and a victim file outside it. */
function scene(): { folder: string; victim: string } {
  const folder = join(dir, `case-${++seq}`);
  mkdirSync(folder, { mode: 0o700 });
  const victim = join(dir, `victim-${seq}`);
  writeFileSync(victim, 'root:precious:0\n');
  chmodSync(victim, 0o644);
  return { folder, victim };
}
const intact = (victim: string): void => {
  assert.equal(readFileSync(victim, 'utf8'), 'root:precious:0\n', 'the victim is byte-identical');
  assert.equal(statSync(victim).mode & 0o777, 0o644, 'and its mode unchanged');
};

/** Run `f` with a permissive umask, so modes are ours and not the umask's. */
function underUmask<T>(mask: number, f: () => T): T {
  const old = process.umask(mask);
  try {
    return f();
  } finally {
    process.umask(old);
  }
}

describe('createExclusive', () => {
  test('creates a 0600 file (whatever the umask) and refuses anything already there', () => {
    const { folder } = scene();
    const p = join(folder, 'monitor.lock');
    assert.equal(underUmask(0, () => createExclusive(p, 'one')), true);
    assert.equal(statSync(p).mode & 0o777, 0o600);
    assert.equal(createExclusive(p, 'two'), false);
    assert.equal(readFileSync(p, 'utf8'), 'one');
  });

  test('a link (even dangling) at the name is "already there": never followed, its target never created', () => {
    const { folder, victim } = scene();
    const p = join(folder, 'monitor.lock');
    symlinkSync(victim, p);
    assert.equal(createExclusive(p, 'x'), false);
    intact(victim);
    const q = join(folder, 'other.lock');
    const target = join(dir, `not-created-${seq}`);
    symlinkSync(target, q);
    assert.equal(createExclusive(q, 'x'), false);
    assert.equal(existsSync(target), false);
  });
});

describe('writeFileAtomic', () => {
  test('writes 0600 through a random temp name and leaves nothing else behind', () => {
    const { folder } = scene();
    const p = join(folder, 'state.json');
    underUmask(0, () => writeFileAtomic(p, 'a'));
    writeFileAtomic(p, 'b');
    assert.equal(readFileSync(p, 'utf8'), 'b');
    assert.equal(statSync(p).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(folder), ['state.json']);
  });

  test('temp names cannot be guessed: hidden, beside the target, 64 random bits', () => {
    const a = tempNameFor('/x/state.json');
    const b = tempNameFor('/x/state.json');
    assert.notEqual(a, b);
    assert.match(basename(a), /^\.state\.json\.[0-9a-f]{16}\.tmp$/);
    assert.ok(a.startsWith('/x/'));
  });

  test('a link planted at the target is replaced, never written through', () => {
    const { folder, victim } = scene();
    const p = join(folder, 'state.json');
    symlinkSync(victim, p);
    writeFileAtomic(p, '{"version":1}');
    intact(victim);
    assert.ok(lstatSync(p).isFile());
    assert.equal(readFileSync(p, 'utf8'), '{"version":1}');
  });

  test('a hard link at the target is replaced too (the victim keeps its bytes)', () => {
    const { folder, victim } = scene();
    const p = join(folder, 'state.json');
    linkSync(victim, p);
    writeFileAtomic(p, 'new');
    intact(victim);
    assert.equal(readFileSync(p, 'utf8'), 'new');
  });

  test('links at the old predictable temp names (<file>.<pid>.tmp) are never touched', () => {
    const { folder, victim } = scene();
    const p = join(folder, 'control.json');
    symlinkSync(victim, `${p}.${process.pid}.tmp`);
    symlinkSync(victim, join(folder, `.control.json.${process.pid}.tmp`));
    writeFileAtomic(p, 'x');
    intact(victim);
  });
});

describe('readOwnFile', () => {
  test('reads a regular file; a missing one is missing', () => {
    const { folder } = scene();
    const p = join(folder, 'f');
    writeFileSync(p, 'hello');
    const r = readOwnFile(p);
    assert.ok(r.kind === 'ok');
    assert.equal(r.bytes.toString(), 'hello');
    assert.deepEqual(readOwnFile(join(folder, 'nope')), { kind: 'missing' });
  });

  test('a link, a folder, a hard-linked file and an oversized file are unsafe (and not read)', () => {
    const { folder, victim } = scene();
    symlinkSync(victim, join(folder, 'link'));
    assert.deepEqual(readOwnFile(join(folder, 'link')), { kind: 'unsafe', why: 'it is a symbolic link' });
    mkdirSync(join(folder, 'sub'));
    assert.deepEqual(readOwnFile(join(folder, 'sub')), { kind: 'unsafe', why: 'it is not a regular file' });
    linkSync(victim, join(folder, 'hard'));
    assert.match((readOwnFile(join(folder, 'hard')) as { why: string }).why, /2 hard links/);
    writeFileSync(join(folder, 'big'), Buffer.alloc(2000));
    assert.match((readOwnFile(join(folder, 'big'), 1000) as { why: string }).why, /2000 bytes, more than the 1000 allowed/);
    intact(victim);
  });
});

describe('ensureAppendable (the log file before winston opens it)', () => {
  test('creates the file 0600; tightens an existing 0644 file of ours', () => {
    const { folder } = scene();
    const p = join(folder, 'monitor.log');
    underUmask(0, () => ensureAppendable(p));
    assert.equal(statSync(p).mode & 0o777, 0o600);
    const old = join(folder, 'old.log');
    writeFileSync(old, 'kept\n');
    chmodSync(old, 0o644);
    ensureAppendable(old);
    assert.equal(statSync(old).mode & 0o777, 0o600);
    assert.equal(readFileSync(old, 'utf8'), 'kept\n', 'content kept');
  });

  test('a link is refused with UnsafePathError naming the file; the victim is byte-identical', () => {
    const { folder, victim } = scene();
    const p = join(folder, 'monitor.log');
    symlinkSync(victim, p);
    assert.throws(() => ensureAppendable(p), (err: unknown) => err instanceof UnsafePathError && err.message.includes(`${p} is a symbolic link`));
    intact(victim);
  });

  test('a hard link to another file is refused', () => {
    const { folder, victim } = scene();
    const p = join(folder, 'monitor.log');
    linkSync(victim, p);
    assert.throws(() => ensureAppendable(p), /hard links/);
    intact(victim);
  });
});

describe('setAside', () => {
  test('with the bytes read: a private copy beside it, the original left', () => {
    const { folder } = scene();
    const p = join(folder, 'state.json');
    writeFileSync(p, 'bad');
    const a = setAside(p, Buffer.from('bad'), 'corrupt');
    const b = setAside(p, Buffer.from('bad'), 'corrupt');
    assert.notEqual(a, b, 'two asides in one millisecond get two names');
    assert.match(basename(a), /^state\.json\.corrupt-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/);
    assert.equal(readFileSync(a, 'utf8'), 'bad');
    assert.equal(statSync(a).mode & 0o777, 0o600);
    assert.ok(existsSync(p));
  });

  test('without bytes (a link): the link itself is moved, its target untouched', () => {
    const { folder, victim } = scene();
    const p = join(folder, 'state.json');
    symlinkSync(victim, p);
    const a = setAside(p, undefined, 'corrupt');
    assert.equal(existsSync(p), false);
    assert.ok(lstatSync(a).isSymbolicLink());
    intact(victim);
  });
});
