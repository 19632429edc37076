import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wrap } from '../../../src/text/wrap.js';

test('wrap breaks at spaces, indents continuation lines and never cuts a word', () => {
  assert.deepEqual(wrap('aa bb cc dd', 5, ' '), ['aa bb', ' cc', ' dd']);
  assert.deepEqual(wrap('short', 80), ['short']);
  assert.deepEqual(wrap('x /a/very/long/path/that/does/not/fit y', 10, '  '), ['x', '  /a/very/long/path/that/does/not/fit', '  y']);
});

test('wrap keeps the leading indentation of the first line', () => {
  assert.deepEqual(wrap('  api: a b', 8, '    '), ['  api: a', '    b']);
});
