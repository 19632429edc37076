/**
 * Text from outside (a process's command line from /proc, a path, an argument) made safe to
 * print: a terminal or a log viewer must show it, never obey it. A leaf: imports nothing.
 */

/** How many characters of output `printable` keeps unless told otherwise. */
export const PRINTABLE_MAX = 300;

/**
 * Code points that change what a terminal shows rather than showing themselves: bidi overrides
 * and isolates (which reorder the text around them) and the Unicode line separators.
 */
function isInvisibleControl(cp: number): boolean {
  return cp === 0x200e || cp === 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp === 0x2028 || cp === 0x2029;
}

/** C0 controls (ESC, newline, CR, tab...), DEL and the C1 controls (0x80-0x9f, CSI among them). */
export function isControl(cp: number): boolean {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/** The first control character in `s` (see isControl), or undefined when there is none. */
export function firstControl(s: string): string | undefined {
  for (const ch of s) if (isControl(ch.codePointAt(0)!)) return ch;
  return undefined;
}

/** One code point as it is printed. */
function escapeOne(ch: string): string {
  const cp = ch.codePointAt(0)!;
  if (ch === '\\') return '\\\\';
  if (isControl(cp)) return `\\x${cp.toString(16).padStart(2, '0')}`;
  // A lone surrogate (a string cut mid-pair) is shown by its value, not as a replacement glyph.
  if (isInvisibleControl(cp) || (cp >= 0xd800 && cp <= 0xdfff)) return `\\u{${cp.toString(16)}}`;
  return ch;
}

/**
 * `s` with every control character written as \xNN (ESC is \x1b, a newline \x0a), bidi and
 * line-separator code points as \u{NNNN}, and a backslash as \\ so that the output reads back
 * unambiguously. At most `max` characters of output; a cut is marked with a final "…" and never
 * splits an escape.
 */
export function printable(s: string, max: number = PRINTABLE_MAX): string {
  let out = '';
  for (const ch of s) {
    const piece = escapeOne(ch);
    if (out.length + piece.length > max) return `${out}…`;
    out += piece;
  }
  return out;
}

/**
 * JSON.stringify, then DEL, the C1 controls, bidi and line-separator code points written as
 * \uNNNN. JSON.stringify escapes C0 controls and lone surrogates but passes those through raw,
 * and a terminal showing the document may obey them. They can only occur inside JSON strings, so
 * the escaped text parses back to the same value.
 */
export function printableJson(value: unknown, space?: number): string {
  const text = JSON.stringify(value, null, space) ?? 'null';
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    out += (cp >= 0x7f && cp <= 0x9f) || isInvisibleControl(cp) ? `\\u${cp.toString(16).padStart(4, '0')}` : ch;
  }
  return out;
}
