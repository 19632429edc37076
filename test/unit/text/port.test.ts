// parsePort: a TCP port is a plain decimal number 1-65535, nothing Number() would also accept.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePort } from '../../../src/text/port.js';

test('plain decimal numbers 1-65535 are ports', () => {
  for (const [text, n] of [['1', 1], ['80', 80], ['5000', 5000], ['65535', 65535], ['10000', 10000]] as const) assert.equal(parsePort(text), n, text);
});

test('everything else is refused, including what Number() accepts', () => {
  for (const text of ['0', '00', '080', '0x50', '0X50', '0o120', '0b1010000', '1e3', '8e1', '80.0', '80.', '.5', ' 80', '80 ', '\t80', '80\n', '+80', '-80', '65536', '99999', '100000', '999999999999', 'Infinity', 'NaN', '', '٨٠', '８０', '80a', '5_000', '1,000']) {
    assert.equal(parsePort(text), undefined, JSON.stringify(text));
  }
});
