/** `helpdesk-monitor check`: one engine pass for cron or a systemd timer. */
import { locateConfig } from '../config/load.js';
import { UsageError } from '../errors.js';
import { runCheck } from '../engine/runner.js';
import { pm2Home } from '../paths.js';
import { parse } from './args.js';
import { EXIT } from './exit.js';
import { redactDeep, redactText } from '../redact.js';

export const help = `Usage: helpdesk-monitor check [--app NAME]... [--config FILE] [--json] [--verbose]

One pass of the monitor: probe every configured app (or the named ones), re-probe a failing app
up to its failure_threshold at its interval, and remedy it (stop, free ports, start, verify) as
the long-running monitor would. Meant for cron or a systemd timer; it never starts a PM2 daemon.

While the PM2 module or \`helpdesk-monitor run\` is active, it holds the lock and check exits 3
at once without doing anything: treat 3 as success in timers, so the fallback stays quiet while
the monitor runs and takes over when it does not.

Options:
  -a, --app NAME      check only this app (repeatable)
  -c, --config FILE   config file
      --json          print one JSON document on stdout (logs go to stderr and the log file)
  -v, --verbose       log at debug level
  -h, --help          this help

Exit codes: 0 all healthy (after remedies), 1 something is still unhealthy or PM2 is down,
2 bad usage or invalid config, 3 skipped: another live instance holds the lock.

Example (crontab, every 5 minutes):
  */5 * * * * helpdesk-monitor check --config /srv/helpdesk/monitor.yaml || [ $? -eq 3 ]
`;

export async function main(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    app: { type: 'string', short: 'a', multiple: true },
    config: { type: 'string', short: 'c' },
    json: { type: 'boolean' },
    verbose: { type: 'boolean', short: 'v' },
  });
  if (values.help) {
    process.stdout.write(help);
    return;
  }
  if (positionals.length > 0) throw new UsageError(`check takes no arguments (got "${positionals.join(' ')}"); use --app NAME`);
  const home = pm2Home();
  const location = locateConfig(values.config, process.env, home);
  const result = await runCheck({
    configPath: location.path, pm2Home: home,
    ...(values.app ? { apps: values.app } : {}),
    ...(values.verbose ? { logLevel: 'debug' as const } : {}),
    console: values.json ? 'none' : 'stderr',
  });
  if (values.json) {
    const apps = result.views.map((v) => ({
      name: v.app,
      healthy: v.state.phase === 'healthy',
      phase: v.state.phase,
      consecutive_failures: v.state.consecutiveFailures,
      ...(v.state.lastReason ? { reason: v.state.lastReason } : {}),
      ...(v.lastObservation?.http ? { health: v.lastObservation.http } : {}),
      ...(v.lastRemedy ? { remedy: { ok: v.lastRemedy.ok, reason: v.lastRemedy.reason, failure: v.lastRemedy.failure, steps: v.lastRemedy.steps, killed: v.lastRemedy.ports?.killed ?? [], refused: v.lastRemedy.ports?.refused ?? [] } } : {}),
    }));
    process.stdout.write(`${JSON.stringify(redactDeep({ healthy: result.healthy, apps }), null, 2)}\n`);
  } else {
    for (const v of result.views) {
      const remedy = v.lastRemedy ? ` (remedy ${v.lastRemedy.ok ? 'succeeded' : `failed: ${v.lastRemedy.failure}`})` : '';
      process.stderr.write(redactText(`${v.state.phase === 'healthy' ? 'OK  ' : 'FAIL'} ${v.app}: ${v.state.phase}${v.state.lastReason ? `: ${v.state.lastReason}` : ''}${remedy}\n`));
    }
  }
  process.exitCode = result.healthy ? EXIT.ok : EXIT.unhealthy;
}
