// monitor_mutex's YAML and command-line forms: the seed document's example parses as is, defaults
// (60 s, 5 s) and ranges (1-3600, 1-300) are the original's, and every rejection names the
// process and the key. A spec becomes an ordinary AppConfig (through the schema) and a PM2 app
// that runs the command through sh -c; the stop shim turns PM2's SIGINT into SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, UsageError } from '../../../src/errors.js';
import { procFacts } from '../../../src/proc/read.js';
import { descendants } from '../../../src/proc/tree.js';
import { waitFor } from '../../helpers/wait.js';
import {
  STOP_SHIM,
  checkSeconds,
  loadWatchConfig,
  nameForCommand,
  parseWatchArgs,
  parseWatchYaml,
  pm2AppFor,
  pm2NameFor,
  runIdFor,
  toWatchAppConfig,
  toWatchMonitorConfig,
  type WatchSpec,
} from '../../../src/watch/config.js';

/** The example from the original monitor_mutex documentation, verbatim. */
const SEED_EXAMPLE = `# monitor_config.yaml
processes:
  - name: "WebServer"
    command: "python3 -m http.server 8080"
    log_file: "/tmp/webserver.log"
    timeout: 60
    interval: 5

  - name: "Database"
    command: "mysqld --defaults-file=/etc/mysql/my.cnf"
    log_file: "/var/log/mysql/error.log"
    timeout: 120
    interval: 10

  - name: "Worker"
    command: "python3 worker.py >> /tmp/worker.log 2>&1"
    log_file: "/tmp/worker.log"
    timeout: 180
    interval: 15
`;

const FILE = '/etc/monitor/monitor_config.yaml';
const CWD = '/srv/app';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdm-watch-config-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Parse YAML that must be rejected; returns the ConfigError's issue lines ("path: message"). */
function rejected(text: string): string[] {
  let caught: unknown;
  try {
    parseWatchYaml(text, FILE, CWD);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.file, FILE);
  assert.ok(caught.message.includes(FILE), caught.message);
  return caught.issues.map((i) => `${i.path}: ${i.message}${i.value === undefined ? '' : ` (got ${i.value})`}`);
}

function usageError(positionals: readonly string[]): string {
  try {
    parseWatchArgs(positionals, CWD);
  } catch (err) {
    assert.ok(err instanceof UsageError, `expected a UsageError, got ${String(err)}`);
    return err.message;
  }
  assert.fail(`expected ${JSON.stringify(positionals)} to be rejected`);
}

const proc = (fields: Record<string, unknown>): string =>
  `  - ${Object.entries(fields).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('\n    ')}\n`;

describe('the YAML form', () => {
  test('the seed document example with three processes parses as is', () => {
    const specs = parseWatchYaml(SEED_EXAMPLE, FILE, CWD);
    assert.deepEqual(specs, [
      { name: 'WebServer', pm2Name: 'watch-WebServer', command: 'python3 -m http.server 8080', logFile: '/tmp/webserver.log', timeoutS: 60, intervalS: 5 },
      { name: 'Database', pm2Name: 'watch-Database', command: 'mysqld --defaults-file=/etc/mysql/my.cnf', logFile: '/var/log/mysql/error.log', timeoutS: 120, intervalS: 10 },
      { name: 'Worker', pm2Name: 'watch-Worker', command: 'python3 worker.py >> /tmp/worker.log 2>&1', logFile: '/tmp/worker.log', timeoutS: 180, intervalS: 15 },
    ]);
  });

  test('the other seed examples (cluster, preprocessing, cleanup) parse too', () => {
    const cluster = `processes:
  - name: "web-1"
    command: "python3 app.py --port 8001"
    log_file: "/var/log/web-1.log"
    timeout: 30
    interval: 5
    
  - name: "web-2" 
    command: "python3 app.py --port 8002"
    log_file: "/var/log/web-2.log"
    timeout: 30
    interval: 5
`;
    assert.deepEqual(parseWatchYaml(cluster, FILE, CWD).map((s) => s.pm2Name), ['watch-web-1', 'watch-web-2']);
    const cleanup = `processes:
  - name: "cleaner"
    command: "bash -c 'while true; do cleanup.sh >> /tmp/clean.log 2>&1; sleep 3600; done'"
    log_file: "/tmp/clean.log" 
    timeout: 7200  # 2 godziny
    interval: 60
`;
    // 7200 is outside the original's own documented range: rejected, naming the process and key.
    assert.deepEqual(rejected(cleanup), ['processes[0] (cleaner): timeout 7200 is out of range 1-3600']);
  });

  test('timeout and interval default to 60 and 5 (absent or empty)', () => {
    const specs = parseWatchYaml(`processes:\n${proc({ name: 'a', command: 'run-a', log_file: 'a.log' })}  - name: b\n    command: run-b\n    log_file: b.log\n    timeout:\n    interval:\n`, FILE, CWD);
    assert.deepEqual(specs.map((s) => [s.timeoutS, s.intervalS]), [[60, 5], [60, 5]]);
  });

  test('relative log files are taken from the current directory', () => {
    const [spec] = parseWatchYaml(`processes:\n${proc({ name: 'a', command: 'x', log_file: 'logs/a.log' })}`, FILE, CWD);
    assert.equal(spec?.logFile, '/srv/app/logs/a.log');
  });

  test('range limits are inclusive: timeout 1-3600, interval 1-300', () => {
    const ok = parseWatchYaml(`processes:\n${proc({ name: 'lo', command: 'x', log_file: 'l', timeout: 1, interval: 1 })}${proc({ name: 'hi', command: 'x', log_file: 'h', timeout: 3600, interval: 300 })}`, FILE, CWD);
    assert.deepEqual(ok.map((s) => [s.timeoutS, s.intervalS]), [[1, 1], [3600, 300]]);
    assert.deepEqual(rejected(`processes:\n${proc({ name: 'zero', command: 'x', log_file: 'l', timeout: 0, interval: 0 })}`), [
      'processes[0] (zero): timeout 0 is out of range 1-3600',
      'processes[0] (zero): interval 0 is out of range 1-300',
    ]);
    assert.deepEqual(rejected(`processes:\n${proc({ name: 'big', command: 'x', log_file: 'l', timeout: 3601, interval: 301 })}`), [
      'processes[0] (big): timeout 3601 is out of range 1-3600',
      'processes[0] (big): interval 301 is out of range 1-300',
    ]);
  });

  test('an out-of-range value names the process (index and name) and the key', () => {
    const text = `processes:\n${proc({ name: 'WebServer', command: 'x', log_file: 'w.log' })}${proc({ name: 'Worker', command: 'y', log_file: 'k.log', timeout: 5000, interval: 15 })}`;
    assert.deepEqual(rejected(text), ['processes[1] (Worker): timeout 5000 is out of range 1-3600']);
  });

  test('malformed values are rejected with the key and the value', () => {
    const issues = rejected(`processes:
  - name: a
    command: x
    log_file: a.log
    timeout: "soon"
    interval: 2.5
  - name: b
    command: y
    log_file: b.log
    timeout: true
    interval: -3
`);
    assert.deepEqual(issues, [
      'processes[0] (a): timeout "soon" is not a whole number of seconds (expected 1-3600)',
      'processes[0] (a): interval 2.5 is not a whole number of seconds (expected 1-300)',
      'processes[1] (b): timeout true is not a whole number of seconds (expected 1-3600)',
      'processes[1] (b): interval -3 is out of range 1-300',
    ]);
  });

  test('numbers written as strings are accepted ("90")', () => {
    const [spec] = parseWatchYaml(`processes:\n${proc({ name: 'a', command: 'x', log_file: 'l', timeout: '90', interval: '3' })}`, FILE, CWD);
    assert.deepEqual([spec?.timeoutS, spec?.intervalS], [90, 3]);
  });

  test('missing name, command or log_file are named', () => {
    assert.deepEqual(rejected('processes:\n  - command: x\n    log_file: l\n  - name: b\n    log_file: l\n  - name: c\n    command: x\n    log_file: ""\n'), [
      'processes[0]: name is required (a non-empty string)',
      'processes[1] (b): command is required (a shell command, run by sh -c)',
      'processes[2] (c): log_file is required (a file path) (got "")',
    ]);
  });

  test('an unknown key names the process and suggests the right one', () => {
    assert.deepEqual(rejected(`processes:\n${proc({ name: 'a', command: 'x', log_file: 'l', timout: 5 })}`), ['processes[0] (a): unknown key "timout"; did you mean "timeout"?']);
    assert.deepEqual(rejected(`procesess:\n${proc({ name: 'a', command: 'x', log_file: 'l' })}`), [
      'procesess: unknown key; did you mean "processes"?',
      'processes: expected a list of at least one process (name, command, log_file, timeout, interval)',
    ]);
  });

  test('duplicate names (also after making them PM2-safe) are rejected', () => {
    assert.deepEqual(rejected(`processes:\n${proc({ name: 'Web Server', command: 'x', log_file: 'l' })}${proc({ name: 'Web-Server', command: 'y', log_file: 'm' })}`), [
      'processes[1] (Web-Server): the name "Web-Server" is already used by processes[0] (PM2 app watch-Web-Server)',
    ]);
  });

  test('not a mapping, an empty list, and bad YAML are rejected', () => {
    assert.match(rejected('- a\n- b\n')[0] ?? '', /expected a mapping with a `processes:` list/);
    assert.match(rejected('processes: []\n')[0] ?? '', /^processes: expected a list of at least one process/);
    assert.match(rejected('processes:\n  - name: [\n')[0] ?? '', /not valid YAML/);
    assert.match(rejected('processes:\n  - just a string\n')[0] ?? '', /^processes\[0\]: expected a mapping .* \(got "just a string"\)/);
  });

  test('loadWatchConfig reads the file (relative to cwd) and names a missing one', () => {
    const file = join(dir, 'monitor_config.yaml');
    writeFileSync(file, SEED_EXAMPLE);
    assert.equal(loadWatchConfig('monitor_config.yaml', dir).length, 3);
    assert.throws(() => loadWatchConfig(join(dir, 'nope.yaml'), dir), (err: unknown) => err instanceof ConfigError && /^no such file: .*nope.yaml; create it or pass/.test(err.message));
  });
});

describe('the single form', () => {
  test('"<command>" <log_file> with the defaults', () => {
    const spec = parseWatchArgs(['python3 app.py > /tmp/app.log 2>&1', '/tmp/app.log'], CWD);
    assert.equal(spec.command, 'python3 app.py > /tmp/app.log 2>&1');
    assert.equal(spec.logFile, '/tmp/app.log');
    assert.equal(spec.timeoutS, 60);
    assert.equal(spec.intervalS, 5);
    assert.match(spec.name, /^python3-[0-9a-f]{6}$/);
    assert.equal(spec.pm2Name, `watch-${spec.name}`);
  });

  test('timeout and interval, and a relative log file', () => {
    const spec = parseWatchArgs(['java -jar server.jar', 'logs/server.log', '120', '10'], CWD);
    assert.deepEqual([spec.logFile, spec.timeoutS, spec.intervalS], ['/srv/app/logs/server.log', 120, 10]);
  });

  test('a name given with --name', () => {
    const spec = parseWatchArgs(['x', 'l'], CWD, 'backup job');
    assert.deepEqual([spec.name, spec.pm2Name], ['backup job', 'watch-backup-job']);
  });

  test('bad usage is a UsageError that says what is wrong', () => {
    assert.match(usageError([]), /needs "<command>" <log_file>/);
    assert.match(usageError(['cmd']), /needs "<command>" <log_file>/);
    assert.equal(usageError(['cmd', 'l', 'abc']), 'timeout "abc" is not a whole number of seconds (expected 1-3600)');
    assert.equal(usageError(['cmd', 'l', '60', '5s']), 'interval "5s" is not a whole number of seconds (expected 1-300)');
    assert.equal(usageError(['cmd', 'l', '5000']), 'timeout 5000 is out of range 1-3600');
    assert.equal(usageError(['cmd', 'l', '60', '0']), 'interval 0 is out of range 1-300');
    assert.match(usageError(['python3', 'app.py', '/tmp/app.log', '60', '5']), /unexpected argument\(s\).*quote the command/);
    assert.match(usageError(['  ', 'l']), /command is empty/);
  });

  test('derived names are stable per command and differ between commands', () => {
    assert.equal(nameForCommand("sh -c 'echo hi; sleep 1000'"), nameForCommand("sh -c 'echo hi; sleep 1000'"));
    assert.notEqual(nameForCommand('python3 a.py'), nameForCommand('python3 b.py'));
    assert.match(nameForCommand('FOO=1 /usr/bin/python3 a.py'), /^python3-[0-9a-f]{6}$/);
    assert.match(nameForCommand('"./run me.sh" --x'), /^run-[0-9a-f]{6}$/);
  });

  test('checkSeconds on its own', () => {
    assert.deepEqual(checkSeconds('timeout', undefined), { ok: true, value: 60 });
    assert.deepEqual(checkSeconds('interval', null), { ok: true, value: 5 });
    assert.deepEqual(checkSeconds('interval', ' 7 '), { ok: true, value: 7 });
    assert.equal(checkSeconds('timeout', Number.NaN).ok, false);
  });
});

describe('what the engine and PM2 get', () => {
  const spec: WatchSpec = { name: 'Worker', pm2Name: 'watch-Worker', command: 'python3 worker.py >> /tmp/worker.log 2>&1', logFile: '/tmp/worker.log', timeoutS: 180, intervalS: 15 };

  test('an AppConfig through the schema: the log rule, checked every interval, one failure is enough, pm2 restarts', () => {
    const app = toWatchAppConfig(spec);
    assert.equal(app.name, 'watch-Worker');
    assert.deepEqual(app.logInactivity, { file: '/tmp/worker.log', timeoutMs: 180_000 });
    assert.equal(app.health.intervalMs, 15_000);
    assert.equal(app.health.failureThreshold, 1);
    assert.equal(app.health.url, undefined);
    assert.equal(app.startupGraceMs, 0);
    assert.equal(app.strategy, 'pm2');
    assert.deepEqual(app.ports, []);
  });

  test('the monitor config keeps its state under the watch dir', () => {
    const config = toWatchMonitorConfig([spec], FILE, '/home/u/.pm2/helpdesk-monitor/watch');
    assert.equal(config.stateDir, '/home/u/.pm2/helpdesk-monitor/watch');
    assert.equal(config.source, FILE);
    assert.deepEqual(config.apps, [toWatchAppConfig(spec)]);
  });

  test('the PM2 app runs the command through sh -c in the current directory, stop grace 5 s, autorestart', () => {
    const app = pm2AppFor(spec, CWD);
    assert.equal(app['name'], 'watch-Worker');
    assert.equal(app['script'], '/bin/sh');
    assert.equal(app['interpreter'], 'none');
    assert.equal(app['cwd'], CWD);
    assert.equal(app['kill_timeout'], 5000);
    assert.equal(app['autorestart'], true);
    const args = app['args'] as string[];
    assert.equal(args[0], '-c');
    assert.equal(args.at(-1), spec.command, 'the command is passed as one argument, never re-quoted');
  });

  test('pm2NameFor and runIdFor', () => {
    assert.equal(pm2NameFor('a b/c'), 'watch-a-b-c');
    assert.equal(runIdFor([spec]), 'watch-Worker');
    assert.match(runIdFor([spec], '/etc/monitor/monitor config.yaml'), /^config-monitor-config-[0-9a-f]{6}$/);
  });
});

describe('the stop shim', () => {
  test('SIGINT to the process group (as PM2 sends it) becomes SIGTERM for the command and its children', async () => {
    const marks = join(dir, 'signals.txt');
    // The command notes which signal reached it, then exits; its child (sleep) must end too.
    const command = `trap 'echo TERM >> ${marks}; exit 0' TERM; trap 'echo INT >> ${marks}' INT; sleep 30 & wait; echo done >> ${marks}`;
    // detached: its own process group, as PM2 starts every app.
    const child = spawn('/bin/sh', ['-c', STOP_SHIM, 'helpdesk-monitor-watch', command], { detached: true, stdio: 'ignore' });
    const pgid = child.pid!;
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    let tree: { pid: number; startTicks: number }[] = [];
    try {
      // The traps are set before `sleep 30` starts: once it runs, the command is ready for signals.
      const snapshot = (): { pid: number; startTicks: number }[] => [...descendants([pgid])].flatMap((pid) => {
        const f = procFacts(pid);
        return f ? [{ pid, startTicks: f.startTicks }] : [];
      });
      tree = await waitFor('the command and its sleep running', () => {
        const t = snapshot();
        return t.some((p) => /^sleep 30/.test(procFacts(p.pid)?.command ?? '')) ? t : undefined;
      }, 10_000, 20);
      process.kill(-pgid, 'SIGINT'); // PM2's treekill signals every process of the tree
      const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5000))]);
      assert.notEqual(code, 'timeout', 'the shim ends within the grace');
      assert.equal(readFileSync(marks, 'utf8'), 'TERM\n', 'the command got SIGTERM, not SIGINT');
      // Dead, or a zombie waiting to be reaped by init (sleep's parent died with it).
      const alive = (p: { pid: number; startTicks: number }): boolean => {
        const f = procFacts(p.pid);
        return f !== undefined && f.startTicks === p.startTicks && f.state !== 'Z' && f.state !== 'X';
      };
      // The shim exits once the command has; sleep got its SIGTERM before that, but on a busy
      // machine it may not have been scheduled to die yet, so give it a moment (PM2 itself
      // waits for the tree and SIGKILLs what is left after kill_timeout).
      const left = await waitFor(() => `the tree to end; still alive: ${JSON.stringify(tree.filter(alive))}`,
        () => tree.filter(alive).length === 0, 3000, 20).then(() => [], () => tree.filter(alive));
      assert.deepEqual(left, [], 'nothing of the tree is left (sleep included)');
    } finally {
      for (const p of tree) {
        const f = procFacts(p.pid);
        if (f && f.startTicks === p.startTicks && f.state !== 'Z') process.kill(p.pid, 'SIGKILL');
      }
    }
  });

  test('the command exiting on its own ends the shim with its exit code', async () => {
    const child = spawn('/bin/sh', ['-c', STOP_SHIM, 'helpdesk-monitor-watch', 'exit 7'], { stdio: 'ignore' });
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    assert.equal(code, 7);
  });
});
