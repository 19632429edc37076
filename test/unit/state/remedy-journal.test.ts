// The remedy journal on disk (state/remedy-journal.ts): one private file per app, written before
// each step and removed at the end; nothing planted, linked or malformed is trusted.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { journalFile, parseEntry, remedyJournal, remediesDir } from '../../../src/state/remedy-journal.js';

const root = mkdtempSync(join(tmpdir(), 'hdm-journal-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('note writes a 0600 file in a 0700 folder; entries reads it back; clear removes it', () => {
  const dir = mkdtempSync(join(root, 's-'));
  const warnings: string[] = [];
  const j = remedyJournal(dir, 'run', (m) => warnings.push(m));
  const r = j.forRemedy('api/v2', 'inc-1');
  r.note('stopping', [{ pmId: 1, pid: 99, restarts: 2, startedAt: 1234 }]);
  r.note('stopped', [{ pmId: 1, pid: 99, restarts: 2, startedAt: 1234 }]);
  const file = journalFile(dir, 'api/v2');
  assert.ok(!file.includes('api/v2'), 'the app name is made file-safe');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(remediesDir(dir)).mode & 0o777, 0o700);
  const [e] = j.entries();
  assert.deepEqual(e, { app: 'api/v2', incidentId: 'inc-1', step: 'stopped', instances: [{ pmId: 1, pid: 99, restarts: 2, startedAt: 1234 }], at: e!.at, by: { monitor: 'run', pid: process.pid } });
  r.clear();
  assert.equal(existsSync(file), false);
  assert.deepEqual(j.entries(), []);
  assert.deepEqual(warnings, []);
});

test('a link, a malformed file, or an entry under another app\'s name is ignored with a warning', () => {
  const dir = mkdtempSync(join(root, 's-'));
  const warnings: string[] = [];
  const j = remedyJournal(dir, 'module', (m) => warnings.push(m));
  j.forRemedy('real', 'inc').note('stopped', []);
  const good = readdirSync(remediesDir(dir));
  const target = join(root, 'elsewhere.json');
  writeFileSync(target, JSON.stringify({ app: 'linked', incident_id: 'x', step: 'stopped', at: 'now', by: { monitor: 'run', pid: 1 }, instances: [] }));
  symlinkSync(target, join(remediesDir(dir), 'linked.json'));
  writeFileSync(join(remediesDir(dir), 'junk.json'), '{"app": 1');
  writeFileSync(join(remediesDir(dir), 'other.json'), JSON.stringify({ app: 'real', incident_id: 'x', step: 'stopped', at: 'now', by: { monitor: 'run', pid: 1 }, instances: [] }));
  assert.deepEqual(j.entries().map((e) => e.app), ['real']);
  assert.equal(warnings.length, 3, warnings.join('\n'));
  assert.deepEqual(good, ['real.json']);
});

test('parseEntry refuses unknown steps and malformed instances', () => {
  const base = { app: 'a', incident_id: 'i', step: 'stopped', at: 't', by: { monitor: 'run', pid: 1 }, instances: [{ pm_id: 0, pid: 0, restarts: 0, started_at: 0 }] };
  assert.ok(parseEntry(JSON.stringify(base)));
  assert.equal(parseEntry(JSON.stringify({ ...base, step: 'deleting' })), undefined);
  assert.equal(parseEntry(JSON.stringify({ ...base, instances: [{ pm_id: '0' }] })), undefined);
  assert.equal(parseEntry(JSON.stringify({ ...base, by: { monitor: 'run' } })), undefined);
  assert.equal(parseEntry('null'), undefined);
});

test('a journal that cannot be written warns once and never throws', () => {
  const dir = mkdtempSync(join(root, 's-'));
  writeFileSync(join(dir, 'remedies'), 'a file where the folder should be');
  const warnings: string[] = [];
  const r = remedyJournal(dir, 'run', (m) => warnings.push(m)).forRemedy('api', 'inc');
  r.note('stopping', []);
  r.note('stopped', []);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /cannot write the remedy journal \(a shutdown now could leave api stopped\)/);
});
