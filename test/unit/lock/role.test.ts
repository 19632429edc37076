// The lock holder by role: the record's own `role`, else the command line of a record written
// before the field existed (PM2's ProcessContainerFork.js is the module; `… run` under PM2 is
// `run`); the message of a refused acquireLock names the role, never PM2's container path; the
// monitor's lock records the door of the process that takes it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LockHeldError } from '../../../src/errors.js';
import type { LockRecord } from '../../../src/lock/holder.js';
import { acquireLock, describeHolder } from '../../../src/lock/lock.js';
import { roleOf, roleOfArgs } from '../../../src/lock/role.js';
import { procFacts } from '../../../src/proc/read.js';
import { waitFor } from '../../helpers/sandbox.js';

const FORK = '/usr/lib/node_modules/pm2/lib/ProcessContainerFork.js';
const MODULE = '/root/.pm2/modules/helpdesk-monitor/node_modules/helpdesk-monitor/dist/src/module.js';
const CLI = '/opt/helpdesk-monitor/dist/src/cli/index.js';

describe('roleOfArgs: a process by its arguments', () => {
  test('the CLI: the command after the script', () => {
    assert.equal(roleOfArgs([CLI, 'run', '--config', '/srv/m.yaml']), 'run');
    assert.equal(roleOfArgs([CLI, 'check']), 'check');
    assert.equal(roleOfArgs(['/usr/bin/helpdesk-monitor', 'watch', '--config', 'x.yaml']), 'watch');
  });

  test('under PM2: the module has no arguments and PM2 loaded module.js; `run` as a plain PM2 app has `run` after the container', () => {
    assert.equal(roleOfArgs([FORK], MODULE), 'module');
    assert.equal(roleOfArgs([FORK, 'run', '--config', '/srv/m.yaml'], CLI), 'run');
    assert.equal(roleOfArgs(['/x/pm2/lib/ProcessContainer.js'], MODULE), 'module');
  });

  test('a script that is not ours is no role, whatever its arguments', () => {
    assert.equal(roleOfArgs(['/srv/app/server.js', 'run']), undefined);
    assert.equal(roleOfArgs(['/work/dist/test/unit/lock/role.test.js']), undefined);
    assert.equal(roleOfArgs([CLI, 'status']), undefined, 'status takes no lock');
    assert.equal(roleOfArgs([FORK], '/srv/app/server.js'), undefined, 'another PM2 app');
    assert.equal(roleOfArgs([]), undefined);
  });

});

describe('describeHolder', () => {
  const rec = (patch: Partial<LockRecord>): LockRecord => ({ pid: 4242, hostname: 'h', started_at: '', heartbeat_at: '', command: '', ...patch });

  test('by the recorded role', () => {
    assert.equal(describeHolder(rec({ role: 'module', command: FORK })), 'the PM2 module (pid 4242)');
    assert.equal(describeHolder(rec({ role: 'run' })), '`run` (pid 4242)');
    assert.equal(describeHolder(rec({ role: 'check' })), '`check` (pid 4242)');
    assert.equal(describeHolder(rec({ role: 'watch' })), '`watch` (pid 4242)');
  });

  test('a record without role: from its command, else from its cmdline', () => {
    assert.equal(describeHolder(rec({ command: FORK, cmdline: `node ${MODULE}` })), 'the PM2 module (pid 4242)');
    assert.equal(describeHolder(rec({ command: FORK })), 'the PM2 module (pid 4242)', 'the old module record: the container alone');
    assert.equal(describeHolder(rec({ command: `${FORK} run --config /srv/m.yaml` })), '`run` (pid 4242)');
    assert.equal(describeHolder(rec({ command: `${CLI} check --config /srv/m.yaml` })), '`check` (pid 4242)');
    assert.equal(describeHolder(rec({ command: '', cmdline: `node ${CLI} run` })), '`run` (pid 4242)');
    assert.equal(roleOf(rec({ command: 'x', cmdline: `node ${MODULE}` })), 'module');
  });

  test('an unknown holder by its pid and command, escaped', () => {
    assert.equal(describeHolder(rec({ command: 'node /srv/other.js' })), 'pid 4242 (node /srv/other.js)');
    assert.equal(describeHolder(rec({ command: 'evil\u001b[2J' })), 'pid 4242 (evil\\x1b[2J)');
    assert.equal(describeHolder(rec({})), 'pid 4242');
  });
});

describe('acquireLock: the role in the record and in the refusal', () => {
  let dir: string;
  let idle: ReturnType<typeof spawn> | undefined;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'hdm-role-'));
  });
  after(() => {
    if (idle?.pid && idle.exitCode === null) process.kill(idle.pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('the writer records its role; without one, none is written', () => {
    const p = join(dir, 'a', 'monitor.lock');
    const lock = acquireLock({ path: p, role: 'check' });
    assert.equal((JSON.parse(readFileSync(p, 'utf8')) as LockRecord).role, 'check');
    lock.release();
    const again = acquireLock({ path: p });
    assert.equal('role' in (JSON.parse(readFileSync(p, 'utf8')) as LockRecord), false);
    again.release();
  });

  test('a live holder is named by role, not by its path; an old record of the module by the container path it recorded', async () => {
    // A live node process stands in for the holder: its exact cmdline and start ticks keep it live.
    idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], { stdio: 'ignore' });
    const pid = idle.pid!;
    const facts = await waitFor('the idle holder in /proc', () => {
      const f = procFacts(pid);
      return f && f.command.includes('setInterval') ? f : undefined;
    }, 10_000, 10);
    const p = join(dir, 'b', 'monitor.lock');
    mkdirSync(join(p, '..'), { mode: 0o700 });
    const plant = (patch: Partial<LockRecord>): void => writeFileSync(p, `${JSON.stringify({
      pid, hostname: hostname(), started_at: new Date().toISOString(), heartbeat_at: new Date().toISOString(),
      command: `${FORK}`, start_ticks: facts.startTicks, cmdline: facts.command, ...patch,
    })}\n`);
    const refusal = (): string => {
      try {
        acquireLock({ path: p, role: 'check' }).release();
      } catch (err) {
        assert.ok(err instanceof LockHeldError, String(err));
        assert.equal(err.holderPid, pid);
        return err.message;
      }
      throw new Error('the lock was taken from a live holder');
    };

    plant({ role: 'run', command: `${CLI} run --config /srv/m.yaml` });
    assert.match(refusal(), new RegExp(`^another helpdesk-monitor holds the lock: \`run\` \\(pid ${pid}\\) on ${hostname()}, running for `));

    plant({}); // written before records had a role: PM2's container is all the command says
    const msg = refusal();
    assert.match(msg, new RegExp(`holds the lock: the PM2 module \\(pid ${pid}\\) on `));
    assert.doesNotMatch(msg, /ProcessContainerFork/);
  });
});
