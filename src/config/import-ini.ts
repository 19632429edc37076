/**
 * A strict reader of the original monitor_service's config.ini: `[section]` headers, `key = value`
 * lines, blank lines and comments (`#` or `;` at the start of a line, or after whitespace inside a
 * line). Anything else is an error naming file:line, never a guess: a config we import must say
 * what its author meant. Hand-written rather than a dependency because the INI dialects of npm
 * packages differ exactly where this file needs care (inline comments, duplicate keys).
 *
 * Error messages never quote a line's text: a malformed `password` line would print the password.
 */
import { ConfigError, type ConfigIssue } from '../errors.js';
import { isControl } from '../text/printable.js';

export interface IniEntry {
  readonly key: string;
  readonly value: string;
  /** 1-based line number in the file. */
  readonly line: number;
  /**
   * The text of an inline comment cut from the value, when it began with `;`: a shell command may
   * hold ` ; ` (`cd /srv && ./check ; true`), so the importer says what it cut.
   */
  readonly cutAtSemicolon?: string;
}

export interface IniSection {
  readonly name: string;
  readonly line: number;
  readonly entries: readonly IniEntry[];
}

export interface IniDocument {
  /** The file as given, for messages. */
  readonly file: string;
  readonly sections: readonly IniSection[];
}

/** Keys as the original monitor reads them: plain words (a dot or dash allowed). */
const KEY = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** At most this many malformed lines are listed: the first few say what is wrong. */
const MAX_ISSUES = 10;

/** Parse the text of an INI file; throws ConfigError listing each malformed line as file:line. */
export function parseIni(text: string, file: string): IniDocument {
  const sections: { name: string; line: number; entries: IniEntry[] }[] = [];
  const issues: ConfigIssue[] = [];
  const fail = (line: number, message: string): void => {
    if (issues.length < MAX_ISSUES) issues.push({ path: `${file}:${line}`, message });
  };
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const n = i + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) return;
    if ([...raw].some((ch) => ch !== '\t' && isControl(ch.codePointAt(0)!))) return fail(n, 'a control character (not text an INI value can hold)');
    if (trimmed.startsWith('[')) {
      const m = /^\[([^[\]]*)\]\s*(?:[#;].*)?$/.exec(trimmed);
      const name = m?.[1]?.trim();
      if (!name) return fail(n, 'expected a section header like [database] (a name between [ and ], then only a comment)');
      const earlier = sections.find((s) => s.name === name);
      if (earlier) return fail(n, `section [${name}] again (first at line ${earlier.line}): merge the two`);
      sections.push({ name, line: n, entries: [] });
      return;
    }
    const eq = trimmed.indexOf('=');
    if (eq < 0) return fail(n, 'expected `key = value`, a [section] header, or a comment starting with # or ;');
    const key = trimmed.slice(0, eq).trim();
    if (!KEY.test(key)) return fail(n, 'expected a plain key name before = (letters, digits, _ . -)');
    const section = sections.at(-1);
    if (!section) return fail(n, `key "${key}" before any [section] header`);
    const earlier = section.entries.find((e) => e.key === key);
    if (earlier) return fail(n, `key "${key}" again in [${section.name}] (first at line ${earlier.line}): keep one`);
    const value = readValue(trimmed.slice(eq + 1));
    if (typeof value === 'string') return fail(n, `${key}: ${value}`);
    section.entries.push({ key, line: n, ...value });
  });
  if (issues.length > 0) {
    const headline = issues.length === 1
      ? `${issues[0]!.path}: ${issues[0]!.message}`
      : `cannot read ${file}:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`;
    throw new ConfigError(file, issues, headline);
  }
  return { file, sections };
}

/**
 * The value after `=`: quoted ("..." or '...', taken as written, comment characters included) or
 * bare, cut at the first `#` or `;` that follows whitespace. A string is the error.
 */
function readValue(rest: string): { value: string; cutAtSemicolon?: string } | string {
  const text = rest.trim();
  const q = text[0];
  if (q === '"' || q === "'") {
    const close = text.indexOf(q, 1);
    if (close < 0) return `a quoted value without its closing ${q}`;
    const after = text.slice(close + 1).trim();
    if (after !== '' && !after.startsWith('#') && !after.startsWith(';')) return `text after the closing ${q} (only a comment may follow)`;
    return { value: text.slice(1, close) };
  }
  const cut = /\s[#;]/.exec(` ${text}`);
  if (!cut) return { value: text };
  // In ` ${text}` the match starts at the whitespace, so in text the marker is at that index (the
  // leading space lets a value that is only a comment, `key = # none`, read as empty).
  const at = cut.index;
  const value = text.slice(0, at).trim();
  const marker = text[at];
  return marker === ';' ? { value, cutAtSemicolon: text.slice(at + 1).trim() } : { value };
}
