// The real CLI, as a child process, at its edges: a mistyped command or flag exits 2 with a "did
// you mean" and a pointer to the right --help; no command prints the usage on stderr and exits 2;
// asking for help prints it on stdout and exits 0. Nothing here reaches PM2: every case fails (or
// answers) while parsing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cliEnv, runCli, type CliResult } from '../../helpers/cli.js';

let home: string;
let env: NodeJS.ProcessEnv;
before(() => {
  home = mkdtempSync(join(tmpdir(), 'hdm-dispatch-'));
  env = cliEnv(process.env, { PM2_HOME: home });
});
after(() => rmSync(home, { recursive: true, force: true }));

const show = (r: CliResult): string => `exit ${r.code}\nstdout: ${JSON.stringify(r.stdout)}\nstderr: ${JSON.stringify(r.stderr)}`;
const cli = (...args: string[]): Promise<CliResult> => runCli(args, env, 30_000);

describe('commands', () => {
  test('a mistyped command exits 2 and names the closest one', async () => {
    const r = await cli('stauts');
    assert.equal(r.code, 2, show(r));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^helpdesk-monitor: unknown command "stauts" \(did you mean status\?\)\nRun `helpdesk-monitor --help` for usage\.\n$/, show(r));
    const far = await cli('frobnicate');
    assert.equal(far.code, 2, show(far));
    assert.match(far.stderr, /unknown command "frobnicate"\n/, 'nothing close: no guess');
    const dash = await cli('kill-prot', '5000');
    assert.match(dash.stderr, /did you mean kill-port\?/, show(dash));
  });

  test('a flag before the command', async () => {
    const r = await cli('--hlep');
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /unknown option --hlep \(did you mean --help\?\)/, show(r));
    const j = await cli('--json', 'status');
    assert.equal(j.code, 2, show(j));
    assert.match(j.stderr, /unknown option --json: the command comes first \(helpdesk-monitor <command> --json\)/, show(j));
  });

  test('no command: the usage on stderr, exit 2; --help and help: on stdout, exit 0', async () => {
    const bare = await cli();
    assert.equal(bare.code, 2, show(bare));
    assert.equal(bare.stdout, '', 'nothing on stdout');
    assert.match(bare.stderr, /^Usage: helpdesk-monitor <command> \[options\]\n[\s\S]*\n {2}status {2,}PM2 status/, show(bare));
    for (const ask of ['--help', '-h', 'help']) {
      const r = await cli(ask);
      assert.equal(r.code, 0, `${ask}: ${show(r)}`);
      assert.equal(r.stdout, bare.stderr, `${ask} prints the same usage, on stdout`);
      assert.equal(r.stderr, '');
    }
  });
});

describe('flags', () => {
  test('an unknown flag: the command\'s own words and its --help, not Node\'s message', async () => {
    const r = await cli('status', '--jsn');
    assert.equal(r.code, 2, show(r));
    assert.equal(r.stderr, 'helpdesk-monitor: unknown option --jsn for status (did you mean --json?)\nRun `helpdesk-monitor status --help` for its options.\n', show(r));
    const w = await cli('restart', 'api', '--timout', '1m');
    assert.equal(w.code, 2, show(w));
    assert.match(w.stderr, /unknown option --timout for restart \(did you mean --timeout\?\)/, show(w));
  });

  test('a missing value and a value for a boolean flag', async () => {
    const missing = await cli('check', '--config');
    assert.equal(missing.code, 2, show(missing));
    assert.match(missing.stderr, /^helpdesk-monitor: option --config for check needs a value\n/, show(missing));
    const ambiguous = await cli('kill-port', '--grace', '--json', '5000');
    assert.equal(ambiguous.code, 2, show(ambiguous));
    assert.match(ambiguous.stderr, /option --grace for kill-port needs a value \(got --json, which looks like an option/, show(ambiguous));
    const boolean = await cli('kill-port', '--dry-run=yes', '5000');
    assert.equal(boolean.code, 2, show(boolean));
    assert.match(boolean.stderr, /option --dry-run for kill-port takes no value \(got --dry-run=yes\)/, show(boolean));
    for (const r of [missing, ambiguous, boolean]) assert.doesNotMatch(r.stderr, /argument missing|does not take an argument|ambiguous|To specify/, show(r));
  });
});
