/** control.json: `pause`, `resume` and `reset` written by the CLI, read by the monitor. */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { controlFilePath, readControl, requesterOf, updateControl } from '../../../src/state/control.js';
import type { Requester } from '../../../src/engine/view.js';
import { UnsafePathError } from '../../../src/errors.js';

let dir: string;
let seq = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdm-control-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A control.json path in a directory of its own (not created yet). */
const freshPath = (): string => controlFilePath(join(dir, `case-${++seq}`));
const onDisk = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));
/** A control.json with the given text, as a person or a crash might leave it. */
function broken(text: string): string {
  const path = freshPath();
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

const T = Date.parse('2024-05-01T12:30:00.000Z');
const R = Date.parse('2024-05-01T12:00:00.000Z');

describe('controlFilePath', () => {
  test('is control.json in the state dir', () => {
    assert.equal(controlFilePath('/var/lib/hdm'), '/var/lib/hdm/control.json');
  });
});

describe('updateControl', () => {
  test('pause until a time: creates the directory and the file', () => {
    const path = freshPath();
    updateControl(path, 'api', { pausedUntil: T });
    assert.deepEqual(onDisk(path), { version: 1, apps: { api: { paused_until: '2024-05-01T12:30:00.000Z' } } });
    assert.deepEqual(readdirSync(dirname(path)), ['control.json'], 'no temp file left behind');
  });

  test('pause indefinitely', () => {
    const path = freshPath();
    updateControl(path, 'api', { pausedUntil: 'indefinite' });
    assert.deepEqual(onDisk(path), { version: 1, apps: { api: { paused_until: 'indefinite' } } });
  });

  test('a new pause replaces the old one', () => {
    const path = freshPath();
    updateControl(path, 'api', { pausedUntil: 'indefinite' });
    updateControl(path, 'api', { pausedUntil: T });
    assert.deepEqual(onDisk(path), { version: 1, apps: { api: { paused_until: '2024-05-01T12:30:00.000Z' } } });
  });

  test('resume removes the pause and keeps the reset', () => {
    const path = freshPath();
    updateControl(path, 'api', { pausedUntil: 'indefinite' });
    updateControl(path, 'api', { resetAt: R });
    updateControl(path, 'api', { pausedUntil: null });
    assert.deepEqual(onDisk(path), { version: 1, apps: { api: { reset_at: '2024-05-01T12:00:00.000Z' } } });
    assert.deepEqual(readControl(path).get('api'), { resetAt: R });
  });

  test('resume of an app that was never paused is harmless', () => {
    const path = freshPath();
    updateControl(path, 'api', { pausedUntil: null });
    assert.deepEqual(onDisk(path), { version: 1, apps: { api: {} } });
    assert.deepEqual(readControl(path).get('api'), {});
  });

  test('reset sets reset_at and keeps the pause; a later reset replaces it', () => {
    const path = freshPath();
    updateControl(path, 'api', { pausedUntil: T });
    updateControl(path, 'api', { resetAt: R });
    assert.deepEqual(onDisk(path), { version: 1, apps: { api: { paused_until: '2024-05-01T12:30:00.000Z', reset_at: '2024-05-01T12:00:00.000Z' } } });
    updateControl(path, 'api', { resetAt: R + 1000 });
    assert.equal(readControl(path).get('api')?.resetAt, R + 1000);
  });

  test('other apps are left alone', () => {
    const path = freshPath();
    updateControl(path, 'api', { pausedUntil: T });
    updateControl(path, 'worker', { resetAt: R });
    updateControl(path, 'api', { pausedUntil: null });
    assert.deepEqual(onDisk(path), { version: 1, apps: { api: {}, worker: { reset_at: '2024-05-01T12:00:00.000Z' } } });
  });

  test('a broken control.json is replaced', () => {
    const path = broken('{"version": 1, "apps": {"api": {"paused_unt');
    updateControl(path, 'worker', { pausedUntil: 'indefinite' });
    assert.deepEqual(onDisk(path), { version: 1, apps: { worker: { paused_until: 'indefinite' } } });
    assert.deepEqual([...readControl(path)], [['worker', { pausedUntil: 'indefinite' }]]);
  });

  test(
    'a control.json holding JSON null is replaced too',
    () => {
      const path = broken('null');
      updateControl(path, 'api', { resetAt: R });
      assert.deepEqual(onDisk(path), { version: 1, apps: { api: { reset_at: '2024-05-01T12:00:00.000Z' } } });
    },
  );
});

describe('readControl', () => {
  test('a missing file is no control', () => {
    const m = readControl(freshPath());
    assert.equal(m.size, 0);
  });

  test('parses pauses (a time or indefinite) and resets as wall-clock ms', () => {
    const path = broken(
      JSON.stringify({
        version: 1,
        apps: {
          api: { paused_until: '2024-05-01T12:30:00.000Z', reset_at: '2024-05-01T12:00:00.000Z' },
          worker: { paused_until: 'indefinite' },
          quiet: {},
        },
      }),
    );
    const m = readControl(path);
    assert.deepEqual(m.get('api'), { pausedUntil: T, resetAt: R });
    assert.deepEqual(m.get('worker'), { pausedUntil: 'indefinite' });
    assert.deepEqual(m.get('quiet'), {});
    assert.equal(m.size, 3);
  });

  test('reads back what updateControl wrote', () => {
    const path = freshPath();
    updateControl(path, 'api', { pausedUntil: T });
    updateControl(path, 'api', { resetAt: R });
    updateControl(path, 'worker', { pausedUntil: 'indefinite' });
    const m = readControl(path);
    assert.deepEqual(m.get('api'), { pausedUntil: T, resetAt: R });
    assert.deepEqual(m.get('worker'), { pausedUntil: 'indefinite' });
  });

  test('unparsable times make the entry invalid: no pause, no reset for that app', () => {
    const path = broken(JSON.stringify({ version: 1, apps: { api: { paused_until: 'tomorrow', reset_at: 'now' } } }));
    assert.equal(readControl(path).get('api'), undefined);
  });

  test('a broken control.json reads as empty', () => {
    for (const text of ['', '{not json', '\u0000\u00ff\u0001', '{"version":1,"apps":', '[]', '42', '{"version":1}']) {
      assert.equal(readControl(broken(text)).size, 0, JSON.stringify(text));
    }
  });

  test(
    'JSON null, or null for an app, reads as empty instead of throwing',
    () => {
      assert.equal(readControl(broken('null')).size, 0);
      const m = readControl(broken('{"version":1,"apps":{"api":null,"worker":{"paused_until":"indefinite"}}}'));
      assert.equal(m.has('api'), false);
      assert.deepEqual(m.get('worker'), { pausedUntil: 'indefinite' });
    },
  );
});

const asides = (path: string): string[] => readdirSync(dirname(path)).filter((f) => f.startsWith('control.json.corrupt-'));

describe('a bad control file is kept aside once and cannot stop the monitor', () => {
  test('an invalid entry: the others still apply, one warning, the copy kept, the file rewritten clean', () => {
    const text = '{"version":1,"apps":{"api":null,"bad":{"paused_until":5},"worker":{"paused_until":"indefinite"}}}';
    const path = broken(text);
    const warnings: string[] = [];
    const m = readControl(path, (w) => warnings.push(w));
    assert.deepEqual([...m], [['worker', { pausedUntil: 'indefinite' }]]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /has invalid entries \("api": \(root\): .*; "bad": paused_until: .*\) \(kept as .*control\.json\.corrupt-.*\)/);
    assert.equal(asides(path).length, 1);
    assert.equal(readFileSync(join(dirname(path), asides(path)[0]!), 'utf8'), text, 'byte for byte');
    assert.deepEqual(onDisk(path), { version: 1, apps: { worker: { paused_until: 'indefinite' } } });
    // Read again (the monitor watches the file): clean now, nothing more said or kept.
    assert.deepEqual([...readControl(path, (w) => warnings.push(w))], [['worker', { pausedUntil: 'indefinite' }]]);
    assert.equal(warnings.length, 1);
    assert.equal(asides(path).length, 1);
  });

  test('a document that is not a control document is kept aside and replaced by an empty one', () => {
    for (const text of ['{"version":1,"apps":[]}', '{"version":2,"apps":{}}', 'null', '{not json']) {
      const path = broken(text);
      const warnings: string[] = [];
      assert.equal(readControl(path, (w) => warnings.push(w)).size, 0, text);
      assert.equal(warnings.length, 1, text);
      assert.equal(asides(path).length, 1, text);
      assert.deepEqual(onDisk(path), { version: 1, apps: {} }, text);
    }
  });
});

describe('app names in control.json are data', () => {
  test('an app named __proto__ (or constructor) is paused like any other and touches no prototype', () => {
    const path = freshPath();
    updateControl(path, '__proto__', { pausedUntil: 'indefinite' });
    updateControl(path, 'constructor', { resetAt: R });
    assert.match(readFileSync(path, 'utf8'), /"__proto__": \{/);
    const m = readControl(path);
    assert.deepEqual(m.get('__proto__'), { pausedUntil: 'indefinite' });
    assert.deepEqual(m.get('constructor'), { resetAt: R });
    assert.equal(m.size, 2);
    assert.equal(({} as Record<string, unknown>)['paused_until'], undefined);
  });

  test('a hand-written "__proto__" entry is read as the app of that name, not as a prototype', () => {
    const m = readControl(broken('{"version":1,"apps":{"__proto__":{"paused_until":"indefinite"}}}'));
    assert.deepEqual([...m], [['__proto__', { pausedUntil: 'indefinite' }]]);
  });
});

describe('control.json is written privately and never through a link', () => {
  test('the state dir is created 0700, the file 0600', () => {
    const path = freshPath();
    updateControl(path, 'api', { pausedUntil: T });
    assert.equal(statSync(dirname(path)).mode & 0o777, 0o700);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  test('a link planted at control.json: the victim is byte-identical, the link replaced', () => {
    const path = freshPath();
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const victim = join(dir, `victim-${seq}`);
    writeFileSync(victim, '{"version":1,"apps":{"x":{}}}');
    symlinkSync(victim, path);
    updateControl(path, 'api', { pausedUntil: 'indefinite' });
    assert.equal(readFileSync(victim, 'utf8'), '{"version":1,"apps":{"x":{}}}');
    assert.ok(lstatSync(path).isFile());
    assert.deepEqual(onDisk(path), { version: 1, apps: { api: { paused_until: 'indefinite' } } });
  });

  test('a link at control.json read by the monitor: not followed, moved aside', () => {
    const path = freshPath();
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const victim = join(dir, `victim-${seq}`);
    writeFileSync(victim, '{"version":1,"apps":{"api":{"paused_until":"indefinite"}}}');
    symlinkSync(victim, path);
    const warnings: string[] = [];
    assert.equal(readControl(path, (w) => warnings.push(w)).size, 0, 'nothing read through the link');
    assert.match(warnings[0] ?? '', /cannot be read \(it is a symbolic link\)/);
    assert.ok(lstatSync(join(dirname(path), asides(path)[0]!)).isSymbolicLink());
    assert.equal(readFileSync(victim, 'utf8'), '{"version":1,"apps":{"api":{"paused_until":"indefinite"}}}');
  });

  test('the old predictable temp name (control.json.<pid>.tmp) as a link is never written', () => {
    const path = freshPath();
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const victim = join(dir, `victim-${seq}`);
    writeFileSync(victim, 'precious');
    symlinkSync(victim, `${path}.${process.pid}.tmp`);
    updateControl(path, 'api', { resetAt: R });
    assert.equal(readFileSync(victim, 'utf8'), 'precious');
    assert.ok(existsSync(path));
  });

  test('a group-writable state dir is refused (UnsafePathError), nothing written', () => {
    const path = freshPath();
    mkdirSync(dirname(path), { recursive: true });
    chmodSync(dirname(path), 0o770);
    assert.throws(() => updateControl(path, 'api', { pausedUntil: T }), (err: unknown) => err instanceof UnsafePathError && /is writable by its group .*chmod 700/.test(err.message));
    assert.equal(existsSync(path), false);
  });
});

describe('who asked is recorded beside each change', () => {
  const ALICE: Requester = { user: 'alice', uid: 1000, pid: 4242, via: 'cli' };
  const BOB: Requester = { user: 'root', uid: 0, pid: 5151, via: 'cli', sudoUser: 'bob' };

  test('pause, reset, resume: each keeps its own requester; a resume drops the pause and its requester', () => {
    const path = freshPath();
    updateControl(path, 'api', { pausedUntil: T, by: ALICE });
    updateControl(path, 'api', { resetAt: R, by: BOB });
    assert.deepEqual(onDisk(path), {
      version: 1,
      apps: {
        api: {
          paused_until: '2024-05-01T12:30:00.000Z', paused_by: { user: 'alice', uid: 1000, pid: 4242, via: 'cli' },
          reset_at: '2024-05-01T12:00:00.000Z', reset_by: { user: 'root', uid: 0, pid: 5151, via: 'cli', sudo_user: 'bob' },
        },
      },
    });
    assert.deepEqual(readControl(path).get('api'), { pausedUntil: T, pausedBy: ALICE, resetAt: R, resetBy: BOB });
    updateControl(path, 'api', { pausedUntil: null, by: BOB });
    assert.deepEqual(readControl(path).get('api'), { resumedBy: BOB, resetAt: R, resetBy: BOB });
    // A new pause forgets the old resume.
    updateControl(path, 'api', { pausedUntil: 'indefinite', by: ALICE });
    assert.deepEqual(readControl(path).get('api'), { pausedUntil: 'indefinite', pausedBy: ALICE, resetAt: R, resetBy: BOB });
  });

  test('a change without a requester does not keep the previous one', () => {
    const path = freshPath();
    updateControl(path, 'api', { pausedUntil: T, by: ALICE });
    updateControl(path, 'api', { pausedUntil: 'indefinite' });
    assert.deepEqual(readControl(path).get('api'), { pausedUntil: 'indefinite' });
  });

  test('an old control.json without requesters still reads (no warning)', () => {
    const warnings: string[] = [];
    const path = broken(JSON.stringify({ version: 1, apps: { api: { paused_until: 'indefinite', reset_at: '2024-05-01T12:00:00.000Z' } } }));
    assert.deepEqual(readControl(path, (w) => warnings.push(w)).get('api'), { pausedUntil: 'indefinite', resetAt: R });
    assert.deepEqual(warnings, []);
  });

  test('a malformed requester is dropped; the pause and reset it came with still apply, nothing kept aside', () => {
    const warnings: string[] = [];
    const path = broken(JSON.stringify({
      version: 1,
      apps: { api: { paused_until: 'indefinite', paused_by: { user: 7 }, reset_at: '2024-05-01T12:00:00.000Z', reset_by: 'alice', resumed_by: null } },
    }));
    assert.deepEqual(readControl(path, (w) => warnings.push(w)).get('api'), { pausedUntil: 'indefinite', resetAt: R });
    assert.deepEqual(warnings, []);
    assert.equal(asides(path).length, 0);
  });

  test('a requester of a pause that is gone is not reported as the pauser', () => {
    const path = broken(JSON.stringify({ version: 1, apps: { api: { paused_by: { user: 'alice' } } } }));
    assert.deepEqual(readControl(path).get('api'), {});
  });
});

describe('requesterOf', () => {
  test('the account, uid and pid; via cli', () => {
    assert.deepEqual(requesterOf({ username: 'alice', uid: 1000, pid: 4242, env: {} }), { user: 'alice', uid: 1000, pid: 4242, via: 'cli' });
  });
  test('under sudo: root, and the account that ran sudo', () => {
    assert.deepEqual(requesterOf({ username: 'root', uid: 0, pid: 7, env: { SUDO_USER: 'alice' } }), { user: 'root', uid: 0, pid: 7, via: 'cli', sudoUser: 'alice' });
  });
  test('no passwd entry (a container): $USER, else $LOGNAME, else the uid', () => {
    assert.equal(requesterOf({ username: undefined, uid: 1234, pid: 7, env: { USER: 'ci' } }).user, 'ci');
    assert.equal(requesterOf({ username: undefined, uid: 1234, pid: 7, env: { LOGNAME: 'svc' } }).user, 'svc');
    assert.equal(requesterOf({ username: undefined, uid: 1234, pid: 7, env: {} }).user, 'uid 1234');
  });
  test('SUDO_USER equal to the account itself adds nothing', () => {
    assert.equal(requesterOf({ username: 'alice', uid: 1000, pid: 7, env: { SUDO_USER: 'alice' } }).sudoUser, undefined);
  });
});
