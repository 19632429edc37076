/**
 * acquireLock in this process, against real files: the lock is private and never written through
 * a link; a record naming this process that it does not hold (the leftover of a failed start),
 * pid 1, or a live process that is not the helpdesk-monitor of the record is taken over; a lock
 * this process holds is not taken twice.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LockHeldError, UnsafePathError } from '../../../src/errors.js';
import type { LockRecord } from '../../../src/lock/holder.js';
import { acquireLock, type HeldLock } from '../../../src/lock/lock.js';
import { procFacts } from '../../../src/proc/read.js';
import { waitFor } from '../../helpers/sandbox.js';

let dir: string;
let seq = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdm-lock-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A lock path in a state dir of its own (not created yet). */
const freshLock = (): string => join(dir, `case-${++seq}`, 'monitor.lock');
const onDisk = (p: string): LockRecord => JSON.parse(readFileSync(p, 'utf8')) as LockRecord;
const NOW = new Date().toISOString();

/** Plant a record, as a crashed or hostile process might leave it. */
function plant(p: string, rec: Partial<LockRecord> & { pid: number }): void {
  mkdirSync(join(p, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(p, `${JSON.stringify({ hostname: hostname(), started_at: NOW, heartbeat_at: NOW, command: 'planted', ...rec })}\n`);
}

/** Acquire with the takeover reason captured. */
function take(p: string, heartbeatMs?: number): { lock: HeldLock; took: string[] } {
  const took: string[] = [];
  const lock = acquireLock({ path: p, onTakeover: (why) => took.push(why), ...(heartbeatMs ? { heartbeatMs } : {}) });
  return { lock, took };
}

describe('acquireLock: files', () => {
  test('the lock is 0600 in a 0700 state dir, names this process with its cmdline, start ticks and a token; release removes it', () => {
    const p = freshLock();
    const listeners = process.listenerCount('exit');
    const { lock } = take(p);
    assert.equal(statSync(join(p, '..')).mode & 0o777, 0o700);
    assert.equal(statSync(p).mode & 0o777, 0o600);
    const rec = onDisk(p);
    const me = procFacts(process.pid)!;
    assert.equal(rec.pid, process.pid);
    assert.equal(rec.cmdline, me.command);
    assert.equal(rec.start_ticks, me.startTicks);
    assert.match(rec.token ?? '', /^[0-9a-f]{16}$/);
    lock.release();
    assert.equal(existsSync(p), false);
    assert.equal(process.listenerCount('exit'), listeners, 'no exit listener left behind');
  });

  test('a group-writable state dir is refused before anything is written', () => {
    const p = freshLock();
    mkdirSync(join(p, '..'));
    chmodSync(join(p, '..'), 0o775);
    assert.throws(() => acquireLock({ path: p }), (err: unknown) => err instanceof UnsafePathError && /writable by its group/.test(err.message));
    assert.equal(existsSync(p), false);
  });

  test('a link planted at monitor.lock is replaced, its target byte-identical', () => {
    const p = freshLock();
    mkdirSync(join(p, '..'), { mode: 0o700 });
    const victim = join(dir, `victim-${seq}`);
    writeFileSync(victim, 'root:x:0:0\n');
    symlinkSync(victim, p);
    const { lock, took } = take(p);
    try {
      assert.equal(readFileSync(victim, 'utf8'), 'root:x:0:0\n');
      assert.ok(lstatSync(p).isFile());
      assert.equal(onDisk(p).pid, process.pid);
      assert.deepEqual(took, ['the lock file was unreadable']);
    } finally {
      lock.release();
    }
    assert.equal(readFileSync(victim, 'utf8'), 'root:x:0:0\n', 'release removed the lock, not the victim');
  });

  test('links at the old predictable temp name are never written, by the takeover or the heartbeat', async () => {
    const p = freshLock();
    plant(p, { pid: 1 });
    const victim = join(dir, `victim-${seq}`);
    writeFileSync(victim, 'precious');
    symlinkSync(victim, `${p}.${process.pid}.tmp`);
    const { lock } = take(p, 20);
    try {
      const first = onDisk(p).heartbeat_at;
      await waitFor('a heartbeat', () => onDisk(p).heartbeat_at !== first, 10_000, 10);
      assert.equal(readFileSync(victim, 'utf8'), 'precious');
      assert.equal(statSync(p).mode & 0o777, 0o600, 'the renewed lock is private too');
    } finally {
      lock.release();
    }
  });
});

describe('acquireLock: who holds it', () => {
  test('a lock this process holds is not taken twice; once released it is taken again', () => {
    const p = freshLock();
    const { lock } = take(p);
    assert.throws(() => acquireLock({ path: p }), (err: unknown) => err instanceof LockHeldError && err.message === `this process (pid ${process.pid}) already holds the lock ${p}`);
    lock.release();
    const again = take(p);
    assert.deepEqual(again.took, []);
    again.lock.release();
  });

  test('a record naming this process that it does not hold (a failed start) is taken over, never "another helpdesk-monitor"', () => {
    const p = freshLock();
    const me = procFacts(process.pid)!;
    plant(p, { pid: process.pid, start_ticks: me.startTicks, cmdline: me.command, token: 'feedfacefeedface' });
    const { lock, took } = take(p);
    try {
      assert.equal(took.length, 1);
      assert.match(took[0]!, new RegExp(`the lock names this process \\(pid ${process.pid}\\), which does not hold it`));
      assert.notEqual(onDisk(p).token, 'feedfacefeedface', 'our own record now');
    } finally {
      lock.release();
    }
    assert.equal(existsSync(p), false);
  });

  test('a record naming pid 1 is taken over', () => {
    const p = freshLock();
    const init = procFacts(1);
    plant(p, { pid: 1, ...(init ? { start_ticks: init.startTicks, cmdline: init.command } : {}) });
    const { lock, took } = take(p);
    lock.release();
    assert.deepEqual(took, ['the lock names pid 1 (init), which is never a helpdesk-monitor']);
  });

  test('a record naming a live process that is not a helpdesk-monitor (exact cmdline and start ticks) is taken over; the process is left alone', async () => {
    const p = freshLock();
    const child = spawn('sleep', ['600'], { stdio: 'ignore' });
    const pid = child.pid!;
    const exited = once(child, 'exit');
    try {
      const f = await waitFor('sleep running', () => {
        const facts = procFacts(pid);
        return facts?.command.startsWith('sleep') ? facts : undefined;
      }, 10_000, 10);
      plant(p, { pid, start_ticks: f.startTicks, cmdline: f.command, started_at: '2003-03-03T03:03:03.000Z' });
      const { lock, took } = take(p);
      lock.release();
      assert.deepEqual(took, [`pid ${pid} is not a helpdesk-monitor (it runs "sleep 600")`]);
      assert.equal(child.exitCode, null, 'not harmed');
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  });

  test('a record whose pid now runs another command line is taken over', () => {
    const p = freshLock();
    const me = procFacts(process.pid)!;
    // Our parent (the test runner) is a live node process, but not the one this record describes.
    const parent = procFacts(process.ppid)!;
    plant(p, { pid: process.ppid, start_ticks: parent.startTicks, cmdline: `${me.command} --not-this-one` });
    const { lock, took } = take(p);
    lock.release();
    assert.equal(took.length, 1);
    assert.match(took[0]!, new RegExp(`^pid ${process.ppid} runs ".*", not the helpdesk-monitor that wrote the lock`));
  });

  test('release leaves a lock that is no longer ours', () => {
    const p = freshLock();
    const { lock } = take(p);
    const other = { ...onDisk(p), token: 'someone-else' };
    writeFileSync(p, JSON.stringify(other));
    lock.release();
    assert.ok(existsSync(p));
  });
});
