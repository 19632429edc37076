// The alarm table through the real CLI: `run` remedies an alarm and the password (env or file)
// appears in no log, state file, status output or error text; `alarms --json` follows its schema;
// `check` reads the table once per pass and remembers what it handled across passes; bad alarm
// config exits 2 naming the key path.
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RowDataPacket } from 'mysql2/promise';
import YAML from 'yaml';
import { cliEnv, runCli, startCli, type CliResult } from '../helpers/cli.js';
import { PidLedger } from '../helpers/holders.js';
import { startMariaDb, loadSeedSchema, type MariaDb, type SeedSchema } from '../helpers/mariadb.js';
import { configIn, freshDir, startHealthy } from '../helpers/operator.js';
import { createSandbox, healthUrl, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { assertMatchesSchema } from '../helpers/schema.js';

const PORT = 48315;
const APP = 'ac-api';
let sb: Sandbox;
let db: MariaDb;
let seed: SeedSchema;
const ledger = new PidLedger();

before(async () => {
  [sb, db] = await Promise.all([createSandbox('alarm-cli'), startMariaDb()]);
  seed = await loadSeedSchema(db);
  await db.sql(`INSERT INTO ${seed.database}.PROCESE VALUES (1, ?)`, [APP]);
  await db.sql(`INSERT INTO ${seed.database}.STATUS_PROCESS VALUES (1, 0, 0, NULL)`);
  await startHealthy(sb, APP, PORT);
});
after(async () => {
  ledger.killAll();
  await Promise.all([sb?.teardown(), db?.destroy()]);
});

const shown = (what: string, r: CliResult): string => `${what}: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

function configFor(dir: string, alarms: Record<string, unknown>): string {
  return configIn(dir, {
    state_dir: join(dir, 'state'),
    log: { file: join(dir, 'monitor.log') },
    alarms: { host: '127.0.0.1', port: db.port, user: seed.helpdesk.user, interval: '1s', ...alarms },
    // The password env var must not reach what the monitor runs: this check fails if it does.
    apps: [{ name: APP, ports: [PORT], startup_grace: 0, health: { url: healthUrl(PORT), interval: '1s' }, health_check_command: 'test -z "$HELPDESK_MONITOR_DB_PASSWORD"' }],
  });
}

async function raise(value: number): Promise<void> {
  await db.sql(`UPDATE ${seed.database}.STATUS_PROCESS SET alarma = ? WHERE process_id = 1`, [value]);
}

test('run remedies an alarm; the password (env) is in no log, state file, status, alarms output or error text', async () => {
  const dir = freshDir(sb.home, 'ac-run');
  const config = configFor(dir, { on_success: 'clear', note: true });
  const password = seed.helpdesk.password;
  const env = cliEnv(sb.env, { HELPDESK_MONITOR_DB_PASSWORD: password });
  const run = startCli(['run', '--config', config], env, ledger);
  const outputs: string[] = [];
  try {
    await run.waitForLine(/alarm table: polling/, 30_000);
    await raise(1);
    await run.waitForLine(/remedy succeeded/, 30_000);
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(run.stderrLines.filter((l) => /starting remedy/.test(l)).length, 1, `one remedy: the health check never saw the password variable\n${run.stderrLines.join('\n')}`);
    await waitFor('the row cleared', async () => ((await db.sql<RowDataPacket[]>(`SELECT alarma FROM ${seed.database}.STATUS_PROCESS WHERE process_id = 1`))[0]?.['alarma'] === 0 ? true : undefined), 10_000);
    const json = await runCli(['alarms', '--json', '--config', config], env);
    assert.equal(json.code, 0, shown('alarms --json', json));
    const doc = JSON.parse(json.stdout) as { ok: boolean; rows: unknown[]; handled: { result: string }[] };
    assertMatchesSchema('alarms', doc);
    assert.equal(doc.ok, true);
    assert.deepEqual(doc.rows, [], 'the cleared alarm is no longer in alarm');
    const status = await runCli(['status', '--config', config], env);
    const text = await runCli(['alarms', '--dry-run', '--config', config], env);
    assert.equal(text.code, 0, shown('alarms --dry-run', text));
    const wrong = await runCli(['alarms', '--config', config], cliEnv(sb.env, { HELPDESK_MONITOR_DB_PASSWORD: `${password}-wrong` }));
    assert.equal(wrong.code, 1, shown('alarms with a wrong password', wrong));
    assert.match(wrong.stderr, /ER_ACCESS_DENIED_ERROR \(1045\)/);
    assert.doesNotMatch(wrong.stderr, new RegExp(password), 'not even the wrong password (which contains it)');
    outputs.push(json.stdout, json.stderr, status.stdout, status.stderr, text.stdout, text.stderr, wrong.stdout);
  } finally {
    run.child.kill('SIGTERM');
    await run.exited;
  }
  outputs.push(run.stdout(), run.stderrLines.join('\n'), readFileSync(join(dir, 'monitor.log'), 'utf8'), readFileSync(join(dir, 'state', 'state.json'), 'utf8'));
  for (const [i, out] of outputs.entries()) assert.ok(!out.includes(password), `output ${i} holds the password:\n${out}`);
  const state = JSON.parse(outputs.at(-1)!) as { alarms?: { handled: unknown[] } };
  assert.ok(state.alarms, 'state.json has the alarm memory');
});

test('check reads the table once per pass: remedies a new alarm, and the next pass (a new process) leaves it handled', async () => {
  const dir = freshDir(sb.home, 'ac-check');
  const file = join(dir, 'db.password');
  writeFileSync(file, `${seed.helpdesk.password}\n`, { mode: 0o600 });
  const config = configFor(dir, { password_file: file });
  const env = cliEnv(sb.env);
  await raise(1);
  try {
    const first = await runCli(['check', '--json', '--config', config], env, 120_000);
    assert.equal(first.code, 0, shown('check 1', first));
    const firstDoc = JSON.parse(first.stdout) as { apps: { name: string; remedies?: unknown[]; remedy?: unknown }[] };
    const state = JSON.parse(readFileSync(join(dir, 'state', 'state.json'), 'utf8')) as { apps: Record<string, { remedies?: unknown[] }>; alarms: { handled: { process_id: number; result: string }[] } };
    assert.equal(state.apps[APP]?.remedies?.length, 1, `one remedy in the first pass: ${first.stdout}`);
    assert.deepEqual(state.alarms.handled.map((h) => [h.process_id, h.result]), [[1, 'remedied']]);
    const second = await runCli(['check', '--config', config], env, 120_000);
    assert.equal(second.code, 0, shown('check 2', second));
    const after2 = JSON.parse(readFileSync(join(dir, 'state', 'state.json'), 'utf8')) as typeof state;
    assert.equal(after2.apps[APP]?.remedies?.length, 1, `no second remedy for the same alarm: ${JSON.stringify(firstDoc)}`);
    const dry = await runCli(['alarms', '--json', '--config', config], env);
    const doc = JSON.parse(dry.stdout) as { rows: { action: string }[] };
    assertMatchesSchema('alarms', doc);
    assert.deepEqual(doc.rows.map((r) => r.action), ['handled']);
    assert.ok(!readFileSync(join(dir, 'monitor.log'), 'utf8').includes(seed.helpdesk.password), 'no password from the file in the log');
  } finally {
    await raise(0);
  }
});

test('bad alarm config exits 2 naming the key path; a password in the config is never echoed', async () => {
  const dir = freshDir(sb.home, 'ac-bad');
  const readable = join(dir, 'open.password');
  writeFileSync(readable, 'pw-in-a-readable-file\n');
  chmodSync(readable, 0o644);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ tables: { status: 'STATUS`PROCESS' } }, /alarms\.tables\.status: expected a plain table name/],
    [{ password: 'Inline-Secret-123' }, /alarms\.password: a password in the config file is not accepted/],
    [{ password_file: readable }, /alarms\.password_file: the password file is readable by others \(mode 644\): run chmod 600/],
    [{ interval: '500ms' }, /alarms\.interval: expected a poll interval from 1s/],
    [{ colums: {} }, /alarms\.colums: unknown key; did you mean "columns"\?/],
  ];
  for (const [alarms, expected] of cases) {
    const r = await runCli(['check', '--config', configFor(dir, alarms)], cliEnv(sb.env), 30_000);
    assert.equal(r.code, 2, shown(JSON.stringify(alarms), r));
    assert.match(r.stderr, expected);
    assert.doesNotMatch(r.stderr, /Inline-Secret-123/);
  }
});

test('a reload that drops alarms: keeps what was handled, and bringing the block back does not remedy the alarm again', async () => {
  const dir = freshDir(sb.home, 'ac-reload');
  const doc = (withAlarms: boolean): string => YAML.stringify({
    state_dir: join(dir, 'state'),
    log: { file: join(dir, 'monitor.log') },
    ...(withAlarms ? { alarms: { host: '127.0.0.1', port: db.port, user: seed.helpdesk.user, interval: '1s' } } : {}),
    apps: [{ name: APP, ports: [PORT], startup_grace: 0, health: { url: healthUrl(PORT), interval: '1s' } }],
  });
  const config = join(dir, 'monitor.yaml');
  writeFileSync(config, doc(true));
  const env = cliEnv(sb.env, { HELPDESK_MONITOR_DB_PASSWORD: seed.helpdesk.password });
  await raise(1);
  const run = startCli(['run', '--config', config], env, ledger);
  const handled = (): unknown[] | undefined => (JSON.parse(readFileSync(join(dir, 'state', 'state.json'), 'utf8')) as { alarms?: { handled: unknown[] } }).alarms?.handled;
  try {
    await run.waitForLine(/remedy succeeded/, 30_000);
    await waitFor('the handled record written', () => handled()?.length === 1 ? true : undefined, 10_000);
    const mark = run.stderrLines.length;
    writeFileSync(config, doc(false));
    await run.waitForLine(/alarm table polling stopped/, 20_000, mark);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(handled()?.length, 1, 'the record is kept while no poller runs');
    const back = run.stderrLines.length;
    writeFileSync(config, doc(true));
    await run.waitForLine(/alarm table settings applied/, 20_000, back);
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(run.stderrLines.filter((l) => /starting remedy/.test(l)).length, 1, `one remedy in all:\n${run.stderrLines.join('\n')}`);
  } finally {
    run.child.kill('SIGTERM');
    await run.exited;
    await raise(0);
  }
});
