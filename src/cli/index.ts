#!/usr/bin/env node
/** The `helpdesk-monitor` command: dispatch to one file per command. */
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { failWith } from './exit.js';

interface Command {
  readonly summary: string;
  load(): Promise<{ main(argv: readonly string[]): Promise<void> }>;
}

const wrapper = (op: 'start' | 'restart' | 'reload' | 'stop') => async () => ({ main: (await import('./wrapper.js')).mainFor(op) });

const COMMANDS: Readonly<Record<string, Command>> = {
  run: { summary: 'run the monitor in the foreground (same engine as the PM2 module)', load: () => import('./run.js') },
  check: { summary: 'one pass: probe, remedy, exit 0/1 (for cron and systemd timers)', load: () => import('./check.js') },
  status: { summary: 'PM2 status, health, ports and the monitor\'s view per app', load: () => import('./status.js') },
  start: { summary: 'free ports, pm2 start, wait until healthy', load: wrapper('start') },
  restart: { summary: 'pm2 stop, free ports, start, wait until healthy', load: wrapper('restart') },
  reload: { summary: 'free stray port holders, pm2 reload, wait until healthy', load: wrapper('reload') },
  stop: { summary: 'pm2 stop, then confirm the ports are free', load: wrapper('stop') },
  reset: { summary: 'close an app\'s circuit breaker by hand', load: async () => ({ main: (await import('./control.js')).resetMain }) },
  pause: { summary: 'pause remedies for an app (maintenance), optionally --for 30m', load: async () => ({ main: (await import('./control.js')).pauseMain }) },
  resume: { summary: 'resume remedies for a paused app', load: async () => ({ main: (await import('./control.js')).resumeMain }) },
  'cleanup-ports': { summary: 'free the configured ports of an app (within its kill_scope)', load: async () => ({ main: (await import('./ports.js')).cleanupMain }) },
  'kill-port': { summary: 'free the given ports (operator action; never PID 1, PM2, the monitor)', load: async () => ({ main: (await import('./ports.js')).killMain }) },
  hook: { summary: 'hook pre-start --app NAME: free the app\'s ports before it starts', load: () => import('./hook.js') },
  'install-timer': { summary: 'install the systemd timer or cron fallback that runs check', load: async () => ({ main: (await import('./timer.js')).installMain }) },
  'uninstall-timer': { summary: 'remove the systemd timer or cron line', load: async () => ({ main: (await import('./timer.js')).uninstallMain }) },
  watch: { summary: 'monitor_mutex mode: run commands under PM2, restart on log silence', load: () => import('./watch.js') },
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
