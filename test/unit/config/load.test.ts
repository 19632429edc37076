import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
    assert.deepEqual(cfg.log, { level: 'info', format: 'text', maxSizeBytes: 10 * 1024 * 1024, maxFiles: 5 });
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
      startupGraceMs: 10_000,
      ports: [5000],
      killScope: 'app',
      killGraceMs: 2000,
      verifyTimeoutMs: 30_000,
    });
  });

  test('an app with only a name has no url and no ports', () => {
    const cfg = loadConfig(write('.yml', 'apps:\n  - name: bare\n'));
    const app = cfg.apps[0]!;
    assert.equal(app.name, 'bare');
    assert.equal('url' in app.health, false);
    assert.deepEqual(app.ports, []);
    assert.equal(app.health.failureThreshold, 3);
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
    assert.deepEqual(cfg.log, { level: 'debug', format: 'json', file: '/tmp/x.log', maxSizeBytes: 1024 * 1024, maxFiles: 3 });
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

  test('bad JSON syntax', () => {
    const err = loadError(write('.json', '{"apps": ['));
    assert.match(err.message, /not valid JSON/);
  });

  test('a missing file', () => {
    const file = join(dir, 'does-not-exist.yaml');
    const err = loadError(file);
    assert.match(err.message, /cannot read the file: ENOENT/);
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
