// `helpdesk-monitor update APP` and `rollback APP` before they reach PM2: the real CLI binary as a
// child process. A config error in the update: block, an app without an update: block, an unknown
// app, no config at all and bad usage exit 2 with the file, the key path and what was expected;
// --help exits 0 and lists every flag, and each listed flag is one the command takes. None of
// these needs PM2: each run gets a fresh, empty PM2_HOME and no PM2 daemon runs there, and the
// PM2_HOME is still empty afterwards. A valid config shows the check can tell: the same command
// with nothing wrong does reach for PM2 (it finds no daemon, and PM2's own dirs appear).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cliEnv, runCli, type CliResult } from '../helpers/cli.js';

let root: string;
let seq = 0;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'hdm-update-cli-'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

interface Run extends CliResult {
  /** What the run left in its PM2_HOME (empty: PM2 was never reached). */
  readonly pm2Files: readonly string[];
  /** What the run left in the config's state_dir. */
  readonly stateFiles: readonly string[];
}

/**
 * Run the CLI with its own empty PM2_HOME, HOME and state_dir; `config(stateDir)` is the YAML
 * written to a file passed as `--config` (none: no --config and no config anywhere).
 */
async function runIsolated(args: readonly string[], config?: (stateDir: string) => string): Promise<Run & { file: string }> {
  const base = join(root, `run-${++seq}`);
  const home = join(base, 'home');
  const pm2Home = join(base, 'pm2');
  const state = join(base, 'state');
  for (const d of [home, pm2Home, state]) mkdirSync(d, { recursive: true });
  const file = join(base, 'monitor.yaml');
  if (config) writeFileSync(file, config(state));
  const argv = config ? [...args, '--config', file] : [...args];
  const r = await runCli(argv, cliEnv(process.env, { PM2_HOME: pm2Home, HOME: home }), 60_000);
  return { ...r, file, pm2Files: readdirSync(pm2Home).sort(), stateFiles: readdirSync(state).sort() };
}

/** Exit 2 without touching PM2 (nothing in PM2_HOME), the state dir, or stdout. */
function assertRefusedBeforePm2(r: Run, what: string): void {
  assert.equal(r.code, 2, `${what}: exit code 2; stderr:\n${r.stderr}`);
  assert.equal(r.stdout, '', `${what}: nothing on stdout`);
  assert.deepEqual(r.pm2Files, [], `${what}: PM2_HOME untouched (PM2 never reached)`);
  assert.deepEqual(r.stateFiles, [], `${what}: nothing written to the state dir`);
  assert.doesNotMatch(r.stderr, /pm2 ping|PM2 daemon/i, `${what}: no word of PM2`);
}

const UPDATE_FLAGS = ['--config', '--dry-run', '--to', '--retry', '--json', '--help'];
const ROLLBACK_FLAGS = ['--config', '--json', '--help'];

/** Two apps: api with a valid update: block (repo `repo`), worker without one. */
const twoApps = (repo: string) => (state: string) =>
  `state_dir: ${state}\napps:\n  - name: api\n    update:\n      repo: ${repo}\n      branch: main\n  - name: worker\n`;

describe('update/rollback: refused before PM2', () => {
  for (const command of ['update', 'rollback']) {
    test(`${command} with a relative update.repo exits 2 naming the file, apps[0].update.repo, the value and "absolute path"`, async () => {
      const r = await runIsolated([command, 'api'], twoApps('srv/helpdesk'));
      assertRefusedBeforePm2(r, `${command}, relative repo`);
      assert.ok(r.stderr.includes(`invalid config ${r.file}`), `stderr names the file:\n${r.stderr}`);
      assert.match(r.stderr, /apps\[0\]\.update\.repo: expected an absolute path/);
      assert.ok(r.stderr.includes('(got "srv/helpdesk")'), `stderr quotes the value:\n${r.stderr}`);
    });

    test(`${command} of an app without an update: block exits 2: "has no update: block"`, async () => {
      const r = await runIsolated([command, 'worker'], twoApps('/srv/helpdesk'));
      assertRefusedBeforePm2(r, `${command}, no update block`);
      assert.ok(r.stderr.includes(`worker has no update: block in ${r.file}`), r.stderr);
    });

    test(`${command} of an unknown app exits 2 and lists the apps there are`, async () => {
      const r = await runIsolated([command, 'ghost'], twoApps('/srv/helpdesk'));
      assertRefusedBeforePm2(r, `${command}, unknown app`);
      assert.ok(r.stderr.includes(`no app named ghost in ${r.file} (apps: api, worker)`), r.stderr);
    });

    test(`${command} without a config anywhere exits 2 and says how to give one`, async () => {
      const r = await runIsolated([command, 'api']);
      assertRefusedBeforePm2(r, `${command}, no config`);
      assert.match(r.stderr, new RegExp(`${command} needs a config with the app's update: block: pass --config FILE`));
    });

    test(`${command} without an app name, or with two, exits 2`, async () => {
      const none = await runIsolated([command], twoApps('/srv/helpdesk'));
      assertRefusedBeforePm2(none, `${command}, no app`);
      assert.match(none.stderr, new RegExp(`${command} takes one app name \\(got none\\)`));
      const two = await runIsolated([command, 'api', 'worker'], twoApps('/srv/helpdesk'));
      assertRefusedBeforePm2(two, `${command}, two apps`);
      assert.match(two.stderr, new RegExp(`${command} takes one app name \\(got api worker\\)`));
    });

    test(`${command} with an unknown flag exits 2, names it and points to ${command} --help`, async () => {
      const r = await runIsolated([command, 'api', '--jsn'], twoApps('/srv/helpdesk'));
      assertRefusedBeforePm2(r, `${command} --jsn`);
      assert.match(r.stderr, new RegExp(`unknown option --jsn for ${command} \\(did you mean --json\\?\\)`));
      assert.ok(r.stderr.includes(`helpdesk-monitor ${command} --help`), r.stderr);
    });
  }

  test('update --to with no SHA is refused (exit 2), before PM2', async () => {
    const r = await runIsolated(['update', 'api', '--to', 'main~1'], twoApps('/srv/helpdesk'));
    assertRefusedBeforePm2(r, 'update --to main~1');
    assert.match(r.stderr, /--to expects a commit SHA \(4 to 64 hex digits\), got "main~1"/);
  });

  test('the check can tell: a valid config with nothing wrong does reach for PM2 (no daemon: exit 1, PM2_HOME filled)', async () => {
    const r = await runIsolated(['update', 'api'], twoApps('/srv/helpdesk'));
    assert.equal(r.code, 1, `exit 1 without a PM2 daemon; stderr:\n${r.stderr}`);
    assert.match(r.stderr, /pm2 ping: no PM2 daemon answers in /);
    assert.notDeepEqual(r.pm2Files, [], 'PM2 made its dirs in PM2_HOME');
    assert.ok(!r.pm2Files.includes('rpc.sock') && !r.pm2Files.includes('pm2.pid'), `no daemon was started: ${r.pm2Files.join(', ')}`);
  });
});

describe('update/rollback --help', () => {
  const cases = [
    { command: 'update', flags: UPDATE_FLAGS, shorts: ['-c, --config FILE', '-h, --help'] },
    { command: 'rollback', flags: ROLLBACK_FLAGS, shorts: ['-c, --config FILE', '-h, --help'] },
  ];
  for (const { command, flags, shorts } of cases) {
    test(`${command} --help (and -h) exits 0 and lists exactly its flags: ${flags.join(' ')}`, async () => {
      for (const help of ['--help', '-h']) {
        const r = await runIsolated([command, help]);
        assert.equal(r.code, 0, `${command} ${help}: exit 0; stderr:\n${r.stderr}`);
        assert.equal(r.stderr, '');
        assert.match(r.stdout, new RegExp(`^Usage: helpdesk-monitor ${command} APP `));
        const options = r.stdout.slice(r.stdout.indexOf('\nOptions:\n'), r.stdout.indexOf('\nExit codes:'));
        assert.ok(options.length > 20, `an Options section:\n${r.stdout}`);
        const listed = [...new Set(options.match(/--[a-z][a-z0-9-]*/g) ?? [])].sort();
        assert.deepEqual(listed, [...flags].sort(), `the Options section of ${command} --help`);
        for (const s of shorts) assert.ok(options.includes(s), `${command} --help lists ${s}`);
        assert.match(r.stdout, /Exit codes: 0 /);
        assert.match(r.stdout, new RegExp(`Example:\\s*\\n\\s*helpdesk-monitor ${command} \\S+`));
        assert.deepEqual(r.pm2Files, [], '--help never reaches PM2');
      }
    });

    test(`every flag ${command} --help lists is one ${command} takes (an app without update: still exits 2 for that reason)`, async () => {
      const values: Readonly<Record<string, string>> = { '--to': 'abc1234' };
      for (const flag of flags.filter((f) => f !== '--help' && f !== '--config')) {
        const r = await runIsolated([command, 'worker', flag, ...(values[flag] ? [values[flag]] : [])], twoApps('/srv/helpdesk'));
        assertRefusedBeforePm2(r, `${command} ${flag}`);
        assert.doesNotMatch(r.stderr, /unknown option/, `${command} takes ${flag}:\n${r.stderr}`);
        assert.match(r.stderr, /worker has no update: block/, `${command} ${flag}`);
      }
      const short = await runIsolated([command, 'worker', '-c', join(root, 'no-such-dir', 'monitor.yaml')]);
      assert.equal(short.code, 2, short.stderr);
      assert.match(short.stderr, /no-such-dir/, `-c is read as --config:\n${short.stderr}`);
      assert.ok(!existsSync(join(root, 'no-such-dir')));
    });
  }
});
