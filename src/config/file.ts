/**
 * Reading a config file's text and reporting why it cannot be read or parsed, in words that say
 * what to do. Shared by the monitor's config and `watch`'s monitor_mutex YAML.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';

/** What to do about a file that is not there or not readable, by errno code. */
const ADVICE: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  ENOTDIR: 'no such file (a part of the path is not a directory)',
  EISDIR: 'this is a directory, not a config file',
  EACCES: 'permission denied: the monitor runs as a user who cannot read it',
  EPERM: 'permission denied',
};

/** The file's text, or a ConfigError whose one line says what is wrong and what to do. */
export function readConfigText(path: string, remedy = 'create it or pass --config FILE'): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
    const what = ADVICE[code] ?? `cannot read the file (${code})`;
    const fix = code === 'ENOENT' || code === 'ENOTDIR' ? `; ${remedy}` : code === 'EACCES' ? ` (${code}); check its mode and owner` : '';
    throw new ConfigError(path, [{ path: '', message: `${what}${fix}` }], `${what}: ${path}${fix}`);
  }
}

/**
 * A YAML (or JSON) syntax error as the whole parser message: the reason, the line and column,
 * and the offending lines with a caret under the spot (the yaml package's prettyErrors), each
 * line indented under the issue so the caret stays in place.
 */
export function syntaxMessage(kind: 'YAML' | 'JSON', err: unknown): string {
  const text = (err as Error).message.replace(/\s+$/, '');
  const [first = '', ...rest] = text.split('\n');
  const body = rest.map((l) => (l === '' ? '' : `      ${l}`)).join('\n');
  return `not valid ${kind}: ${first}${body ? `\n${body}` : ''}`;
}
