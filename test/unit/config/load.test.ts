import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CONFIG_ENV, formatPath, loadConfig, locateConfig, moduleSetting } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/errors.js';

let dir: string;
let seq = 0;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdm-config-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Write a config file with a unique name and return its absolute path. */
function write(ext: string, text: string): string {
  const file = join(dir, `cfg-${++seq}${ext}`);
  writeFileSync(file, text);
  return file;
}

/** Load a file that must fail; return the ConfigError. */
function loadError(file: string): ConfigError {
  let caught: unknown;
  try {
    loadConfig(file);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.file, file);
  assert.ok(caught.message.includes(file), `message names the file: ${caught.message}`);
  return caught;
}

/** The one issue at `path`. */
function issueAt(err: ConfigError, path: string): { path: string; message: string; value?: string } {
  const found = err.issues.filter((i) => i.path === path);
  assert.equal(found.length, 1, `one issue at ${path}; issues: ${JSON.stringify(err.issues)}`);
  return found[0]!;
}

const MINIMAL_YAML = `
apps:
  - name: helpdesk-backend        # the PM2 app name
    health:
      url: http://127.0.0.1:5000/health
    ports: [5000]
`;

describe('loadConfig: valid files', () => {
  test('a minimal YAML file gets every default', () => {
    const file = write('.yaml', MINIMAL_YAML);
    const cfg = loadConfig(file);
    assert.equal(cfg.source, file);
    assert.equal(cfg.stateDir, undefined);
    assert.equal(cfg.concurrency, 8);
    assert.deepEqual(cfg.log, { level: 'info', format: 'text', maxSizeBytes: 10 * 1024 * 1024, maxFiles: 5, gzip: false });
    assert.equal(cfg.apps.length, 1);
    assert.deepEqual(cfg.apps[0], {
      name: 'helpdesk-backend',
      health: {
        url: 'http://127.0.0.1:5000/health',
        timeoutMs: 2000,
        intervalMs: 5000,
        failureThreshold: 3,
        expectStatus: [200],
        maxBodyBytes: 64 * 1024,
        followRedirects: false,
      },
      policy: {
        successThreshold: 1,
        restartDelayMs: 5000,
        backoffFactor: 2,
        backoffMaxMs: 300_000,
        backoffJitter: 0.1,
        maxAttempts: 1,
        maxRestartFailures: 3,
        failureWindowMs: 600_000,
        circuitResetMs: 1_800_000,
      },
      strategy: 'pm2',
      serviceUnit: 'helpdesk-backend',
      startupGraceMs: 10_000,
      ports: [5000],
      killScope: 'app',
      killGraceMs: 2000,
      verifyTimeoutMs: 30_000,
    });
    assert.deepEqual(cfg.notify, []);
  });

  test('an app with only a name has no url and no ports', () => {
    const cfg = loadConfig(write('.yml', 'apps:\n  - name: bare\n'));
    const app = cfg.apps[0]!;
    assert.equal(app.name, 'bare');
    assert.equal('url' in app.health, false);
    assert.deepEqual(app.ports, []);
    assert.equal(app.health.failureThreshold, 3);
  });

  test('ports: a number, a numeric string, or a list of either', () => {
    const cfg = loadConfig(write('.yaml', 'apps:\n  - { name: a, ports: 18880 }\n  - { name: b, ports: "18881" }\n  - { name: c, ports: ["18882", 18883] }\n  - { name: d, health: { tcp: "5000" } }\n'));
    assert.deepEqual(cfg.apps.map((a) => a.ports), [[18880], [18881], [18882, 18883], []]);
    assert.deepEqual(cfg.apps[3]!.tcp, { host: '127.0.0.1', port: 5000 });
  });

  test('ports: a bad entry is named at its own index, and a bad single value at ports', () => {
    const err = loadError(write('.yaml', 'apps:\n  - { name: a, ports: [80, "0x50", 70000, "080"] }\n  - { name: b, ports: "http" }\n'));
    assert.deepEqual(err.issues.map((i) => [i.path, i.value]), [['apps[0].ports[1]', '"0x50"'], ['apps[0].ports[2]', '70000'], ['apps[0].ports[3]', '"080"'], ['apps[1].ports', '"http"']]);
    assert.match(err.issues[0]!.message, /an integer 1-65535, or a string of digits/);
    assert.match(err.issues[3]!.message, /or a list of them/);
  });

  test('the design document example: durations with units and a threshold', () => {
    const cfg = loadConfig(
      write(
        '.yaml',
        `state_dir: /tmp/hdm-state
concurrency: 2
log: { level: debug, format: json, max_size: 1MB, max_files: 3, file: /tmp/x.log }
apps:
  - name: helpdesk-backend
    health:
      url: https://example.test/health
      timeout: 500ms
      interval: 2m
      failure_threshold: 5
      expect_status: [200, 204]
      max_body: 512k
      follow_redirects: true
    startup_grace: 0
    kill_scope: user
    kill_grace: 1.5s
    verify_timeout: 60
`,
      ),
    );
    assert.equal(cfg.stateDir, '/tmp/hdm-state');
    assert.equal(cfg.concurrency, 2);
    assert.deepEqual(cfg.log, { level: 'debug', format: 'json', file: '/tmp/x.log', maxSizeBytes: 1024 * 1024, maxFiles: 3, gzip: false });
    const app = cfg.apps[0]!;
    assert.equal(app.health.timeoutMs, 500);
    assert.equal(app.health.intervalMs, 120_000);
    assert.equal(app.health.failureThreshold, 5);
    assert.deepEqual(app.health.expectStatus, [200, 204]);
    assert.equal(app.health.maxBodyBytes, 512 * 1024);
    assert.equal(app.health.followRedirects, true);
    assert.equal(app.startupGraceMs, 0);
    assert.equal(app.killScope, 'user');
    assert.equal(app.killGraceMs, 1500);
    assert.equal(app.verifyTimeoutMs, 60_000);
  });

  test('a single expect_status number becomes a list', () => {
    const cfg = loadConfig(write('.yaml', 'apps:\n  - name: a\n    health: { expect_status: 204 }\n'));
    assert.deepEqual(cfg.apps[0]!.health.expectStatus, [204]);
  });

  test('JSON', () => {
    const file = write(
      '.json',
      JSON.stringify({ concurrency: 4, apps: [{ name: 'api', health: { url: 'http://127.0.0.1:8080/', timeout: 1 }, ports: [8080] }, { name: 'worker' }] }),
    );
    const cfg = loadConfig(file);
    assert.equal(cfg.concurrency, 4);
    assert.deepEqual(
      cfg.apps.map((a) => [a.name, a.health.timeoutMs, a.ports]),
      [
        ['api', 1000, [8080]],
        ['worker', 2000, []],
      ],
    );
  });

  test('a relative path is resolved and recorded as absolute', () => {
    const file = write('.yaml', MINIMAL_YAML);
    const rel = relative(process.cwd(), file);
    assert.ok(!isAbsolute(rel));
    const cfg = loadConfig(rel);
    assert.equal(cfg.source, resolve(file));
  });
});

describe('loadConfig: ecosystem files', () => {
  const ECOSYSTEM = `module.exports = {
  apps: [
    { name: 'plain', script: 'plain.js', port: 4000 },
    {
      name: 'helpdesk-backend',
      script: 'server.js',
      port: 5000,
      monitor: { health: { url: 'http://127.0.0.1:5000/health', timeout: '1s' } },
    },
    { name: 'from-env', script: 'b.js', env: { PORT: '6000' }, monitor: {} },
    { name: 'explicit', script: 'c.js', port: 7000, monitor: { ports: [7001, 7002] } },
    { name: 'portless', script: 'd.js', monitor: { kill_scope: 'any' } },
  ],
  monitor: { concurrency: 3 },
};
`;

  test('apps with a monitor block are monitored; ports come from port or env.PORT', () => {
    const cfg = loadConfig(write('.cjs', ECOSYSTEM));
    assert.deepEqual(
      cfg.apps.map((a) => a.name),
      ['helpdesk-backend', 'from-env', 'explicit', 'portless'],
      'the app without monitor: is ignored',
    );
    const [backend, fromEnv, explicit, portless] = cfg.apps;
    assert.equal(backend!.health.url, 'http://127.0.0.1:5000/health');
    assert.equal(backend!.health.timeoutMs, 1000);
    assert.equal(backend!.health.failureThreshold, 3);
    assert.deepEqual(backend!.ports, [5000]);
    assert.deepEqual(fromEnv!.ports, [6000]);
    assert.deepEqual(explicit!.ports, [7001, 7002], 'an explicit monitor.ports wins over port');
    assert.deepEqual(portless!.ports, []);
    assert.equal(portless!.killScope, 'any');
    assert.equal(cfg.concurrency, 3, 'a top-level monitor: block holds global keys');
  });

  test('a plain .js ecosystem file (CommonJS) loads too', () => {
    const cfg = loadConfig(write('.js', ECOSYSTEM));
    assert.equal(cfg.apps.length, 4);
  });

  test('errors are reported against the ecosystem key paths', () => {
    const file = write(
      '.cjs',
      `module.exports = { apps: [
        { name: 'plain', script: 'p.js' },
        { name: 'a', script: 'a.js', monitor: { health: { timeout: 'soon', helth: 1 } } },
        { script: 'b.js', monitor: {} },
      ], monitor: { concurency: 3 } };`,
    );
    const err = loadError(file);
    const timeout = issueAt(err, 'apps[1].monitor.health.timeout');
    assert.equal(timeout.value, '"soon"');
    assert.match(timeout.message, /expected a duration/);
    assert.match(issueAt(err, 'apps[1].monitor.health.helth').message, /unknown key/);
    assert.match(issueAt(err, 'apps[2].name').message, /expected string/);
    assert.match(issueAt(err, 'monitor.concurency').message, /did you mean "concurrency"/);
    assert.match(err.message, /apps\[1\]\.monitor\.health\.timeout: .*expected a duration.*\(got "soon"\)/);
  });

  test('an ecosystem file that throws is a ConfigError', () => {
    const err = loadError(write('.cjs', "throw new Error('boom in ecosystem');"));
    assert.match(err.message, /cannot load the ecosystem file: boom in ecosystem/);
  });

  test('an edited ecosystem file is re-read, not served from the require cache', () => {
    const file = write('.cjs', "module.exports = { apps: [{ name: 'v1', script: 'x.js', monitor: {} }] };");
    assert.equal(loadConfig(file).apps[0]!.name, 'v1');
    writeFileSync(file, "module.exports = { apps: [{ name: 'v2', script: 'x.js', monitor: {} }] };");
    assert.equal(loadConfig(file).apps[0]!.name, 'v2');
  });

  test('an ecosystem without any monitored app is an error', () => {
    const err = loadError(write('.cjs', "module.exports = { apps: [{ name: 'p', script: 'p.js' }] };"));
    assert.match(issueAt(err, 'apps').message, /at least one app/);
  });
});

describe('loadConfig: errors', () => {
  test('bad YAML syntax', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: [unclosed\n'));
    assert.equal(err.issues.length, 1);
    assert.match(err.message, /not valid YAML/);
  });

  test('a YAML error keeps the whole message: the line, the column, the offending line and a caret under the spot', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: api\n    health:\n      url: http://127.0.0.1:1/\n   timeout: 2s\n'));
    assert.match(err.message, /at line 5, column 1:/);
    const lines = err.message.split('\n');
    const offending = lines.findIndex((l) => l.endsWith('   timeout: 2s'));
    assert.ok(offending > 0, `the offending line is quoted: ${err.message}`);
    const caret = lines.slice(offending + 1).find((l) => l.trim() === '^');
    assert.ok(caret !== undefined, `a caret follows it: ${err.message}`);
    // The caret sits under column 1 of the quoted line: both carry the same indentation.
    assert.equal(caret.indexOf('^'), lines[offending]!.indexOf('   timeout'));
  });

  test('bad JSON syntax', () => {
    const err = loadError(write('.json', '{"apps": ['));
    assert.match(err.message, /not valid JSON/);
  });

  test('a missing file', () => {
    const file = join(dir, 'does-not-exist.yaml');
    const err = loadError(file);
    assert.equal(err.message, `no such file: ${file}; create it or pass --config FILE`);
  });

  test('a directory given as the config', () => {
    const err = loadError(dir);
    assert.match(err.message, /this is a directory, not a config file/);
  });

  test('a document that is not a mapping', () => {
    const err = loadError(write('.yaml', '- a\n- b\n'));
    assert.match(err.message, /expected a mapping with an `apps` list/);
    assert.match(err.message, /\(got \["a","b"\]\)/);
  });

  test('missing apps', () => {
    const err = loadError(write('.yaml', 'concurrency: 2\n'));
    assert.ok(err.issues.some((i) => i.path === 'apps'), JSON.stringify(err.issues));
  });

  test('wrong type names the key, the value and the expected type', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: a\n    health:\n      failure_threshold: three\n'));
    const issue = issueAt(err, 'apps[0].health.failure_threshold');
    assert.equal(issue.value, '"three"');
    assert.match(issue.message, /expected number/);
    assert.match(err.message, /apps\[0\]\.health\.failure_threshold: .*expected number.*\(got "three"\)/);
  });

  test('unknown key inside health suggests the close one', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: a\n    health:\n      failure_treshold: 3\n'));
    const issue = issueAt(err, 'apps[0].health.failure_treshold');
    assert.match(issue.message, /unknown key; did you mean "failure_threshold"\?/);
  });

  test('unknown key at app level suggests health for helth', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: a\n    helth:\n      url: http://127.0.0.1:1/\n'));
    assert.match(issueAt(err, 'apps[0].helth').message, /did you mean "health"\?/);
  });

  test('an unknown key far from any known key gets no suggestion', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: a\n    zzzzzzzzzz: 1\n'));
    const issue = issueAt(err, 'apps[0].zzzzzzzzzz');
    assert.match(issue.message, /^unknown key$/);
  });

  test('a bad duration names the key, the value and the accepted forms', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: a\n    health:\n      timeout: 5x\n'));
    const issue = issueAt(err, 'apps[0].health.timeout');
    assert.equal(issue.value, '"5x"');
    assert.match(issue.message, /expected a duration.*500ms, 5s, 2m/);
  });

  test('a zero timeout is refused (must be positive), a zero startup_grace is fine', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: a\n    health: { timeout: 0 }\n'));
    assert.match(issueAt(err, 'apps[0].health.timeout').message, /greater than zero/);
    assert.equal(loadConfig(write('.yaml', 'apps:\n  - name: a\n    startup_grace: 0\n')).apps[0]!.startupGraceMs, 0);
  });

  test('a negative number duration is refused', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: a\n    health: { interval: -2 }\n'));
    assert.equal(issueAt(err, 'apps[0].health.interval').value, '-2');
  });

  test('missing name', () => {
    const err = loadError(write('.yaml', 'apps:\n  - health: {}\n'));
    assert.match(issueAt(err, 'apps[0].name').message, /expected string/);
  });

  test('an empty name', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: ""\n'));
    assert.match(issueAt(err, 'apps[0].name').message, /expected the PM2 app name/);
  });

  test('duplicate names point at the second one', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: x\n  - name: y\n  - name: x\n'));
    assert.match(issueAt(err, 'apps[2].name').message, /duplicate app name "x"/);
  });

  test(
    'duplicate names show the duplicated name as the bad value, not the whole config',
    () => {
      const err = loadError(write('.yaml', 'apps:\n  - name: x\n  - name: x\n'));
      const issue = issueAt(err, 'apps[1].name');
      assert.equal(issue.value, '"x"');
    },
  );

  test('port out of range', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: a\n    ports: [80, 70000]\n'));
    const issue = issueAt(err, 'apps[0].ports[1]');
    assert.equal(issue.value, '70000');
    assert.match(issue.message, /65535/);
    const zero = loadError(write('.yaml', 'apps:\n  - name: a\n    ports: [0]\n'));
    assert.equal(issueAt(zero, 'apps[0].ports[0]').value, '0');
  });

  test('a non-integer port', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: a\n    ports: [80.5]\n'));
    assert.match(issueAt(err, 'apps[0].ports[0]').message, /int/i);
  });

  test('bad URL', () => {
    for (const url of ['ftp://host/health', 'localhost:5000/health', 'http://']) {
      const err = loadError(write('.yaml', `apps:\n  - name: a\n    health: { url: "${url}" }\n`));
      const issue = issueAt(err, 'apps[0].health.url');
      assert.equal(issue.value, JSON.stringify(url));
      assert.match(issue.message, /expected an http:\/\/ or https:\/\/ URL/);
    }
  });

  test('bad kill_scope lists the allowed values', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: a\n    kill_scope: everyone\n'));
    const issue = issueAt(err, 'apps[0].kill_scope');
    assert.equal(issue.value, '"everyone"');
    assert.match(issue.message, /app.*user.*any/);
  });

  test('several problems are all reported at once', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: a\n    health: { timeout: nope, url: "ftp://x" }\n    ports: [0]\n'));
    assert.deepEqual(
      err.issues.map((i) => i.path).sort(),
      ['apps[0].health.timeout', 'apps[0].health.url', 'apps[0].ports[0]'],
    );
  });
});

describe('loadConfig: the restart policy keys', () => {
  test('every policy key, with units', () => {
    const cfg = loadConfig(
      write(
        '.yaml',
        `apps:
  - name: api
    success_threshold: 2
    restart_delay: 2s
    backoff: { factor: 3, max: 2m, jitter: 0.25 }
    max_attempts: 4
    max_restart_failures: 5
    failure_window: 15m
    circuit_reset_time: 1h
`,
      ),
    );
    assert.deepEqual(cfg.apps[0]!.policy, {
      successThreshold: 2,
      restartDelayMs: 2000,
      backoffFactor: 3,
      backoffMaxMs: 120_000,
      backoffJitter: 0.25,
      maxAttempts: 4,
      maxRestartFailures: 5,
      failureWindowMs: 900_000,
      circuitResetMs: 3_600_000,
    });
  });

  test('a partial backoff block keeps the other defaults; restart_delay 0 is allowed', () => {
    const cfg = loadConfig(write('.yaml', 'apps:\n  - name: a\n    backoff: { jitter: 0 }\n    restart_delay: 0\n'));
    const p = cfg.apps[0]!.policy;
    assert.equal(p.backoffJitter, 0);
    assert.equal(p.backoffFactor, 2);
    assert.equal(p.backoffMaxMs, 300_000);
    assert.equal(p.restartDelayMs, 0);
  });

  test('out-of-range policy values name the key and the value', () => {
    const err = loadError(
      write(
        '.yaml',
        `apps:
  - name: a
    success_threshold: 0
    max_attempts: 11
    max_restart_failures: 0
    failure_window: 0
    circuit_reset_time: later
    restart_delay: -1
    backoff: { factor: 0.5, max: 0, jitter: 2 }
`,
      ),
    );
    assert.deepEqual(
      err.issues.map((i) => i.path).sort(),
      [
        'apps[0].backoff.factor',
        'apps[0].backoff.jitter',
        'apps[0].backoff.max',
        'apps[0].circuit_reset_time',
        'apps[0].failure_window',
        'apps[0].max_attempts',
        'apps[0].max_restart_failures',
        'apps[0].restart_delay',
        'apps[0].success_threshold',
      ],
    );
    assert.equal(issueAt(err, 'apps[0].success_threshold').value, '0');
    assert.equal(issueAt(err, 'apps[0].max_attempts').value, '11');
    assert.match(issueAt(err, 'apps[0].failure_window').message, /greater than zero/);
    assert.match(issueAt(err, 'apps[0].circuit_reset_time').message, /expected a duration/);
    assert.equal(issueAt(err, 'apps[0].backoff.jitter').value, '2');
    assert.equal(issueAt(err, 'apps[0].backoff.factor').value, '0.5');
  });

  test('success_threshold and max_restart_failures must be integers', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: a\n    success_threshold: 1.5\n    max_restart_failures: two\n'));
    assert.match(issueAt(err, 'apps[0].success_threshold').message, /int/i);
    assert.match(issueAt(err, 'apps[0].max_restart_failures').message, /expected number/);
  });

  test('misspelt policy keys get a suggestion', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: a\n    max_restart_failure: 3\n    circuit_reset_tme: 1m\n    backoff: { jiter: 0.1 }\n'));
    assert.match(issueAt(err, 'apps[0].max_restart_failure').message, /did you mean "max_restart_failures"/);
    assert.match(issueAt(err, 'apps[0].circuit_reset_tme').message, /did you mean "circuit_reset_time"/);
    assert.match(issueAt(err, 'apps[0].backoff.jiter').message, /did you mean "jitter"/);
  });
});

describe('loadConfig: commands, probes and restart strategies', () => {
  test('health_check_command and pre_restart_command with their timeouts', () => {
    const cfg = loadConfig(
      write(
        '.yaml',
        `apps:
  - name: a
    health_check_command: "curl -fsS http://127.0.0.1:5000/ready"
    health_check_timeout: 3s
    pre_restart_command: ./drain.sh
  - name: b
    pre_restart_command: ./drain.sh
    pre_restart_timeout: 1m
    health_check_command: "true"
`,
      ),
    );
    const [a, b] = cfg.apps;
    assert.deepEqual(a!.healthCheckCommand, { command: 'curl -fsS http://127.0.0.1:5000/ready', timeoutMs: 3000 });
    assert.deepEqual(a!.preRestartCommand, { command: './drain.sh', timeoutMs: 30_000 });
    assert.deepEqual(b!.healthCheckCommand, { command: 'true', timeoutMs: 10_000 });
    assert.deepEqual(b!.preRestartCommand, { command: './drain.sh', timeoutMs: 60_000 });
  });

  test('no commands: no healthCheckCommand or preRestartCommand key', () => {
    const app = loadConfig(write('.yaml', 'apps:\n  - name: a\n    health_check_timeout: 3s\n')).apps[0]!;
    assert.equal('healthCheckCommand' in app, false);
    assert.equal('preRestartCommand' in app, false);
  });

  test('an empty command or a zero timeout is an error', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: a\n    health_check_command: ""\n    pre_restart_command: ""\n    health_check_timeout: 0\n'));
    assert.match(issueAt(err, 'apps[0].health_check_command').message, /expected a shell command/);
    assert.match(issueAt(err, 'apps[0].pre_restart_command').message, /expected a shell command/);
    assert.match(issueAt(err, 'apps[0].health_check_timeout').message, /greater than zero/);
  });

  test('health.tcp: a port means 127.0.0.1, or "host:port"', () => {
    const cfg = loadConfig(
      write('.yaml', 'apps:\n  - name: a\n    health: { tcp: 6379 }\n  - name: b\n    health: { tcp: "db.internal:5432" }\n  - name: c\n'),
    );
    assert.deepEqual(cfg.apps[0]!.tcp, { host: '127.0.0.1', port: 6379 });
    assert.deepEqual(cfg.apps[1]!.tcp, { host: 'db.internal', port: 5432 });
    assert.equal('tcp' in cfg.apps[2]!, false);
  });

  test('a bad health.tcp names the accepted forms', () => {
    for (const tcp of ['"nope"', '"host:"', '":80"', 'true']) {
      const err = loadError(write('.yaml', `apps:\n  - name: a\n    health: { tcp: ${tcp} }\n`));
      assert.match(issueAt(err, 'apps[0].health.tcp').message, /expected a port or "host:port"/, tcp);
    }
    const big = loadError(write('.yaml', 'apps:\n  - name: a\n    health: { tcp: 70000 }\n'));
    assert.equal(issueAt(big, 'apps[0].health.tcp').value, '70000');
  });

  test(
    'health.tcp "host:port" checks the port range like a plain port',
    () => {
      for (const tcp of ['localhost:70000', 'localhost:0']) {
        const err = loadError(write('.yaml', `apps:\n  - name: a\n    health: { tcp: "${tcp}" }\n`));
        issueAt(err, 'apps[0].health.tcp');
      }
    },
  );

  test('restart_strategy: pm2 by default; service uses `service` or the app name', () => {
    const cfg = loadConfig(
      write('.yaml', 'apps:\n  - name: a\n  - name: b\n    restart_strategy: service\n  - name: c\n    restart_strategy: service\n    service: helpdesk.service\n  - name: d\n    restart_strategy: auto\n'),
    );
    assert.deepEqual(
      cfg.apps.map((a) => [a.strategy, a.serviceUnit]),
      [
        ['pm2', 'a'],
        ['service', 'b'],
        ['service', 'helpdesk.service'],
        ['auto', 'd'],
      ],
    );
  });

  test('restart_strategy process with a process: block', () => {
    const cfg = loadConfig(
      write(
        '.yaml',
        `apps:
  - name: a
    restart_strategy: process
    process:
      command: node server.js
      cwd: /srv/a
      pidfile: /run/a.pid
      pattern: server.js
      log_file: /var/log/a.log
      stop_grace: 10s
  - name: b
    restart_strategy: process
    process: { command: ./run.sh }
`,
      ),
    );
    assert.deepEqual(cfg.apps[0]!.process, {
      command: 'node server.js', cwd: '/srv/a', pidfile: '/run/a.pid', pattern: 'server.js', logFile: '/var/log/a.log', stopGraceMs: 10_000,
    });
    assert.deepEqual(cfg.apps[1]!.process, { command: './run.sh', stopGraceMs: 5000 });
    assert.equal(cfg.apps[1]!.strategy, 'process');
  });

  test('restart_strategy process without a process: block is an error', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: ok\n  - name: a\n    restart_strategy: process\n'));
    assert.match(issueAt(err, 'apps[1].process').message, /restart_strategy process needs a process: block/);
  });

  test(
    'the missing process: block error does not show the whole config as the bad value',
    () => {
      const err = loadError(write('.yaml', 'apps:\n  - name: a\n    restart_strategy: process\n'));
      const issue = issueAt(err, 'apps[0].process');
      assert.ok(issue.value === undefined || !issue.value.includes('"log"'), `value: ${issue.value}`);
    },
  );

  test('a bad restart_strategy, a short pattern and a process block without command', () => {
    const err = loadError(
      write('.yaml', 'apps:\n  - name: a\n    restart_strategy: docker\n  - name: b\n    restart_strategy: process\n    process: { pattern: ab }\n'),
    );
    assert.match(issueAt(err, 'apps[0].restart_strategy').message, /pm2.*service.*process.*auto/);
    assert.equal(issueAt(err, 'apps[0].restart_strategy').value, '"docker"');
    assert.match(issueAt(err, 'apps[1].process.pattern').message, /at least 3 characters/);
    assert.ok(err.issues.some((i) => i.path === 'apps[1].process.command'), JSON.stringify(err.issues));
  });
});

describe('loadConfig: notify targets', () => {
  test('a full target and one with only a url', () => {
    const cfg = loadConfig(
      write(
        '.yaml',
        `notify:
  - url: https://hooks.slack.test/T000/B000
    format: slack
    events: [remedy_failed, circuit_opened, circuit_half_open, circuit_closed]
    headers: { Authorization: "Bearer abc" }
    timeout: 2s
  - url: http://127.0.0.1:9000/hook
apps:
  - name: a
`,
      ),
    );
    assert.deepEqual(cfg.notify, [
      {
        url: 'https://hooks.slack.test/T000/B000',
        format: 'slack',
        events: ['remedy_failed', 'circuit_opened', 'circuit_half_open', 'circuit_closed'],
        headers: { Authorization: 'Bearer abc' },
        timeoutMs: 2000,
      },
      { url: 'http://127.0.0.1:9000/hook', format: 'json', events: [], timeoutMs: 5000 },
    ]);
  });

  test('every event name is accepted', () => {
    const events = ['remedy_started', 'remedy_succeeded', 'remedy_failed', 'remedy_skipped', 'circuit_opened', 'circuit_half_open', 'circuit_closed'];
    const cfg = loadConfig(write('.json', JSON.stringify({ notify: [{ url: 'https://x.test/', format: 'discord', events }], apps: [{ name: 'a' }] })));
    assert.deepEqual(cfg.notify[0]!.events, events);
    assert.equal(cfg.notify[0]!.format, 'discord');
  });

  test('a bad event name is reported at its index and lists the valid ones', () => {
    const err = loadError(write('.yaml', 'notify:\n  - url: https://x.test/\n    events: [remedy_failed, circuit_exploded]\napps:\n  - name: a\n'));
    const issue = issueAt(err, 'notify[0].events[1]');
    assert.equal(issue.value, '"circuit_exploded"');
    assert.match(issue.message, /remedy_started.*circuit_closed/);
  });

  test('a bad URL', () => {
    for (const url of ['ftp://x.test/hook', 'hooks.slack.com/x', 'http://', 'https://exa mple.test/']) {
      const err = loadError(write('.yaml', `notify:\n  - url: "${url}"\napps:\n  - name: a\n`));
      const issue = issueAt(err, 'notify[0].url');
      assert.equal(issue.value, JSON.stringify(url));
      assert.match(issue.message, /expected an http:\/\/ or https:\/\/ URL/);
    }
  });

  test('a missing url, a bad format, bad headers, a zero timeout and unknown keys', () => {
    const err = loadError(
      write('.yaml', 'notify:\n  - format: teams\n    headers: { X-Count: 3 }\n    timeout: 0\n    event: [remedy_failed]\napps:\n  - name: a\n'),
    );
    assert.ok(err.issues.some((i) => i.path === 'notify[0].url'), JSON.stringify(err.issues));
    assert.match(issueAt(err, 'notify[0].format').message, /json.*slack.*discord/);
    assert.ok(err.issues.some((i) => i.path === 'notify[0].headers.X-Count'), JSON.stringify(err.issues));
    assert.match(issueAt(err, 'notify[0].timeout').message, /greater than zero/);
    assert.match(issueAt(err, 'notify[0].event').message, /did you mean "events"/);
  });

  test('notify must be a list', () => {
    const err = loadError(write('.yaml', 'notify: { url: "https://x.test/" }\napps:\n  - name: a\n'));
    assert.ok(err.issues.some((i) => i.path === 'notify'), JSON.stringify(err.issues));
  });
});

describe('loadConfig: defaults and check_interval', () => {
  test('defaults: apply to every app; an app\'s own keys win; nested blocks merge', () => {
    const cfg = loadConfig(
      write(
        '.yaml',
        `defaults:
  health: { timeout: 1s, failure_threshold: 5, url: "http://127.0.0.1:1/health" }
  backoff: { factor: 3, jitter: 0 }
  ports: [1]
  max_restart_failures: 7
  restart_strategy: service
apps:
  - name: a
    health: { timeout: 3s }
    backoff: { max: 1m }
    restart_strategy: pm2
  - name: b
    ports: [2, 3]
    health: { url: "http://127.0.0.1:2/health" }
`,
      ),
    );
    const [a, b] = cfg.apps;
    assert.equal(a!.health.timeoutMs, 3000, 'the app wins');
    assert.equal(a!.health.failureThreshold, 5, 'a nested default survives the app\'s own health block');
    assert.equal(a!.health.url, 'http://127.0.0.1:1/health');
    assert.deepEqual([a!.policy.backoffFactor, a!.policy.backoffJitter, a!.policy.backoffMaxMs], [3, 0, 60_000]);
    assert.deepEqual(a!.ports, [1]);
    assert.equal(a!.policy.maxRestartFailures, 7);
    assert.equal(a!.strategy, 'pm2');
    assert.equal(b!.health.timeoutMs, 1000);
    assert.equal(b!.health.url, 'http://127.0.0.1:2/health');
    assert.deepEqual(b!.ports, [2, 3], 'lists are replaced, not concatenated');
    assert.equal(b!.policy.backoffMaxMs, 300_000);
    assert.equal(b!.strategy, 'service');
    assert.equal(b!.serviceUnit, 'b');
  });

  test('a process: default block merges with an app\'s', () => {
    const cfg = loadConfig(
      write('.yaml', 'defaults:\n  restart_strategy: process\n  process: { command: ./start.sh, stop_grace: 1s }\napps:\n  - name: a\n    process: { cwd: /srv/a }\n'),
    );
    assert.deepEqual(cfg.apps[0]!.process, { command: './start.sh', cwd: '/srv/a', stopGraceMs: 1000 });
  });

  test('errors in defaults are reported once, under defaults.', () => {
    const err = loadError(
      write('.yaml', 'defaults:\n  health: { timeout: soon }\n  backoff: { factr: 2 }\n  success_threshold: 0\napps:\n  - name: a\n  - name: b\n'),
    );
    assert.deepEqual(err.issues.map((i) => i.path).sort(), ['defaults.backoff.factr', 'defaults.health.timeout', 'defaults.success_threshold']);
    assert.equal(issueAt(err, 'defaults.health.timeout').value, '"soon"');
    assert.match(issueAt(err, 'defaults.backoff.factr').message, /did you mean "factor"/);
    assert.match(err.message, /defaults\.health\.timeout: .*expected a duration/);
  });

  test('a name under defaults is an error', () => {
    const err = loadError(write('.yaml', 'defaults:\n  name: x\napps:\n  - name: a\n'));
    assert.match(issueAt(err, 'defaults.name').message, /^unknown key/);
  });

  test('defaults must be a mapping', () => {
    const err = loadError(write('.yaml', 'defaults: [1]\napps:\n  - name: a\n'));
    assert.ok(err.issues.some((i) => i.path === 'defaults'), JSON.stringify(err.issues));
  });

  test('defaults in an ecosystem file: under the top-level monitor: block, errors there too', () => {
    const ok = loadConfig(
      write(
        '.cjs',
        "module.exports = { apps: [{ name: 'a', script: 'a.js', monitor: { health: { timeout: '3s' } } }], monitor: { defaults: { health: { failure_threshold: 6, timeout: '1s' } } } };",
      ),
    );
    assert.equal(ok.apps[0]!.health.failureThreshold, 6);
    assert.equal(ok.apps[0]!.health.timeoutMs, 3000);
    const err = loadError(
      write('.cjs', "module.exports = { apps: [{ name: 'a', script: 'a.js', monitor: {} }], monitor: { defaults: { kill_scope: 'everyone' } } };"),
    );
    assert.equal(issueAt(err, 'monitor.defaults.kill_scope').value, '"everyone"');
  });

  test('check_interval means health.interval, in an app or in defaults', () => {
    const cfg = loadConfig(
      write('.yaml', 'defaults:\n  check_interval: 30\napps:\n  - name: a\n  - name: b\n    check_interval: 10s\n  - name: c\n    health: { interval: 2m }\n'),
    );
    assert.deepEqual(cfg.apps.map((a) => a.health.intervalMs), [30_000, 10_000, 120_000]);
  });

  test('check_interval keeps the rest of the health block; an explicit health.interval wins', () => {
    const cfg = loadConfig(
      write('.yaml', 'apps:\n  - name: a\n    check_interval: 10\n    health: { timeout: 1s }\n  - name: b\n    check_interval: 10\n    health: { interval: 20 }\n'),
    );
    assert.equal(cfg.apps[0]!.health.intervalMs, 10_000);
    assert.equal(cfg.apps[0]!.health.timeoutMs, 1000);
    assert.equal(cfg.apps[1]!.health.intervalMs, 20_000);
  });

  test('a bad check_interval is reported', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: a\n    check_interval: soon\n'));
    assert.equal(err.issues.length, 1);
    assert.equal(err.issues[0]!.value, '"soon"');
    assert.match(err.issues[0]!.message, /expected a duration/);
  });

  test(
    'a bad check_interval is reported under the key the user wrote',
    () => {
      const err = loadError(write('.yaml', 'apps:\n  - name: a\n    check_interval: soon\n'));
      issueAt(err, 'apps[0].check_interval');
    },
  );

  test(
    'check_interval at the top level says where it belongs instead of suggesting itself',
    () => {
      const err = loadError(write('.yaml', 'check_interval: 5\napps:\n  - name: a\n'));
      assert.doesNotMatch(issueAt(err, 'check_interval').message, /did you mean "check_interval"/);
    },
  );
});

describe('formatPath', () => {
  test('renders indices and keys', () => {
    assert.equal(formatPath(['apps', 0, 'health', 'timeout']), 'apps[0].health.timeout');
    assert.equal(formatPath([]), '');
    assert.equal(formatPath(['monitor', 'concurrency']), 'monitor.concurrency');
  });
});

describe('locateConfig', () => {
  let home: string;
  before(() => {
    home = mkdtempSync(join(tmpdir(), 'hdm-pm2home-'));
    writeFileSync(join(home, 'module_conf.json'), JSON.stringify({ 'helpdesk-monitor': { config: '/from/module_conf.yaml' }, other: { config: '/x' } }));
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  const emptyHome = (): string => join(dir, 'no-such-pm2-home');

  test('--config wins over everything', () => {
    const env = { [CONFIG_ENV]: '/from/env.yaml', 'helpdesk-monitor': JSON.stringify({ config: '/from/module-env.yaml' }) };
    assert.deepEqual(locateConfig('/from/flag.yaml', env, home), { path: '/from/flag.yaml', origin: '--config' });
  });

  test('a relative --config is resolved against the cwd', () => {
    assert.equal(locateConfig('conf/x.yaml', {}, home).path, resolve('conf/x.yaml'));
  });

  test('HELPDESK_MONITOR_CONFIG comes next', () => {
    const env = { [CONFIG_ENV]: '/from/env.yaml', 'helpdesk-monitor': JSON.stringify({ config: '/from/module-env.yaml' }) };
    assert.deepEqual(locateConfig(undefined, env, home), { path: '/from/env.yaml', origin: CONFIG_ENV });
  });

  test('then the module setting passed by PM2 as a JSON env var', () => {
    const env = { 'helpdesk-monitor': JSON.stringify({ config: '/from/module-env.yaml' }) };
    const loc = locateConfig(undefined, env, home);
    assert.equal(loc.path, '/from/module-env.yaml');
    assert.match(loc.origin, /pm2 set helpdesk-monitor:config/);
  });

  test('then $PM2_HOME/module_conf.json', () => {
    const loc = locateConfig(undefined, {}, home);
    assert.equal(loc.path, '/from/module_conf.yaml');
    assert.match(loc.origin, /pm2 set helpdesk-monitor:config/);
    assert.equal(moduleSetting({}, home, 'config'), '/from/module_conf.yaml');
  });

  test('an unparsable module env var falls back to module_conf.json', () => {
    assert.equal(locateConfig(undefined, { 'helpdesk-monitor': '{not json' }, home).path, '/from/module_conf.yaml');
  });

  test('an empty flag or env var does not count', () => {
    assert.equal(locateConfig('', { [CONFIG_ENV]: '' }, home).path, '/from/module_conf.yaml');
  });

  test('nothing given is a ConfigError that says how to give one', () => {
    let caught: unknown;
    try {
      locateConfig(undefined, {}, emptyHome());
    } catch (err) {
      caught = err;
    }
    assert.ok(caught instanceof ConfigError);
    assert.match(caught.message, /no config file given/);
    assert.match(caught.message, /--config FILE/);
    assert.match(caught.message, /HELPDESK_MONITOR_CONFIG=FILE/);
    assert.match(caught.message, /pm2 set helpdesk-monitor:config FILE/);
  });

  test('module_conf.json without our section is ignored', () => {
    const other = mkdtempSync(join(tmpdir(), 'hdm-pm2home-'));
    try {
      writeFileSync(join(other, 'module_conf.json'), JSON.stringify({ 'some-module': { config: '/nope' } }));
      assert.equal(moduleSetting({}, other, 'config'), undefined);
      assert.throws(() => locateConfig(undefined, {}, other), ConfigError);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});

describe('loadConfig: keys that name an object\'s prototype are refused', () => {
  test('a JSON app entry with "__proto__": {"kill_scope": "any"} is an error naming the file and key path (it used to widen the scope)', () => {
    const file = write('.json', JSON.stringify({ apps: [{ name: 'api' }] }).replace('{"name":"api"}', '{"name":"api","__proto__":{"kill_scope":"any"}}'));
    assert.match(JSON.stringify(JSON.parse(readText(file))), /"__proto__":\{"kill_scope":"any"\}/, 'the file really has the key');
    const err = loadError(file);
    assert.match(issueAt(err, 'apps[0].__proto__').message, /"__proto__" is not allowed as a key/);
  });

  test('in defaults too (the merge into every app is where the prototype would change)', () => {
    const err = loadError(write('.json', '{"defaults":{"__proto__":{"kill_scope":"any"}},"apps":[{"name":"api"}]}'));
    issueAt(err, 'defaults.__proto__');
  });

  test('constructor and prototype are refused in YAML, at any depth', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: api\n    health:\n      constructor: 1\n    prototype: {}\n'));
    issueAt(err, 'apps[0].health.constructor');
    issueAt(err, 'apps[0].prototype');
  });

  test('YAML __proto__ is refused', () => {
    issueAt(loadError(write('.yaml', 'apps:\n  - name: api\n    __proto__:\n      kill_scope: any\n')), 'apps[0].__proto__');
  });

  test('an ecosystem file: a nested object literal with __proto__ (a prototype, not a key) is refused at its ecosystem path', () => {
    const err = loadError(write('.cjs', "module.exports = { apps: [{ name: 'api', script: 'a.js', monitor: { health: { __proto__: { url: 'http://127.0.0.1:1/' } } } }] };"));
    assert.match(issueAt(err, 'apps[0].monitor.health.__proto__').message, /its own prototype/);
  });

  test('app names are values: an app named __proto__ or constructor is fine', () => {
    const cfg = loadConfig(write('.yaml', 'apps:\n  - name: __proto__\n  - name: constructor\n'));
    assert.deepEqual(cfg.apps.map((a) => a.name), ['__proto__', 'constructor']);
  });
});

function readText(file: string): string {
  return readFileSync(file, 'utf8');
}

describe('loadConfig: limits the timers and the probe can hold', () => {
  test('timeout: 700h is an error naming the key and the 24h limit (it used to wrap to 1 ms)', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: a\n    health: { timeout: 700h }\n'));
    const issue = issueAt(err, 'apps[0].health.timeout');
    assert.equal(issue.value, '"700h"');
    assert.match(issue.message, /probe timeout of at most 24h/);
    assert.match(err.message, /apps\[0\]\.health\.timeout: expected a probe timeout of at most 24h \(got "700h"\)/);
  });

  test('interval: 600h is an error, and so is check_interval; exactly 24h is accepted', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: a\n    health: { interval: 600h }\n  - name: b\n    check_interval: 86401\n'));
    assert.match(issueAt(err, 'apps[0].health.interval').message, /interval of at most 24h/);
    assert.equal(issueAt(err, 'apps[0].health.interval').value, '"600h"');
    assert.match(issueAt(err, 'apps[1].check_interval').message, /interval of at most 24h/);
    const ok = loadConfig(write('.yaml', 'apps:\n  - name: a\n    health: { interval: 24h, timeout: 86400 }\n'));
    assert.equal(ok.apps[0]!.health.intervalMs, 86_400_000);
    assert.equal(ok.apps[0]!.health.timeoutMs, 86_400_000);
  });

  test('health_check_timeout is a probe timeout too', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: a\n    health_check_command: "true"\n    health_check_timeout: 25h\n'));
    assert.match(issueAt(err, 'apps[0].health_check_timeout').message, /probe timeout of at most 24h/);
  });

  test('any duration of 2^31 ms or more is an error naming the key and the timer limit', () => {
    const keys = ['startup_grace: 600h', 'verify_timeout: 2147484s', 'circuit_reset_time: 2147483.648', 'failure_window: 9999999h', 'pre_restart_timeout: 597h'];
    const err = loadError(write('.yaml', `apps:\n  - name: a\n${keys.map((k) => `    ${k}\n`).join('')}    backoff: { max: 700h }\n    process: { command: x, stop_grace: 600h }\nnotify:\n  - url: http://127.0.0.1:9/\n    timeout: 600h\n`));
    const paths = [...keys.map((k) => `apps[0].${k.split(':')[0]!}`), 'apps[0].backoff.max', 'apps[0].process.stop_grace', 'notify[0].timeout'];
    assert.deepEqual(err.issues.map((i) => i.path).sort(), [...paths].sort());
    for (const path of paths) {
      assert.match(issueAt(err, path).message, /at most 596\.5h \(2147483647 ms, the longest a timer can wait\)/, path);
    }
    assert.equal(issueAt(err, 'apps[0].circuit_reset_time').value, '2147483.648');
    // One millisecond less fits.
    const ok = loadConfig(write('.yaml', 'apps:\n  - name: a\n    circuit_reset_time: 2147483647ms\n'));
    assert.equal(ok.apps[0]!.policy.circuitResetMs, 2_147_483_647);
  });

  test('a duration limit applies under defaults: too, reported once there', () => {
    const err = loadError(write('.yaml', 'defaults:\n  health: { timeout: 700h }\napps:\n  - name: a\n  - name: b\n'));
    assert.deepEqual(err.issues.map((i) => i.path), ['defaults.health.timeout']);
    assert.match(err.issues[0]!.message, /at most 24h/);
  });

  test('max_body: 200m is an error naming the key and the 16MiB limit; 16m is accepted', () => {
    const err = loadError(write('.yaml', 'apps:\n  - name: a\n    health: { max_body: 200m }\n'));
    const issue = issueAt(err, 'apps[0].health.max_body');
    assert.equal(issue.value, '"200m"');
    assert.match(issue.message, /at most 16MiB \(16777216 bytes\)/);
    assert.match(err.message, /apps\[0\]\.health\.max_body: expected at most 16MiB/);
    const bytes = loadError(write('.yaml', 'apps:\n  - name: a\n    health: { max_body: 16777217 }\n'));
    assert.equal(issueAt(bytes, 'apps[0].health.max_body').value, '16777217');
    assert.equal(loadConfig(write('.yaml', 'apps:\n  - name: a\n    health: { max_body: 16m }\n')).apps[0]!.health.maxBodyBytes, 16 * 1024 * 1024);
  });

  test('an ecosystem file reports the limits at its own key paths', () => {
    const file = write('.cjs', "module.exports = { apps: [{ name: 'a', script: 'a.js', monitor: { health: { timeout: '700h', max_body: '200m' } } }] };\n");
    const err = loadError(file);
    assert.match(issueAt(err, 'apps[0].monitor.health.timeout').message, /at most 24h/);
    assert.match(issueAt(err, 'apps[0].monitor.health.max_body').message, /at most 16MiB/);
  });
});
