// The INI reader (comments, quoting, errors naming file:line) and the conversion to our YAML
// (%s, unknown keys and sections, refused values, the process strategy), each result loaded by
// the real loadConfig: an imported config that does not load is the failure this guards.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { parseIni } from '../../../src/config/import-ini.js';
import { importIni } from '../../../src/config/ini-to-yaml.js';
import { loadConfig } from '../../../src/config/load.js';
import type { MonitorConfig } from '../../../src/config/schema.js';
import { ConfigError } from '../../../src/errors.js';
import { ROOT } from '../../helpers/sandbox.js';

let dir: string;
let seq = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdm-ini-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Convert, then load the YAML with the real loader. */
function importAndLoad(ini: string): { yaml: string; warnings: readonly string[]; notes: readonly string[]; doc: Record<string, unknown>; config: MonitorConfig } {
  const result = importIni(ini, 'config.ini');
  const file = join(dir, `imported-${++seq}.yaml`);
  writeFileSync(file, result.yaml);
  return { ...result, doc: parseYaml(result.yaml) as Record<string, unknown>, config: loadConfig(file) };
}

function iniError(text: string): ConfigError {
  try {
    parseIni(text, 'config.ini');
  } catch (err) {
    assert.ok(err instanceof ConfigError, `a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the INI to be refused');
}

describe('parseIni', () => {
  test('sections, keys, blank lines, full-line and inline comments, quoted values', () => {
    const doc = parseIni([
      '; a comment', '# another', '', '[monitor]',
      'check_interval = 300        # Check interval in seconds',
      'a = x;y#z', // no whitespace before ; or #: part of the value
      'b = # only a comment', 'c =', 'd = "has # and ; inside"  # then a comment', "e = 'single'",
      '  [ process.api ]  ; trailing', 'health_check_command=pgrep %s',
    ].join('\r\n'), 'config.ini');
    assert.deepEqual(doc.sections.map((s) => [s.name, s.line, s.entries.map((e) => [e.key, e.value, e.line])]), [
      ['monitor', 4, [['check_interval', '300', 5], ['a', 'x;y#z', 6], ['b', '', 7], ['c', '', 8], ['d', 'has # and ; inside', 9], ['e', 'single', 10]]],
      ['process.api', 11, [['health_check_command', 'pgrep %s', 12]]],
    ]);
  });

  test('a comment cut at " ;" is remembered (it may have been part of a shell command)', () => {
    const [entry] = parseIni('[process.x]\npre_restart_command = cd /srv && ./check ; true\n', 'f').sections[0]!.entries;
    assert.deepEqual(entry, { key: 'pre_restart_command', value: 'cd /srv && ./check', line: 2, cutAtSemicolon: 'true' });
  });

  test('each malformed line is an error naming file:line, without quoting the line', () => {
    const err = iniError(['[database]', 'password your_password', '[broken', 'user = a', 'user = b', '[database]', 'bad key = 1', 'q = "open', 'x = "a" b'].join('\n'));
    assert.deepEqual(err.issues.map((i) => i.path), ['config.ini:2', 'config.ini:3', 'config.ini:5', 'config.ini:6', 'config.ini:7', 'config.ini:8', 'config.ini:9']);
    assert.match(err.message, /config\.ini:2: expected `key = value`/);
    assert.match(err.message, /config\.ini:5: key "user" again in \[database\] \(first at line 4\)/);
    assert.match(err.message, /config\.ini:6: section \[database\] again \(first at line 1\)/);
    assert.match(err.message, /config\.ini:8: q: a quoted value without its closing "/);
    assert.doesNotMatch(err.message, /your_password/);
  });

  test('a key before any section, and a control character, are errors with their line', () => {
    assert.equal(iniError('\n\nhost = x\n').message, 'config.ini:3: key "host" before any [section] header');
    assert.match(iniError('[database]\nhost = a\u001b[2Jb\n').message, /^config\.ini:2: a control character/);
  });
});

/** The seed README's config.ini, as given. */
const SEED = readFileSync(join(ROOT, 'test', 'fixtures', 'seed-config.ini'), 'utf8');

describe('importIni', () => {
  test('the seed\'s config.ini loads with every value where the mapping says', () => {
    const { yaml, config, doc, notes } = importAndLoad(SEED);
    assert.doesNotMatch(yaml, /your_password/);
    assert.match(yaml, /HELPDESK_MONITOR_DB_PASSWORD/);
    assert.match(yaml, /GRANT UPDATE \(alarma, notes\) ON v_process_monitor\.STATUS_PROCESS/, 'root gets the least-privilege advice');
    assert.match(notes.join('\n'), /config\.ini:4: the password was not copied/);
    assert.deepEqual((doc['defaults'] as Record<string, unknown>)['max_restart_failures'], 3);
    const a = config.alarms!;
    assert.deepEqual([a.host, a.port, a.user, a.database, a.password, a.intervalMs], ['localhost', 3306, 'root', 'v_process_monitor', { kind: 'env', name: 'HELPDESK_MONITOR_DB_PASSWORD' }, 300_000]);
    assert.deepEqual([config.log.maxSizeBytes, config.log.maxFiles], [5120 * 1024, 5]);
    const app = config.apps[0]!;
    assert.deepEqual([config.apps.length, app.name, app.strategy, app.serviceUnit], [1, 'example', 'service', 'example']);
    assert.equal(app.preRestartCommand?.command, '/path/to/validation/script');
    assert.equal(app.healthCheckCommand?.command, 'systemctl is-active example');
    assert.equal(app.healthCheckCommand?.timeoutMs, 10_000, 'our per-run health_check_timeout keeps its default');
    assert.equal(app.verifyTimeoutMs, 10_000, 'the INI\'s health_check_timeout is how long a restart may take to pass');
    assert.deepEqual([app.policy.restartDelayMs, app.policy.maxAttempts, app.policy.maxRestartFailures, app.policy.circuitResetMs], [5000, 2, 3, 1_800_000]);
    assert.equal(app.policy.failureWindowMs, 900_000, '3 failures one 300 s poll apart fall in one window');
  });

  test('[process.default] goes to defaults: with %s kept (our commands read it as the app name)', () => {
    const { config, warnings } = importAndLoad('[process.default]\nhealth_check_command = pgrep %s\nhealth_check_timeout = 5\nmax_attempts = 3\n[process.api]\nmax_attempts = 1\n[process.db]\n');
    assert.deepEqual(config.apps.map((a) => [a.name, a.healthCheckCommand?.command, a.verifyTimeoutMs, a.policy.maxAttempts, a.strategy]), [
      ['api', 'pgrep %s', 5000, 1, 'auto'],
      ['db', 'pgrep %s', 5000, 3, 'auto'],
    ]);
    assert.deepEqual(warnings, []);
  });

  test('unknown keys and sections are commented out and warned about; secret-looking values never printed', () => {
    const { yaml, warnings, config } = importAndLoad([
      '[database]', 'user = mon', 'passwd = hunter2', '[monitor]', 'chek_interval = 60', '[process.api]', 'max_atempts = 3',
      '[mysql]', 'password = topsecret', 'opt = 1',
    ].join('\n'));
    assert.match(yaml, /^ {2}# not imported \(line 3: unknown key in \[database\]; did you mean password\?\): passwd = \(value left out/m);
    assert.match(yaml, /^ {4}# not imported \(line 7: unknown key in \[process\.api\]; did you mean max_attempts\?\): max_atempts = 3$/m);
    assert.match(yaml, /^# \[mysql\] {2}\(line 8\)\n# {3}password = \(value left out: it may be a secret\)\n# {3}opt = 1$/m);
    assert.doesNotMatch(yaml + warnings.join('\n'), /hunter2|topsecret/);
    assert.deepEqual(warnings.map((w) => w.split(': ')[0]), ['config.ini:3', 'config.ini:5', 'config.ini:7', 'config.ini:8']);
    assert.match(warnings[1]!, /unknown key in \[monitor\]; did you mean check_interval\?/);
    assert.equal(config.apps[0]!.policy.maxAttempts, 1, 'the unknown key did not reach the app');
  });

  test('a value the schema refuses is commented out with the reason, and the rest still loads', () => {
    const { yaml, warnings, config } = importAndLoad('[monitor]\nmax_restart_failures = 500\ncircuit_reset_time = soon\n[process.api]\nmax_attempts = 20\nrestart_delay = 2\n');
    assert.match(yaml, /# not imported, the value is refused: .*<=10\n {4}# max_attempts: 20/);
    assert.match(yaml, /# not imported \(line 3: expected a number of seconds\): circuit_reset_time = soon/);
    assert.deepEqual(warnings.map((w) => w.split(': ')[0]).sort(), ['config.ini:2', 'config.ini:3', 'config.ini:5']);
    assert.deepEqual([config.apps[0]!.policy.maxAttempts, config.apps[0]!.policy.restartDelayMs, config.apps[0]!.policy.maxRestartFailures], [1, 2000, 3]);
  });

  test('restart_strategy process is written as auto with a process: placeholder, and a warning', () => {
    const { yaml, warnings, config } = importAndLoad('[process.default]\nrestart_strategy = process\n[process.worker]\n[process.api]\nrestart_strategy = service\n[process.job]\nrestart_strategy = process\n');
    assert.deepEqual(config.apps.map((a) => [a.name, a.strategy]), [['worker', 'auto'], ['api', 'service'], ['job', 'auto']]);
    assert.match(yaml, /# process:\n {4}# {3}command: \/path\/to\/start-worker/);
    assert.match(yaml, /# {3}command: \/path\/to\/start-job/);
    assert.doesNotMatch(yaml, /start-api/);
    assert.deepEqual(warnings.map((w) => w.split(': ')[0]), ['config.ini:2', 'config.ini:7']);
  });

  test('no [process.*] section: one commented example app, and the file loads', () => {
    const { yaml, config } = importAndLoad('[logging]\nlog_files_to_keep = 2\n');
    assert.match(yaml, /- name: example\n {4}# The INI has no \[process\.NAME\] section/);
    assert.deepEqual([config.apps.map((a) => a.name), config.log.maxFiles, config.alarms], [['example'], 2, undefined]);
  });

  test('[database] without a user: the alarms: block is written commented out', () => {
    const { yaml, warnings, config } = importAndLoad('[database]\nhost = db\n[monitor]\ncheck_interval = 30\n');
    assert.match(yaml, /^# alarms:\n# {3}host: db\n# {3}interval: 30s/m);
    assert.match(warnings.join('\n'), /the alarms: block would not load \(user: /);
    assert.equal(config.alarms, undefined);
  });

  test('odd app names are quoted so they read back as written', () => {
    const { config } = importAndLoad('[process.true]\n[process.0123]\n[process.a: b # c]\n');
    assert.deepEqual(config.apps.map((a) => a.name), ['true', '0123', 'a: b # c']);
  });

  test('a refused database name comments out the whole alarms: block rather than reading our default database', () => {
    const { yaml, warnings, config } = importAndLoad('[database]\nuser = mon\ndatabase = my-db\n[monitor]\ncheck_interval = 60\n');
    assert.equal(config.alarms, undefined);
    assert.match(yaml, /^# alarms: is commented out: database: expected a plain database name/m);
    assert.match(yaml, /^# {3}database: my-db$/m);
    assert.match(warnings.join('\n'), /the alarms: block would not load \(database: /);
  });

  test('a refused [process.default] strategy leaves auto for every app, not our default pm2', () => {
    const { config, warnings } = importAndLoad('[process.default]\nrestart_strategy = systemd\n[process.a]\n[process.b]\nrestart_strategy = service\n');
    assert.deepEqual(config.apps.map((a) => [a.name, a.strategy]), [['a', 'auto'], ['b', 'service']]);
    assert.match(warnings.join('\n'), /config\.ini:2: restart_strategy: Invalid option/);
  });
});
