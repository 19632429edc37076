// parse(): flags that do not parse are FlagErrors in the project's own words, with a "did you
// mean" for a mistyped long flag, never Node's raw parseArgs message; the dispatcher adds the
// command (forCommand).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CommandUsageError, FlagError, parse } from '../../../src/cli/args.js';
import { UsageError } from '../../../src/errors.js';

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  json: { type: 'boolean' },
  'dry-run': { type: 'boolean', short: 'n' },
} as const;

/** The FlagError parse throws for argv. */
function flagError(argv: readonly string[]): FlagError {
  try {
    parse(argv, OPTIONS);
  } catch (err) {
    assert.ok(err instanceof FlagError, `a FlagError, not ${String(err)}`);
    assert.ok(err instanceof UsageError, 'a usage error (exit 2)');
    return err;
  }
  throw new Error(`parse accepted ${JSON.stringify(argv)}`);
}

describe('parse', () => {
  test('good flags parse as before, help included', () => {
    const { values, positionals } = parse(['--json', '-c', 'm.yaml', 'app', '-n', '-h'], OPTIONS);
    assert.deepEqual({ ...values }, { json: true, config: 'm.yaml', 'dry-run': true, help: true });
    assert.deepEqual(positionals, ['app']);
  });

  test('an unknown long flag names the closest one', () => {
    assert.equal(flagError(['--jsn']).message, 'unknown option --jsn (did you mean --json?)');
    assert.equal(flagError(['--dryrun']).message, 'unknown option --dryrun (did you mean --dry-run?)');
    assert.equal(flagError(['--confg=x']).message, 'unknown option --confg (did you mean --config?)');
    assert.equal(flagError(['--hepl']).message, 'unknown option --hepl (did you mean --help?)');
  });

  test('an unknown flag with nothing close, or a single letter, has no guess', () => {
    assert.equal(flagError(['--frobnicate']).message, 'unknown option --frobnicate');
    assert.equal(flagError(['-x']).message, 'unknown option -x');
  });

  test('a string flag without its value', () => {
    assert.equal(flagError(['--config']).message, 'option --config needs a value');
    assert.equal(flagError(['-c']).message, 'option -c (--config) needs a value');
    assert.equal(flagError(['--config', '--json']).message, 'option --config needs a value (got --json, which looks like an option; write --config=--json if it is the value)');
  });

  test('a value given to a boolean flag', () => {
    assert.equal(flagError(['--json=yes']).message, 'option --json takes no value (got --json=yes)');
  });

  test('the first bad flag is the one named; what was typed is escaped', () => {
    assert.equal(flagError(['--json', '--jsn', '--config']).message, 'unknown option --jsn (did you mean --json?)');
    assert.equal(flagError(['--js\u001b[2Jn']).message, 'unknown option --js\\x1b[2Jn');
  });

  test('no message is Node\'s own', () => {
    for (const argv of [['--jsn'], ['--config'], ['--json=1'], ['-c', '-n'], ['-x']]) {
      assert.doesNotMatch(flagError(argv).message, /Unknown option '|To specify a positional|argument missing|does not take an argument|ambiguous/, JSON.stringify(argv));
    }
  });

  test('forCommand puts the command after the flag and keeps the rest', () => {
    const err = flagError(['--jsn']).forCommand('status');
    assert.ok(err instanceof CommandUsageError && err instanceof UsageError);
    assert.equal(err.message, 'unknown option --jsn for status (did you mean --json?)');
    assert.equal(err.command, 'status');
    assert.equal(flagError(['--config']).forCommand('check').message, 'option --config for check needs a value');
    assert.equal(flagError(['--json=1']).forCommand('kill-port').message, 'option --json for kill-port takes no value (got --json=1)');
  });
});
