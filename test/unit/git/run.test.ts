import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { failureText, gitEnv, runProcess } from '../../../src/git/run.js';
import { parsePorcelain } from '../../../src/git/repo.js';

test('a command past its deadline is killed with its whole group and decided at the deadline', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hdm-run-'));
  try {
    // The child of the shell would keep the pipes open: the group kill must take it too.
    const t0 = Date.now();
    const r = await runProcess('/bin/sh', ['-c', 'echo started; sleep 30 & sleep 30'], { cwd: dir, timeoutMs: 300 });
    const took = Date.now() - t0;
    assert.equal(r.timedOut, true);
    assert.ok(took < 3000, `decided after ${took} ms`);
    assert.match(r.tail, /started/);
    assert.match(failureText(r, 300), /^timed out after 300 ms: started$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exit codes, output tails and a program that is not there', async () => {
  const ok = await runProcess('/bin/sh', ['-c', 'echo out; echo err >&2; exit 3'], { cwd: tmpdir(), timeoutMs: 5000 });
  assert.equal(ok.code, 3);
  assert.equal(ok.stdout, 'out\n');
  assert.match(ok.tail, /out\nerr/);
  assert.equal(failureText(ok, 5000), 'exit 3: out | err');
  const missing = await runProcess('/nonexistent/program', [], { cwd: tmpdir(), timeoutMs: 5000 });
  assert.equal(missing.spawnError, 'ENOENT');
  assert.match(failureText(missing, 5000), /not found/);
  const notFound = await runProcess('/bin/sh', ['-c', 'no-such-command-hdm'], { cwd: tmpdir(), timeoutMs: 5000 });
  assert.equal(notFound.code, 127);
});

test('git never prompts and ignores a GIT_DIR it inherited', () => {
  const env = gitEnv({ PATH: '/usr/bin', GIT_DIR: '/elsewhere/.git', GIT_WORK_TREE: '/elsewhere' });
  assert.equal(env['GIT_TERMINAL_PROMPT'], '0');
  assert.match(env['GIT_SSH_COMMAND'] ?? '', /BatchMode=yes/);
  assert.equal(env['GIT_DIR'], undefined);
  assert.equal(env['GIT_WORK_TREE'], undefined);
  // A deploy key (the env's, or the repo's core.sshCommand) is kept, in batch mode.
  assert.match(gitEnv({ GIT_SSH_COMMAND: 'ssh -i key' })['GIT_SSH_COMMAND'] ?? '', /^ssh -i key -o BatchMode=yes/);
  assert.match(gitEnv({}, 'ssh -i repo_key')['GIT_SSH_COMMAND'] ?? '', /^ssh -i repo_key -o BatchMode=yes/);
  // Hooks are off, after any config the caller passed the same way.
  const hooks = gitEnv({ GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'user.name', GIT_CONFIG_VALUE_0: 'x' });
  assert.equal(hooks['GIT_CONFIG_COUNT'], '2');
  assert.equal(hooks['GIT_CONFIG_KEY_1'], 'core.hooksPath');
  assert.equal(hooks['GIT_CONFIG_VALUE_1'], '/dev/null');
  assert.equal(hooks['GIT_CONFIG_KEY_0'], 'user.name');
});

test('a leftover holding the pipes does not turn an exit 0 into a timeout', async () => {
  const t0 = Date.now();
  const r = await runProcess('/bin/sh', ['-c', 'sleep 5 & echo done'], { cwd: tmpdir(), timeoutMs: 3000 });
  assert.equal(r.timedOut, false);
  assert.equal(r.code, 0);
  assert.match(r.tail, /done/);
  assert.ok(Date.now() - t0 < 2000, `decided after ${Date.now() - t0} ms`);
});

test('porcelain v1 -z: modified, staged, deleted, renamed (two paths) and untracked', () => {
  const out = [' M server.js', 'A  new.js', ' D gone.js', 'R  to.js', 'from.js', '?? notes.txt', '?? dir/a b.txt', ''].join('\0');
  assert.deepEqual(parsePorcelain(out), { changed: ['server.js', 'new.js', 'gone.js', 'to.js'], untracked: ['notes.txt', 'dir/a b.txt'] });
  assert.deepEqual(parsePorcelain(''), { changed: [], untracked: [] });
});
