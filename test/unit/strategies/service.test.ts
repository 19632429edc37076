import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeOutcome, readActiveState, systemctlArgs, unitNameProblem, type SystemctlOutcome } from '../../../src/strategies/service.js';

const out = (patch: Partial<SystemctlOutcome>): SystemctlOutcome => ({ code: 0, stdout: '', stderr: '', timedOut: false, ...patch });

describe('systemctl arguments', () => {
  test('restart, is-active and the existence test', () => {
    assert.deepEqual(systemctlArgs.restart('helpdesk.service'), ['restart', 'helpdesk.service']);
    assert.deepEqual(systemctlArgs.isActive('helpdesk'), ['is-active', 'helpdesk']);
    assert.deepEqual(systemctlArgs.exists('helpdesk'), ['cat', 'helpdesk']);
  });
});

describe('unit names', () => {
  test('ordinary unit names are fine', () => {
    for (const u of ['helpdesk', 'helpdesk.service', 'getty@tty1.service', 'sys-devices-x\\x2d1.device', 'a:b_c-d.e']) {
      assert.equal(unitNameProblem(u), undefined, u);
    }
  });
  test('names systemctl would misread or systemd rejects are refused', () => {
    assert.match(unitNameProblem('') ?? '', /empty/);
    assert.match(unitNameProblem('--now') ?? '', /starts with "-"/);
    assert.match(unitNameProblem('a b') ?? '', /characters/);
    assert.match(unitNameProblem('x;reboot') ?? '', /characters/);
    assert.match(unitNameProblem('x'.repeat(300)) ?? '', /longer/);
  });
});

describe('is-active answers', () => {
  test('active only with exit 0 and "active"', () => {
    assert.equal(readActiveState(out({ code: 0, stdout: 'active\n' })).active, true);
    assert.equal(readActiveState(out({ code: 3, stdout: 'active\n' })).active, false);
    assert.equal(readActiveState(out({ code: 0, stdout: 'reloading\n' })).active, false);
  });
  test('failed is final; activating, inactive and call failures are worth waiting on', () => {
    const failed = readActiveState(out({ code: 3, stdout: 'failed\n' }));
    assert.deepEqual([failed.active, failed.final, failed.state], [false, true, 'failed']);
    for (const s of ['activating', 'inactive', 'deactivating']) {
      const r = readActiveState(out({ code: 3, stdout: `${s}\n` }));
      assert.deepEqual([r.active, r.final, r.state], [false, false, s]);
    }
    const timedOut = readActiveState(out({ code: null, timedOut: true, error: 'timed out after 500 ms' }));
    assert.deepEqual([timedOut.active, timedOut.final, timedOut.state], [false, false, 'timed out after 500 ms']);
    assert.equal(readActiveState(out({ code: 4, stdout: '' })).state, 'exit 4');
  });
});

describe('describing a failed call', () => {
  test('exit code and the first line systemctl said', () => {
    assert.equal(
      describeOutcome('systemctl restart x', out({ code: 1, stderr: '\nJob for x.service failed.\nSee "systemctl status x.service"\n' })),
      'systemctl restart x exited 1: Job for x.service failed.',
    );
    assert.equal(describeOutcome('systemctl restart x', out({ code: 5 })), 'systemctl restart x exited 5');
    assert.equal(describeOutcome('systemctl restart x', out({ code: null, error: 'systemctl not found on PATH' })), 'systemctl restart x: systemctl not found on PATH');
  });
});
