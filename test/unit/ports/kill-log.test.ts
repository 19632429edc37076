/**
 * ports/kill-log: every judgement on the one road to a signal leaves one JSON line in the kill
 * log (sent, refused, gone), with the pid's start time, the rule and the command redacted; the
 * file is 0600 in a 0700 dir, never written through a link, bounded, and a failure to write it
 * never stops a kill. Real processes: only children this file started are signalled.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { appendBounded } from '../../../src/fsx/safe-write.js';
import { UnsafePathError } from '../../../src/errors.js';
import { buildScope } from '../../../src/ports/context.js';
import { killJudged } from '../../../src/ports/kill.js';
import { KILL_LOG_FILE, killLogFailures, killLogIn, noteRefusals, readKillLog } from '../../../src/ports/kill-log.js';
import type { HolderFacts } from '../../../src/ports/scope.js';
import { procAvailable, procFacts } from '../../../src/proc/read.js';

const skip = procAvailable ? false : 'needs Linux /proc';
const UID = process.getuid?.() ?? -1;
let dir: string;
let seq = 0;
const children = new Set<ChildProcess>();

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdm-killlog-'));
});
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh state dir, made as the monitor's doors make it (the kill log never creates one). */
const fresh = (): string => {
  const d = join(dir, `state-${++seq}`);
  mkdirSync(d, { mode: 0o700 });
  return d;
};

/** A sleeping child whose command line carries a secret, and its facts as the drivers see them. */
function sleeper(): { child: ChildProcess; facts: HolderFacts } {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)', '--', '--api-token=s3cr3tvalue', 'http://user:pw@127.0.0.1:9/x?k=v'], { stdio: 'ignore' });
  children.add(child);
  const f = procFacts(child.pid!);
  assert.ok(f, 'the child is visible in /proc');
  return { child, facts: { pid: child.pid!, uid: f.uid, command: f.command, startTicks: f.startTicks } };
}

describe('the kill log', { skip }, () => {
  test('a signal sent leaves one line: pid, start ticks, signal, redacted command, uid, rule, why, app, door', async () => {
    const state = fresh();
    const { child, facts } = sleeper();
    const scope = buildScope({ scope: 'app', app: { name: 'api', pids: [facts.pid], uid: UID }, killLog: killLogIn(state, 'run') });
    const r = killJudged(facts, scope, 'SIGTERM');
    assert.equal(r.outcome, 'sent');
    await once(child, 'exit');
    const lines = readKillLog(join(state, KILL_LOG_FILE));
    assert.equal(lines.length, 1);
    const e = lines[0]!;
    assert.equal(e.outcome, 'sent');
    assert.equal(e.pid, facts.pid);
    assert.equal(e.start_ticks, facts.startTicks);
    assert.equal(e.signal, 'SIGTERM');
    assert.equal(e.uid, UID);
    assert.equal(e.rule, 'instance');
    assert.match(e.why, /an instance of the app/);
    assert.equal(e.app, 'api');
    assert.equal(e.door, 'run');
    assert.equal(e.by_pid, process.pid);
    assert.ok(Date.parse(e.time) > 0);
    assert.ok(!e.command.includes('s3cr3tvalue') && !e.command.includes(':pw@'), `the command is redacted: ${e.command}`);
    assert.match(e.command, /--api-token=\*\*\*/);
    assert.equal(statSync(join(state, KILL_LOG_FILE)).mode & 0o777, 0o600, 'the kill log is 0600');
  });

  test('a refusal is logged with its rule, and nothing is signalled', () => {
    const state = fresh();
    const { child, facts } = sleeper();
    // Judged for another app of another uid: the uid rule refuses.
    const scope = buildScope({ scope: 'app', app: { name: 'other', uid: UID + 12345 }, killLog: killLogIn(state, 'check') });
    const r = killJudged(facts, scope, 'SIGKILL');
    assert.equal(r.outcome, 'refused');
    assert.equal(child.exitCode, null, 'still running');
    assert.equal(procFacts(facts.pid)?.startTicks, facts.startTicks);
    const [e] = readKillLog(join(state, KILL_LOG_FILE));
    assert.equal(e?.outcome, 'refused');
    assert.equal(e?.rule, 'uid');
    assert.equal(e?.signal, 'SIGKILL');
    assert.match(e?.why ?? '', /owned by uid/);
    child.kill('SIGKILL');
  });

  test('a pid that names another process now is left alone and logged as gone', () => {
    const state = fresh();
    const { child, facts } = sleeper();
    const scope = buildScope({ scope: 'user', app: { uid: UID }, killLog: killLogIn(state) });
    const r = killJudged({ ...facts, startTicks: facts.startTicks! - 1 }, scope, 'SIGKILL');
    assert.equal(r.outcome, 'gone');
    assert.equal(child.exitCode, null);
    const [e] = readKillLog(join(state, KILL_LOG_FILE));
    assert.equal(e?.outcome, 'gone');
    assert.match(e?.why ?? '', /another process/);
    assert.equal(e?.door, undefined);
    child.kill('SIGKILL');
  });

  test('port holders a freeing refused get a refused line with the port', () => {
    const state = fresh();
    noteRefusals(killLogIn(state, 'run'), 'api', [{ port: 48901, pid: 4242, command: 'node squat.js --password hunter2', uid: 1001, why: 'owned by uid 1001', rule: 'uid', startTicks: 77 }]);
    const [e] = readKillLog(join(state, KILL_LOG_FILE));
    assert.deepEqual({ ...e, time: undefined }, {
      time: undefined, outcome: 'refused', pid: 4242, command: 'node squat.js --password ***', uid: 1001, why: 'owned by uid 1001', port: 48901,
      start_ticks: 77, rule: 'uid', app: 'api', door: 'run', by_pid: process.pid,
    });
  });

  test('no state dir: none is made (its owner makes it), and the kill goes out', async () => {
    const state = join(dir, `missing-${++seq}`);
    const { child, facts } = sleeper();
    const scope = buildScope({ scope: 'user', app: { uid: UID }, killLog: killLogIn(state, 'pre-start hook') });
    assert.equal(killJudged(facts, scope, 'SIGKILL').outcome, 'sent');
    await once(child, 'exit');
    assert.equal(existsSync(state), false);
  });

  test('a kill log that cannot be written never stops the kill, and never writes through a link', async () => {
    const state = fresh();
    const victim = join(dir, `victim-${seq}`);
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, join(state, KILL_LOG_FILE));
    const { child, facts } = sleeper();
    const before = killLogFailures();
    const scope = buildScope({ scope: 'user', app: { uid: UID }, killLog: killLogIn(state) });
    assert.equal(killJudged(facts, scope, 'SIGKILL').outcome, 'sent');
    await once(child, 'exit');
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n', 'the link target is untouched');
    assert.equal(killLogFailures(), before + 1, 'the failure is counted');
  });

  test('a state dir that is not a dir: the kill still goes out', async () => {
    const state = join(dir, `file-${++seq}`);
    writeFileSync(state, 'not a dir');
    const { child, facts } = sleeper();
    const scope = buildScope({ scope: 'user', app: { uid: UID }, killLog: killLogIn(state) });
    assert.equal(killJudged(facts, scope, 'SIGKILL').outcome, 'sent');
    await once(child, 'exit');
  });
});

describe('appendBounded', () => {
  test('creates 0600, appends, and rotates to .1 past the cap (the newest lines survive)', () => {
    const folder = fresh();
    const file = join(folder, 'log.jsonl');
    for (let i = 0; i < 100; i++) appendBounded(file, `${JSON.stringify({ i, pad: 'x'.repeat(80) })}\n`, 2000);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(statSync(file).size <= 2000, 'the live file stays under the cap');
    assert.ok(existsSync(`${file}.1`) && statSync(`${file}.1`).size <= 2000);
    const all = readKillLog(file) as unknown as { i: number }[];
    assert.equal(all.at(-1)?.i, 99, 'the newest line is kept');
    assert.ok(all.length >= 20 && all.length < 100, `between one and two caps of lines survive (${all.length})`);
    assert.deepEqual(all.map((x) => x.i), all.map((_, k) => all[0]!.i + k), 'in order, without gaps');
  });

  test('refuses a symbolic link (the target stays as it was)', () => {
    const folder = fresh();
    const victim = join(dir, `victim-h-${seq}`);
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, join(folder, 'a'));
    assert.throws(() => appendBounded(join(folder, 'a'), 'x\n', 1000), UnsafePathError);
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
  });
});
