/**
 * Flag parsing on node:util parseArgs, with usage errors that name the flag. A flag that does not
 * parse is diagnosed again token by token, so the operator reads `unknown option --jsn for
 * status (did you mean --json?)` rather than Node's advice about positionals after `--`.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { closest } from '../config/suggest.js';
import { UsageError } from '../errors.js';
import { printable } from '../text/printable.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * A flag that does not parse. Thrown by parse(), which does not know the command; the
 * dispatcher words it for its command (forCommand), so every command's errors read alike.
 */
export class FlagError extends UsageError {
  constructor(
    /** Words before the flag: `unknown option`, `option`. */
    readonly lead: string,
    /** The flag as typed (`--jsn`, `-x`). */
    readonly flag: string,
    /** Words after it: ` (did you mean --json?)`, ` needs a value`. */
    readonly tail: string,
  ) {
    super(`${lead} ${flag}${tail}`);
  }

  /** The same error, naming the command whose flag it is. */
  forCommand(command: string): CommandUsageError {
    return new CommandUsageError(`${this.lead} ${this.flag} for ${command}${this.tail}`, command);
  }
}

/** Bad usage of one command: the hint points at that command's --help. */
export class CommandUsageError extends UsageError {
  constructor(
    message: string,
    readonly command: string,
  ) {
    super(message);
  }
}

/** Parse argv for one command; a flag that does not parse is a FlagError (exit 2). */
export function parse<O extends Options>(argv: readonly string[], options: O) {
  const all = { ...options, help: { type: 'boolean', short: 'h' } } as const satisfies Options;
  try {
    return parseArgs({ args: [...argv], options: all, allowPositionals: true, strict: true });
  } catch (err) {
    throw diagnose(argv, all) ?? new UsageError((err as Error).message);
  }
}

/** The first flag of argv that does not parse against `options`, as a FlagError; undefined when none is found. */
export function diagnose(argv: readonly string[], options: Options): FlagError | undefined {
  const { tokens } = parseArgs({ args: [...argv], options, allowPositionals: true, strict: false, tokens: true });
  const longs = Object.keys(options).map((name) => `--${name}`);
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    // What the operator typed is printed escaped, never obeyed by the terminal.
    const raw = printable(t.rawName);
    const value = t.value === undefined ? undefined : printable(t.value);
    const spec = Object.hasOwn(options, t.name) ? options[t.name] : undefined;
    if (!spec) {
      // `--jsn=1` is diagnosed as --jsn; a single letter is too short to guess from.
      const guess = t.rawName.startsWith('--') ? closest(t.rawName, longs) : undefined;
      return new FlagError('unknown option', raw, guess ? ` (did you mean ${guess}?)` : '');
    }
    const named = t.rawName.startsWith('--') ? raw : `${raw} (--${t.name})`;
    if (spec.type === 'boolean' && value !== undefined) {
      return new FlagError('option', named, ` takes no value (got ${raw}=${value})`);
    }
    if (spec.type === 'string') {
      if (t.value === undefined) return new FlagError('option', named, ' needs a value');
      // Without strict, parseArgs takes the next flag as the value: `--config --json`.
      if (!t.inlineValue && t.value.startsWith('-') && t.value.length > 1) {
        return new FlagError('option', named, ` needs a value (got ${value}, which looks like an option; write --${t.name}=${value} if it is the value)`);
      }
    }
  }
  return undefined;
}
