/**
 * Reading generated units and crontab lines back the way systemd and cron would, so tests can
 * run what they would run. Strict: anything the generator should never produce (a stray %
 * specifier, an unescaped $, a backslash escape other than \\ and \") is an error, not a guess.
 */

/** `Key=value` lines of a unit file (comments and sections left out). */
export function unitValues(text: string, key: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1));
}

/** Words of a setting as systemd splits them (extract_first_word with UNQUOTE|CUNESCAPE). */
export function systemdWords(value: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < value.length) {
    while (value[i] === ' ') i++;
    if (i >= value.length) break;
    let word = '';
    let quote: '"' | undefined;
    for (; i < value.length; i++) {
      const ch = value[i]!;
      if (!quote && ch === ' ') break;
      if (ch === '"') {
        quote = quote ? undefined : '"';
        continue;
      }
      if (ch === "'" && !quote) throw new Error(`systemdWords: an unquoted ' in ${value}`);
      if (ch === '\\') {
        const next = value[++i];
        if (next !== '\\' && next !== '"') throw new Error(`systemdWords: unexpected escape \\${next ?? ''} in ${value}`);
        word += next;
        continue;
      }
      word += ch;
    }
    if (quote) throw new Error(`systemdWords: unterminated quote in ${value}`);
    words.push(word);
  }
  return words;
}

/** systemd's specifier expansion, allowing only the literal %%. */
export function unSpecify(word: string): string {
  return word.replace(/%(.?)/g, (_, c: string) => {
    if (c !== '%') throw new Error(`unSpecify: a %${c} specifier in ${word}`);
    return '%';
  });
}

/** systemd's run-time $ expansion of an ExecStart= argument, allowing only the literal $$. */
export function unDollar(word: string): string {
  return word.replace(/\$(.?)/g, (_, c: string) => {
    if (c !== '$') throw new Error(`unDollar: an environment reference $${c} in ${word}`);
    return '$';
  });
}

/** The argv systemd would exec for an ExecStart= value (the executable is taken literally). */
export function execArgv(value: string): string[] {
  const [path, ...args] = systemdWords(value).map(unSpecify);
  if (!path) throw new Error(`execArgv: no command in ${value}`);
  return [path, ...args.map(unDollar)];
}

/** The variables of a unit's Environment= lines. */
export function unitEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const value of unitValues(text, 'Environment')) {
    for (const a of systemdWords(value).map(unSpecify)) {
      const eq = a.indexOf('=');
      if (eq <= 0) throw new Error(`unitEnv: not an assignment: ${a}`);
      env[a.slice(0, eq)] = a.slice(eq + 1);
    }
  }
  return env;
}

/**
 * What cron hands to sh (as Vixie cron and cronie do): the command after the 5 schedule fields,
 * with \% unescaped; a bare % ends the command and the rest becomes stdin (each % a newline).
 */
export function cronCommand(line: string): { command: string; stdin: string } {
  const raw = line.split(' ').slice(5).join(' ');
  let command = '';
  let escaped = false;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (escaped) {
      command = ch === '%' ? `${command.slice(0, -1)}%` : command + ch;
      escaped = false;
      continue;
    }
    if (ch === '\\') {
      escaped = true;
      command += ch;
      continue;
    }
    if (ch === '%') return { command, stdin: raw.slice(i + 1).replace(/%/g, '\n') };
    command += ch;
  }
  return { command, stdin: '' };
}
