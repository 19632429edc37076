// The `format: email` notify entry: what a valid one becomes, and every bad setting as a config
// error naming its key path (exit 2 at the doors). Real files, the real loader.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../../src/config/load.js';
import type { EmailNotifyConfig } from '../../../src/config/schema.js';
import { ConfigError } from '../../../src/errors.js';

let dir: string;
let seq = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdm-email-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A config whose notify list is `entries`; no HELPDESK_MONITOR_* variable applies (empty env). */
function write(entries: unknown[]): string {
  const file = join(dir, `cfg-${++seq}.json`);
  writeFileSync(file, JSON.stringify({ notify: entries, apps: [{ name: 'api' }] }));
  return file;
}

const load = (entries: unknown[], env: NodeJS.ProcessEnv = {}) => loadConfig(write(entries), env);

function errorOf(entries: unknown[]): ConfigError {
  try {
    load(entries);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('expected a ConfigError');
}

function issueAt(err: ConfigError, path: string): { message: string; value?: string } {
  const found = err.issues.filter((i) => i.path === path);
  assert.equal(found.length, 1, `one issue at ${path}: ${JSON.stringify(err.issues)}`);
  assert.ok(err.message.includes(path), `the message names ${path}: ${err.message}`);
  return found[0]!;
}

const BASE = { format: 'email', host: 'smtp.example.com', from: 'monitor@example.com', to: 'ops@example.com' };

function secretFile(mode: number): string {
  const file = join(dir, `pw-${++seq}`);
  writeFileSync(file, 'smtp-Pa55word\n');
  chmodSync(file, mode);
  return file;
}

describe('email notify entries: valid', () => {
  test('the least: STARTTLS on 587, one recipient as a list, every event, 30 s, no AUTH', () => {
    const [n] = load([BASE]).notify;
    assert.deepEqual(n, {
      format: 'email',
      smtp: { host: 'smtp.example.com', port: 587, security: 'starttls' },
      from: 'monitor@example.com',
      to: ['ops@example.com'],
      events: [],
      timeoutMs: 30_000,
    });
  });

  test('tls defaults to port 465, none to 25; a user reads its password from HELPDESK_MONITOR_SMTP_PASSWORD by default', () => {
    const cfg = load([
      { ...BASE, security: 'tls', user: 'monitor' },
      { ...BASE, host: '127.0.0.1', security: 'none' },
    ]);
    const [a, b] = cfg.notify as EmailNotifyConfig[];
    assert.deepEqual(a!.smtp, { host: 'smtp.example.com', port: 465, security: 'tls', user: 'monitor', password: { kind: 'env', name: 'HELPDESK_MONITOR_SMTP_PASSWORD' } });
    assert.deepEqual(b!.smtp, { host: '127.0.0.1', port: 25, security: 'none' });
  });

  test('every key: port, user with a chmod 600 password file, a CA, several recipients, events, timeout', () => {
    const pw = secretFile(0o600);
    const [n] = load([{ ...BASE, port: 2525, user: 'u', password_file: pw, ca_file: '/etc/ssl/relay-ca.pem', to: ['a@example.com', 'b.c+ops@mail.example.org'], events: ['remedy_failed', 'circuit_opened'], timeout: '10s' }]).notify as EmailNotifyConfig[];
    assert.deepEqual(n!.smtp, { host: 'smtp.example.com', port: 2525, security: 'starttls', user: 'u', password: { kind: 'file', path: pw }, caFile: '/etc/ssl/relay-ca.pem' });
    assert.deepEqual(n!.to, ['a@example.com', 'b.c+ops@mail.example.org']);
    assert.deepEqual(n!.events, ['remedy_failed', 'circuit_opened']);
    assert.equal(n!.timeoutMs, 10_000);
  });

  test('webhooks and email side by side; a webhook keeps its own shape', () => {
    const cfg = load([{ url: 'https://hooks.example.com/x', format: 'slack' }, BASE]);
    assert.equal(cfg.notify[0]!.format, 'slack');
    assert.equal((cfg.notify[0] as { url: string }).url, 'https://hooks.example.com/x');
    assert.equal(cfg.notify[1]!.format, 'email');
  });
});

describe('email notify entries: bad settings name the key path', () => {
  test('missing host', () => {
    const { host: _h, ...rest } = BASE;
    assert.match(issueAt(errorOf([rest]), 'notify[0].host').message, /SMTP relay's host/);
  });

  test('bad port: 0, 70000, "smtp"', () => {
    for (const port of [0, 70000, 'smtp']) assert.match(issueAt(errorOf([{ ...BASE, port }]), 'notify[0].port').message, /port: an integer 1-65535/);
  });

  test('`to` that is not an address, alone or in a list (the bad entry by index); an empty list', () => {
    assert.match(issueAt(errorOf([{ ...BASE, to: 'ops team' }]), 'notify[0].to').message, /email address/);
    assert.match(issueAt(errorOf([{ ...BASE, to: ['ops@example.com', 'x@y@z'] }]), 'notify[0].to[1]').message, /email address/);
    assert.match(issueAt(errorOf([{ ...BASE, to: [] }]), 'notify[0].to').message, /at least one address/);
    // A header injection attempt is no address either.
    assert.match(issueAt(errorOf([{ ...BASE, to: 'ops@example.com\r\nBcc: all@example.com' }]), 'notify[0].to').message, /email address/);
  });

  test('`from` missing or not an address', () => {
    const { from: _f, ...rest } = BASE;
    assert.match(issueAt(errorOf([rest]), 'notify[0].from').message, /email address/);
    assert.match(issueAt(errorOf([{ ...BASE, from: 'monitor' }]), 'notify[0].from').message, /email address/);
  });

  test('password file missing, or readable by others', () => {
    assert.match(issueAt(errorOf([{ ...BASE, user: 'u', password_file: join(dir, 'no-such-file') }]), 'notify[0].password_file').message, /ENOENT/);
    assert.match(issueAt(errorOf([{ ...BASE, user: 'u', password_file: secretFile(0o644) }]), 'notify[0].password_file').message, /chmod 600/);
  });

  test('a password in the file is refused and never echoed', () => {
    const err = errorOf([{ ...BASE, user: 'u', password: 'hunter2-in-the-file' }]);
    assert.match(issueAt(err, 'notify[0].password').message, /not accepted/);
    assert.ok(!err.message.includes('hunter2-in-the-file'), err.message);
  });

  test('password_env that is no variable name is not echoed (it may be the password itself)', () => {
    const err = errorOf([{ ...BASE, user: 'u', password_env: 's3cr3t pass!' }]);
    issueAt(err, 'notify[0].password_env');
    assert.ok(!err.message.includes('s3cr3t pass!'), err.message);
  });

  test('a password without a user; both password_env and password_file', () => {
    assert.match(issueAt(errorOf([{ ...BASE, password_env: 'X' }]), 'notify[0].user').message, /needs the user/);
    assert.match(issueAt(errorOf([{ ...BASE, user: 'u', password_env: 'X', password_file: secretFile(0o600) }]), 'notify[0].password_file').message, /not both/);
  });

  test('security none with a login to a remote relay is refused; none on loopback is fine; a bad security value', () => {
    assert.match(issueAt(errorOf([{ ...BASE, security: 'none', user: 'u' }]), 'notify[0].security').message, /clear text/);
    assert.doesNotThrow(() => load([{ ...BASE, host: '127.0.0.1', security: 'none', user: 'u' }]));
    assert.match(issueAt(errorOf([{ ...BASE, security: 'ssl' }]), 'notify[0].security').message, /starttls .* tls .* none/);
  });

  test('unknown keys and timeouts out of range; a webhook key in an email entry', () => {
    assert.match(issueAt(errorOf([{ ...BASE, tiemout: '5s' }]), 'notify[0].tiemout').message, /did you mean "timeout"/);
    assert.match(issueAt(errorOf([{ ...BASE, timeout: '10m' }]), 'notify[0].timeout').message, /from 1 s to 5 min|from 1s to 5m|SMTP timeout/);
    issueAt(errorOf([{ ...BASE, url: 'https://x.example.com/' }]), 'notify[0].url');
  });

  test('a webhook entry still reports webhook errors, not email ones', () => {
    const err = errorOf([{ url: 'ftp://x', format: 'json' }]);
    assert.match(issueAt(err, 'notify[0].url').message, /http:\/\/ or https:\/\//);
    assert.equal(err.issues.length, 1, JSON.stringify(err.issues));
  });
});
