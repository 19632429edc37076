// The `run` command as users meet it: the real CLI binary as a child process against a sandbox
// daemon. Invalid configs exit 2 and name the file, the key path and the bad value; usage errors
// exit 2; --help exits 0 with an example. A running monitor keeps its last good config when the
// file turns invalid (and still remedies with it), picks up a valid change, and exits 0 on SIGTERM.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import YAML from 'yaml';
import { createSandbox, healthUrl, exampleApp, httpStatus, injectFault, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { cliEnv, runCli, startCli, writeRaw } from '../helpers/cli.js';
import { PidLedger } from '../helpers/holders.js';

const PORT_A = 47260;
const PORT_B = 47261;
let sb: Sandbox;
const ledger = new PidLedger();

before(async () => {
  sb = await createSandbox('config-cli');
});
after(async () => {
  ledger.killAll();
  await sb.teardown();
});

interface BadConfig {
  readonly what: string;
  readonly name: string;
  readonly text: string;
  /** Each must appear in stderr. */
  readonly expect: readonly (string | RegExp)[];
}

const BAD: readonly BadConfig[] = [
  {
    what: 'bad YAML syntax',
    name: 'syntax.yaml',
    text: 'apps:\n  - name: api\n    health: {url: [\n',
    expect: [/not valid YAML/, /line \d+, column \d+/],
  },
  {
    what: 'a wrong type (health.timeout: true)',
    name: 'type.yaml',
    text: 'apps:\n  - name: api\n    health:\n      url: http://127.0.0.1:5000/health\n      timeout: true\n',
    expect: ['apps[0].health.timeout', '(got true)'],
  },
  {
    what: 'an unknown key (helth)',
    name: 'unknown.yaml',
    text: 'apps:\n  - name: api\n    helth:\n      url: http://127.0.0.1:5000/health\n',
    expect: ['apps[0].helth', 'unknown key', 'did you mean "health"'],
  },
  {
    what: 'a bad duration (5 parsecs)',
    name: 'duration.yaml',
    text: 'apps:\n  - name: api\n    health:\n      interval: 5 parsecs\n',
    expect: ['apps[0].health.interval', '"5 parsecs"', /expected a duration/],
  },
  {
    what: 'a missing name',
    name: 'noname.yaml',
    text: 'apps:\n  - ports: [5000]\n    health:\n      url: http://127.0.0.1:5000/health\n',
    expect: ['apps[0].name'],
  },
  {
    what: 'a JSON file with a wrong type',
    name: 'monitor.json',
    text: JSON.stringify({ apps: [{ name: 'api', ports: ['http'] }] }),
    expect: ['apps[0].ports[0]', '"http"'],
  },
  {
    what: 'a JSON file with a syntax error',
    name: 'broken.json',
    text: '{"apps": [{"name": "api",}]}',
    expect: [/not valid JSON/],
  },
];

for (const bad of BAD) {
  test(`run --config with ${bad.what} exits 2 and names the problem`, async () => {
    const file = writeRaw(bad.text, bad.name, sb.home);
    const r = await runCli(['run', '--config', file], cliEnv(sb.env));
    assert.equal(r.code, 2, `exit code 2; stderr:\n${r.stderr}`);
    assert.ok(r.stderr.includes(file), `stderr names the file:\n${r.stderr}`);
    for (const e of bad.expect) {
      if (typeof e === 'string') assert.ok(r.stderr.includes(e), `stderr contains ${JSON.stringify(e)}:\n${r.stderr}`);
      else assert.match(r.stderr, e);
    }
    assert.equal(r.stdout, '', 'nothing on stdout');
  });
}

test(
  'a wrong type says what was expected, not only "Invalid input"',
  async () => {
    const file = writeRaw('apps:\n  - name: api\n    health:\n      timeout: true\n', 'expected.yaml', sb.home);
    const r = await runCli(['run', '--config', file], cliEnv(sb.env));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /apps\[0\]\.health\.timeout: .*expected a duration/, r.stderr);
  },
);

test('HELPDESK_MONITOR_CONFIG is used when --config is absent', async () => {
  const file = writeRaw('apps:\n  - name: api\n    helth: {}\n', 'from-env.yaml', sb.home);
  const r = await runCli(['run'], cliEnv(sb.env, { HELPDESK_MONITOR_CONFIG: file }));
  assert.equal(r.code, 2, r.stderr);
  assert.ok(r.stderr.includes(file) && r.stderr.includes('did you mean "health"'), r.stderr);
});

test('run --help exits 0 and prints usage with an example', async () => {
  const r = await runCli(['run', '--help'], cliEnv(sb.env));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Usage: helpdesk-monitor run/);
  assert.match(r.stdout, /--config FILE/);
  assert.match(r.stdout, /Example:\s*\n\s*helpdesk-monitor run --config \S+/);
  assert.equal(r.stderr, '');
});

test('an unknown flag exits 2 and names the flag', async () => {
  const r = await runCli(['run', '--bogus-flag'], cliEnv(sb.env));
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--bogus-flag/);
  assert.match(r.stderr, /--help/, 'points to the help');
});

test('no config anywhere exits 2 with a hint about --config', async () => {
  const r = await runCli(['run'], cliEnv(sb.env));
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /no config file given/);
  assert.match(r.stderr, /--config FILE/);
  assert.match(r.stderr, /HELPDESK_MONITOR_CONFIG/);
});

test('a running monitor keeps its last good config on an invalid edit, still remedies, reloads a valid one, exits 0 on SIGTERM', async (t) => {
  await sb.start(exampleApp('cfg-a', PORT_A));
  await sb.start(exampleApp('cfg-b', PORT_B));
  const a0 = await waitFor('cfg-a healthy', async () => ((await httpStatus(healthUrl(PORT_A))) === 200 ? sb.info('cfg-a') : undefined));
  await waitFor('cfg-b healthy', async () => (await httpStatus(healthUrl(PORT_B))) === 200);

  const appA = { name: 'cfg-a', ports: [PORT_A], startup_grace: 0, health: { url: healthUrl(PORT_A), interval: '1s', timeout: '500ms', failure_threshold: 2 } };
  const appB = { name: 'cfg-b', ports: [PORT_B], startup_grace: 0, health: { url: healthUrl(PORT_B), interval: '1s', timeout: '500ms', failure_threshold: 2 } };
  const file = writeRaw(YAML.stringify({ apps: [appA] }), 'monitor.yaml', sb.home);
  const cli = startCli(['run', '--config', file], cliEnv(sb.env), ledger);
  t.after(() => {
    if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
  });

  await cli.waitForLine(/watching 1 app\(s\): cfg-a/, 30_000);
  await cli.waitForLine(/\[cfg-a\] unknown -> healthy/);

  // An invalid edit: the failure threshold would change too, if it were accepted.
  const invalid = { apps: [{ ...appA, health: { ...appA.health, failure_threshold: 5, timeout: true } }] };
  const mark = cli.stderrLines.length;
  writeFileSync(file, YAML.stringify(invalid));
  const rejected = await cli.waitForLine(/config reload rejected, keeping the last good config/, 15_000, mark);
  assert.ok(rejected.line.includes(file), 'the rejection names the file');
  await cli.waitForLine(/apps\[0\]\.health\.timeout/, 5000, rejected.index); // the issue list follows
  assert.equal(cli.child.exitCode, null, 'still running');

  // Still monitoring with the old config: a hung /health is remedied after 2 (not 5) failures.
  const beforeFault = cli.stderrLines.length;
  await injectFault(PORT_A, 'hang-health');
  const started = await cli.waitForLine(/\[cfg-a\] unhealthy: .*starting remedy/, 20_000, beforeFault);
  assert.match(started.line, /\(2\/2\)/, 'the old failure_threshold (2) is in force');
  await cli.waitForLine(/\[cfg-a\] remedy succeeded/, 20_000, beforeFault);
  const a1 = await waitFor('cfg-a back with a new pid', async () => {
    const info = await sb.info('cfg-a');
    return info && info.pid !== a0.pid && info.status === 'online' && (await httpStatus(healthUrl(PORT_A))) === 200 ? info : undefined;
  });
  t.diagnostic(`cfg-a: pid ${a0.pid} -> ${a1.pid}`);

  // A valid change: a second app.
  const mark2 = cli.stderrLines.length;
  writeFileSync(file, YAML.stringify({ apps: [appA, appB] }));
  await cli.waitForLine(/config reloaded: watching 2 app\(s\)/, 15_000, mark2);
  await cli.waitForLine(/\[cfg-b\] unknown -> healthy/, 15_000, mark2);
  assert.ok(!cli.stderrLines.slice(mark2).some((l) => /\[cfg-a\] unknown ->/.test(l)), 'the unchanged app kept its worker and state');

  const t0 = Date.now();
  cli.child.kill('SIGTERM');
  const end = await Promise.race([
    cli.exited,
    new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000)),
  ]);
  assert.notEqual(end, 'timeout', 'exits within 15 s of SIGTERM');
  assert.deepEqual(end, { code: 0, signal: null }, `exit code 0; stderr tail:\n${cli.stderrLines.slice(-10).join('\n')}`);
  t.diagnostic(`stopped ${Date.now() - t0} ms after SIGTERM`);
});
