import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSecretHeader, redactHeaders, redactUrl, scrub, secretsOf } from '../../../src/notify/redact.js';

describe('redactUrl', () => {
  const cases: [string, string][] = [
    ['https://hooks.slack.com/services/T000/B000/XXXX', 'https://hooks.slack.com/services/***'],
    ['https://discord.com/api/webhooks/123/abc', 'https://discord.com/api/***'],
    ['http://user:pw@127.0.0.1:9000/hook?token=x', 'http://127.0.0.1:9000/hook?***'],
    ['http://127.0.0.1:9000/hook', 'http://127.0.0.1:9000/hook'],
    ['http://127.0.0.1:9000/hook/', 'http://127.0.0.1:9000/hook/***'],
    ['https://example.com', 'https://example.com/'],
    ['https://example.com/', 'https://example.com/'],
    ['https://example.com/?k=v', 'https://example.com/?***'],
    ['https://example.com/a#frag', 'https://example.com/a#***'],
    ['https://example.com/a/b?c=d#e', 'https://example.com/a/***?***'],
    ['http://[::1]:8080/x/y', 'http://[::1]:8080/x/***'],
    ['not a url', '***'],
    ['', '***'],
  ];
  for (const [input, expected] of cases) {
    test(`${input || '(empty)'} -> ${expected}`, () => assert.equal(redactUrl(input), expected));
  }

  test('never contains the secret parts', () => {
    const out = redactUrl('https://alice:s3cr3t@hooks.example.com/services/TOKEN123/ZZZ?sig=abcdef');
    for (const s of ['alice', 's3cr3t', 'TOKEN123', 'ZZZ', 'abcdef', 'sig=']) assert.ok(!out.includes(s), `${s} in ${out}`);
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
