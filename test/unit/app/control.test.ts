// Operator requests, shared by the CLI (`reset`, `pause`, `resume`) and the module's actions:
// the duration rule, the change each request makes, and the file it writes (read back as the
// monitor reads it).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { controlChange, pauseEnd, requestControl, requestDone, thisProcess } from '../../../src/app/control.js';
import type { Requester } from '../../../src/engine/view.js';
import { UsageError } from '../../../src/errors.js';
import { controlFilePath, readControl } from '../../../src/state/control.js';

const dir = mkdtempSync(join(tmpdir(), 'hdm-app-control-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const NOW = Date.parse('2024-05-01T12:00:00.000Z');
const BY: Requester = { user: 'ops', uid: 1000, pid: 7, via: 'pm2 trigger' };

describe('pauseEnd', () => {
  test('no duration is until resume; a duration ends the pause that much later', () => {
    assert.equal(pauseEnd(undefined, NOW), 'indefinite');
    assert.equal(pauseEnd('30m', NOW), NOW + 30 * 60_000);
    assert.equal(pauseEnd('90', NOW), NOW + 90_000, 'a bare number is seconds, as in the config');
  });

  test('anything but a positive duration is a usage error', () => {
    for (const bad of ['5x', '', '0', '0s', '-1m', 'soon']) assert.throws(() => pauseEnd(bad, NOW), UsageError, bad);
  });
});

describe('controlChange and requestControl', () => {
  test('each request is one change, recorded with who asked, and read back by the monitor', () => {
    assert.deepEqual(controlChange({ kind: 'reset' }, BY, NOW), { resetAt: NOW, by: BY });
    assert.deepEqual(controlChange({ kind: 'pause', until: 'indefinite' }, BY, NOW), { pausedUntil: 'indefinite', by: BY });
    assert.deepEqual(controlChange({ kind: 'resume' }, BY, NOW), { pausedUntil: null, by: BY });
    const file = controlFilePath(join(dir, 'state'));
    requestControl(file, 'hd', { kind: 'pause', until: NOW + 60_000 }, BY, NOW);
    requestControl(file, 'hd', { kind: 'reset' }, BY, NOW);
    const c = readControl(file).get('hd');
    assert.deepEqual(c, { pausedUntil: NOW + 60_000, pausedBy: BY, resetAt: NOW, resetBy: BY });
    requestControl(file, 'hd', { kind: 'resume' }, BY, NOW);
    assert.equal(readControl(file).get('hd')?.pausedUntil, undefined);
    assert.deepEqual(readControl(file).get('hd')?.resumedBy, BY);
  });

  test('requestDone says what was asked', () => {
    assert.equal(requestDone('hd', { kind: 'pause', until: 'indefinite' }), 'hd: remedies paused until `helpdesk-monitor resume`');
    assert.equal(requestDone('hd', { kind: 'pause', until: NOW }), 'hd: remedies paused until 2024-05-01T12:00:00.000Z');
  });
});

describe('thisProcess', () => {
  test('is this process, with how it asked', () => {
    const me = thisProcess('pm2 trigger');
    assert.equal(me.pid, process.pid);
    assert.equal(me.via, 'pm2 trigger');
    assert.equal(me.uid, process.getuid?.());
    assert.ok(me.user.length > 0);
  });
});
