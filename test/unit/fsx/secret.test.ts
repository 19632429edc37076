/**
 * fsx/secret: the webhook secret from a private file (real temp files, real modes) or from an
 * environment variable that is taken out of the environment once read. Messages name the source,
 * never the value.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UnsafePathError } from '../../../src/errors.js';
import { redactText } from '../../../src/redact.js';
import { readSecret } from '../../../src/fsx/secret.js';

const VALUE = 'e3b0c44298fc1c149afbf4c8996fb924';
let dir: string;
let seq = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'hdm-secret-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function secretFile(content: string | Buffer, mode: number): string {
  const path = join(dir, `secret-${++seq}`);
  writeFileSync(path, content);
  chmodSync(path, mode);
  return path;
}

/** The thrown message, checked never to hold the value. */
function refusal(fn: () => unknown, value: string): Error {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof Error);
    if (value.length > 0) assert.ok(!err.message.includes(value), `the message shows the secret: ${err.message}`);
    return err;
  }
  assert.fail('expected a refusal');
}

describe('readSecret from a file', () => {
  test('0600: read, one trailing newline removed', () => {
    assert.deepEqual(readSecret({ file: secretFile(`${VALUE}\n`, 0o600) }), Buffer.from(VALUE));
    assert.deepEqual(readSecret({ file: secretFile(`${VALUE}\r\n`, 0o600) }), Buffer.from(VALUE));
    assert.deepEqual(readSecret({ file: secretFile(VALUE, 0o400) }), Buffer.from(VALUE), 'read-only for its owner is private too');
    assert.deepEqual(readSecret({ file: secretFile(`${VALUE}\n\n`, 0o600) }), Buffer.from(`${VALUE}\n`), 'only one newline is the editor\'s');
  });

  test('0644, 0640 or 0620: refused with "run chmod 600 <file>", the file left alone', () => {
    for (const mode of [0o644, 0o640, 0o604, 0o620]) {
      const path = secretFile(`${VALUE}\n`, mode);
      const err = refusal(() => readSecret({ file: path }), VALUE);
      assert.ok(err instanceof UnsafePathError, mode.toString(8));
      assert.ok(err.message.includes(`run chmod 600 ${path}`), err.message);
      assert.match(err.message, new RegExp(`mode 0${mode.toString(8)}`));
    }
  });

  test('empty, or shorter than 16 bytes: refused, naming the file', () => {
    const empty = secretFile('\n', 0o600);
    assert.match(refusal(() => readSecret({ file: empty }), '').message, new RegExp(`file ${empty} is empty`));
    const short = secretFile('fifteen-bytes!!\n', 0o600);
    const err = refusal(() => readSecret({ file: short }), 'fifteen-bytes!!');
    assert.match(err.message, new RegExp(`file ${short} is 15 bytes, fewer than the 16 needed`));
    assert.deepEqual(readSecret({ file: secretFile('sixteen-bytes!!!', 0o600) }).length, 16, '16 is enough');
  });

  test('a missing file, a folder or a symbolic link: refused, naming the path', () => {
    const missing = join(dir, 'no-such-secret');
    assert.match(refusal(() => readSecret({ file: missing }), '').message, /cannot be read \(ENOENT\)/);
    const folder = join(dir, 'a-folder');
    mkdirSync(folder, { mode: 0o700 });
    assert.match(refusal(() => readSecret({ file: folder }), '').message, /is not a regular file/);
    const link = join(dir, 'a-link');
    symlinkSync(secretFile(VALUE, 0o600), link);
    const err = refusal(() => readSecret({ file: link }), VALUE);
    assert.ok(err instanceof UnsafePathError);
    assert.match(err.message, /is a symbolic link/);
  });
});

describe('readSecret from the environment', () => {
  test('read, then deleted from the given environment; a reload finds it again', () => {
    const env: NodeJS.ProcessEnv = { HDM_UNIT_HOOK_SECRET: `${VALUE}\n`, OTHER: 'x' };
    assert.deepEqual(readSecret({ env: 'HDM_UNIT_HOOK_SECRET' }, env), Buffer.from(VALUE));
    assert.deepEqual(env, { OTHER: 'x' }, 'children spawned after this do not inherit the secret');
    assert.deepEqual(readSecret({ env: 'HDM_UNIT_HOOK_SECRET' }, env), Buffer.from(VALUE), 'a config reload reads it again');
  });

  test('the value is remembered for redaction', () => {
    const value = 'unit-redact-me-0123456789abcdef';
    readSecret({ env: 'HDM_UNIT_HOOK_REDACT' }, { HDM_UNIT_HOOK_REDACT: value });
    assert.equal(redactText(`oops: ${value}`), 'oops: ***');
  });

  test('unset, empty or short: refused, naming the variable and never the value', () => {
    assert.match(refusal(() => readSecret({ env: 'HDM_UNIT_HOOK_UNSET' }, {}), '').message, /environment variable HDM_UNIT_HOOK_UNSET is not set/);
    assert.match(refusal(() => readSecret({ env: 'HDM_UNIT_HOOK_EMPTY' }, { HDM_UNIT_HOOK_EMPTY: '' }), '').message, /environment variable HDM_UNIT_HOOK_EMPTY is empty/);
    const err = refusal(() => readSecret({ env: 'HDM_UNIT_HOOK_SHORT' }, { HDM_UNIT_HOOK_SHORT: 'tooshort' }), 'tooshort');
    assert.match(err.message, /environment variable HDM_UNIT_HOOK_SHORT is 8 bytes, fewer than the 16 needed/);
  });

  test('neither or both sources: refused', () => {
    assert.match(refusal(() => readSecret({}, {}), '').message, /name the environment variable or the file/);
    assert.match(refusal(() => readSecret({ env: 'X', file: '/x' }, {}), '').message, /not both/);
  });

  test('process.env is the default environment', () => {
    process.env.HDM_UNIT_HOOK_DEFAULT = VALUE;
    assert.deepEqual(readSecret({ env: 'HDM_UNIT_HOOK_DEFAULT' }), Buffer.from(VALUE));
    assert.equal(process.env.HDM_UNIT_HOOK_DEFAULT, undefined);
  });
});
