/**
 * The `schedule:` block and a monitored ecosystem entry's cron_restart: what loads, and the
 * errors that name the key path, the bad value and what was expected.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'hdm-schedule-config-'));
let seq = 0;
after(() => rmSync(dir, { recursive: true, force: true }));

function write(text: string, ext = 'yaml'): string {
  const file = join(dir, `cfg-${++seq}.${ext}`);
  writeFileSync(file, text);
  return file;
}

function loadError(file: string): ConfigError {
  try {
    loadConfig(file);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('the config loaded');
}

test('absent: no block (the defaults apply); given: durations and the catch-up mode read', () => {
  const none = loadConfig(write('apps:\n  - name: api\n'));
  assert.equal(none.apps[0]?.schedule, undefined);
  const some = loadConfig(write('apps:\n  - name: api\n    schedule: { catch_up: once, window: 3s }\n  - name: job\n    schedule: { enabled: false }\n'));
  assert.deepEqual(some.apps[0]?.schedule, { enabled: true, catchUp: 'once', windowMs: 3000 });
  assert.deepEqual(some.apps[1]?.schedule, { enabled: false, catchUp: 'skip', windowMs: 10_000 });
});

test('bad values name the key path, the value and what was expected', () => {
  const mode = loadError(write('apps:\n  - name: api\n    schedule: { catch_up: sometimes }\n'));
  const m = mode.issues.find((i) => i.path === 'apps[0].schedule.catch_up');
  assert.ok(m, mode.message);
  assert.match(m.message, /expected once .* or skip/);
  const win = loadError(write('apps:\n  - name: api\n    schedule: { window: 10m }\n'));
  assert.match(win.issues.find((i) => i.path === 'apps[0].schedule.window')?.message ?? '', /from 1s to 5m/, win.message);
  const unknown = loadError(write('apps:\n  - name: api\n    schedule: { cron: "0 3 * * *" }\n'));
  assert.ok(unknown.issues.some((i) => i.path.startsWith('apps[0].schedule')), unknown.message);
});

test('a monitored ecosystem entry with a bad cron_restart is a ConfigError at its own key', () => {
  const eco = (cron: string): string => write(`module.exports = { apps: [
    { name: 'other', script: 'x.js', cron_restart: 'not a cron' },
    { name: 'api', script: 'server.js', cron_restart: ${JSON.stringify(cron)}, monitor: { schedule: { catch_up: 'once' } } },
  ] };\n`, 'cjs');
  const ok = loadConfig(eco('0 3 * * *'));
  assert.deepEqual(ok.apps.map((a) => a.name), ['api'], 'the unmonitored entry is PM2\'s business');
  const err = loadError(eco('0 25 * * *'));
  const issue = err.issues.find((i) => i.path === 'apps[1].cron_restart');
  assert.ok(issue, err.message);
  assert.match(issue.message, /expected a cron expression/);
  assert.equal(issue.value, '"0 25 * * *"');
});
