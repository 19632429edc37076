import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UpdateCommand } from '../../../src/config/update.js';
import { applyUpdate, type Moves } from '../../../src/update/pipeline.js';
import type { StepRecord } from '../../../src/update/story.js';

const FROM = 'f'.repeat(40);
const TO = 't'.repeat(40);
const BUILD: UpdateCommand[] = [{ command: 'npm ci', timeoutMs: 1000 }, { command: 'npm run build', timeoutMs: 1000 }];

/** Moves that record what ran (and the journal phase before each), failing where told. */
function scripted(fail: { readonly [name: string]: number } = {}) {
  const calls: string[] = [];
  const seen = new Map<string, number>();
  const step = (name: string): Promise<StepRecord> => {
    calls.push(name);
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    const ok = fail[name] !== n;
    return Promise.resolve({ name, ok, ms: 1, detail: ok ? 'ok' : `${name} broke` });
  };
  const moves: Moves = {
    fastForward: (to) => step(`ff ${to[0]}`),
    resetKeep: (to) => step(`keep ${to[0]}`),
    command: (c) => step(c.command),
    reload: () => step('reload'),
    stop: () => step('stop'),
    verify: () => step('verify'),
    journal: (phase, reloaded) => void calls.push(`journal ${phase}${reloaded ? ' reloaded' : ''}`),
  };
  return { moves, calls };
}

test('a good update: merge, commands, reload, verify, each journaled before it runs', async () => {
  const { moves, calls } = scripted();
  const out = await applyUpdate(FROM, TO, BUILD, moves);
  assert.equal(out.result, 'applied');
  assert.deepEqual(calls, [
    'journal merge', 'ff t', 'journal commands', 'npm ci', 'journal commands', 'npm run build',
    'journal reload', 'reload', 'journal verify reloaded', 'verify',
  ]);
});

test('a refused fast forward changes nothing: no rollback, result failed', async () => {
  const { moves, calls } = scripted({ 'ff t': 1 });
  const out = await applyUpdate(FROM, TO, BUILD, moves);
  assert.equal(out.result, 'failed');
  assert.deepEqual(calls, ['journal merge', 'ff t']);
});

test('a failing build rolls back before any reload: the app never runs the bad commit', async () => {
  const { moves, calls } = scripted({ 'npm run build': 1 });
  const out = await applyUpdate(FROM, TO, BUILD, moves);
  assert.equal(out.result, 'rolled_back');
  assert.equal(calls.filter((c) => c === 'reload' || c === 'stop').length, 0, 'the app that never ran the new commit is left running');
  assert.deepEqual(calls.slice(calls.indexOf('journal rollback')), [
    'journal rollback', 'keep f', 'journal rollback', 'npm ci', 'journal rollback', 'npm run build', 'verify',
  ]);
  assert.match(out.detail, /npm run build failed/);
  assert.ok(out.steps.some((s) => s.name === 'rollback: keep f'));
});

test('a failed verify rolls back with a reload, and says so', async () => {
  const { moves, calls } = scripted({ verify: 1 });
  const out = await applyUpdate(FROM, TO, BUILD, moves);
  assert.equal(out.result, 'rolled_back');
  assert.deepEqual(calls.slice(calls.indexOf('journal rollback reloaded')), [
    'journal rollback reloaded', 'stop', 'keep f', 'journal rollback reloaded', 'npm ci', 'journal rollback reloaded', 'npm run build', 'reload', 'verify',
  ]);
  assert.match(out.detail, /not healthy on the new commit/);
});

test('a rollback that fails is rollback_failed, naming both failures', async () => {
  const { moves } = scripted({ verify: 2, reload: 0 });
  const first = await applyUpdate(FROM, TO, BUILD, scripted({ verify: 1 }).moves);
  assert.equal(first.result, 'rolled_back');
  const both = await applyUpdate(FROM, TO, [], { ...moves, verify: () => Promise.resolve({ name: 'verify', ok: false, ms: 1, detail: 'not healthy' }) });
  assert.equal(both.result, 'rollback_failed');
  assert.match(both.detail, /not healthy on the new commit: not healthy; the rollback failed too: verify not healthy/);
  const keepFails = await applyUpdate(FROM, TO, [], scripted({ verify: 1, 'keep f': 1 }).moves);
  assert.equal(keepFails.result, 'rollback_failed');
  assert.match(keepFails.detail, /keep f/);
});

test('a resumed update starts at the commands (its merge is done)', async () => {
  const { moves, calls } = scripted();
  const out = await applyUpdate(FROM, TO, BUILD, moves, 'commands');
  assert.equal(out.result, 'applied');
  assert.ok(!calls.includes('ff t'));
  assert.equal(calls[0], 'journal commands');
});

test('a resumed update whose app may run the new commit: a failed command rolls back with a stop and a start', async () => {
  const { moves, calls } = scripted({ 'npm ci': 1 });
  const out = await applyUpdate(FROM, TO, BUILD, moves, 'commands', true);
  assert.equal(out.result, 'rolled_back');
  assert.deepEqual(calls.slice(calls.indexOf('journal rollback reloaded')), [
    'journal rollback reloaded', 'stop', 'keep f', 'journal rollback reloaded', 'npm ci', 'journal rollback reloaded', 'npm run build', 'reload', 'verify',
  ]);
});

test('a reset that git refuses after the stop starts the app again: never left stopped', async () => {
  const { moves, calls } = scripted({ verify: 1, 'keep f': 1 });
  const out = await applyUpdate(FROM, TO, BUILD, moves);
  assert.equal(out.result, 'rollback_failed');
  assert.deepEqual(calls.slice(calls.indexOf('journal rollback reloaded')), ['journal rollback reloaded', 'stop', 'keep f', 'reload']);
});
