/**
 * `helpdesk-monitor import-config FILE [--output OUT [--force]]`: the original monitor_service's
 * config.ini as our YAML config (issue 13). The YAML goes to stdout or a new private file; what
 * was left out, and where the password goes, to stderr. The conversion is config/ini-to-yaml.ts.
 */
import { resolve } from 'node:path';
import { importIni } from '../config/ini-to-yaml.js';
import { readConfigText } from '../config/file.js';
import { createExclusive, writeFileAtomic } from '../fsx/safe-write.js';
import { printable } from '../text/printable.js';
import { CommandUsageError, parse } from './args.js';

export const help = `Usage: helpdesk-monitor import-config FILE [--output OUT.yaml [--force]]

Convert the original monitor_service's config.ini into a helpdesk-monitor YAML config:
[database] and [monitor] check_interval become the alarms: block, max_restart_failures and
circuit_reset_time go under defaults:, [logging] becomes log:, [process.default] becomes
defaults: and each [process.NAME] one app. The YAML says in comments where renamed keys came
from. The password is never copied: the output says where it goes instead (the environment
variable HELPDESK_MONITOR_DB_PASSWORD, or a chmod 600 file named by password_file).
What could not be imported is kept as a comment and listed on stderr. The output loads as it
is; a malformed INI line is an error naming FILE:LINE.

Options:
  -o, --output OUT    write the YAML to OUT (a new file, mode 0600) instead of stdout
      --force         with --output: replace OUT if it exists
  -h, --help          this help

Exit codes: 0 converted (warnings on stderr), 2 bad usage, or FILE unreadable or malformed.

Example:
  helpdesk-monitor import-config /opt/monitor_service/config.ini --output /etc/helpdesk-monitor.yaml
  helpdesk-monitor check --config /etc/helpdesk-monitor.yaml --dry-run
`;

const usage = (message: string): CommandUsageError => new CommandUsageError(message, 'import-config');

export async function main(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parse(argv, { output: { type: 'string', short: 'o' }, force: { type: 'boolean' } });
  if (values.help) return void process.stdout.write(help);
  if (positionals.length !== 1) {
    throw usage(positionals.length === 0 ? 'import-config needs FILE: the config.ini of monitor_service' : `import-config takes one FILE (got ${positionals.length})`);
  }
  if (values.force && values.output === undefined) throw usage('--force is for --output: it allows replacing that file');
  const file = positionals[0]!;
  const text = readConfigText(resolve(file), 'pass the path of monitor_service\'s config.ini');
  const result = importIni(text, file);

  if (values.output === undefined) {
    process.stdout.write(result.yaml);
  } else {
    const out = resolve(values.output);
    // Private from the first byte: the file names the database account (never its password).
    if (values.force) writeFileAtomic(out, result.yaml);
    else if (!createExclusive(out, result.yaml)) throw usage(`${printable(out)} exists: pass --force to replace it`);
  }
  for (const w of result.warnings) process.stderr.write(`warning: ${printable(w, 1000)}\n`);
  for (const n of result.notes) process.stderr.write(`note: ${printable(n, 1000)}\n`);
  if (values.output !== undefined) process.stderr.write(`wrote ${printable(resolve(values.output))} (mode 0600)\n`);
}
