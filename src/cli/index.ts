#!/usr/bin/env node
/** The `helpdesk-monitor` command: dispatch to one file per command. */
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { failWith } from './exit.js';

interface Command {
  readonly summary: string;
  load(): Promise<{ main(argv: readonly string[]): Promise<void> }>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  run: { summary: 'run the monitor in the foreground (same engine as the PM2 module)', load: () => import('./run.js') },
};

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(16)}${c.summary}`);
  return `Usage: helpdesk-monitor <command> [options]

A PM2 watchdog: probes /health, frees squatted ports, restarts hung or crashed apps and proves
they came back.

Commands:
${rows.join('\n')}

Run \`helpdesk-monitor <command> --help\` for a command's options and an example.

Exit codes: 0 ok/healthy, 1 unhealthy or the action failed, 2 bad usage or invalid config,
3 another live instance holds the lock.
`;
}

async function main(argv: readonly string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return;
  }
  if (name === '--version' || name === '-V') {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return;
  }
  const command = COMMANDS[name];
  if (!command) throw new UsageError(`unknown command "${name}"`);
  await (await command.load()).main(rest);
}

main(process.argv.slice(2)).catch(failWith);
