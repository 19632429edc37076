// The README's CLI reference documents every long flag of every command: for each command of the
// dispatcher's table, its --help (the real CLI's output) is read for `--flags`, and each must be
// in the command's row of the README's command table or in a paragraph under the table that
// names the command in backticks. --help itself is said once for all.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { COMMANDS } from '../../../src/cli/commands.js';
import { CLI, ROOT } from '../../helpers/sandbox.js';

const run = promisify(execFile);

/** The text from `## CLI reference` to the next `## ` heading. */
function cliReference(readme: string): string {
  const start = readme.indexOf('\n## CLI reference\n');
  assert.ok(start >= 0, 'the README has a "CLI reference" section');
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** Does this text name `command` in backticks (`check`, `check --strict`, `pause APP`)? */
const names = (text: string, command: string): boolean => new RegExp(`\`${command.replace(/-/g, '\\-')}[\\s\`]`).test(text);

/** The command's row(s) (by the first cell) and the paragraphs under the table that name it. */
function documentation(section: string, command: string): string {
  const lines = section.split('\n');
  const rows = lines.filter((l) => l.startsWith('| `') && names(l.split(/(?<!\\)\|/)[1] ?? '', command));
  const lastRow = lines.findLastIndex((l) => l.startsWith('|'));
  const paragraphs = lines.slice(lastRow + 1).join('\n').split(/\n\s*\n/).filter((p) => names(p, command));
  return [...rows, ...paragraphs].join('\n');
}

/** The long flags a help text mentions. */
const flagsIn = (help: string): string[] => [...new Set(help.match(/--[a-z][a-z0-9-]*/g) ?? [])].filter((f) => f !== '--help').sort();

test('the reader finds rows and paragraphs by command, and flags in a help text', () => {
  const section = '\n| command | what |\n|---|---|\n| `pause APP [--for 30m]` / `resume APP` | x |\n| `stop` | `--stop-flag` |\n\nAbout `resume`: `--late`.\n\nAbout `restart`: `--other`.\n';
  assert.match(documentation(section, 'resume'), /--for 30m[\s\S]*--late/);
  assert.doesNotMatch(documentation(section, 'resume'), /--other|--stop-flag/);
  assert.doesNotMatch(documentation(section, 'start'), /--stop-flag|--other/, '`stop` and `restart` are not `start`');
  assert.deepEqual(flagsIn('  -c, --config FILE\n      --json   x (see --json)\n  -h, --help'), ['--config', '--json']);
});

test('every long flag of every command is in the README\'s CLI reference, with its command', { timeout: 120_000 }, async () => {
  const section = cliReference(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  const names_ = Object.keys(COMMANDS);
  assert.ok(names_.length >= 16, `the table lists the commands (${names_.join(', ')})`);
  // --help is answered while parsing: no config, PM2 or lock is touched.
  const helps = await Promise.all(names_.map(async (name) => [name, (await run(process.execPath, [CLI, name, '--help'], { encoding: 'utf8', timeout: 60_000 })).stdout] as const));
  const missing: string[] = [];
  for (const [name, help] of helps) {
    assert.match(help, /^Usage: helpdesk-monitor /, `${name} --help prints its usage`);
    const doc = documentation(section, name);
    assert.ok(doc !== '', `the README's CLI reference has a row for \`${name}\``);
    for (const flag of flagsIn(help)) if (!new RegExp(`${flag}(?![a-z0-9-])`).test(doc)) missing.push(`${name} ${flag}`);
  }
  assert.deepEqual(missing, [], 'flags in --help that the README\'s CLI reference does not document for their command');
});
