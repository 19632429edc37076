/**
 * The per-app `update:` block and the top-level `update_webhook:` block as a user meets them: a
 * YAML file loaded by loadConfig, every mistake a ConfigError naming the file, the key path, the
 * bad value and what was expected. Remote and branch names reach git as arguments, so anything
 * that git could read as an option (or refuse later, inside a fetch) is refused here; the webhook
 * secret never lives in the config, and a value that may be the secret is never echoed back.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../../src/config/load.js';
import type { MonitorConfig } from '../../../src/config/schema.js';
import type { UpdateConfig } from '../../../src/config/update.js';
import { ConfigError, type ConfigIssue } from '../../../src/errors.js';

let dir: string;
let seq = 0;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdm-update-config-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A YAML config file with exactly this text; returns its absolute path. */
function file(text: string): string {
  const path = join(dir, `cfg-${++seq}.yaml`);
  writeFileSync(path, text);
  return path;
}

/** One app `api` whose update: block holds `lines` (YAML, written at the block's indentation). */
function withUpdate(lines: readonly string[], appLines: readonly string[] = []): string {
  const app = appLines.map((l) => `    ${l}\n`).join('');
  const update = lines.length === 0 ? '    update: {}\n' : `    update:\n${lines.map((l) => `      ${l}\n`).join('')}`;
  return file(`apps:\n  - name: api\n${app}${update}`);
}

/** One app `api`, with the update_webhook: block holding `lines`. */
function withWebhook(lines: readonly string[]): string {
  const block = lines.length === 0 ? 'update_webhook: {}\n' : `update_webhook:\n${lines.map((l) => `  ${l}\n`).join('')}`;
  return file(`${block}apps:\n  - name: api\n`);
}

function updateOf(path: string): UpdateConfig {
  const cfg = loadConfig(path);
  const u = cfg.apps[0]?.update;
  assert.ok(u, 'the app has an update block in the loaded config');
  return u;
}

/** Load a file that must fail: the ConfigError, whose message names the file. */
function loadError(path: string): ConfigError {
  let caught: unknown;
  let loaded: MonitorConfig | undefined;
  try {
    loaded = loadConfig(path);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${caught === undefined ? `a config: ${JSON.stringify(loaded?.apps[0]?.update ?? loaded?.updateWebhook)}` : String(caught)}`);
  assert.equal(caught.file, path);
  assert.ok(caught.message.includes(path), `the message names the file: ${caught.message}`);
  return caught;
}

/** The one issue of the file, at `path`; the printed message carries the path, the text and the value. */
function onlyIssue(err: ConfigError, path: string): ConfigIssue {
  assert.equal(err.issues.length, 1, `one issue; issues: ${JSON.stringify(err.issues)}`);
  const issue = err.issues[0]!;
  assert.equal(issue.path, path, `the issue's key path; issues: ${JSON.stringify(err.issues)}`);
  assert.ok(err.message.includes(`${path}: ${issue.message}`), `the printed message names ${path}: ${err.message}`);
  if (issue.value !== undefined) assert.ok(err.message.includes(`(got ${issue.value})`), `the printed message shows the value: ${err.message}`);
  return issue;
}

describe('update: block: defaults and the names it accepts', () => {
  test('update: {} takes every default; the verify timeout comes from the app (10s + 3 x 5s)', () => {
    assert.deepEqual(updateOf(withUpdate([])), {
      remote: 'origin',
      branch: 'main',
      intervalMs: 300_000,
      fetchTimeoutMs: 60_000,
      commands: [],
      reload: 'reload',
      verifyTimeoutMs: 25_000,
      allowUntracked: false,
    });
  });

  test('an app without an update: block has none', () => {
    assert.equal(loadConfig(file('apps:\n  - name: api\n')).apps[0]?.update, undefined);
  });

  test('everything given is carried over to the typed config', () => {
    const u = updateOf(withUpdate([
      'repo: /srv/helpdesk', 'remote: upstream', 'branch: release/2.x', 'interval: 10m', 'fetch_timeout: 20s',
      'commands: [npm ci]', 'command_timeout: 90s', 'reload: restart', 'verify_timeout: 2m', 'allow_untracked: true',
    ]));
    assert.deepEqual(u, {
      repo: '/srv/helpdesk',
      remote: 'upstream',
      branch: 'release/2.x',
      intervalMs: 600_000,
      fetchTimeoutMs: 20_000,
      commands: [{ command: 'npm ci', timeoutMs: 90_000 }],
      reload: 'restart',
      verifyTimeoutMs: 120_000,
      allowUntracked: true,
    });
  });

  test('GIT_BRANCH: dev (the seed\'s name) is accepted as branch dev', () => {
    assert.equal(updateOf(withUpdate(['GIT_BRANCH: dev'])).branch, 'dev');
  });

  test('post_update: [...] (pm2 pull\'s name) is accepted as the commands', () => {
    const u = updateOf(withUpdate(['post_update: [npm ci, "npm run build"]']));
    assert.deepEqual(u.commands, [
      { command: 'npm ci', timeoutMs: 600_000 },
      { command: 'npm run build', timeoutMs: 600_000 },
    ]);
  });

  test('commands as strings and as {run, timeout}: command_timeout applies where no timeout is given', () => {
    const byDefault = updateOf(withUpdate(['commands:', '  - npm ci', '  - { run: npm run build, timeout: 20m }', '  - { run: npm test }']));
    assert.deepEqual(byDefault.commands, [
      { command: 'npm ci', timeoutMs: 600_000 },
      { command: 'npm run build', timeoutMs: 1_200_000 },
      { command: 'npm test', timeoutMs: 600_000 },
    ], 'the default command_timeout is 10 minutes');
    const given = updateOf(withUpdate(['command_timeout: 2m', 'commands:', '  - npm ci', '  - { run: npm run build, timeout: 30s }', '  - { run: npm test }']));
    assert.deepEqual(given.commands, [
      { command: 'npm ci', timeoutMs: 120_000 },
      { command: 'npm run build', timeoutMs: 30_000 },
      { command: 'npm test', timeoutMs: 120_000 },
    ]);
  });

  test('verify_timeout by default: startup_grace + failure_threshold x the health interval', () => {
    const stated = updateOf(withUpdate([], ['startup_grace: 10s', 'health:', '  failure_threshold: 3', '  interval: 5s']));
    assert.equal(stated.verifyTimeoutMs, 25_000, '10s + 3 x 5s');
    const other = updateOf(withUpdate([], ['startup_grace: 20s', 'health:', '  failure_threshold: 4', '  interval: 10s']));
    assert.equal(other.verifyTimeoutMs, 60_000, '20s + 4 x 10s');
    const oldName = updateOf(withUpdate([], ['startup_grace: 0', 'check_interval: 7s', 'health:', '  failure_threshold: 2']));
    assert.equal(oldName.verifyTimeoutMs, 14_000, 'check_interval counts as the health interval: 0 + 2 x 7s');
    const given = updateOf(withUpdate(['verify_timeout: 45s'], ['startup_grace: 10s']));
    assert.equal(given.verifyTimeoutMs, 45_000, 'a given verify_timeout wins');
  });

  test('interval: 5s, the shortest allowed, is accepted', () => {
    assert.equal(updateOf(withUpdate(['interval: 5s'])).intervalMs, 5000);
  });

  test('branch names git takes are accepted: release/2.x, feature/login-fix, v1.2_hot', () => {
    for (const b of ['release/2.x', 'feature/login-fix', 'v1.2_hot']) assert.equal(updateOf(withUpdate([`branch: "${b}"`])).branch, b);
  });
});

describe('update: block: what is refused', () => {
  test('a relative repo: apps[0].update.repo, "absolute path", the value quoted', () => {
    const issue = onlyIssue(loadError(withUpdate(['repo: srv/helpdesk'])), 'apps[0].update.repo');
    assert.match(issue.message, /absolute path/);
    assert.equal(issue.value, '"srv/helpdesk"');
  });

  test('a repo under ~ is refused as relative (the ~ is not expanded)', () => {
    const issue = onlyIssue(loadError(withUpdate(['repo: ~/helpdesk'])), 'apps[0].update.repo');
    assert.match(issue.message, /absolute path.*~ is not expanded/);
  });

  test('reload: graceful: expected reload or restart', () => {
    const issue = onlyIssue(loadError(withUpdate(['reload: graceful'])), 'apps[0].update.reload');
    assert.match(issue.message, /expected reload or restart/);
    assert.equal(issue.value, '"graceful"');
  });

  test('an unknown key branchh: did you mean "branch"?', () => {
    const issue = onlyIssue(loadError(withUpdate(['branchh: main'])), 'apps[0].update.branchh');
    assert.match(issue.message, /unknown key; did you mean "branch"\?/);
  });

  test('interval: 2s is below the 5s floor', () => {
    const issue = onlyIssue(loadError(withUpdate(['interval: 2s'])), 'apps[0].update.interval');
    assert.match(issue.message, /expected an update interval from 5s to/);
    assert.equal(issue.value, '"2s"');
  });

  test('interval: soon is no duration', () => {
    const issue = onlyIssue(loadError(withUpdate(['interval: soon'])), 'apps[0].update.interval');
    assert.match(issue.message, /expected a duration/);
  });

  const badBranches: readonly (readonly [string, RegExp])[] = [
    ['-x', /not starting with -/],
    ['--upload-pack=x', /not starting with -/],
    ['a..b', /without "\.\."/],
    ['a/.hidden', /do not start with "\."/],
    ['a//b', /not empty/],
    ['a/', /not empty/],
    ['x.lock', /\.lock/],
    ['x.lock/y', /\.lock/],
    ['a.', /does not end in "\."/],
    ['a b', /letters, digits/],
    ['a@{1}', /letters, digits/],
    ['HEAD', /HEAD names the checked-out commit/],
    ['', /expected a branch name/],
  ];
  for (const [branch, why] of badBranches) {
    test(`branch: ${JSON.stringify(branch)} is refused, with one message saying why`, () => {
      const issue = onlyIssue(loadError(withUpdate([`branch: ${JSON.stringify(branch)}`])), 'apps[0].update.branch');
      assert.match(issue.message, why);
      assert.equal(issue.value, JSON.stringify(branch));
    });
  }

  test('GIT_BRANCH is checked like branch: GIT_BRANCH: "-x" is refused at its own key', () => {
    const issue = onlyIssue(loadError(withUpdate(['GIT_BRANCH: "-x"'])), 'apps[0].update.GIT_BRANCH');
    assert.match(issue.message, /not starting with -/);
  });

  for (const remote of ['--upload-pack=x', '-x', '.hidden', 'https://example.com/repo.git', 'a b']) {
    test(`remote: ${JSON.stringify(remote)} is refused (a remote name only, never an option or a URL)`, () => {
      const issue = onlyIssue(loadError(withUpdate([`remote: ${JSON.stringify(remote)}`])), 'apps[0].update.remote');
      assert.match(issue.message, /expected a git remote name/);
      assert.equal(issue.value, JSON.stringify(remote));
    });
  }

  test('both branch and GIT_BRANCH: one of them, please', () => {
    const issue = onlyIssue(loadError(withUpdate(['branch: main', 'GIT_BRANCH: dev'])), 'apps[0].update.GIT_BRANCH');
    assert.match(issue.message, /GIT_BRANCH is the old name of branch: give one of them/);
  });

  test('both commands and post_update: one of them, please', () => {
    const issue = onlyIssue(loadError(withUpdate(['commands: [npm ci]', 'post_update: [npm ci]'])), 'apps[0].update.post_update');
    assert.match(issue.message, /post_update is another name of commands: give one of them/);
  });

  test('commands that are no list, an empty command, an unknown key in a command, a too short timeout', () => {
    assert.match(onlyIssue(loadError(withUpdate(['commands: npm ci'])), 'apps[0].update.commands').message, /expected a list of shell commands/);
    assert.match(onlyIssue(loadError(withUpdate(['commands: [""]'])), 'apps[0].update.commands[0]').message, /expected a shell command/);
    assert.match(onlyIssue(loadError(withUpdate(['commands: [{ run: npm ci, timeut: 5m }]'])), 'apps[0].update.commands[0].timeut').message, /did you mean "timeout"/);
    const short = onlyIssue(loadError(withUpdate(['command_timeout: 100ms'])), 'apps[0].update.command_timeout');
    assert.match(short.message, /expected a command timeout from 1s to/);
  });

  test('update: with nothing after it (null) or update: true: a mapping is expected, update: {} named', () => {
    for (const text of ['apps:\n  - name: api\n    update:\n', 'apps:\n  - name: api\n    update: true\n']) {
      const issue = onlyIssue(loadError(file(text)), 'apps[0].update');
      assert.match(issue.message, /expected an update: block \(a mapping; update: \{\} takes every default\)/);
    }
  });

  test('allow_untracked: "yes": expected true or false', () => {
    assert.match(onlyIssue(loadError(withUpdate(['allow_untracked: "yes"'])), 'apps[0].update.allow_untracked').message, /expected true or false/);
  });

  test('a bad value under defaults.update is reported there, not once per app', () => {
    const err = loadError(file('defaults:\n  update:\n    branch: "-x"\napps:\n  - name: api\n  - name: worker\n'));
    assert.match(onlyIssue(err, 'defaults.update.branch').message, /not starting with -/);
  });
});

describe('update_webhook: block', () => {
  test('update_webhook: {} takes the defaults: 127.0.0.1:47480, the secret from HELPDESK_MONITOR_WEBHOOK_SECRET, 1 MiB bodies', () => {
    assert.deepEqual(loadConfig(withWebhook([])).updateWebhook, {
      host: '127.0.0.1',
      port: 47480,
      secret: { kind: 'env', name: 'HELPDESK_MONITOR_WEBHOOK_SECRET' },
      maxBodyBytes: 1024 * 1024,
    });
  });

  test('no update_webhook: block: no webhook', () => {
    assert.equal(loadConfig(file('apps:\n  - name: api\n')).updateWebhook, undefined);
  });

  test('secret_env and secret_file are carried over', () => {
    assert.deepEqual(loadConfig(withWebhook(['secret_env: MY_HOOK_SECRET', 'port: 8099', 'max_body: 64k'])).updateWebhook, {
      host: '127.0.0.1', port: 8099, secret: { kind: 'env', name: 'MY_HOOK_SECRET' }, maxBodyBytes: 64 * 1024,
    });
    assert.deepEqual(loadConfig(withWebhook(['secret_file: /etc/helpdesk/hook.secret'])).updateWebhook?.secret, { kind: 'file', path: '/etc/helpdesk/hook.secret' });
  });

  const SECRET = 'Hook-secret-value-4711-do-not-echo';
  test('secret: VALUE in the config is refused, names where the secret goes, and never echoes the value', () => {
    const err = loadError(withWebhook([`secret: "${SECRET}"`]));
    const issue = onlyIssue(err, 'update_webhook.secret');
    assert.match(issue.message, /not accepted/);
    assert.match(issue.message, /secret_env \(default HELPDESK_MONITOR_WEBHOOK_SECRET\)/);
    assert.match(issue.message, /secret_file/);
    assert.equal(issue.value, '"***"');
    assert.ok(!err.message.includes(SECRET) && !err.message.includes('4711'), `the secret is not echoed: ${err.message}`);
  });

  test('a secret of another shape (a number, a mapping) is refused without echoing it too', () => {
    for (const line of ['secret: 98765432109876543210', 'secret: { value: Hook-secret-in-a-map-4711 }']) {
      const err = loadError(withWebhook([line]));
      onlyIssue(err, 'update_webhook.secret');
      assert.ok(!err.message.includes('98765432109876543210') && !err.message.includes('4711'), `not echoed: ${err.message}`);
    }
  });

  test('the secret itself put in secret_env or secret_file is refused without echoing it', () => {
    const env = loadError(withWebhook([`secret_env: "${SECRET}"`]));
    assert.match(onlyIssue(env, 'update_webhook.secret_env').message, /name of an environment variable/);
    assert.ok(!env.message.includes(SECRET), `not echoed: ${env.message}`);
    const path = loadError(withWebhook([`secret_file: "${SECRET}"`]));
    assert.match(onlyIssue(path, 'update_webhook.secret_file').message, /absolute path/);
    assert.ok(!path.message.includes(SECRET), `not echoed: ${path.message}`);
  });

  test('secret_env and secret_file together: one of them, please', () => {
    const issue = onlyIssue(loadError(withWebhook(['secret_env: MY_HOOK_SECRET', 'secret_file: /etc/helpdesk/hook.secret'])), 'update_webhook.secret_file');
    assert.match(issue.message, /give secret_env or secret_file, not both/);
  });

  test('a bad port, an empty host, a body cap out of range, an unknown key', () => {
    assert.match(onlyIssue(loadError(withWebhook(['port: 99999'])), 'update_webhook.port').message, /expected a port: an integer 0-65535/);
    assert.match(onlyIssue(loadError(withWebhook(['host: ""'])), 'update_webhook.host').message, /expected the address to listen on/);
    assert.match(onlyIssue(loadError(withWebhook(['max_body: 100'])), 'update_webhook.max_body').message, /expected a size from 1KB to 16MB/);
    assert.match(onlyIssue(loadError(withWebhook(['max_body: 32MB'])), 'update_webhook.max_body').message, /expected a size from 1KB to 16MB/);
    assert.match(onlyIssue(loadError(withWebhook(['secrett_env: X'])), 'update_webhook.secrett_env').message, /did you mean "secret_env"/);
  });
});

describe('notify: the update events', () => {
  test('events: [update_applied, update_rolled_back, update_refused, update_failed] is accepted', () => {
    const cfg = loadConfig(file('notify:\n  - url: http://127.0.0.1:9/hook\n    events: [update_applied, update_rolled_back, update_refused, update_failed]\napps:\n  - name: api\n'));
    assert.deepEqual(cfg.notify[0]?.events, ['update_applied', 'update_rolled_back', 'update_refused', 'update_failed']);
  });

  test('an event that does not exist (update_done) is refused at its index', () => {
    const err = loadError(file('notify:\n  - url: http://127.0.0.1:9/hook\n    events: [update_applied, update_done]\napps:\n  - name: api\n'));
    const issue = onlyIssue(err, 'notify[0].events[1]');
    assert.match(issue.message, /update_applied/);
    assert.equal(issue.value, '"update_done"');
  });
});
