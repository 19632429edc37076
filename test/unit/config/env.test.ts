// HELPDESK_MONITOR_* overrides: the mapping onto the config, precedence (env > file > default),
// the sources each setting reports, secrets' sources, and bad values named by their variable.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SETTINGS, applyEnvOverrides, applySecretOverrides } from '../../../src/config/env.js';
import { loadConfig, stateDirHint } from '../../../src/config/load.js';
import type { EmailNotifyConfig } from '../../../src/config/schema.js';
import { ConfigError } from '../../../src/errors.js';
import { stateDir } from '../../../src/paths.js';

let dir: string;
let seq = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdm-env-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function write(doc: Record<string, unknown>): string {
  const file = join(dir, `cfg-${++seq}.json`);
  writeFileSync(file, JSON.stringify({ apps: [{ name: 'api' }], ...doc }));
  return file;
}

function loadError(file: string, env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(file, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('expected a ConfigError');
}

describe('top-level overrides', () => {
  test('nothing set: file values say "file", the rest "default"', () => {
    const cfg = loadConfig(write({ concurrency: 4 }), {});
    assert.deepEqual(cfg.sources, { log_level: 'default', log_format: 'default', state_dir: 'default', concurrency: 'file' });
    assert.equal(cfg.concurrency, 4);
  });

  test('every variable wins over the file and the default, and says so', () => {
    const env = {
      HELPDESK_MONITOR_LOG_LEVEL: 'DEBUG',
      HELPDESK_MONITOR_LOG_FORMAT: 'json',
      HELPDESK_MONITOR_STATE_DIR: '/var/lib/hdm-state',
      HELPDESK_MONITOR_CONCURRENCY: '12',
    };
    const cfg = loadConfig(write({ concurrency: 4, state_dir: '/tmp/from-file', log: { level: 'warn', max_files: 7 } }), env);
    assert.equal(cfg.log.level, 'debug', 'the level is read case-insensitively');
    assert.equal(cfg.log.format, 'json');
    assert.equal(cfg.log.maxFiles, 7, 'the rest of the file\'s log block stays');
    assert.equal(cfg.stateDir, '/var/lib/hdm-state');
    assert.equal(cfg.concurrency, 12);
    assert.deepEqual(cfg.sources, {
      log_level: 'env HELPDESK_MONITOR_LOG_LEVEL',
      log_format: 'env HELPDESK_MONITOR_LOG_FORMAT',
      state_dir: 'env HELPDESK_MONITOR_STATE_DIR',
      concurrency: 'env HELPDESK_MONITOR_CONCURRENCY',
    });
  });

  test('an empty variable counts as unset', () => {
    const cfg = loadConfig(write({ concurrency: 3 }), { HELPDESK_MONITOR_CONCURRENCY: '' });
    assert.equal(cfg.concurrency, 3);
    assert.equal(cfg.sources?.['concurrency'], 'file');
  });

  test('the table: four settings, each a HELPDESK_MONITOR_ variable', () => {
    assert.deepEqual(SETTINGS.map((s) => [s.variable, s.key]), [
      ['HELPDESK_MONITOR_LOG_LEVEL', 'log_level'],
      ['HELPDESK_MONITOR_LOG_FORMAT', 'log_format'],
      ['HELPDESK_MONITOR_STATE_DIR', 'state_dir'],
      ['HELPDESK_MONITOR_CONCURRENCY', 'concurrency'],
    ]);
  });

  test('applyEnvOverrides leaves its input alone and a non-mapping log: to the schema', () => {
    const root = { log: { level: 'info' }, apps: [] };
    const out = applyEnvOverrides(root, { HELPDESK_MONITOR_LOG_LEVEL: 'warn' });
    assert.deepEqual(root.log, { level: 'info' });
    assert.deepEqual((out.root as { log: unknown }).log, { level: 'warn' });
    const odd = applyEnvOverrides({ log: 3 }, { HELPDESK_MONITOR_LOG_LEVEL: 'warn' });
    assert.equal((odd.root as { log: unknown }).log, 3);
  });
});

describe('bad values: a config error naming the variable', () => {
  const cases: [string, string, RegExp][] = [
    ['HELPDESK_MONITOR_CONCURRENCY', 'lots', /HELPDESK_MONITOR_CONCURRENCY: expected a whole number 1\.\.64, got "lots"/],
    ['HELPDESK_MONITOR_CONCURRENCY', '0', /expected a whole number 1\.\.64, got "0"/],
    ['HELPDESK_MONITOR_CONCURRENCY', '65', /got "65"/],
    ['HELPDESK_MONITOR_CONCURRENCY', '2.5', /got "2\.5"/],
    ['HELPDESK_MONITOR_LOG_LEVEL', 'verbose', /HELPDESK_MONITOR_LOG_LEVEL: expected one of error, warn, info, debug, got "verbose"/],
    ['HELPDESK_MONITOR_LOG_FORMAT', 'xml', /HELPDESK_MONITOR_LOG_FORMAT: expected one of text, json, got "xml"/],
    ['HELPDESK_MONITOR_STATE_DIR', 'state', /HELPDESK_MONITOR_STATE_DIR: expected an absolute path/],
  ];
  for (const [variable, value, re] of cases) {
    test(`${variable}=${value}`, () => {
      const file = write({});
      const err = loadError(file, { [variable]: value });
      assert.match(err.message, re);
      assert.ok(err.message.includes(file), 'names the config it overrides');
      assert.deepEqual(err.issues.map((i) => i.path), [variable]);
    });
  }

  test('several bad variables are all named at once', () => {
    const err = loadError(write({}), { HELPDESK_MONITOR_CONCURRENCY: 'x', HELPDESK_MONITOR_LOG_LEVEL: 'y' });
    assert.deepEqual(err.issues.map((i) => i.path).sort(), ['HELPDESK_MONITOR_CONCURRENCY', 'HELPDESK_MONITOR_LOG_LEVEL']);
  });
});

describe('secrets: the variable becomes the source, the value is never shown', () => {
  const pwFile = (): string => {
    const f = join(dir, `pw-${++seq}`);
    writeFileSync(f, 'from-the-file-1234567890');
    chmodSync(f, 0o600);
    return f;
  };

  test('no secret-bearing feature: no secret sources', () => {
    const cfg = loadConfig(write({}), { HELPDESK_MONITOR_DB_PASSWORD: 'x', HELPDESK_MONITOR_WEB_TOKEN: 'y', HELPDESK_MONITOR_SMTP_PASSWORD: 'z' });
    assert.deepEqual(Object.keys(cfg.sources ?? {}).sort(), ['concurrency', 'log_format', 'log_level', 'state_dir']);
  });

  test('the alarm table: password_file in the file, HELPDESK_MONITOR_DB_PASSWORD set: the variable wins', () => {
    const file = write({ alarms: { user: 'hdm', password_file: pwFile() } });
    const fromFile = loadConfig(file, {});
    assert.equal(fromFile.alarms?.password.kind, 'file');
    assert.equal(fromFile.sources?.['db_password'], 'file');
    const fromEnv = loadConfig(file, { HELPDESK_MONITOR_DB_PASSWORD: 'db-Secret-value-77' });
    assert.deepEqual(fromEnv.alarms?.password, { kind: 'env', name: 'HELPDESK_MONITOR_DB_PASSWORD' });
    assert.equal(fromEnv.sources?.['db_password'], 'env HELPDESK_MONITOR_DB_PASSWORD');
    assert.ok(!JSON.stringify(fromEnv).includes('db-Secret-value-77'), 'the value is nowhere in the config');
    // The default variable unset and the file naming none: no password.
    assert.equal(loadConfig(write({ alarms: { user: 'hdm' } }), {}).sources?.['db_password'], 'default');
  });

  test('the status server token: the variable wins over token_file, turns a token on, and must be 16 bytes', () => {
    const withFile = write({ http: { token_file: pwFile() } });
    assert.equal(loadConfig(withFile, {}).sources?.['web_token'], 'file');
    const token = 'web-token-0123456789abcdef';
    const cfg = loadConfig(withFile, { HELPDESK_MONITOR_WEB_TOKEN: token });
    assert.deepEqual(cfg.http?.token, { kind: 'env', name: 'HELPDESK_MONITOR_WEB_TOKEN' });
    assert.equal(cfg.sources?.['web_token'], 'env HELPDESK_MONITOR_WEB_TOKEN');
    const plain = write({ http: true });
    assert.equal(loadConfig(plain, {}).sources?.['web_token'], 'default');
    assert.deepEqual(loadConfig(plain, { HELPDESK_MONITOR_WEB_TOKEN: token }).http?.token, { kind: 'env', name: 'HELPDESK_MONITOR_WEB_TOKEN' });
    const err = loadError(plain, { HELPDESK_MONITOR_WEB_TOKEN: 'short-tok' });
    assert.match(err.message, /HELPDESK_MONITOR_WEB_TOKEN is 9 bytes \(not shown\), fewer than the 16 a token needs/);
    assert.ok(!err.message.includes('short-tok'), 'the value is not shown');
  });

  test('SMTP: the variable is the password of every email entry with a user', () => {
    const base = { format: 'email', host: 'smtp.example.com', from: 'm@example.com', to: 'o@example.com' };
    const file = write({ notify: [{ ...base, user: 'u', password_file: pwFile() }, base] });
    assert.equal(loadConfig(file, {}).sources?.['smtp_password'], 'file');
    const cfg = loadConfig(file, { HELPDESK_MONITOR_SMTP_PASSWORD: 'smtp-pw' });
    const [authed, open] = cfg.notify as EmailNotifyConfig[];
    assert.deepEqual(authed!.smtp.password, { kind: 'env', name: 'HELPDESK_MONITOR_SMTP_PASSWORD' });
    assert.equal(open!.smtp.password, undefined, 'no user, no AUTH: the variable does not add one');
    assert.equal(cfg.sources?.['smtp_password'], 'env HELPDESK_MONITOR_SMTP_PASSWORD');
    assert.equal(loadConfig(write({ notify: [{ ...base, user: 'u' }] }), {}).sources?.['smtp_password'], 'default');
  });

  test('a variable taken out of the environment once read still counts on the next load (a reload)', () => {
    const env: NodeJS.ProcessEnv = { HELPDESK_MONITOR_DB_PASSWORD: 'db-pw-1234' };
    const cfg = { alarms: { password: { kind: 'file', path: '/x' } as const }, notify: [] };
    assert.equal(applySecretOverrides(cfg, env).sources['db_password'], 'env HELPDESK_MONITOR_DB_PASSWORD');
    delete env['HELPDESK_MONITOR_DB_PASSWORD']; // what the alarm source does once it has read it
    assert.equal(applySecretOverrides(cfg, env).sources['db_password'], 'env HELPDESK_MONITOR_DB_PASSWORD');
    assert.equal(applySecretOverrides(cfg, {}).sources['db_password'], 'file', 'another environment never saw it');
  });
});

describe('state_dir without a loaded config', () => {
  test('HELPDESK_MONITOR_STATE_DIR beats the broken file\'s hint and the default', () => {
    const file = write({ state_dir: '/from/file', apps: 'broken' });
    assert.equal(stateDirHint(file, {}), '/from/file');
    assert.equal(stateDirHint(file, { HELPDESK_MONITOR_STATE_DIR: '/from/env' }), '/from/env');
    assert.equal(stateDir(undefined, { HELPDESK_MONITOR_STATE_DIR: '/from/env', PM2_HOME: '/p' }), '/from/env');
    assert.equal(stateDir(undefined, { PM2_HOME: '/p' }), '/p/helpdesk-monitor');
    assert.equal(stateDir('/cfg', { HELPDESK_MONITOR_STATE_DIR: '/from/env' }), '/cfg', 'a loaded config already carries the override');
  });
});
