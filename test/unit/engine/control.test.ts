/** control.json: `pause`, `resume` and `reset` written by the CLI, read by the monitor. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { controlFilePath, readControl, updateControl } from '../../../src/engine/control.js';

let dir: string;
let seq = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdm-control-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A control.json path in a directory of its own (not created yet). */
const freshPath = (): string => controlFilePath(join(dir, `case-${++seq}`));
const onDisk = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));
/** A control.json with the given text, as a person or a crash might leave it. */
function broken(text: string): string {
  const path = freshPath();
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  return path;
}

const T = Date.parse('2024-05-01T12:30:00.000Z');
const R = Date.parse('2024-05-01T12:00:00.000Z');

describe('controlFilePath', () => {
  test('is control.json in the state dir', () => {
    assert.equal(controlFilePath('/var/lib/hdm'), '/var/lib/hdm/control.json');
  });
});

describe('updateControl', () => {
  test('pause until a time: creates the directory and the file', () => {
    const path = freshPath();
    updateControl(path, 'api', { pausedUntil: T });
    assert.deepEqual(onDisk(path), { version: 1, apps: { api: { paused_until: '2024-05-01T12:30:00.000Z' } } });
    assert.deepEqual(readdirSync(dirname(path)), ['control.json'], 'no temp file left behind');
  });

  test('pause indefinitely', () => {
    const path = freshPath();
    updateControl(path, 'api', { pausedUntil: 'indefinite' });
    assert.deepEqual(onDisk(path), { version: 1, apps: { api: { paused_until: 'indefinite' } } });
  });

  test('a new pause replaces the old one', () => {
    const path = freshPath();
    updateControl(path, 'api', { pausedUntil: 'indefinite' });
    updateControl(path, 'api', { pausedUntil: T });
    assert.deepEqual(onDisk(path), { version: 1, apps: { api: { paused_until: '2024-05-01T12:30:00.000Z' } } });
  });

  test('resume removes the pause and keeps the reset', () => {
    const path = freshPath();
    updateControl(path, 'api', { pausedUntil: 'indefinite' });
    updateControl(path, 'api', { resetAt: R });
    updateControl(path, 'api', { pausedUntil: null });
    assert.deepEqual(onDisk(path), { version: 1, apps: { api: { reset_at: '2024-05-01T12:00:00.000Z' } } });
    assert.deepEqual(readControl(path).get('api'), { resetAt: R });
  });

  test('resume of an app that was never paused is harmless', () => {
    const path = freshPath();
    updateControl(path, 'api', { pausedUntil: null });
    assert.deepEqual(onDisk(path), { version: 1, apps: { api: {} } });
    assert.deepEqual(readControl(path).get('api'), {});
  });

  test('reset sets reset_at and keeps the pause; a later reset replaces it', () => {
    const path = freshPath();
    updateControl(path, 'api', { pausedUntil: T });
    updateControl(path, 'api', { resetAt: R });
    assert.deepEqual(onDisk(path), { version: 1, apps: { api: { paused_until: '2024-05-01T12:30:00.000Z', reset_at: '2024-05-01T12:00:00.000Z' } } });
    updateControl(path, 'api', { resetAt: R + 1000 });
    assert.equal(readControl(path).get('api')?.resetAt, R + 1000);
  });

  test('other apps are left alone', () => {
    const path = freshPath();
    updateControl(path, 'api', { pausedUntil: T });
    updateControl(path, 'worker', { resetAt: R });
    updateControl(path, 'api', { pausedUntil: null });
    assert.deepEqual(onDisk(path), { version: 1, apps: { api: {}, worker: { reset_at: '2024-05-01T12:00:00.000Z' } } });
  });

  test('a broken control.json is replaced', () => {
    const path = broken('{"version": 1, "apps": {"api": {"paused_unt');
    updateControl(path, 'worker', { pausedUntil: 'indefinite' });
    assert.deepEqual(onDisk(path), { version: 1, apps: { worker: { paused_until: 'indefinite' } } });
    assert.deepEqual([...readControl(path)], [['worker', { pausedUntil: 'indefinite' }]]);
  });

  test(
    'a control.json holding JSON null is replaced too',
    () => {
      const path = broken('null');
      updateControl(path, 'api', { resetAt: R });
      assert.deepEqual(onDisk(path), { version: 1, apps: { api: { reset_at: '2024-05-01T12:00:00.000Z' } } });
    },
  );
});

describe('readControl', () => {
  test('a missing file is no control', () => {
    const m = readControl(freshPath());
    assert.equal(m.size, 0);
  });

  test('parses pauses (a time or indefinite) and resets as wall-clock ms', () => {
    const path = broken(
      JSON.stringify({
        version: 1,
        apps: {
          api: { paused_until: '2024-05-01T12:30:00.000Z', reset_at: '2024-05-01T12:00:00.000Z' },
          worker: { paused_until: 'indefinite' },
          quiet: {},
        },
      }),
    );
    const m = readControl(path);
    assert.deepEqual(m.get('api'), { pausedUntil: T, resetAt: R });
    assert.deepEqual(m.get('worker'), { pausedUntil: 'indefinite' });
    assert.deepEqual(m.get('quiet'), {});
    assert.equal(m.size, 3);
  });

  test('reads back what updateControl wrote', () => {
    const path = freshPath();
    updateControl(path, 'api', { pausedUntil: T });
    updateControl(path, 'api', { resetAt: R });
    updateControl(path, 'worker', { pausedUntil: 'indefinite' });
    const m = readControl(path);
    assert.deepEqual(m.get('api'), { pausedUntil: T, resetAt: R });
    assert.deepEqual(m.get('worker'), { pausedUntil: 'indefinite' });
  });

  test('unparsable times are ignored', () => {
    const path = broken(JSON.stringify({ version: 1, apps: { api: { paused_until: 'tomorrow', reset_at: 'now' } } }));
    assert.deepEqual(readControl(path).get('api'), {});
  });

  test('a broken control.json reads as empty', () => {
    for (const text of ['', '{not json', '\u0000\u00ff\u0001', '{"version":1,"apps":', '[]', '42', '{"version":1}']) {
      assert.equal(readControl(broken(text)).size, 0, JSON.stringify(text));
    }
  });

  test(
    'JSON null, or null for an app, reads as empty instead of throwing',
    () => {
      assert.equal(readControl(broken('null')).size, 0);
      const m = readControl(broken('{"version":1,"apps":{"api":null,"worker":{"paused_until":"indefinite"}}}'));
      assert.equal(m.has('api'), false);
      assert.deepEqual(m.get('worker'), { pausedUntil: 'indefinite' });
    },
  );
});
