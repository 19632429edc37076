/**
 * The top-level `http:` block as a user meets it: off unless written, `http: true` or `{}` takes
 * every default (127.0.0.1:9617), a non-loopback address needs a token source, and a token
 * itself never lives in the config (nor is it echoed back).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isLoopback } from '../../../src/config/http.js';
import { loadConfig } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/errors.js';

let dir: string;
let seq = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdm-http-config-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function load(httpYaml: string) {
  const path = join(dir, `cfg-${++seq}.yaml`);
  writeFileSync(path, `${httpYaml}\napps:\n  - name: api\n`);
  return loadConfig(path);
}

function refused(httpYaml: string): ConfigError {
  try {
    load(httpYaml);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('expected a ConfigError');
}

test('no http: block, or http: false, means no server', () => {
  assert.equal(load('').http, undefined);
  assert.equal(load('http: false').http, undefined);
});

test('http: true and http: {} take every default', () => {
  const want = { host: '127.0.0.1', port: 9617, refreshMs: 10_000, maxConnections: 64 };
  assert.deepEqual(load('http: true').http, want);
  assert.deepEqual(load('http: {}').http, want);
});

test('a token source, a port, a refresh', () => {
  assert.deepEqual(load('http:\n  port: 9700\n  token_env: HDM_TOKEN\n  refresh: 30s').http, { host: '127.0.0.1', port: 9700, token: { kind: 'env', name: 'HDM_TOKEN' }, refreshMs: 30_000, maxConnections: 64 });
  assert.deepEqual(load('http:\n  host: 0.0.0.0\n  token_file: /etc/hdm/token').http?.token, { kind: 'file', path: '/etc/hdm/token' });
});

test('0.0.0.0 without a token is refused at http.host, saying how to allow it', () => {
  const err = refused('http:\n  host: 0.0.0.0');
  assert.match(err.message, /http\.host/);
  assert.match(err.message, /token_env or token_file/);
});

test('a token in the config is refused and never echoed; both sources at once are refused', () => {
  const err = refused('http:\n  token: hunter2-hunter2-hunter2');
  assert.match(err.message, /http\.token/);
  assert.doesNotMatch(err.message, /hunter2/);
  assert.doesNotMatch(refused('http:\n  token_env: "not a name hunter2"').message, /hunter2/);
  assert.match(refused('http:\n  token_env: A\n  token_file: /x').message, /not both/);
});

test('bad port and refresh name the key and what was expected', () => {
  assert.match(refused('http:\n  port: 70000').message, /http\.port.*port/s);
  assert.match(refused('http:\n  refresh: 0s').message, /http\.refresh/);
  assert.match(refused('http:\n  prot: 9617').message, /port/); // did you mean
});

test('isLoopback', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.ok(isLoopback(h), h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.org', '128.0.0.1']) assert.ok(!isLoopback(h), h);
});
