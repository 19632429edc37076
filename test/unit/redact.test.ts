import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import {
  forgetSecrets,
  isSecretHeader,
  looksOpaque,
  redactConfigValue,
  redactDeep,
  redactHeaders,
  redactText,
  redactUrl,
  rememberConfigSecrets,
  scrub,
  secretsOf,
} from '../../src/redact.js';

afterEach(() => forgetSecrets());

describe('redactUrl, webhook targets (the default)', () => {
  const cases: [string, string][] = [
    ['https://hooks.slack.com/services/T000/B000/XXXX', 'https://hooks.slack.com/services/***'],
    ['https://discord.com/api/webhooks/123/abc', 'https://discord.com/api/***'],
    ['http://user:pw@127.0.0.1:9000/hook?token=x', 'http://***@127.0.0.1:9000/hook?token=***'],
    ['http://127.0.0.1:9000/hook', 'http://127.0.0.1:9000/hook'],
    ['http://127.0.0.1:9000/hook/', 'http://127.0.0.1:9000/hook/***'],
    ['https://example.com', 'https://example.com'],
    ['https://example.com/', 'https://example.com/'],
    ['https://example.com/?k=v&sig=abc', 'https://example.com/?k=***&sig=***'],
    ['https://example.com/?bare', 'https://example.com/?***'],
    ['https://example.com/a#frag', 'https://example.com/a#***'],
    ['https://example.com/a/b?c=d#e', 'https://example.com/a/***?c=***#***'],
    ['http://[::1]:8080/x/y', 'http://[::1]:8080/x/***'],
    ['hooks.slack.com/services/T0/B0/XXXX', 'hooks.slack.com/services/***'],
    ['XXXXXXXXXXXXXXXXXXXXXXXX', '***'],
    ['not a url', '***'],
    ['', '***'],
  ];
  for (const [input, expected] of cases) {
    test(`${input || '(empty)'} -> ${expected}`, () => assert.equal(redactUrl(input), expected));
  }

  test('never contains the secret parts', () => {
    const out = redactUrl('https://alice:s3cr3t@hooks.example.com/services/TOKEN123/ZZZ?sig=abcdef');
    for (const s of ['alice', 's3cr3t', 'TOKEN123', 'ZZZ', 'abcdef']) assert.ok(!out.includes(s), `${s} in ${out}`);
    assert.match(out, /\?sig=\*\*\*$/, 'query keys are kept');
  });
});

describe('redactUrl, generic (health URLs, URLs in text)', () => {
  const cases: [string, string][] = [
    ['http://127.0.0.1:5000/health', 'http://127.0.0.1:5000/health'],
    ['http://127.0.0.1:5000/api/v1/health?verbose', 'http://127.0.0.1:5000/api/v1/health?***'],
    ['http://admin:hunter22@127.0.0.1:5000/health?token=abc&x=1', 'http://***@127.0.0.1:5000/health?token=***&x=***'],
    ['http://tokenonly@host/health', 'http://***@host/health'],
    ['http://host/very-long-health-endpoint', 'http://host/very-long-health-endpoint'],
    ['http://host/h/0a1b2c3d4e5f/status', 'http://host/h/***/status'],
    ['https://hooks.slack.com/services/T0001/B0001/abcdefXYZ', 'https://hooks.slack.com/services/***'],
    ['https://discordapp.com/api/webhooks/123456789012345678/tok', 'https://discordapp.com/api/webhooks/***'],
    ['http://host/json/tok-json-5ecret-47760', 'http://host/json/***'],
  ];
  for (const [input, expected] of cases) {
    test(`${input} -> ${expected}`, () => assert.equal(redactUrl(input, 'generic'), expected));
  }
});

describe('looksOpaque', () => {
  for (const s of ['health', 'healthz', 'api', 'v1', 'services', 'very-long-health-endpoint', 'status_page.json']) {
    test(`${s} is a word`, () => assert.equal(looksOpaque(s), false));
  }
  for (const s of ['B00000000', 'XXXXXXXXXXXXXXXXXXXXXXXX', '123456789012345678', 'tok-json-5ecret-47760', 'a1b2c3d4']) {
    test(`${s} is a token`, () => assert.equal(looksOpaque(s), true));
  }
});

describe('redactText', () => {
  test('every URL in free text is redacted, sentence punctuation kept', () => {
    const out = redactText('wait for online and http://u:pw9@127.0.0.1:5000/health?token=tk-123 (12ms), then https://hooks.slack.com/services/T1/B1/XYZ.');
    assert.equal(out, 'wait for online and http://***@127.0.0.1:5000/health?token=*** (12ms), then https://hooks.slack.com/services/***.');
  });
  test('text without URLs or known secrets is unchanged', () => {
    const s = 'healthy -> failing: connection refused';
    assert.equal(redactText(s), s);
  });
  test('remembered config secrets are scrubbed even outside a URL', () => {
    rememberConfigSecrets({
      notify: [{ url: 'http://127.0.0.1:9/hook/tok-webhook-secret', headers: { Authorization: 'Bearer hdr-value-123', 'Content-Type': 'application/json' } }],
      apps: [{ health: { url: 'http://me:pass-word-9@127.0.0.1:5000/health?token=qv-secret-1' } }],
    });
    const out = redactText('echo tok-webhook-secret hdr-value-123 pass-word-9 qv-secret-1 application/json');
    assert.equal(out, 'echo *** *** *** *** application/json');
    assert.equal(redactText('POST http://127.0.0.1:9/hook/tok-webhook-secret failed'), 'POST http://127.0.0.1:9/hook/*** failed');
  });
  test('forgetSecrets forgets', () => {
    rememberConfigSecrets({ notify: [{ url: 'http://h/x/plainwordsecret42' }], apps: [] });
    assert.equal(redactText('plainwordsecret42'), '***');
    forgetSecrets();
    assert.equal(redactText('plainwordsecret42'), 'plainwordsecret42');
  });
});

describe('redactDeep', () => {
  test('walks objects and arrays, leaves other values', () => {
    const when = new Date(0);
    const out = redactDeep({ a: ['http://u:p@h/x?token=1', 2], b: { c: 'http://h/health?k=v' }, d: when, e: null });
    assert.deepEqual(out, { a: ['http://***@h/x?token=***', 2], b: { c: 'http://h/health?k=***' }, d: when, e: null });
  });
  test('a __proto__ key stays a plain key', () => {
    const input = JSON.parse('{"__proto__": {"x": "http://u:p@h/"}}') as Record<string, unknown>;
    const out = redactDeep(input);
    assert.equal(Object.getPrototypeOf(out), Object.prototype);
    assert.deepEqual(Object.keys(out), ['__proto__']);
  });
});

describe('redactConfigValue', () => {
  test('headers are hidden whole, notify URLs as webhooks, health URLs generically', () => {
    assert.equal(redactConfigValue(['notify', 0, 'headers', 'Authorization'], 42), '***');
    assert.equal(redactConfigValue(['notify', 0, 'headers'], 'Bearer x'), '***');
    assert.equal(redactConfigValue(['notify', 0, 'url'], 'hooks.slack.com/services/T/B/XYZ'), 'hooks.slack.com/services/***');
    assert.equal(redactConfigValue(['apps', 0, 'health', 'url'], 'ftp://u:p@h/health?token=z'), 'ftp://***@h/health?token=***');
    assert.deepEqual(redactConfigValue(['notify'], { url: 'http://h/a/tok', headers: { X: 'y' }, format: 'slak' }), { url: 'http://h/a/***', headers: '***', format: 'slak' });
  });
});

describe('config errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hdm-redact-'));
  test.after(() => rmSync(dir, { recursive: true, force: true }));
  const load = (doc: unknown): string => {
    const file = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify(doc));
    try {
      loadConfig(file);
    } catch (err) {
      assert.ok(err instanceof ConfigError, String(err));
      return err.message;
    }
    assert.fail('expected a ConfigError');
  };
  const TOKEN = 'T0SECRET/B0SECRET/slackTokenXyZ0123456789';

  test('a bad value next to a webhook URL: the error never shows the token', () => {
    const msg = load({ notify: [{ url: `https://hooks.slack.com/services/${TOKEN}`, timeout: 'soon' }], apps: [{ name: 'a' }] });
    assert.match(msg, /notify\[0\]\.timeout/);
    assert.ok(!msg.includes('slackTokenXyZ'), msg);
  });
  test('a malformed webhook URL is quoted redacted', () => {
    const msg = load({ notify: [{ url: `hooks.slack.com/services/${TOKEN}` }], apps: [{ name: 'a' }] });
    assert.match(msg, /notify\[0\]\.url: .*\(got "hooks\.slack\.com\/services\/\*\*\*"\)/);
    assert.ok(!msg.includes('SECRET'), msg);
  });
  test('a notify list given as a string, a header of the wrong type, a bad health URL', () => {
    const msg = load({
      notify: [{ url: 'http://127.0.0.1:1/hook/tok-abcdef-123456', headers: { Authorization: 12345678 } }],
      apps: [{ name: 'a', health: { url: 'htp://admin:pw-secret-1@127.0.0.1/health?token=qv-secret-2' } }],
    });
    for (const s of ['12345678', 'pw-secret-1', 'qv-secret-2']) assert.ok(!msg.includes(s), `${s} in ${msg}`);
    assert.match(msg, /notify\[0\]\.headers\.Authorization: .*\(got "\*\*\*"\)/);
    assert.match(msg, /apps\[0\]\.health\.url: .*\(got "htp:\/\/\*\*\*@127\.0\.0\.1\/health\?token=\*\*\*"\)/);
    const whole = load({ notify: `https://hooks.slack.com/services/${TOKEN}`, apps: [{ name: 'a' }] });
    assert.ok(!whole.includes('slackTokenXyZ'), whole);
  });
  test('a JSON syntax error does not quote the text (a cut token is no longer a URL)', () => {
    const file = join(dir, 'broken.json');
    // An unquoted header value: V8's message would quote `..."Token": qv-secret-"...`.
    writeFileSync(file, '{"notify": [{"url": "http://h/x", "headers": {"X-Token": qv-secret-4}}]}');
    assert.throws(() => loadConfig(file), (err: Error) => /not valid JSON: Unexpected token/.test(err.message) && !/secret/.test(err.message));
  });
  test('a loaded config remembers its secrets', () => {
    const file = join(dir, 'good.json');
    writeFileSync(file, JSON.stringify({ notify: [{ url: 'http://127.0.0.1:1/hook/remembered-tok-42' }], apps: [{ name: 'a' }] }));
    loadConfig(file);
    assert.equal(redactText('token remembered-tok-42 echoed'), 'token *** echoed');
  });
});

describe('redactHeaders', () => {
  test('secret-like header values become ***, others stay', () => {
    assert.deepEqual(
      redactHeaders({
        Authorization: 'Bearer abc',
        'X-Api-Key': 'k1',
        'X-Auth-Token': 't1',
        'x-webhook-secret': 's1',
        Cookie: 'c=1',
        'X-Hub-Signature': 'sha256=1',
        'X-Password': 'p',
        'Content-Type': 'application/json',
        'X-Team': 'ops',
      }),
      {
        Authorization: '***',
        'X-Api-Key': '***',
        'X-Auth-Token': '***',
        'x-webhook-secret': '***',
        Cookie: '***',
        'X-Hub-Signature': '***',
        'X-Password': '***',
        'Content-Type': 'application/json',
        'X-Team': 'ops',
      },
    );
  });
  test('undefined -> empty', () => assert.deepEqual(redactHeaders(undefined), {}));
  test('isSecretHeader is case-insensitive', () => {
    assert.equal(isSecretHeader('AUTHORIZATION'), true);
    assert.equal(isSecretHeader('accept'), false);
  });
});

describe('scrub', () => {
  test('removes URL secrets and header values from free text', () => {
    const url = 'http://u:pw12@127.0.0.1:1/hook/SECRET-PATH?token=QUERYTOKEN';
    const secrets = secretsOf(url, { Authorization: 'Bearer HEADERVALUE' });
    const text = `failed POST ${url}: SECRET-PATH QUERYTOKEN HEADERVALUE pw12`;
    const out = scrub(text, secrets);
    for (const s of ['SECRET-PATH', 'QUERYTOKEN', 'HEADERVALUE', 'pw12']) assert.ok(!out.includes(s), out);
    assert.match(out, /^failed POST \*\*\*:/);
  });
});

describe('remembered secrets do not scrub ordinary words', () => {
  test('plain path segments and plain query values stay readable in free text (still hidden inside the URL)', () => {
    rememberConfigSecrets({
      notify: [{ url: 'http://127.0.0.1:9/api/notify' }],
      apps: [{ health: { url: 'http://127.0.0.1:5000/health?check=database&token=tokenvalue' } }],
    });
    assert.equal(redactText('config reload: notifying 1 target; database is up'), 'config reload: notifying 1 target; database is up');
    assert.equal(redactText('echo tokenvalue'), 'echo ***', 'a value under a secret-named key is remembered');
    assert.equal(redactText('GET http://127.0.0.1:5000/health?check=database&token=tokenvalue'), 'GET http://127.0.0.1:5000/health?check=***&token=***');
  });
});

describe('values under secret names (environments, command lines)', () => {
  const cases: [string, string][] = [
    ['node squat.js --api-token=s3cr3tTokenValue --port 5000', 'node squat.js --api-token=*** --port 5000'],
    ['env API_TOKEN=s3cr3tTokenValue node app.js', 'env API_TOKEN=*** node app.js'],
    ['app --password hunter2-xyz --verbose', 'app --password *** --verbose'],
    ['mysql --password="two words" -h db', 'mysql --password=*** -h db'],
    ['Authorization: Bearer abc.def.ghi', 'Authorization: Bearer ***'],
    ['DB_PASSWORD: pa55', 'DB_PASSWORD: ***'],
    ['client_secret=xyz&scope=read', 'client_secret=***&scope=read'],
    ['held by pid 7 (node w.js --api-token=abc123), not the app', 'held by pid 7 (node w.js --api-token=***), not the app'],
    ['--secret-file /etc/app/secret --token-ttl 60', '--secret-file /etc/app/secret --token-ttl 60'],
    ['PWD=/srv/app HOME=/root', 'PWD=/srv/app HOME=/root'],
    ['healthy -> failing: connection refused', 'healthy -> failing: connection refused'],
  ];
  for (const [input, expected] of cases) test(`${input} -> ${expected}`, () => assert.equal(redactText(input), expected));
  test('inside a URL the query value stays hidden and the next key stays', () => {
    assert.equal(redactText('GET http://127.0.0.1:1/health?token=abc123&check=db'), 'GET http://127.0.0.1:1/health?token=***&check=***');
  });
  test('redactDeep reaches a command inside a record', () => {
    assert.deepEqual(redactDeep({ killed: [{ pid: 7, command: 'node s.js --token=t0k3nValue' }] }), { killed: [{ pid: 7, command: 'node s.js --token=***' }] });
  });
});
