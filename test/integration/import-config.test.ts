// `helpdesk-monitor import-config` as an operator runs it: the built CLI on the seed's example
// config.ini (monitor_service's README, copied verbatim), its YAML loaded by the real
// loadConfig, the password nowhere in what it prints, `--output` private and never clobbering.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { ROOT } from '../helpers/sandbox.js';

/** The [database] ... [process.example] block of the seed's README, as given (test/fixtures). */
const SEED_INI = readFileSync(join(ROOT, 'test', 'fixtures', 'seed-config.ini'), 'utf8');

let dir: string;
let ini: string;
const env = cliEnv(process.env);

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdm-import-'));
  ini = join(dir, 'config.ini');
  writeFileSync(ini, SEED_INI);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('import-config', () => {
  test('the seed\'s config.ini: YAML on stdout that loadConfig accepts, mapped as issue 13 says, no password', async () => {
    const r = await runCli(['import-config', ini], env);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout + r.stderr, /your_password/);
    assert.match(r.stderr, /note: .*config\.ini:4: the password was not copied: put it in the environment variable HELPDESK_MONITOR_DB_PASSWORD/);
    assert.match(r.stderr, /warning: .*config\.ini:1: \[database\] user is root/);

    const doc = parseYaml(r.stdout) as Record<string, Record<string, unknown>>;
    assert.equal(doc['defaults']!['max_restart_failures'], 3);
    assert.equal(doc['alarms']!['password'], undefined);
    const yamlFile = join(dir, 'from-stdout.yaml');
    writeFileSync(yamlFile, r.stdout);
    const config = loadConfig(yamlFile);
    const app = config.apps[0]!;
    assert.equal(config.alarms?.intervalMs, 300_000, 'check_interval 300 -> alarms.interval 300 s');
    assert.deepEqual(config.alarms?.password, { kind: 'env', name: 'HELPDESK_MONITOR_DB_PASSWORD' });
    assert.deepEqual([config.alarms?.host, config.alarms?.user, config.alarms?.database], ['localhost', 'root', 'v_process_monitor']);
    assert.equal(app.verifyTimeoutMs, 10_000, 'health_check_timeout 10 -> verify_timeout 10 s');
    assert.equal(app.policy.maxRestartFailures, 3);
    assert.equal(app.policy.circuitResetMs, 1_800_000, 'circuit_reset_time 1800 s');
    assert.equal(config.log.maxFiles, 5);
    assert.equal(config.log.maxSizeBytes, 5120 * 1024);
    assert.deepEqual([app.name, app.strategy, app.serviceUnit, app.policy.maxAttempts, app.policy.restartDelayMs], ['example', 'service', 'example', 2, 5000]);
    assert.equal(app.healthCheckCommand?.command, 'systemctl is-active example');
    assert.equal(app.preRestartCommand?.command, '/path/to/validation/script');
  });

  test('--output writes a 0600 file, refuses to replace it without --force, replaces it with --force', async () => {
    const out = join(dir, 'out.yaml');
    const first = await runCli(['import-config', ini, '--output', out], env);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, '', 'the YAML goes to the file only');
    assert.match(first.stderr, /wrote .*out\.yaml \(mode 0600\)/);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    assert.equal(loadConfig(out).alarms?.intervalMs, 300_000);

    writeFileSync(out, 'mine\n');
    const again = await runCli(['import-config', ini, '-o', out], env);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /out\.yaml exists: pass --force to replace it/);
    assert.equal(readFileSync(out, 'utf8'), 'mine\n', 'the existing file is untouched');

    const forced = await runCli(['import-config', ini, '--output', out, '--force'], env);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    assert.doesNotMatch(readFileSync(out, 'utf8'), /your_password/);
    assert.equal(loadConfig(out).apps[0]?.name, 'example');
  });

  test('a malformed line exits 2 naming file:line, without printing the line', async () => {
    const bad = join(dir, 'bad.ini');
    writeFileSync(bad, '[database]\nuser = root\npassword your_password\n');
    const r = await runCli(['import-config', bad], env);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /bad\.ini:3: expected `key = value`/);
    assert.doesNotMatch(r.stderr, /your_password/);
  });

  test('usage errors exit 2 and point at the command\'s --help; --help has an example', async () => {
    for (const [args, message] of [
      [[], /import-config needs FILE/],
      [[ini, 'second.ini'], /takes one FILE \(got 2\)/],
      [[ini, '--force'], /--force is for --output/],
      [[ini, '--ouput', 'x'], /unknown option --ouput for import-config \(did you mean --output\?\)/],
      [[join(dir, 'missing.ini')], /no such file/],
    ] as const) {
      const r = await runCli(['import-config', ...args], env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    const help = await runCli(['import-config', '--help'], env);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: helpdesk-monitor import-config FILE/);
    assert.match(help.stdout, /Example:\n {2}helpdesk-monitor import-config \S+config\.ini --output/);
  });
});
