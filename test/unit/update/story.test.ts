import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keptTail, storyLines, type UpdateStory } from '../../../src/update/story.js';

test('output tails lose URL credentials and tokens, and are capped', () => {
  const text = [
    'fetching https://deploy:s3cretpass@git.example.org/team/app.git',
    'npm notice using token npm_abcdefghijklmnopqrstuvwxyz0123456789',
    'ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 in the env',
    'password=hunter2 and TOKEN: abc123',
    'Authorization: Bearer eyJhbGciOi',
  ].join('\n');
  const kept = keptTail(text);
  for (const secret of ['s3cretpass', 'npm_abcdef', 'ghp_ABCDEF', 'hunter2', 'abc123', 'eyJhbGciOi']) assert.ok(!kept.includes(secret), `${secret} in ${kept}`);
  assert.match(kept, /password=\*\*\*/);
  assert.match(kept, /Bearer \*\*\*/);
  const long = keptTail('x'.repeat(5000));
  assert.ok(long.length <= 1025 && long.startsWith('…'));
});

test('a story reads as a headline and one line per step, failures with their output', () => {
  const story: UpdateStory = {
    id: 'i', app: 'api', trigger: 'schedule', at: '2026-12-01T10:00:00.000Z', ms: 5400, result: 'rolled_back', detail: 'not healthy on the new commit',
    from: { sha: 'a'.repeat(40), subject: 'good' }, to: { sha: 'b'.repeat(40), subject: 'crash at boot' },
    steps: [
      { name: 'git merge --ff-only bbbbbbbbbb', ok: true, ms: 12, exitCode: 0, detail: 'HEAD is bbbbbbbbbb' },
      { name: 'command 1: npm run build', ok: false, ms: 800, exitCode: 2, tail: 'line1\nError: boom\n', detail: 'exit 2: Error: boom' },
    ],
  };
  const lines = storyLines(story);
  assert.equal(lines[0], 'update rolled back (schedule): aaaaaaaaaa -> bbbbbbbbbb "crash at boot" in 5.4 s: not healthy on the new commit');
  assert.equal(lines[1], '  ok   git merge --ff-only bbbbbbbbbb (12 ms, exit 0): HEAD is bbbbbbbbbb');
  assert.equal(lines[2], '  FAIL command 1: npm run build (800 ms, exit 2): exit 2: Error: boom | line1 | Error: boom');
});
