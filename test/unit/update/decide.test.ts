import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TreeFacts } from '../../../src/git/repo.js';
import { decideUpdate, type UpdateFacts, type UpdateGate } from '../../../src/update/decide.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const tree = (patch: Partial<TreeFacts> = {}): TreeFacts => ({ head: A, branch: 'main', changed: [], untracked: [], indexLocked: false, ...patch });
const facts = (patch: Partial<UpdateFacts> = {}): UpdateFacts => ({ tree: tree(), branch: 'main', remote: 'origin', tip: B, fastForward: true, tipMovedForward: true, allowUntracked: false, ...patch });
const gate = (patch: Partial<UpdateGate> = {}): UpdateGate => ({ paused: false, circuitOpen: false, bad: [], retry: false, ...patch });

test('a new commit on a clean tree that can fast-forward is an update from HEAD to the tip', () => {
  assert.deepEqual(decideUpdate(facts(), gate()), { action: 'update', from: A, to: B });
});

test('HEAD at the tip: nothing to do', () => {
  const d = decideUpdate(facts({ tip: A }), gate());
  assert.equal(d.action, 'none');
  assert.match(d.action === 'none' ? d.why : '', /up to date/);
});

test('a bad tip is skipped until a newer commit or --retry', () => {
  const skipped = decideUpdate(facts(), gate({ bad: [B] }));
  assert.equal(skipped.action, 'none');
  assert.match(skipped.action === 'none' ? skipped.why : '', /marked bad/);
  assert.equal(decideUpdate(facts(), gate({ bad: [B], retry: true })).action, 'update');
  assert.equal(decideUpdate(facts({ tip: 'c'.repeat(40) }), gate({ bad: [B] })).action, 'update');
});

test('a pause, an open circuit or a halt hold the update back, each saying why', () => {
  for (const [g, re] of [[gate({ paused: true }), /paused/], [gate({ circuitOpen: true }), /circuit is not closed/], [gate({ remedying: true }), /remedy of the app is running/], [gate({ halted: 'the rollback failed' }), /updates stopped/]] as const) {
    const d = decideUpdate(facts(), g);
    assert.equal(d.action, 'none');
    assert.match(d.action === 'none' ? d.why : '', re);
  }
});

test('local changes are refused, naming up to 10 files and the way out; allow_untracked relaxes only untracked ones', () => {
  const untracked = Array.from({ length: 12 }, (_, i) => `new-${i}.txt`);
  const d = decideUpdate(facts({ tree: tree({ changed: ['server.js'], untracked }) }), gate());
  assert.equal(d.action, 'refuse');
  if (d.action !== 'refuse') return;
  assert.equal(d.refusal.kind, 'dirty');
  assert.equal(d.refusal.files.length, 10);
  assert.equal(d.refusal.files[0], 'server.js');
  assert.match(d.refusal.text, /1 modified or staged and 12 untracked/);
  assert.match(d.refusal.text, /and 3 more/);
  assert.match(d.refusal.wayOut, /never stashes/);
  assert.equal(decideUpdate(facts({ tree: tree({ untracked }) }), gate()).action, 'refuse');
  assert.equal(decideUpdate(facts({ tree: tree({ untracked }), allowUntracked: true }), gate()).action, 'update');
  const still = decideUpdate(facts({ tree: tree({ changed: ['a.js'], untracked }), allowUntracked: true }), gate());
  assert.equal(still.action === 'refuse' && still.refusal.files.join(), 'a.js');
});

test('each unsafe tree state is its own refusal kind', () => {
  const cases: [Partial<UpdateFacts>, string][] = [
    [{ tree: tree({ operation: 'a merge' }) }, 'operation'],
    [{ tree: tree({ indexLocked: true }) }, 'index-locked'],
    [{ tree: { head: A, changed: [], untracked: [], indexLocked: false } }, 'detached'],
    [{ tree: tree({ branch: 'feature' }) }, 'wrong-branch'],
    [{ fastForward: false, tipMovedForward: false }, 'rewritten'],
    [{ fastForward: false, tipMovedForward: true }, 'local-commits'],
    [{ fastForward: false }, 'local-commits'],
  ];
  for (const [patch, kind] of cases) {
    const d = decideUpdate(facts(patch), gate());
    assert.equal(d.action === 'refuse' ? d.refusal.kind : d.action, kind, JSON.stringify(patch));
  }
});

test('a refusal key stays the same for the same state and changes with it (told once per state)', () => {
  const key = (f: UpdateFacts): string => {
    const d = decideUpdate(f, gate());
    return d.action === 'refuse' ? d.refusal.key : '';
  };
  const dirty = facts({ tree: tree({ changed: ['b.js', 'a.js'] }) });
  assert.equal(key(dirty), key(facts({ tree: tree({ changed: ['a.js', 'b.js'] }) })));
  // A newer tip on the same dirty tree is the same state: not told again.
  assert.equal(key(dirty), key({ ...dirty, tip: 'c'.repeat(40) }));
  assert.notEqual(key(dirty), key(facts({ tree: tree({ changed: ['a.js'] }) })));
  const rewritten = facts({ fastForward: false, tipMovedForward: false });
  assert.notEqual(key(rewritten), key({ ...rewritten, tip: 'c'.repeat(40) }));
  // The fetch after a force push sees the rewritten tip as "moved forward" from itself: the same
  // diverged state, not news.
  assert.equal(key(rewritten), key({ ...rewritten, tipMovedForward: true }));
});
