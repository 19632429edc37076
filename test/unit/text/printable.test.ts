// printable(): text from /proc or from a user shown, never obeyed: every control character as
// \xNN, a backslash as \\ (so the output reads back), bidi/line-separator code points as \u{N},
// bounded length. printableJson(): JSON that parses back to the same value with no raw C1/DEL.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PRINTABLE_MAX, firstControl, isControl, printable, printableJson } from '../../../src/text/printable.js';

/** Every code point a terminal may act on instead of showing. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const RAW = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/u;

/** Undo printable (no truncation): proves the escaping is unambiguous. */
function unprint(s: string): string {
  return s.replace(/\\(\\|x([0-9a-f]{2})|u\{([0-9a-f]+)\})/g, (_, all: string, hex?: string, uni?: string) =>
    hex ? String.fromCharCode(parseInt(hex, 16)) : uni ? String.fromCharCode(parseInt(uni, 16)) : all,
  );
}

describe('printable', () => {
  test('terminal escape sequences and newlines become visible text on one line', () => {
    assert.equal(printable('node \u001b[31mRED\u001b[0m\nnext\r\tx'), 'node \\x1b[31mRED\\x1b[0m\\x0anext\\x0d\\x09x');
  });

  test('every C0 control, DEL and every C1 control is escaped as \\xNN', () => {
    for (let cp = 0; cp < 0xa0; cp++) {
      const ch = String.fromCharCode(cp);
      const out = printable(`a${ch}b`);
      if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
        assert.equal(out, `a\\x${cp.toString(16).padStart(2, '0')}b`, `U+${cp.toString(16)}`);
        assert.ok(isControl(cp));
      } else if (ch === '\\') {
        assert.equal(out, 'a\\\\b');
      } else {
        assert.equal(out, `a${ch}b`, `U+${cp.toString(16)} is printable as is`);
      }
    }
  });

  test('a backslash is doubled, so a literal "\\x1b" in a command cannot pass for an escaped ESC', () => {
    assert.equal(printable('echo \\x1b'), 'echo \\\\x1b');
    assert.notEqual(printable('echo \\x1b'), printable('echo \u001b'));
  });

  test('bidi overrides, line separators and lone surrogates are escaped; other Unicode is kept', () => {
    assert.equal(printable('a\u202eb\u2066c\u2028d\u2029e\u200ff'), 'a\\u{202e}b\\u{2066}c\\u{2028}d\\u{2029}e\\u{200f}f');
    assert.equal(printable('x\ud800y'), 'x\\u{d800}y');
    assert.equal(printable('é 日本 🙂'), 'é 日本 🙂');
  });

  test('round trip: the escaped text reads back to the original', () => {
    const samples = ['plain', 'back\\slash\\x41', '\u001b]0;title\u0007', 'ünï\u009b2J\u0085', 'a\u202eb', '\\\\\\', ''];
    for (const s of samples) {
      const out = printable(s, Infinity);
      assert.equal(RAW.test(out), false, JSON.stringify(out));
      assert.equal(unprint(out), s, JSON.stringify(s));
    }
  });

  test('bounded: at most max characters plus a final …, never a split escape or surrogate pair', () => {
    assert.equal(printable('x'.repeat(PRINTABLE_MAX)), 'x'.repeat(PRINTABLE_MAX));
    assert.equal(printable('x'.repeat(PRINTABLE_MAX + 1)), `${'x'.repeat(PRINTABLE_MAX)}…`);
    assert.equal(printable('abcdef', 3), 'abc…');
    assert.equal(printable('ab\u001bcd', 4), 'ab…', 'the 4-character escape does not fit after "ab" in 4');
    assert.equal(printable('ab\u001bcd', 6), 'ab\\x1b…');
    assert.equal(printable('a🙂b', 2), 'a…', 'a surrogate pair is one piece');
    assert.equal(printable('a'.repeat(5_000_000)).length, PRINTABLE_MAX + 1, 'a huge input is cut');
  });

  test('firstControl finds the first control character, or nothing', () => {
    assert.equal(firstControl('/srv/ok path/%$"\'\\'), undefined);
    assert.equal(firstControl('/srv/a\tb\nc'), '\t');
    assert.equal(firstControl('x\u009by'), '\u009b');
    assert.equal(firstControl('x\u007f'), '\u007f');
  });
});

describe('printableJson', () => {
  test('parses back to the same value; no raw control, C1, DEL or bidi character in the text', () => {
    const value = { command: 'node \u001b[31m\u009b2J\u007f\u0085\u202e\u2028 \ud800 end', n: 1, list: ['\n', 'é'] };
    const text = printableJson(value, 2);
    assert.deepEqual(JSON.parse(text), value);
    assert.equal(RAW.test(text.replace(/\n {0,}/g, '')), false, text);
    assert.ok(text.includes('\\u009b') && text.includes('\\u001b') && text.includes('\\u007f') && text.includes('\\u202e'), text);
  });

  test('same layout as JSON.stringify for plain values', () => {
    const value = { ok: true, results: [{ app: 'a', ports: [80] }] };
    assert.equal(printableJson(value, 2), JSON.stringify(value, null, 2));
    assert.equal(printableJson(undefined), 'null');
  });
});
