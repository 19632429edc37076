/** `helpdesk-monitor watch`: monitor_mutex's drop-in mode (a command, its log file, a timeout). */
import { UsageError, describeError } from '../errors.js';
import { pm2Home } from '../paths.js';
import { loadWatchConfig, parseWatchArgs, runIdFor, type WatchSpec } from '../watch/config.js';
import { startWatch, type WatchSession } from '../watch/session.js';
import { parse } from './args.js';
import { EXIT, exitOnSignals } from './exit.js';

export const help = `Usage: helpdesk-monitor watch "<command>" <log_file> [timeout] [interval]
       helpdesk-monitor watch --config monitor_config.yaml

monitor_mutex's drop-in mode. Each command runs under PM2 through \`sh -c\` in the current
directory (redirections and pipes work), and is restarted when its log file gets no new lines
for \`timeout\` seconds, checked every \`interval\` seconds. The log file and its folders are
created when missing. What happens is printed on stdout, one line per event. Ctrl-C (SIGINT or
SIGTERM) stops the commands this run started (SIGTERM, SIGKILL after 5 s), removes them from
PM2 and exits 0. A PM2 daemon is started when none runs, like \`pm2 start\` does.

Arguments:
  command       a shell command, quoted as one argument (run by sh -c)
  log_file      the file the command writes its log to (relative: to the current directory)
  timeout       seconds without new log lines before a restart: 1-3600, default 60
  interval      seconds between checks: 1-300, default 5

Options:
  -c, --config FILE   monitor_mutex's YAML file: \`processes:\`, each with name, command,
                      log_file, timeout, interval
      --name NAME     the process name in the single form (its PM2 app is watch-NAME);
                      default: the command's program and a hash of the command
  -v, --verbose       also print the engine's log on stderr (it always goes to
                      $PM2_HOME/helpdesk-monitor/watch/<run>.log)
  -h, --help          this help

Exit codes: 0 stopped by Ctrl-C or SIGTERM, 1 a command could not be started or PM2 failed,
2 bad usage or invalid config, 3 another watch already watches one of these commands.

Examples:
  helpdesk-monitor watch "python3 app.py > /tmp/app.log 2>&1" /tmp/app.log 120 10
  helpdesk-monitor watch --config monitor_config.yaml
`;

export async function main(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    config: { type: 'string', short: 'c' },
    name: { type: 'string' },
    verbose: { type: 'boolean', short: 'v' },
  });
  if (values.help) {
    process.stdout.write(help);
    return;
  }
  const cwd = process.cwd();
  let specs: WatchSpec[];
  let source: string;
  if (values.config !== undefined) {
    if (positionals.length > 0) throw new UsageError('give either --config FILE or "<command>" <log_file> [timeout] [interval], not both');
    if (values.name !== undefined) throw new UsageError('--name is for the single-command form; in the YAML file each process has its name');
    specs = loadWatchConfig(values.config, cwd);
    source = values.config;
  } else {
    specs = [parseWatchArgs(positionals, cwd, values.name)];
    source = 'the command line';
  }

  // A reader that went away (`| head`) must not crash the watch: the story just stops.
  let stdoutGone = false;
  process.stdout.on('error', () => {
    stdoutGone = true;
  });

  // A signal while starting: finish starting (so everything started is known), then stop.
  let early = false;
  const onEarly = (): void => {
    early = true;
  };
  process.on('SIGINT', onEarly);
  process.on('SIGTERM', onEarly);
  let session: WatchSession;
  try {
    session = await startWatch({
      specs, pm2Home: pm2Home(), cwd, source,
      runId: runIdFor(specs, values.config),
      write: (line) => {
        if (!stdoutGone) process.stdout.write(`${line}\n`);
      },
      verbose: values.verbose === true,
    });
  } finally {
    process.off('SIGINT', onEarly);
    process.off('SIGTERM', onEarly);
  }
  const stop = (): Promise<void> => session.stop();
  if (early) {
    await stop();
    process.exit(EXIT.ok);
  }
  exitOnSignals(stop);
  const fatal = (err: unknown): void => {
    process.stderr.write(`helpdesk-monitor watch: unexpected error: ${describeError(err)}; stopping\n`);
    stop().finally(() => process.exit(EXIT.unhealthy));
  };
  process.once('uncaughtException', fatal);
  process.once('unhandledRejection', fatal);
}
