// The timer fallback as generated text: systemd service + timer (values read back by systemd's
// quoting rules), the cron schedule for each interval (checked against the real cron-parser), the
// marked cron line (quoting proven by running it through cron's % rule and sh), values with
// control characters refused, and crontab editing that changes only our line.
import { pathWithNode } from '../../../src/paths.js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CronExpressionParser } from 'cron-parser';
import { UsageError } from '../../../src/errors.js';
import { CRON_MARKER, UNIT_NAME, cronLine, cronSchedule, editCrontab, isOurCronLine, systemdUnits, type CheckCommand } from '../../../src/timer/units.js';
import { cronCommand, execArgv, unitEnv, unitValues } from '../../helpers/unit-file.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const CMD: CheckCommand = { node: '/usr/bin/node', cli: '/opt/hdm/dist/src/cli/index.js', config: '/srv/helpdesk/monitor.yaml', pm2Home: '/home/ops/.pm2' };

/** Lines of a unit file as key=value pairs (comments and sections left out). */
function keys(unit: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of unit.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!]);
  }
  return out;
}

describe('systemdUnits', () => {
  test('a oneshot service that runs check with the absolute config, exit 3 counted as success', () => {
    const { service } = systemdUnits(CMD, 5 * MIN);
    const k = keys(service);
    assert.match(service, /^\[Unit\]\n/);
    assert.match(service, /\n\[Service\]\n/);
    assert.deepEqual(k.get('Type'), ['oneshot']);
    assert.deepEqual(k.get('ExecStart'), ['/usr/bin/node /opt/hdm/dist/src/cli/index.js check --config /srv/helpdesk/monitor.yaml']);
    assert.deepEqual(k.get('SuccessExitStatus'), ['3']);
    assert.ok(k.get('Environment')?.includes('PM2_HOME=/home/ops/.pm2'), 'PM2_HOME is pinned');
    assert.ok(k.get('Environment')?.includes('PM2_DISCRETE_MODE=true'));
    assert.equal(k.get('User'), undefined, 'no User= unless asked');
  });

  test('User= when a user is given', () => {
    assert.deepEqual(keys(systemdUnits(CMD, 5 * MIN, 'ops').service).get('User'), ['ops']);
  });

  test('the timer fires every interval and names the service', () => {
    const { timer } = systemdUnits(CMD, 5 * MIN);
    const k = keys(timer);
    assert.match(timer, /\n\[Timer\]\n/);
    assert.deepEqual(k.get('OnUnitActiveSec'), ['300s']);
    assert.ok(k.get('OnBootSec'), 'it also starts after boot (OnUnitActiveSec alone never fires first)');
    assert.deepEqual(k.get('Unit'), [`${UNIT_NAME}.service`]);
    assert.deepEqual(k.get('WantedBy'), ['timers.target']);
    assert.deepEqual(keys(systemdUnits(CMD, 90_000).timer).get('OnUnitActiveSec'), ['90s'], 'any interval of 10 s or more');
    assert.deepEqual(keys(systemdUnits(CMD, 2 * HOUR).timer).get('OnUnitActiveSec'), ['7200s']);
  });

  test('an interval under 10 s is a usage error', () => {
    assert.throws(() => systemdUnits(CMD, 9_999), UsageError);
    assert.throws(() => systemdUnits(CMD, 0), UsageError);
    assert.doesNotThrow(() => systemdUnits(CMD, 10_000));
  });

  test('paths with spaces are double-quoted in ExecStart and Environment (systemd quoting)', () => {
    const cmd: CheckCommand = { node: '/opt/my node/bin/node', cli: '/opt/hdm/cli.js', config: '/srv/help desk/monitor.yaml', pm2Home: '/home/o ps/.pm2' };
    const k = keys(systemdUnits(cmd, 5 * MIN).service);
    assert.deepEqual(k.get('ExecStart'), ['"/opt/my node/bin/node" /opt/hdm/cli.js check --config "/srv/help desk/monitor.yaml"']);
    assert.ok(k.get('Environment')?.includes('"PM2_HOME=/home/o ps/.pm2"'), String(k.get('Environment')));
  });

  test('odd characters arrive intact in the argv and environment systemd builds', () => {
    const odd = ['a b', 'say "hi"', "it's", 'back\\slash\\', 'cost $5', '${HOME}', '$$', '100%', '%h', 'semi;colon', '#hash', '`tick`', 'é ü 日本', ' lead', 'trail '];
    for (const o of odd) {
      const cmd: CheckCommand = { node: `/opt/n ${o.replace(/["'\\]/g, '')}/node`, cli: `/opt/${o}/cli.js`, config: `/srv/${o}/monitor.yaml`, pm2Home: `/home/${o}/.pm2` };
      const service = systemdUnits(cmd, 5 * MIN).service;
      const exec = unitValues(service, 'ExecStart');
      assert.equal(exec.length, 1, `one ExecStart for ${JSON.stringify(o)}`);
      assert.deepEqual(execArgv(exec[0]!), [cmd.node, cmd.cli, 'check', '--config', cmd.config], `${JSON.stringify(o)}: ${exec[0]}`);
      assert.deepEqual(unitEnv(service), { PM2_HOME: cmd.pm2Home, PATH: pathWithNode(cmd.node), PM2_DISCRETE_MODE: 'true' }, `${JSON.stringify(o)}: ${service}`);
    }
  });

  test('the executable is taken literally by systemd: a $ in the node path is not doubled', () => {
    const exec = unitValues(systemdUnits({ ...CMD, node: '/opt/$x/node' }, 5 * MIN).service, 'ExecStart')[0]!;
    assert.ok(exec.startsWith('"/opt/$x/node" '), exec);
  });

  test('quotes or a backslash in the node path are refused (systemd refuses them in an executable path)', () => {
    for (const node of ['/opt/"q"/node', "/opt/it's/node", '/opt/back\\slash/node']) {
      assert.throws(() => systemdUnits({ ...CMD, node }, 5 * MIN), (err: unknown) => err instanceof UsageError && /node executable path/.test(err.message), node);
      assert.doesNotThrow(() => cronLine({ ...CMD, node }, 5 * MIN, '/tmp/log'), `cron can run ${node}`);
    }
  });

  test('a % in a path is escaped as %% (systemd expands % specifiers)', () => {
    const cmd: CheckCommand = { ...CMD, config: '/srv/100%yes/monitor.yaml', pm2Home: '/home/%h/.pm2' };
    const k = keys(systemdUnits(cmd, 5 * MIN).service);
    assert.equal(k.get('ExecStart')?.[0], '/usr/bin/node /opt/hdm/dist/src/cli/index.js check --config /srv/100%%yes/monitor.yaml');
    assert.ok(k.get('Environment')?.includes('PM2_HOME=/home/%%h/.pm2'), String(k.get('Environment')));
  });
});

describe('values with control characters are refused, naming the value escaped', () => {
  const controls: readonly [string, string][] = [
    ['a newline', '\n'],
    ['a carriage return', '\r'],
    ['a tab', '\t'],
    ['a NUL', '\u0000'],
    ['ESC', '\u001b'],
    ['DEL', '\u007f'],
    ['NEL (C1)', '\u0085'],
    ['CSI (C1)', '\u009b'],
  ];
  const fields: readonly [keyof CheckCommand, RegExp][] = [
    ['node', /node executable path/],
    ['cli', /CLI path/],
    ['config', /config path/],
    ['pm2Home', /PM2_HOME/],
  ];
  const refused = (what: RegExp, value: string) => (err: unknown): boolean => {
    assert.ok(err instanceof UsageError, String(err));
    assert.match(err.message, what);
    assert.ok(![...err.message].some((c) => c.codePointAt(0)! < 0x20 || (c.codePointAt(0)! >= 0x7f && c.codePointAt(0)! <= 0x9f)), `the message is printable: ${JSON.stringify(err.message)}`);
    const hex = `\\x${value.codePointAt(0)!.toString(16).padStart(2, '0')}`;
    assert.ok(err.message.includes(`before${hex}after`), `names the value, escaped (${hex}): ${err.message}`);
    return true;
  };
  for (const [label, c] of controls) {
    for (const [field, what] of fields) {
      test(`${label} in ${field}`, () => {
        const cmd: CheckCommand = { ...CMD, [field]: `/x/before${c}after` };
        assert.throws(() => systemdUnits(cmd, 5 * MIN), refused(what, c));
        assert.throws(() => cronLine(cmd, 5 * MIN, '/var/log/hdm.log'), refused(what, c));
      });
    }
    test(`${label} in the user name or the cron log file`, () => {
      assert.throws(() => systemdUnits(CMD, 5 * MIN, `before${c}after`), refused(/user name/, c));
      assert.throws(() => cronLine(CMD, 5 * MIN, `/var/log/before${c}after`), refused(/cron log file/, c));
    });
  }

  test('the reproduction: a newline in the config path no longer adds an ExecStartPre= line or a crontab line', () => {
    const cmd: CheckCommand = { ...CMD, config: '/srv/x\nExecStartPre=/bin/touch /tmp/pwned\n/monitor.yaml' };
    assert.throws(() => systemdUnits(cmd, 5 * MIN), UsageError);
    assert.throws(() => cronLine({ ...CMD, pm2Home: '/home/x\n* * * * * /bin/touch /tmp/pwned #' }, 5 * MIN, '/tmp/log'), UsageError);
  });

  test('a user name with whitespace or quotes is refused for User=; % is doubled', () => {
    for (const u of ['two words', 'o"k', "it's"]) assert.throws(() => systemdUnits(CMD, 5 * MIN, u), UsageError, u);
    assert.deepEqual(unitValues(systemdUnits(CMD, 5 * MIN, 'ops%1').service, 'User'), ['ops%%1']);
  });
});

describe('cronSchedule', () => {
  const cases: readonly [string, number, string, number][] = [
    ['1m', MIN, '* * * * *', MIN],
    ['5m', 5 * MIN, '*/5 * * * *', 5 * MIN],
    ['15m', 15 * MIN, '*/15 * * * *', 15 * MIN],
    ['30m', 30 * MIN, '*/30 * * * *', 30 * MIN],
    ['1h', HOUR, '0 * * * *', HOUR],
    ['2h', 2 * HOUR, '0 */2 * * *', 2 * HOUR],
    ['6h', 6 * HOUR, '0 */6 * * *', 6 * HOUR],
    ['24h', 24 * HOUR, '0 0 * * *', 24 * HOUR],
  ];
  for (const [label, ms, expected, gap] of cases) {
    test(`${label} -> "${expected}", runs ${label} apart`, () => {
      const schedule = cronSchedule(ms);
      assert.equal(schedule, expected);
      const it = CronExpressionParser.parse(schedule, { currentDate: new Date('2030-01-01T00:00:30Z'), tz: 'UTC' });
      const runs = [it.next(), it.next(), it.next(), it.next()].map((d) => d.getTime());
      for (let i = 1; i < runs.length; i++) assert.equal(runs[i]! - runs[i - 1]!, gap, `run ${i} of ${schedule}`);
    });
  }
  for (const [label, ms] of [['7m', 7 * MIN], ['90s', 90_000], ['5h', 5 * HOUR], ['30s', 30_000], ['45m', 45 * MIN], ['48h', 48 * HOUR], ['0', 0], ['1.5m', 90_000], ['61m', 61 * MIN]] as const) {
    test(`${label} is refused with a usage error`, () => {
      assert.throws(() => cronSchedule(ms), (err: unknown) => err instanceof UsageError && /--every/.test(err.message) && /--systemd/.test(err.message));
    });
  }
});

describe('cronLine', () => {
  test('schedule, PM2_HOME, check --config, log, exit 3 as success, marker', () => {
    const line = cronLine(CMD, 5 * MIN, '/home/ops/.pm2/helpdesk-monitor/cron.log');
    assert.equal(
      line,
      '*/5 * * * * PM2_HOME=/home/ops/.pm2 PATH=/usr/bin:/usr/local/bin:/bin /usr/bin/node /opt/hdm/dist/src/cli/index.js check --config /srv/helpdesk/monitor.yaml >> /home/ops/.pm2/helpdesk-monitor/cron.log 2>&1 || [ $? -eq 3 ] # helpdesk-monitor-check',
    );
    assert.ok(line.endsWith(CRON_MARKER));
    assert.ok(!line.includes('\n'), 'one line');
  });

  test('refuses intervals cron cannot express', () => {
    assert.throws(() => cronLine(CMD, 7 * MIN, '/tmp/log'), UsageError);
  });

  describe('run as cron would (% handling, then sh), the quoted words arrive intact', () => {
    const root = mkdtempSync(join(tmpdir(), 'hdm-units-'));
    after(() => rmSync(root, { recursive: true, force: true }));
    const dir = join(root, "it's a 100% dir");
    mkdirSync(dir);
    /** A stand-in for the CLI that records its argv and PM2_HOME, then exits with `code`. */
    const fakeCli = (code: number): string => {
      const file = join(dir, `fake cli ${code}.cjs`);
      writeFileSync(file, `process.stdout.write(JSON.stringify({ argv: process.argv.slice(2), home: process.env.PM2_HOME }) + '\\n'); process.exit(${code});\n`);
      return file;
    };
    const oddDir = join(root, `all of: ' " \\ \\% %% $HOME \${HOME} \`id\` ; # & | < > * ? ~ ( ) { } !`);
    mkdirSync(oddDir);
    const runLine = (line: string): { status: number | null; log: string } => {
      const { command, stdin } = cronCommand(line);
      assert.equal(stdin, '', 'cron would not cut the command at a %');
      const r = spawnSync('/bin/sh', ['-c', command], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
      return { status: r.status, log: r.stderr };
    };

    for (const [code, shStatus] of [[0, 0], [3, 0], [1, 1], [2, 1]] as const) {
      test(`check exiting ${code} -> the cron command exits ${shStatus === 0 ? '0 (success)' : 'non-zero'}`, () => {
        const log = join(dir, `cron log ${code}.txt`);
        const cmd: CheckCommand = { node: process.execPath, cli: fakeCli(code), config: join(dir, 'my monitor.yaml'), pm2Home: join(root, 'pm2 home') };
        const line = cronLine(cmd, 5 * MIN, log);
        const r = runLine(line);
        assert.equal(r.status, shStatus, `sh status for exit ${code}: ${r.log}\n${line}`);
        const recorded = JSON.parse(readFileSync(log, 'utf8').trim()) as { argv: string[]; home: string };
        assert.deepEqual(recorded.argv, ['check', '--config', join(dir, 'my monitor.yaml')]);
        assert.equal(recorded.home, join(root, 'pm2 home'));
      });
    }

  test('every sh and cron special character in every value arrives intact', () => {
    const log = join(oddDir, 'cron log.txt');
    const cli = join(oddDir, 'fake cli.cjs');
    writeFileSync(cli, `process.stdout.write(JSON.stringify({ argv: process.argv.slice(2), home: process.env.PM2_HOME }) + '\\n');\n`);
    const cmd: CheckCommand = { node: process.execPath, cli, config: join(oddDir, 'my monitor.yaml'), pm2Home: join(oddDir, 'pm2 home') };
    const line = cronLine(cmd, 5 * MIN, log);
    assert.ok(isOurCronLine(line), line);
    const r = runLine(line);
    assert.equal(r.status, 0, `${r.log}\n${line}`);
    const recorded = JSON.parse(readFileSync(log, 'utf8').trim()) as { argv: string[]; home: string };
    assert.deepEqual(recorded.argv, ['check', '--config', cmd.config]);
    assert.equal(recorded.home, cmd.pm2Home);
  });
  });

  test('a % in a path is escaped as \\% (cron turns a bare % into a newline)', () => {
    const line = cronLine({ ...CMD, config: '/srv/100%/monitor.yaml' }, 5 * MIN, '/var/log/hdm.log');
    assert.ok(!/(^|[^\\])%/.test(line), line);
    assert.ok(line.includes('/srv/100\\%/monitor.yaml'), line);
  });
});

describe('editCrontab', () => {
  const ours5 = cronLine(CMD, 5 * MIN, '/var/log/hdm.log');
  const ours10 = cronLine(CMD, 10 * MIN, '/var/log/hdm.log');
  const others = ['MAILTO=ops@example.com', '# nightly backup', '0 1 * * * /usr/local/bin/backup --all', '*/2 * * * * /usr/bin/true # something else'];
  const markedLines = (text: string): string[] => text.split('\n').filter((l) => l.endsWith(CRON_MARKER));

  test('adds our line to an empty crontab', () => {
    assert.equal(editCrontab('', ours5), `${ours5}\n`);
  });

  test('adds our line after the existing ones, keeping them in order', () => {
    const next = editCrontab(`${others.join('\n')}\n`, ours5);
    assert.equal(next, `${[...others, ours5].join('\n')}\n`);
  });

  test('a crontab without a final newline keeps its last line intact', () => {
    const next = editCrontab(others.join('\n'), ours5);
    assert.deepEqual(next.split('\n'), [...others, ours5, '']);
  });

  test('idempotent: adding the same line again changes nothing', () => {
    const once = editCrontab(`${others.join('\n')}\n`, ours5);
    const twice = editCrontab(once, ours5);
    const thrice = editCrontab(twice, ours5);
    assert.equal(twice, once);
    assert.equal(thrice, once);
    assert.equal(markedLines(thrice).length, 1);
  });

  test('a new schedule replaces ours (still one line, the newest)', () => {
    const next = editCrontab(editCrontab(`${others.join('\n')}\n`, ours5), ours10);
    assert.deepEqual(markedLines(next), [ours10]);
    for (const o of others) assert.ok(next.split('\n').includes(o), `kept: ${o}`);
  });

  test('several stale marked lines collapse into one', () => {
    const messy = [ours5, others[0], ours5, others[2], ours10].join('\n');
    assert.deepEqual(markedLines(editCrontab(messy, ours10)), [ours10]);
  });

  test('remove takes out only our line', () => {
    const installed = editCrontab(`${others.join('\n')}\n`, ours5);
    assert.equal(editCrontab(installed, undefined), `${others.join('\n')}\n`);
  });

  test('removing from a crontab that has only our line leaves it empty; removing again is a no-op', () => {
    assert.equal(editCrontab(`${ours5}\n`, undefined), '');
    assert.equal(editCrontab('', undefined), '');
    assert.equal(editCrontab(`${others.join('\n')}\n`, undefined), `${others.join('\n')}\n`);
  });

  test('a line that merely mentions the marker mid-line is not ours', () => {
    const theirs = `0 3 * * * echo '${CRON_MARKER}' > /tmp/x`;
    assert.ok(editCrontab(`${theirs}\n`, ours5).split('\n').includes(theirs));
    assert.ok(editCrontab(`${theirs}\n${ours5}\n`, undefined).split('\n').includes(theirs));
  });

  test('only lines in our exact form are ours: mentions, copies under comments and edits by hand are not', () => {
    assert.ok(isOurCronLine(ours5));
    assert.ok(isOurCronLine(ours5.replace('*/5', '*/7')), 'our line with a schedule edited by hand is still ours');
    for (const theirs of [
      `# ${ours5}`,
      `#${ours5}`,
      `0 3 * * * /usr/bin/backup ${CRON_MARKER}`,
      `0 3 * * * /usr/bin/backup # ${CRON_MARKER}`,
      `0 3 * * * /usr/bin/backup ## helpdesk-monitor-check`,
      `${ours5} `,
      `${ours5}\r`,
      `${ours5} # mine now`,
      `@reboot PM2_HOME=/x /usr/bin/node cli check >> /log 2>&1 || [ $? -eq 3 ] ${CRON_MARKER}`,
      'b/monitor.yaml >> /var/log/hdm.log 2>&1 || [ $? -eq 3 ] # helpdesk-monitor-check',
    ]) {
      assert.equal(isOurCronLine(theirs), false, theirs);
      const text = `${others[0]}\n${theirs}\n${ours5}\n`;
      assert.equal(editCrontab(text, undefined), `${others[0]}\n${theirs}\n`, `kept: ${theirs}`);
    }
  });

  test('remove changes no other byte: CRs, tabs, blank lines, no final newline, our line in the middle', () => {
    const mid = `MAILTO=ops\r\n\t# tabbed\n\n${ours5}\n0 1 * * * /usr/local/bin/backup --all`;
    assert.equal(editCrontab(mid, undefined), `MAILTO=ops\r\n\t# tabbed\n\n0 1 * * * /usr/local/bin/backup --all`);
    const noOurs = `${others.join('\n')}\n\n\n`;
    assert.equal(editCrontab(noOurs, undefined), noOurs, 'nothing of ours: the very same text');
    assert.equal(editCrontab('\n\n', undefined), '\n\n');
  });

  test('install after remove returns the same text (and a crontab without a final newline gets one before our line)', () => {
    const text = `${others.join('\n')}\n`;
    assert.equal(editCrontab(editCrontab(text, ours5), undefined), text);
    assert.equal(editCrontab(others.join('\n'), ours5), `${others.join('\n')}\n${ours5}\n`);
  });

  test('only a line of ours can be installed', () => {
    assert.throws(() => editCrontab('', '* * * * * /bin/true'), /not a line of ours/);
  });

  test('blank lines of the user\'s crontab are kept', () => {
    const text = `${others[0]}\n\n${others[2]}\n\n${others[3]}\n`;
    assert.equal(editCrontab(editCrontab(text, ours5), undefined), text);
  });
});
