/**
 * state.json on disk: read through a schema (a corrupt file or record is kept aside and told
 * once), written atomically and never through a link, app names as plain keys.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initialState } from '../../../src/engine/decide.js';
import { restoreApp, toStateDocument } from '../../../src/engine/state-document.js';
import { loadStateDocument, openStateFile, quarantine, readStateDocument, stateFilePath, writeJsonAtomic } from '../../../src/state/state-file.js';
import { MONO_A, MONO_B, OPEN_STATE, WALL_A, entry, throughDisk, view } from '../../helpers/state-document.js';

let dir: string;
let seq = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdm-state-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));
const freshPath = (): string => join(dir, `case-${++seq}`, 'state.json');

describe('a document through a real file', () => {
  test('through a real file: writeJsonAtomic then loadStateDocument', () => {
    const path = freshPath();
    writeJsonAtomic(path, toStateDocument([view(OPEN_STATE, { history: [entry(7)] })], MONO_A, WALL_A));
    const read = loadStateDocument(path);
    assert.ok(read.kind === 'ok');
    const r = restoreApp(read.doc.apps['api']!, MONO_B, WALL_A);
    assert.equal(r.state.circuit, 'open');
    assert.equal(r.state.circuitSince, MONO_B - 100_000);
    assert.deepEqual(r.history, [entry(7)]);
  });
});

describe('loadStateDocument', () => {
  const write = (content: string | Buffer): string => {
    const path = freshPath();
    writeJsonAtomic(path, {}); // creates the directory
    writeFileSync(path, content);
    return path;
  };

  test('a missing file is missing', () => {
    assert.deepEqual(loadStateDocument(join(dir, 'nowhere', 'state.json')), { kind: 'missing' });
    assert.equal(readStateDocument(join(dir, 'nowhere', 'state.json')), undefined);
  });

  test('random bytes are corrupt', () => {
    const path = write(Buffer.concat([Buffer.from([0xff, 0x00, 0x7b]), randomBytes(512)]));
    const r = loadStateDocument(path);
    assert.equal(r.kind, 'corrupt');
    assert.ok(r.kind === 'corrupt' && r.why.length > 0);
    assert.equal(readStateDocument(path), undefined);
  });

  test('a truncated or empty file is corrupt', () => {
    const full = JSON.stringify(toStateDocument([view(OPEN_STATE)], MONO_A, WALL_A));
    assert.equal(loadStateDocument(write(full.slice(0, full.length / 2))).kind, 'corrupt');
    assert.equal(loadStateDocument(write('')).kind, 'corrupt');
  });

  test('JSON that is not a state document (wrong version, no apps, null, a list) is corrupt', () => {
    for (const text of ['{"version":2,"apps":{}}', '{"version":1}', '{"version":1,"apps":null}', '{"version":1,"apps":[]}', 'null', '[]', '42', '"state"']) {
      const r = loadStateDocument(write(text));
      assert.equal(r.kind, 'corrupt', text);
      assert.match(r.kind === 'corrupt' ? r.why : '', /^not a helpdesk-monitor state document \(.+\)$/, text);
      assert.deepEqual(r.kind === 'corrupt' ? r.bytes : undefined, Buffer.from(text), 'the bytes read, to keep aside');
    }
  });

  test('a good document is ok', () => {
    const doc = toStateDocument([view(OPEN_STATE)], MONO_A, WALL_A);
    const path = freshPath();
    writeJsonAtomic(path, doc);
    const r = loadStateDocument(path);
    assert.ok(r.kind === 'ok');
    assert.deepEqual(r.invalid, []);
    assert.deepEqual(throughDisk(r.doc), throughDisk(doc));
    assert.equal(Object.getPrototypeOf(r.doc.apps), null, 'apps by name in a null-prototype object');
    assert.deepEqual(throughDisk(readStateDocument(path)!), throughDisk(doc));
  });
});

describe('writeJsonAtomic and quarantine', () => {
  test('writeJsonAtomic creates the directory and leaves no temp file', () => {
    const path = freshPath();
    writeJsonAtomic(path, { version: 1, apps: {} });
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { version: 1, apps: {} });
    assert.deepEqual(readdirSync(join(path, '..')), ['state.json']);
    writeJsonAtomic(path, { version: 1, apps: { x: 1 } });
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { version: 1, apps: { x: 1 } });
    assert.deepEqual(readdirSync(join(path, '..')), ['state.json']);
  });

  test('stateFilePath', () => {
    assert.equal(stateFilePath('/var/lib/hdm'), '/var/lib/hdm/state.json');
  });

  test('quarantine copies the corrupt file aside, byte for byte, and leaves the original', () => {
    const path = freshPath();
    writeJsonAtomic(path, {});
    const bytes = randomBytes(300);
    writeFileSync(path, bytes);
    const aside = quarantine(path);
    assert.ok(aside.startsWith(`${path}.corrupt-`), aside);
    assert.match(basename(aside), /^state\.json\.corrupt-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/);
    assert.deepEqual(readFileSync(aside), bytes);
    assert.ok(existsSync(path), 'the original stays (it will be overwritten by the next write)');
    assert.deepEqual(readFileSync(path), bytes);
  });

  test('quarantine of a missing file throws (the caller catches it)', () => {
    assert.throws(() => quarantine(join(dir, 'nowhere', 'state.json')), /ENOENT/);
  });
});

/** A state.json holding exactly `text`, in a fresh private dir. */
function stateWith(text: string | Buffer): string {
  const path = freshPath();
  writeJsonAtomic(path, {});
  writeFileSync(path, text);
  return path;
}
const asides = (path: string): string[] => readdirSync(join(path, '..')).filter((f) => f.startsWith('state.json.corrupt-'));
const VALID = { phase: 'unhealthy', consecutive_failures: 3, failed_remedies: 2, circuit: 'open', circuit_since: '2024-05-01T11:58:20.000Z' };

describe('wrong-typed state files (valid JSON, wrong types)', () => {
  test('an app record that is null: that app is dropped, the document is ok', () => {
    const r = loadStateDocument(stateWith('{"version":1,"apps":{"demo":null}}'));
    assert.ok(r.kind === 'ok');
    assert.deepEqual(Object.keys(r.doc.apps), []);
    assert.equal(r.invalid.length, 1);
    assert.equal(r.invalid[0]!.app, 'demo');
    assert.match(r.invalid[0]!.why, /expected object, received null/);
  });

  test('one field of the wrong type drops only that app; the others keep their records', () => {
    const r = loadStateDocument(stateWith(JSON.stringify({
      version: 1,
      apps: { demo: { ...VALID, consecutive_failures: '3' }, kept: VALID, steps: { ...VALID, remedies: [{ ...entry(1), steps: null }] }, phased: { ...VALID, phase: 'sleeping' } },
    })));
    assert.ok(r.kind === 'ok');
    assert.deepEqual(Object.keys(r.doc.apps), ['kept']);
    assert.deepEqual(restoreApp(r.doc.apps['kept']!, MONO_B, WALL_A).state.circuit, 'open');
    assert.deepEqual(r.invalid.map((i) => i.app), ['demo', 'steps', 'phased']);
    assert.match(r.invalid[0]!.why, /^consecutive_failures: .*expected number/);
    assert.match(r.invalid[1]!.why, /^remedies\[0\]\.steps: /);
    assert.match(r.invalid[2]!.why, /^phase: /);
  });

  test('apps as a list, or numbers that are not counts, are caught too', () => {
    assert.equal(loadStateDocument(stateWith('{"version":1,"apps":[{"phase":"healthy"}]}')).kind, 'corrupt');
    for (const bad of ['-1', '1.5', '1e400', '"NaN"']) {
      const text = `{"version":1,"apps":{"demo":{"phase":"healthy","consecutive_failures":${bad},"failed_remedies":0}}}`;
      const r = loadStateDocument(stateWith(text));
      assert.ok(r.kind === 'ok' && r.invalid.length === 1, text);
    }
  });

  test('openStateFile: keeps the file aside once (byte for byte), warns once on one line, restores the valid apps', () => {
    const text = `${JSON.stringify({ version: 1, apps: { demo: null, kept: VALID, 'evil\nname': 5 } })}\n`;
    const path = stateWith(text);
    const first = openStateFile(path);
    assert.deepEqual(Object.keys(first.apps), ['kept']);
    assert.ok(first.warning, 'a warning');
    assert.equal(first.warning.includes('\n'), false, `one line: ${first.warning}`);
    assert.match(first.warning, /has invalid records \("demo": .*; "evil\\nname": .*\) \(kept as .*state\.json\.corrupt-.*\); those apps start with fresh state$/);
    const kept = asides(path);
    assert.equal(kept.length, 1);
    assert.equal(readFileSync(join(path, '..', kept[0]!), 'utf8'), text, 'the copy is byte for byte');
    assert.equal(statSync(join(path, '..', kept[0]!)).mode & 0o777, 0o600, 'the copy is private');
    // The monitor writes its state next: the bad file is gone, nothing more is said or kept.
    writeJsonAtomic(path, toStateDocument([view(OPEN_STATE, { app: 'kept' })], MONO_A, WALL_A));
    const second = openStateFile(path);
    assert.equal(second.warning, undefined);
    assert.deepEqual(Object.keys(second.apps), ['kept']);
    assert.equal(asides(path).length, 1, 'kept aside once');
  });

  test('openStateFile of a file that is not a state document: every app starts fresh, one warning', () => {
    const path = stateWith('{"version":1,"apps":[]}');
    const r = openStateFile(path);
    assert.deepEqual(Object.keys(r.apps), []);
    assert.match(r.warning ?? '', /is unreadable \(not a helpdesk-monitor state document \(apps: expected an object of apps by name\)\) \(kept as .*\); starting with fresh state/);
    assert.equal(asides(path).length, 1);
    assert.equal(openStateFile(join(dir, 'nowhere', 'state.json')).warning, undefined, 'a missing file is no warning');
  });
});

describe('app names are data, never object keys with a meaning', () => {
  test('an app named __proto__ (and constructor) round-trips through state.json', () => {
    const path = freshPath();
    const views = [view(OPEN_STATE, { app: '__proto__' }), view(OPEN_STATE, { app: 'constructor' }), view(initialState(MONO_A), { app: 'api' })];
    const doc = toStateDocument(views, MONO_A, WALL_A);
    assert.deepEqual(Object.keys(doc.apps), ['__proto__', 'constructor', 'api']);
    writeJsonAtomic(path, doc);
    assert.match(readFileSync(path, 'utf8'), /"__proto__": \{/, 'written as a key');
    const r = loadStateDocument(path);
    assert.ok(r.kind === 'ok');
    assert.deepEqual(r.invalid, []);
    assert.deepEqual(Object.keys(r.doc.apps), ['__proto__', 'constructor', 'api']);
    assert.equal(restoreApp(r.doc.apps['__proto__']!, MONO_B, WALL_A).state.circuit, 'open');
    assert.equal(({} as Record<string, unknown>)['phase'], undefined, 'no prototype was touched');
  });

  test('a name that is not in the file reads as no record (not an inherited property)', () => {
    const path = freshPath();
    writeJsonAtomic(path, toStateDocument([view(OPEN_STATE)], MONO_A, WALL_A));
    const doc = readStateDocument(path)!;
    for (const name of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) assert.equal(doc.apps[name], undefined, name);
  });
});

describe('state.json is never written through a link', () => {
  test('a link planted at state.json: the write replaces the link, the victim is byte-identical', () => {
    const path = freshPath();
    writeJsonAtomic(path, {});
    const victim = join(dir, `victim-${seq}`);
    writeFileSync(victim, 'precious\n');
    rmSync(path);
    symlinkSync(victim, path);
    writeJsonAtomic(path, toStateDocument([view(OPEN_STATE)], MONO_A, WALL_A));
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
    assert.ok(lstatSync(path).isFile(), 'state.json is a file of its own now');
    assert.equal(lstatSync(path).mode & 0o777, 0o600);
  });

  test('a link planted at the old predictable temp name (state.json.<pid>.tmp) is never touched', () => {
    const path = freshPath();
    writeJsonAtomic(path, {});
    const victim = join(dir, `victim-${seq}`);
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, `${path}.${process.pid}.tmp`);
    writeJsonAtomic(path, { version: 1, apps: {} });
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
    assert.deepEqual(readdirSync(join(path, '..')).sort(), ['state.json', `state.json.${process.pid}.tmp`], 'no temp file of ours left');
  });

  test('a state.json that is a link is not read: kept aside by moving the link, the victim untouched', () => {
    const path = freshPath();
    writeJsonAtomic(path, {});
    const victim = join(dir, `victim-${seq}`);
    const secret = JSON.stringify({ version: 1, apps: { api: VALID } });
    writeFileSync(victim, secret);
    rmSync(path);
    symlinkSync(victim, path);
    const r = openStateFile(path);
    assert.deepEqual(Object.keys(r.apps), [], 'nothing restored from a link');
    assert.match(r.warning ?? '', /is unreadable \(it is a symbolic link\) \(kept as /);
    assert.equal(existsSync(path), false, 'the link was moved aside');
    assert.ok(lstatSync(join(path, '..', asides(path)[0]!)).isSymbolicLink());
    assert.equal(readFileSync(victim, 'utf8'), secret);
  });

  test('a folder created for state.json is private (0700), the file 0600', () => {
    const path = freshPath();
    writeJsonAtomic(path, { version: 1, apps: {} });
    assert.equal(statSync(join(path, '..')).mode & 0o777, 0o700);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });
});
