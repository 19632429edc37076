/**
 * The command table of `helpdesk-monitor` and its dispatch: each command's file is loaded only
 * when it runs. Apart from index.ts (which only calls dispatch), so tests can read the table
 * without running a command.
 */
import { packageVersion } from '../paths.js';
import { closest } from '../config/suggest.js';
import { UsageError } from '../errors.js';
import { printable } from '../text/printable.js';
import { FlagError } from './args.js';
import { EXIT } from './exit.js';

export interface Command {
  readonly summary: string;
  load(): Promise<{ main(argv: readonly string[]): Promise<void> }>;
}

const wrapper = (op: 'start' | 'restart' | 'reload' | 'stop') => async () => ({ main: (await import('./wrapper.js')).mainFor(op) });

export const COMMANDS: Readonly<Record<string, Command>> = {
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
  'install-service': { summary: 'install `run` as a hardened systemd service, as the PM2 daemon\'s user', load: async () => ({ main: (await import('./service.js')).installMain }) },
  'uninstall-service': { summary: 'remove the systemd service install-service wrote (only that one)', load: async () => ({ main: (await import('./service.js')).uninstallMain }) },
  incidents: { summary: 'the remedies told in the log (current and rotated files): trigger, actions, time to healthy', load: () => import('./incidents.js') },
  alarms: { summary: 'the alarm table: rows in alarm, their apps, what is done (--dry-run explains)', load: () => import('./alarms.js') },
  update: { summary: 'git update of an app: fetch, fast-forward, build, reload, verify, roll back on failure', load: async () => ({ main: (await import('./update.js')).updateMain }) },
  rollback: { summary: 'step an app back to the commit its last update replaced, and verify', load: async () => ({ main: (await import('./update.js')).rollbackMain }) },
  watch: { summary: 'monitor_mutex mode: run commands under PM2, restart on log silence', load: () => import('./watch.js') },
  'import-config': { summary: 'print monitor_service\'s config.ini as this monitor\'s YAML config', load: () => import('./import-config.js') },
};

export function usage(): string {
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

/** What may stand where a command goes, besides the commands. */
const TOP_FLAGS = ['--help', '--version'];

/**
 * Run the command argv names. No command at all is a usage error: the usage goes to stderr and
 * the exit code is 2 (a cron line that lost its command must not look like success); asking
 * for it (`--help`, `help`) prints it on stdout.
 */
export async function dispatch(argv: readonly string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(usage());
    process.exitCode = EXIT.usage;
    return;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${packageVersion() ?? 'unknown'}\n`);
    return;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) throw unknownCommand(name);
  try {
    await (await command.load()).main(rest);
  } catch (err) {
    throw err instanceof FlagError ? err.forCommand(name) : err;
  }
}

function unknownCommand(name: string): UsageError {
  const shown = printable(name);
  if (name.startsWith('-')) {
    const guess = closest(name, TOP_FLAGS);
    return new UsageError(guess
      ? `unknown option ${shown} (did you mean ${guess}?)`
      : `unknown option ${shown}: the command comes first (helpdesk-monitor <command> ${shown})`);
  }
  const guess = closest(name, Object.keys(COMMANDS));
  return new UsageError(`unknown command "${shown}"${guess ? ` (did you mean ${guess}?)` : ''}`);
}
