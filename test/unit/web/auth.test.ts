/** The status server's token: Bearer or Basic (the password), compared in constant time. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkAuth, offeredToken } from '../../../src/web/auth.js';

const token = Buffer.from('s3cret-token-0123456789');
const basic = (user: string, pass: string): string => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

test('no token configured: everyone is let in', () => {
  assert.equal(checkAuth(undefined, undefined), 'ok');
});

test('bearer and basic (any user) with the right token pass', () => {
  assert.equal(checkAuth('Bearer s3cret-token-0123456789', token), 'ok');
  assert.equal(checkAuth('bearer   s3cret-token-0123456789 ', token), 'ok');
  assert.equal(checkAuth(basic('admin', 's3cret-token-0123456789'), token), 'ok');
  assert.equal(checkAuth(basic('', 's3cret-token-0123456789'), token), 'ok');
});

test('missing, malformed and wrong tokens', () => {
  assert.equal(checkAuth(undefined, token), 'missing');
  assert.equal(checkAuth('', token), 'missing');
  assert.equal(checkAuth('Token s3cret-token-0123456789', token), 'missing');
  assert.equal(checkAuth(`Basic ${Buffer.from('no-colon').toString('base64')}`, token), 'missing');
  assert.equal(checkAuth('Bearer s3cret-token-012345678', token), 'wrong'); // a prefix
  assert.equal(checkAuth('Bearer s3cret-token-01234567890', token), 'wrong'); // longer
  assert.equal(checkAuth(basic('s3cret-token-0123456789', 'x'), token), 'wrong'); // the token as the user
});

test('the password keeps its colons', () => {
  assert.deepEqual(offeredToken(basic('u', 'a:b:c')), Buffer.from('a:b:c'));
});
