/** `helpdesk-monitor check`: one engine pass for cron or a systemd timer, within a deadline. */
import { runCheck } from '../app/check.js';
import { MAX_TIMER_MS, formatDuration, parseDuration } from '../config/duration.js';
import { loadConfig, locateConfig } from '../config/load.js';
import { inspectApps } from '../app/inspect.js';
import type { Inspection } from '../engine/worker.js';
import { connect } from './context.js';
import { UsageError } from '../errors.js';
import { pm2Home } from '../paths.js';
import { parse } from './args.js';
import { EXIT } from './exit.js';
import { redactDeep, redactText } from '../redact.js';

export const help = `Usage: helpdesk-monitor check [--app NAME]... [--config FILE] [--deadline DURATION] [--dry-run] [--json] [--verbose]

One pass of the monitor: probe every configured app (or the named ones), re-probe a failing app
up to its failure_threshold at its interval, and remedy it (stop, free ports, start, verify) as
the long-running monitor would. Meant for cron or a systemd timer; it never starts a PM2 daemon.

While the PM2 module or \`helpdesk-monitor run\` is active, it holds the lock and check exits 3
at once without doing anything: treat 3 as success in timers, so the fallback stays quiet while
the monitor runs and takes over when it does not.

Deadline: the whole pass ends in bounded time, whatever an app does (a /health that never
finishes its answer, a stuck command). The deadline comes from the config, for the slowest of
the checked apps (they are checked in parallel):
  startup_grace + (failure_threshold + 2) x interval + 2 checks (its probe timeouts, times the
  rounds of apps sharing the concurrency slots, plus a PM2 list) + one remedy (pre_restart_timeout,
  then per attempt PM2's stop and start limits of 30s each, kill_grace and verify_timeout, plus
  the restart delays), plus 13s to reach PM2 and a 10s margin.
With the defaults this is about 3 minutes. At the deadline, check logs the apps it had not
finished, reports them as unhealthy, releases the lock and exits 1 (a remedy still running is cut
short). --json shows the deadline as deadline_ms and the unfinished apps as unfinished.

Options:
  -a, --app NAME      check only this app (repeatable)
  -c, --config FILE   config file
      --deadline DURATION  end the pass after this long instead (e.g. 4m under a 5-minute timer)
      --dry-run       probe every app once and say what a check would do, without acting (no
                      re-probes, no remedy, no lock, no state written); the judgement is the
                      engine's, the same one \`status\` prints
      --json          print one JSON document on stdout (logs go to stderr and the log file)
  -v, --verbose       log at debug level
  -h, --help          this help

Exit codes: 0 all healthy (after remedies), 1 something is still unhealthy, PM2 is down or the
deadline passed, 2 bad usage or invalid config, 3 skipped: another live instance holds the lock.

Example (crontab, every 5 minutes):
  */5 * * * * helpdesk-monitor check --config /srv/helpdesk/monitor.yaml || [ $? -eq 3 ]
`;

export async function main(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    app: { type: 'string', short: 'a', multiple: true },
    config: { type: 'string', short: 'c' },
    deadline: { type: 'string' },
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
    verbose: { type: 'boolean', short: 'v' },
  });
  if (values.help) {
    process.stdout.write(help);
    return;
  }
  if (positionals.length > 0) throw new UsageError(`check takes no arguments (got "${positionals.join(' ')}"); use --app NAME`);
  const deadlineMs = values.deadline === undefined ? undefined : parseDeadline(values.deadline);
  const home = pm2Home();
  const location = locateConfig(values.config, process.env, home);
  if (values['dry-run']) return dryRun(location.path, home, values.app, values.json === true);
  // A timer or an operator stopping the check: exit through 'exit', which releases the lock.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(128 + (sig === 'SIGINT' ? 2 : 15)));
  const result = await runCheck({
    configPath: location.path, pm2Home: home,
    ...(values.app ? { apps: values.app } : {}),
    ...(deadlineMs === undefined ? {} : { deadlineMs }),
    ...(values.verbose ? { logLevel: 'debug' as const } : {}),
    console: values.json ? 'none' : 'stderr',
  });
  if (values.json) {
    const apps = result.views.map((v) => ({
      name: v.app,
      healthy: v.state.phase === 'healthy' && !result.unfinished.includes(v.app),
      ...(result.unfinished.includes(v.app) ? { unfinished: true } : {}),
      phase: v.state.phase,
      consecutive_failures: v.state.consecutiveFailures,
      ...(v.state.lastReason ? { reason: v.state.lastReason } : {}),
      ...(v.lastObservation?.http ? { health: v.lastObservation.http } : {}),
      ...(v.lastRemedy ? { remedy: { ok: v.lastRemedy.ok, reason: v.lastRemedy.reason, failure: v.lastRemedy.failure, steps: v.lastRemedy.steps, killed: v.lastRemedy.ports?.killed ?? [], refused: v.lastRemedy.ports?.refused ?? [] } } : {}),
    }));
    const doc = { healthy: result.healthy, apps, deadline_ms: result.deadlineMs, ...(result.unfinished.length > 0 ? { unfinished: result.unfinished } : {}) };
    process.stdout.write(`${JSON.stringify(redactDeep(doc), null, 2)}\n`);
  } else {
    const cut = ` (unfinished at the ${formatDuration(result.deadlineMs)} deadline)`;
    for (const v of result.views) {
      const late = result.unfinished.includes(v.app);
      const remedy = v.lastRemedy ? ` (remedy ${v.lastRemedy.ok ? 'succeeded' : `failed: ${v.lastRemedy.failure}`})` : '';
      process.stderr.write(redactText(`${v.state.phase === 'healthy' && !late ? 'OK  ' : 'FAIL'} ${v.app}: ${v.state.phase}${v.state.lastReason ? `: ${v.state.lastReason}` : ''}${remedy}${late ? cut : ''}\n`));
    }
    // Apps the deadline caught before the engine even started (PM2 slow to answer).
    for (const name of result.unfinished.filter((n) => !result.views.some((v) => v.app === n))) process.stderr.write(`FAIL ${name}: not checked${cut}\n`);
  }
  if (result.unfinished.length > 0) {
    // Unfinished checks are still running: end them with the process (the lock is released).
    process.exit(EXIT.unhealthy);
  }
  process.exitCode = result.healthy ? EXIT.ok : EXIT.unhealthy;
}

/** `check --dry-run`: the engine's inspection of the configured apps, printed; nothing acts. */
async function dryRun(configPath: string, home: string, only: readonly string[] | undefined, json: boolean): Promise<void> {
  const config = loadConfig(configPath);
  const unknown = (only ?? []).filter((a) => !config.apps.some((c) => c.name === a));
  if (unknown.length > 0) throw new UsageError(`--app: ${unknown.join(', ')} not in the config ${config.source}`);
  const names = config.apps.map((a) => a.name).filter((n) => !only || only.includes(n));
  const pm2 = await connect(home, false);
  let looks: Inspection[];
  try {
    looks = await inspectApps({ config, pm2, names });
  } finally {
    await pm2.close();
  }
  const apps = looks.map((l) => {
    const d = l.verdict.decision;
    return {
      name: l.app, healthy: l.verdict.healthy, strategy: l.strategy,
      ...(l.verdict.reason ? { reason: l.verdict.reason } : {}),
      phase: d.state.phase, would_remedy: d.action === 'remedy',
      ...(d.action === 'none' && d.note ? { note: d.note } : {}),
    };
  });
  const healthy = apps.every((a) => a.healthy);
  if (json) {
    process.stdout.write(`${JSON.stringify(redactDeep({ healthy, dry_run: true, apps }), null, 2)}\n`);
  } else {
    for (const a of apps) {
      const then = a.would_remedy ? ' (a check would remedy it now)' : a.healthy ? '' : a.note ? ` (${a.note})` : ` (${a.phase})`;
      process.stdout.write(redactText(`${a.healthy ? 'OK  ' : 'FAIL'} ${a.name}: ${a.healthy ? 'healthy' : a.reason}${then}\n`));
    }
  }
  process.exitCode = healthy ? EXIT.ok : EXIT.unhealthy;
}

function parseDeadline(raw: string): number {
  const ms = parseDuration(raw);
  if (ms === undefined || ms <= 0 || ms > MAX_TIMER_MS) {
    throw new UsageError(`--deadline: expected a duration greater than zero and at most ${formatDuration(MAX_TIMER_MS)}, like 4m or 90s, got "${raw}"`);
  }
  return ms;
}
