/** `helpdesk-monitor run`: the module's engine in the foreground (systemd services, debugging). */
import { logStatus, startMonitor } from '../app/lifetime.js';
import { locateConfig } from '../config/load.js';
import { pm2Home } from '../paths.js';
import { parse } from './args.js';
import { exitOnSignals } from './exit.js';

export const help = `Usage: helpdesk-monitor run [--config FILE] [--verbose]

Run the monitor in the foreground: the same engine as the PM2 module. Probes every configured
app on its interval, reacts at once to PM2 crash events, and remedies unhealthy apps (stop, free
ports, start, verify). Reloads the config when the file changes or on SIGHUP; an invalid new
config is reported and the last good one keeps running. Stops cleanly on SIGINT/SIGTERM: a
remedy in progress gets up to 6 s to finish, else it is abandoned and journaled (the next start
of run, the module or check finishes it), state and log are flushed, the lock is released, exit
0 within 10 s; a second signal exits at once (130 for SIGINT, 143 for SIGTERM). SIGUSR1 writes the status document (the status command's JSON) to the log. With an http:
block in the config it serves /metrics, the status page and /api/status (README: Observability).

Options:
  -c, --config FILE   config file (YAML, JSON or ecosystem.config.js); default:
                      $HELPDESK_MONITOR_CONFIG, then \`pm2 set helpdesk-monitor:config\`
  -v, --verbose       log at debug level
  -h, --help          this help

Exit codes: 0 stopped cleanly, 1 could not start (e.g. the http: port is taken), 2 invalid config,
3 another monitor holds the lock, 130/143 a second SIGINT/SIGTERM while stopping.

Example:
  helpdesk-monitor run --config /srv/helpdesk/monitor.yaml
`;

export async function main(argv: readonly string[]): Promise<void> {
  const { values } = parse(argv, { config: { type: 'string', short: 'c' }, verbose: { type: 'boolean', short: 'v' } });
  if (values.help) {
    process.stdout.write(help);
    return;
  }
  const home = pm2Home();
  const location = locateConfig(values.config, process.env, home);
  const starting = startMonitor({
    configPath: location.path, pm2Home: home,
    // Under PM2 (a plain app), every line goes to the out log, errors too (level in the line):
    // `pm2 logs` prints the err file and the out file apart, and the story must read in order.
    console: process.env['pm_id'] === undefined ? 'stderr' : 'stdout',
    ...(values.verbose ? { logLevel: 'debug' as const } : {}),
  });
  // Installed before the start finishes: a SIGTERM while it runs (after "watching" is logged)
  // must still stop the monitor and give the lock back, not kill it with the lock left behind.
  exitOnSignals(async () => (await starting.catch(() => undefined))?.stop());
  // SIGHUP re-reads the config (one that arrives while starting, once started).
  process.on('SIGHUP', () => void starting.then((m) => m.reload(), () => undefined));
  // SIGUSR1 writes the status document to the log (Node's own use of it, the inspector, is off then).
  process.on('SIGUSR1', () => void starting.then((m) => logStatus(m), () => undefined));
  await starting;
}
