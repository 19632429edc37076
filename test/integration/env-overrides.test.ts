// HELPDESK_MONITOR_* overrides through the real CLI against a sandbox PM2: `status --json` tells
// where each top-level setting came from (env, file, default), secrets by their source only; the
// overrides reach what the doors do (check's log lands in the state dir the variable names, in the
// format it names); a bad value is exit 2 naming the variable, from status, check and run alike.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createSandbox, healthUrl, type Sandbox } from '../helpers/sandbox.js';
import { runCli } from '../helpers/cli.js';
import { configIn, freshDir, sandboxCliEnv, startHealthy } from '../helpers/operator.js';
import { assertMatchesSchema } from '../helpers/schema.js';

const PORT = 48620;
const WEB_PORT = 48621;
const APP = 'env-app';
const T = { timeout: 90_000 };

const SECRETS = {
  HELPDESK_MONITOR_DB_PASSWORD: 'db-Pa55-48620-aa11bb22',
  HELPDESK_MONITOR_WEB_TOKEN: 'web-token-48621-0123456789abcdef',
  HELPDESK_MONITOR_SMTP_PASSWORD: 'smtp-Pa55-48620-cc33dd44',
};

let sb: Sandbox;
let fileStateDir: string;
let config: string;

before(async () => {
  sb = await createSandbox('env-overrides');
  await startHealthy(sb, APP, PORT);
  fileStateDir = freshDir(sb.home, 'file-state');
  const pw = join(freshDir(sb.home, 'secrets'), 'db-password');
  writeFileSync(pw, 'from-the-file\n');
  chmodSync(pw, 0o600);
  config = configIn(sb.home, {
    state_dir: fileStateDir,
    concurrency: 4,
    log: { level: 'warn' },
    alarms: { user: 'hdm', password_file: pw },
    http: { port: WEB_PORT },
    notify: [{ format: 'email', host: 'smtp.example.com', user: 'monitor', from: 'm@example.com', to: 'ops@example.com' }],
    apps: [{ name: APP, health: { url: healthUrl(PORT), timeout: '1s' }, startup_grace: 0 }],
  });
});
after(async () => {
  await sb?.teardown();
});

const failed = (what: string, r: { code: number | null; stdout: string; stderr: string }): string => `${what}: exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

test('status --json: where each top-level setting came from; secrets by source, never by value', T, async () => {
  const plain = await runCli(['status', '--json', '--config', config], sandboxCliEnv(sb));
  assert.equal(plain.code, 0, failed('status', plain));
  const before = JSON.parse(plain.stdout) as { sources: Record<string, string> };
  assert.deepEqual(before.sources, {
    log_level: 'file', log_format: 'default', state_dir: 'file', concurrency: 'file',
    db_password: 'file', web_token: 'default', smtp_password: 'default',
  });

  const envState = freshDir(sb.home, 'env-state');
  const env = sandboxCliEnv(sb, { HELPDESK_MONITOR_LOG_LEVEL: 'debug', HELPDESK_MONITOR_CONCURRENCY: '16', HELPDESK_MONITOR_STATE_DIR: envState, ...SECRETS });
  const r = await runCli(['status', '--json', '--config', config], env);
  assert.equal(r.code, 0, failed('status', r));
  const doc = JSON.parse(r.stdout) as { sources: Record<string, string>; apps: { name: string }[] };
  assertMatchesSchema('status', doc);
  assert.deepEqual(doc.sources, {
    log_level: 'env HELPDESK_MONITOR_LOG_LEVEL',
    log_format: 'default',
    state_dir: 'env HELPDESK_MONITOR_STATE_DIR',
    concurrency: 'env HELPDESK_MONITOR_CONCURRENCY',
    db_password: 'env HELPDESK_MONITOR_DB_PASSWORD',
    web_token: 'env HELPDESK_MONITOR_WEB_TOKEN',
    smtp_password: 'env HELPDESK_MONITOR_SMTP_PASSWORD',
  });
  assert.ok(doc.apps.some((a) => a.name === APP));
  for (const [name, value] of Object.entries(SECRETS)) {
    assert.ok(!r.stdout.includes(value) && !r.stderr.includes(value), `the value of ${name} is never shown`);
  }
});

test('the overrides reach what a door does: check logs to HELPDESK_MONITOR_STATE_DIR in HELPDESK_MONITOR_LOG_FORMAT', T, async () => {
  const envState = freshDir(sb.home, 'check-state');
  const env = sandboxCliEnv(sb, { HELPDESK_MONITOR_STATE_DIR: envState, HELPDESK_MONITOR_LOG_FORMAT: 'json', HELPDESK_MONITOR_LOG_LEVEL: 'info' });
  const r = await runCli(['check', '--config', config], env);
  assert.equal(r.code, 0, failed('check', r));
  const log = join(envState, 'monitor.log');
  assert.ok(existsSync(log), 'the log is in the state dir the variable names');
  assert.ok(!existsSync(join(fileStateDir, 'monitor.log')), 'not in the file\'s state_dir');
  const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  assert.ok(lines.length > 0);
  for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `a JSON line: ${line}`);
});

test('a bad value: exit 2 naming the variable, from status, check and run', T, async () => {
  const env = sandboxCliEnv(sb, { HELPDESK_MONITOR_CONCURRENCY: 'lots' });
  const status = await runCli(['status', '--json', '--config', config], env);
  assert.equal(status.code, 2, failed('status', status));
  assert.match(status.stderr, /HELPDESK_MONITOR_CONCURRENCY: expected a whole number 1\.\.64, got "lots"/);
  const doc = JSON.parse(status.stdout) as { config_error: { issues: { path: string; message: string }[] } };
  assert.deepEqual(doc.config_error.issues.map((i) => i.path), ['HELPDESK_MONITOR_CONCURRENCY']);
  assertMatchesSchema('status', doc);

  for (const args of [['check', '--config', config], ['run', '--config', config]]) {
    const r = await runCli(args, env, 20_000);
    assert.equal(r.code, 2, failed(args[0]!, r));
    assert.match(r.stderr, /HELPDESK_MONITOR_CONCURRENCY: expected a whole number 1\.\.64, got "lots"/, failed(args[0]!, r));
  }

  const level = await runCli(['check', '--config', config], sandboxCliEnv(sb, { HELPDESK_MONITOR_LOG_LEVEL: 'loud' }));
  assert.equal(level.code, 2, failed('check', level));
  assert.match(level.stderr, /HELPDESK_MONITOR_LOG_LEVEL: expected one of error, warn, info, debug, got "loud"/);
});
