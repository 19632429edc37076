/** `helpdesk-monitor hook pre-start --app NAME`: the pre-start step as a command (wrapper, non-node apps). */
import { systemClock } from '../clock.js';
import { UsageError } from '../errors.js';
import { freePortsAroundLive } from '../strategies/pm2.js';
import { describeFreed } from '../steps/wording.js';
import { pm2Home, stateDir } from '../paths.js';
import { killLogIn } from '../ports/kill-log.js';
import { createHttpProber } from '../probes/http.js';
import { parse } from './args.js';
import { freedJson, printJson } from './json.js';
import { connectIfRunning, optionalConfig } from './context.js';
import { EXIT } from './exit.js';

export const help = `Usage: helpdesk-monitor hook pre-start --app NAME [--config FILE] [--json]

Free the app's configured ports before it starts, with the same code and safety rules as the
monitor (kill_scope, never PID 1, the PM2 daemon, the monitor, or the app's live instances).
For node apps under PM2, preload hooks/pre-start.cjs instead: it runs before every start,
PM2's own autorestarts included (see the README). This command is for scripts and non-node apps.

Options:
  -a, --app NAME      the app (its ports and kill_scope come from the config)
  -c, --config FILE   config file
      --json          print the result as JSON on stdout
  -h, --help          this help

Exit codes: 0 the ports are free, 1 a port is still held, 2 bad usage or invalid config.

Example:
  helpdesk-monitor hook pre-start --app helpdesk-backend && ./start-backend.sh
`;

export async function main(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parse(argv, { app: { type: 'string', short: 'a' }, config: { type: 'string', short: 'c' }, json: { type: 'boolean' } });
  if (values.help) return void process.stdout.write(help);
  if (positionals[0] !== 'pre-start' || positionals.length !== 1) throw new UsageError('usage: helpdesk-monitor hook pre-start --app NAME');
  if (!values.app) throw new UsageError('hook pre-start needs --app NAME');
  const home = pm2Home();
  const config = optionalConfig(values.config, home);
  const app = config?.apps.find((a) => a.name === values.app);
  if (!app) throw new UsageError(`--app: "${values.app}" is not in the config${config ? ` ${config.source}` : ' (no config given: pass --config FILE)'}`);
  const pm2 = await connectIfRunning(home);
  const prober = createHttpProber();
  try {
    const deps = { pm2, prober, clock: systemClock, killLog: killLogIn(stateDir(config?.stateDir), 'hook pre-start') };
    const r = await freePortsAroundLive(app, deps);
    const ok = r.free || r.live > 0;
    // A holder's command line stays whole, but no raw control character reaches the terminal.
    if (values.json) printJson({ app: app.name, ok, ...freedJson(r) });
    else process.stderr.write(`${app.name}: ${describeFreed(r)}\n`);
    process.exitCode = ok ? EXIT.ok : EXIT.unhealthy;
  } finally {
    prober.close();
    await pm2.close();
  }
}
