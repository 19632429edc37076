/** `log.syslog:`: addresses, defaults, and errors that name the key path. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../../src/config/load.js';
import { parseSyslogAddress } from '../../../src/config/syslog.js';
import { ConfigError } from '../../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'hdm-syslog-cfg-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;

function load(syslog: string): ReturnType<typeof loadConfig> {
  const file = join(dir, `c${++seq}.yaml`);
  writeFileSync(file, `log:\n  format: json\n  syslog: ${syslog}\napps:\n  - name: a\n`);
  return loadConfig(file);
}

function issues(syslog: string): { path: string; message: string }[] {
  try {
    load(syslog);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => ({ path: i.path, message: i.message }));
  }
  assert.fail('expected a ConfigError');
}

describe('parseSyslogAddress', () => {
  const cases: [string, ReturnType<typeof parseSyslogAddress>][] = [
    ['udp://127.0.0.1:514', { kind: 'udp', host: '127.0.0.1', port: 514 }],
    ['udp://logs.example.com', { kind: 'udp', host: 'logs.example.com', port: 514 }],
    ['udp://[::1]:1514', { kind: 'udp', host: '::1', port: 1514 }],
    ['/dev/log', { kind: 'unix', path: '/dev/log' }],
    ['unix:///run/systemd/journal/syslog', { kind: 'unix', path: '/run/systemd/journal/syslog' }],
    ['udp://127.0.0.1:0', undefined],
    ['udp://127.0.0.1:70000', undefined],
    ['udp://[nothost]:514', undefined],
    ['tcp://127.0.0.1:514', undefined],
    ['127.0.0.1:514', undefined],
    ['dev/log', undefined],
    ['udp://user@host:514', undefined],
  ];
  for (const [address, expected] of cases) test(`${address} -> ${JSON.stringify(expected)}`, () => assert.deepEqual(parseSyslogAddress(address), expected));
});

describe('log.syslog in the config', () => {
  test('defaults: facility local0, app_name helpdesk-monitor; no block, no syslog key', () => {
    assert.deepEqual(load('{ address: "udp://127.0.0.1:5514" }').log.syslog, {
      address: 'udp://127.0.0.1:5514', target: { kind: 'udp', host: '127.0.0.1', port: 5514 }, facility: 'local0', appName: 'helpdesk-monitor',
    });
    const file = join(dir, 'none.yaml');
    writeFileSync(file, 'apps:\n  - name: a\n');
    assert.equal('syslog' in loadConfig(file).log, false);
  });
  test('facility and app_name are taken', () => {
    const s = load('{ address: /dev/log, facility: daemon, app_name: hdm-prod }').log.syslog;
    assert.deepEqual(s, { address: '/dev/log', target: { kind: 'unix', path: '/dev/log' }, facility: 'daemon', appName: 'hdm-prod' });
  });
  test('errors name the key path and what is expected', () => {
    const bad = issues('{ address: "tcp://127.0.0.1:514", facility: local9, app_name: "two words" }');
    assert.deepEqual(bad.map((i) => i.path).sort(), ['log.syslog.address', 'log.syslog.app_name', 'log.syslog.facility']);
    assert.match(bad.find((i) => i.path === 'log.syslog.address')!.message, /udp:\/\/HOST:PORT.*\/dev\/log/);
    assert.match(bad.find((i) => i.path === 'log.syslog.facility')!.message, /local0/);
  });
  test('an unknown key under log.syslog is named, with a suggestion', () => {
    const bad = issues('{ address: /dev/log, facilty: local1 }');
    assert.equal(bad.length, 1);
    assert.equal(bad[0]!.path, 'log.syslog.facilty');
    assert.match(bad[0]!.message, /facility/);
  });
  test('the address is required', () => {
    assert.deepEqual(issues('{ facility: local1 }').map((i) => i.path), ['log.syslog.address']);
  });
});
