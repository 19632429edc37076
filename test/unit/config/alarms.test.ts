/**
 * The `alarms:` block as a user meets it: a YAML file loaded by loadConfig, every mistake a
 * ConfigError naming the key path. Identifiers end up backtick-quoted in SQL, so anything but a
 * plain word is refused here; the password never lives in the config, and its value is never
 * echoed back.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AlarmsConfig } from '../../../src/config/alarms.js';
import { loadConfig } from '../../../src/config/load.js';
import { ConfigError, type ConfigIssue } from '../../../src/errors.js';

let dir: string;
let seq = 0;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdm-alarms-config-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const APPS = 'apps:\n  - name: api\n  - name: worker\n';

/** A config file with `alarms` (YAML lines under `alarms:`, two-space indented) and two apps. */
function write(alarmsLines: string, apps = APPS): string {
  const file = join(dir, `cfg-${++seq}.yaml`);
  const body = alarmsLines.split('\n').filter((l) => l !== '').map((l) => `  ${l}`).join('\n');
  writeFileSync(file, `alarms:\n${body}\n${apps}`);
  return file;
}

function alarmsOf(lines: string): AlarmsConfig {
  const cfg = loadConfig(write(lines));
  assert.ok(cfg.alarms, 'the alarms block is in the loaded config');
  return cfg.alarms;
}

function loadError(file: string): ConfigError {
  let caught: unknown;
  try {
    loadConfig(file);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  return caught;
}

/** The one issue at `path` (and it must be the only issue of the file unless `alone` is false). */
function issueAt(err: ConfigError, path: string, alone = true): ConfigIssue {
  const found = err.issues.filter((i) => i.path === path);
  assert.equal(found.length, 1, `one issue at ${path}; issues: ${JSON.stringify(err.issues)}`);
  if (alone) assert.equal(err.issues.length, 1, `only the issue at ${path}; issues: ${JSON.stringify(err.issues)}`);
  return found[0]!;
}

/** A password file with `mode`; returns its path. */
function passwordFile(mode: number, content = 'Pw-file-content-9321'): string {
  const file = join(dir, `pw-${++seq}`);
  writeFileSync(file, content);
  chmodSync(file, mode);
  return file;
}

describe('alarms config: defaults', () => {
  test('only a user: the seed\'s tables, columns and database, 300 s, the password from the default env var', () => {
    const a = alarmsOf('user: helpdesk');
    assert.deepEqual(a, {
      host: '127.0.0.1',
      port: 3306,
      database: 'v_process_monitor',
      user: 'helpdesk',
      password: { kind: 'env', name: 'HELPDESK_MONITOR_DB_PASSWORD' },
      intervalMs: 300_000,
      connectTimeoutMs: 10_000,
      queryTimeoutMs: 10_000,
      reconnectMaxMs: 300_000,
      tables: { status: 'STATUS_PROCESS', processes: 'PROCESE' },
      columns: { processId: 'process_id', alarm: 'alarma', sound: 'sound', notes: 'notes', processName: 'process_name' },
      alarmValues: [],
      map: {},
      onSuccess: 'keep',
      note: false,
      clearSound: false,
    });
  });

  test('no alarms block: no alarms in the config', () => {
    const file = join(dir, `cfg-${++seq}.yaml`);
    writeFileSync(file, APPS);
    assert.equal(loadConfig(file).alarms, undefined);
  });

  test('the user is required, and the message asks for a least-privilege account', () => {
    const err = loadError(write('host: 127.0.0.1'));
    assert.match(issueAt(err, 'alarms.user').message, /least-privilege/);
  });

  test('everything given: carried over to the typed config', () => {
    const a = alarmsOf([
      'host: db.internal', 'port: 3307', 'database: monitoring', 'user: hd', 'password_env: MY_DB_PW',
      'interval: 30s', 'connect_timeout: 2s', 'query_timeout: 1500ms', 'reconnect_max: 1m',
      'tables: { status: Status_Process, processes: procs }',
      'columns: { process_id: pid, alarma: in_alarm, sound: beep, notes: remarks, process_name: pname }',
      'alarm_values: [1, 2]', 'map: { helpdesk_backend: api }', 'on_success: clear', 'note: true', 'clear_sound: true',
      'realarm_after: 1h',
    ].join('\n'));
    assert.equal(a.host, 'db.internal');
    assert.equal(a.port, 3307);
    assert.equal(a.database, 'monitoring');
    assert.deepEqual(a.password, { kind: 'env', name: 'MY_DB_PW' });
    assert.equal(a.intervalMs, 30_000);
    assert.equal(a.connectTimeoutMs, 2000);
    assert.equal(a.queryTimeoutMs, 1500);
    assert.equal(a.reconnectMaxMs, 60_000);
    assert.deepEqual(a.tables, { status: 'Status_Process', processes: 'procs' }, 'table names keep their case');
    assert.deepEqual(a.columns, { processId: 'pid', alarm: 'in_alarm', sound: 'beep', notes: 'remarks', processName: 'pname' });
    assert.deepEqual(a.alarmValues, [1, 2]);
    assert.deepEqual(a.map, { helpdesk_backend: 'api' });
    assert.equal(a.onSuccess, 'clear');
    assert.equal(a.note, true);
    assert.equal(a.clearSound, true);
    assert.equal(a.realarmAfterMs, 3_600_000);
  });

  test('a socket instead of host/port', () => {
    const a = alarmsOf('user: u\nsocket: /run/mysqld/mysqld.sock');
    assert.equal(a.socket, '/run/mysqld/mysqld.sock');
  });
});

describe('alarms config: identifiers', () => {
  test('a backtick in a table name is refused at alarms.tables.status, quoting the value', () => {
    const err = loadError(write('user: u\ntables: { status: "STATUS`PROCESS" }'));
    const issue = issueAt(err, 'alarms.tables.status');
    assert.match(issue.message, /plain table name/);
    assert.match(issue.message, /backtick/);
    assert.equal(issue.value, '"STATUS`PROCESS"');
    assert.match(err.message, /alarms\.tables\.status/);
  });

  const bad: readonly [string, string][] = [
    ['a dot', 'v_process_monitor.STATUS'],
    ['a space', 'STATUS PROCESS'],
    ['a leading digit', '1STATUS'],
    ['65 characters', 'S'.repeat(65)],
    ['a quote', "STATUS'"],
    ['a trailing newline', 'STATUS\n'],
    ['a hyphen', 'status-process'],
    ['an empty name', ''],
    ['a non-ASCII letter', 'STATUS_PROCESÉ'],
  ];
  for (const [what, name] of bad) {
    test(`a table name with ${what} is refused`, () => {
      const err = loadError(write(`user: u\ntables: { processes: ${JSON.stringify(name)} }`));
      assert.match(issueAt(err, 'alarms.tables.processes').message, /plain table name/);
    });
  }

  test('64 characters, underscores and a leading underscore are accepted', () => {
    const a = alarmsOf(`user: u\ntables: { status: ${'S'.repeat(64)}, processes: _procese_2 }`);
    assert.deepEqual(a.tables, { status: 'S'.repeat(64), processes: '_procese_2' });
  });

  test('columns and the database are checked the same way, each at its own path', () => {
    const err = loadError(write('user: u\ndatabase: "db;drop"\ncolumns: { alarma: "a.b", notes: "n`" , process_id: "9id" }'));
    assert.deepEqual(err.issues.map((i) => i.path).sort(), ['alarms.columns.alarma', 'alarms.columns.notes', 'alarms.columns.process_id', 'alarms.database']);
    assert.match(issueAt(err, 'alarms.columns.alarma', false).message, /plain column name/);
    assert.match(issueAt(err, 'alarms.database', false).message, /plain database name/);
  });
});

describe('alarms config: the password', () => {
  const SECRET = 'Inline-Secret-Pw-4711';

  test('an inline password is refused at alarms.password, and its value is in no part of the error', () => {
    const err = loadError(write(`user: u\npassword: ${SECRET}`));
    const issue = issueAt(err, 'alarms.password');
    assert.match(issue.message, /not accepted/);
    assert.match(issue.message, /HELPDESK_MONITOR_DB_PASSWORD/);
    assert.match(issue.message, /password_file/);
    assert.ok(!err.message.includes(SECRET), `the password leaked into: ${err.message}`);
    assert.ok(!JSON.stringify(err.issues).includes(SECRET), 'the password leaked into the issues');
    assert.ok(!String(err.stack).includes(SECRET), 'the password leaked into the stack');
  });

  test('an inline password of another shape (number, mapping, empty) is refused without echoing it', () => {
    for (const value of ['98765432101', `{ value: ${SECRET} }`, '""']) {
      const err = loadError(write(`user: u\npassword: ${value}`));
      const issue = issueAt(err, 'alarms.password');
      assert.match(issue.message, /not accepted/);
      assert.ok(!err.message.includes(SECRET) && !err.message.includes('98765432101'), `leaked: ${err.message}`);
    }
  });

  test('a password_file readable by others (0644) is refused, telling to chmod 600', () => {
    const file = passwordFile(0o644);
    const err = loadError(write(`user: u\npassword_file: ${file}`));
    const issue = issueAt(err, 'alarms.password_file');
    assert.match(issue.message, /chmod 600/);
    assert.match(issue.message, /644/);
    assert.ok(!err.message.includes('Pw-file-content-9321'), 'the file content is never read into the error');
  });

  test('a group-readable password_file (0640) is refused too', () => {
    const err = loadError(write(`user: u\npassword_file: ${passwordFile(0o640)}`));
    assert.match(issueAt(err, 'alarms.password_file').message, /chmod 600/);
  });

  test('a private password_file (0600, and 0400) is accepted', () => {
    for (const mode of [0o600, 0o400]) {
      const file = passwordFile(mode);
      const a = alarmsOf(`user: u\npassword_file: ${file}`);
      assert.deepEqual(a.password, { kind: 'file', path: file });
    }
  });

  test('a missing password_file is refused at alarms.password_file', () => {
    const err = loadError(write(`user: u\npassword_file: ${join(dir, 'no-such-file')}`));
    assert.match(issueAt(err, 'alarms.password_file').message, /cannot read the password file: ENOENT/);
  });

  test('a directory or a relative path as password_file is refused', () => {
    assert.match(issueAt(loadError(write(`user: u\npassword_file: ${dir}`)), 'alarms.password_file').message, /regular file/);
    const relative = loadError(write('user: u\npassword_file: secrets/db.pw'));
    assert.ok(relative.issues.some((i) => i.path === 'alarms.password_file' && /absolute path/.test(i.message)), JSON.stringify(relative.issues));
  });

  test('password_env and password_file together are refused', () => {
    const err = loadError(write(`user: u\npassword_env: DB_PW\npassword_file: ${passwordFile(0o600)}`));
    assert.match(issueAt(err, 'alarms.password_file').message, /not both/);
  });

  test('password_env must be an environment variable name', () => {
    const err = loadError(write('user: u\npassword_env: "1 bad name"'));
    assert.match(issueAt(err, 'alarms.password_env').message, /environment variable name/);
  });
});

describe('alarms config: interval', () => {
  test('500ms is refused: at least 1 s', () => {
    const err = loadError(write('user: u\ninterval: 500ms'));
    const issue = issueAt(err, 'alarms.interval');
    assert.match(issue.message, /poll interval from 1s to 24h/);
    assert.equal(issue.value, '"500ms"');
  });

  test('999ms and 0.5 (seconds) are refused; 1s, 1 and 1000ms are accepted', () => {
    for (const v of ['999ms', '0.5']) assert.match(issueAt(loadError(write(`user: u\ninterval: ${v}`)), 'alarms.interval').message, /from 1s/, v);
    for (const v of ['1s', '1', '1000ms']) assert.equal(alarmsOf(`user: u\ninterval: ${v}`).intervalMs, 1000, v);
  });

  test('more than a day is refused', () => {
    assert.match(issueAt(loadError(write('user: u\ninterval: 25h')), 'alarms.interval').message, /to 24h/);
  });

  test('check_interval is the seed\'s name for interval', () => {
    assert.equal(alarmsOf('user: u\ncheck_interval: 300').intervalMs, 300_000);
    assert.equal(alarmsOf('user: u\ncheck_interval: 45s').intervalMs, 45_000);
    assert.match(issueAt(loadError(write('user: u\ncheck_interval: 500ms')), 'alarms.check_interval').message, /from 1s/);
  });

  test('interval and check_interval together are refused', () => {
    const err = loadError(write('user: u\ninterval: 10s\ncheck_interval: 10s'));
    assert.match(issueAt(err, 'alarms.check_interval').message, /give one of them/);
  });
});

describe('alarms config: keys that do not go together, and unknown keys', () => {
  test('an unknown key under alarms is named with a did-you-mean', () => {
    const err = loadError(write('user: u\nintervall: 5s'));
    assert.equal(issueAt(err, 'alarms.intervall').message, 'unknown key; did you mean "interval"?');
  });

  test('an unknown key under alarms.tables and alarms.columns is named too', () => {
    const err = loadError(write('user: u\ntables: { statuss: X }\ncolumns: { alarm: a }'));
    assert.match(issueAt(err, 'alarms.tables.statuss', false).message, /^unknown key; did you mean "status"\?/);
    assert.match(issueAt(err, 'alarms.columns.alarm', false).message, /^unknown key/);
  });

  test('socket together with host (or port) is refused', () => {
    assert.match(issueAt(loadError(write('user: u\nhost: db\nsocket: /run/mysqld/mysqld.sock')), 'alarms.socket').message, /host\/port or socket, not both/);
    assert.match(issueAt(loadError(write('user: u\nport: 3307\nsocket: /run/mysqld/mysqld.sock')), 'alarms.socket').message, /not both/);
  });

  test('clear_sound without on_success: clear is refused; with it, accepted', () => {
    assert.match(issueAt(loadError(write('user: u\nclear_sound: true')), 'alarms.clear_sound').message, /needs on_success: clear/);
    assert.match(issueAt(loadError(write('user: u\non_success: keep\nclear_sound: true')), 'alarms.clear_sound').message, /needs on_success: clear/);
    assert.equal(alarmsOf('user: u\non_success: clear\nclear_sound: true').clearSound, true);
  });

  test('a map naming an app not under apps: is refused at alarms.map.NAME, listing the apps', () => {
    const err = loadError(write('user: u\nmap: { helpdesk_backend: api, old_worker: wroker }'));
    const issue = issueAt(err, 'alarms.map.old_worker');
    assert.match(issue.message, /expected the name of an app under apps: \(api, worker\)/);
    assert.equal(issue.value, '"wroker"');
  });

  test('alarm_values: 0 is refused (it means not in alarm), an empty list too', () => {
    assert.match(issueAt(loadError(write('user: u\nalarm_values: [1, 0]')), 'alarms.alarm_values[1]').message, /not in alarm/);
    assert.equal(issueAt(loadError(write('user: u\nalarm_values: []')), 'alarms.alarm_values').path, 'alarms.alarm_values');
  });

  test('on_success takes keep or clear only', () => {
    assert.equal(issueAt(loadError(write('user: u\non_success: delete')), 'alarms.on_success').path, 'alarms.on_success');
  });
});

/**
 * Known failure (see the commit message): the block's cross-key checks (the inline password among
 * them) run only when every key of the block is otherwise valid.
 */
describe('alarms config: an inline password is named with other mistakes', () => {
  test('password and a bad interval: both issues, the password still not echoed', () => {
    const err = loadError(write('user: u\npassword: Inline-Secret-Pw-4711\ninterval: 500ms'));
    assert.match(issueAt(err, 'alarms.interval', false).message, /from 1s/);
    assert.match(issueAt(err, 'alarms.password', false).message, /not accepted/);
    assert.ok(!err.message.includes('Inline-Secret-Pw-4711'), err.message);
  });
});
