/** `helpdesk-monitor check`: one engine pass for cron or a systemd timer, within a deadline. */
import { runCheck, type CheckResult } from '../app/check.js';
import { healthJson, printJson, remedyJson, type HealthJson } from './json.js';
import { MAX_TIMER_MS, formatDuration, parseDuration } from '../config/duration.js';
import { loadConfig, locateConfig } from '../config/load.js';
import { inspectApps } from '../app/inspect.js';
import type { Inspection } from '../engine/worker.js';
import { connect } from './context.js';
import { UsageError } from '../errors.js';
import { pm2Home } from '../paths.js';
import { parse } from './args.js';
import { EXIT } from './exit.js';
import { redactText } from '../redact.js';

export const help = `Usage: helpdesk-monitor check [--app NAME]... [--config FILE] [--deadline DURATION] [--dry-run]
                              [--strict] [--exit-remedied] [--json] [--verbose]

One pass of the monitor: probe every configured app (or the named ones), re-probe a failing app
up to its failure_threshold at its interval, and remedy it (stop, free ports, start, verify) as
the long-running monitor would. Meant for cron or a systemd timer.

The PM2 daemon first (supervisor: in the config): it is pinged, never spawned by a connect. One
that died (SIGKILL, the OOM killer: its pid file is left) is brought back with \`pm2 resurrect\`
from a usable dump (dump.pm2, else the last good copy kept in the state dir), once, under a
resurrect lock, after making sure no daemon of this PM2_HOME is alive; then the pass checks the
apps and one line (and one daemon_resurrected notification) tells the story. A daemon stopped
cleanly (\`pm2 kill\`) is left alone; one alive but not answering is never doubled: check exits 1
naming its pid (supervisor.kill_hung_daemon: true kills it and brings it back). With
supervisor.resurrect: never, a dead daemon is reported and check exits 1.

While the PM2 module or \`helpdesk-monitor run\` is active, it holds the lock and check exits 3
at once without doing anything: treat 3 as success in timers, so the fallback stays quiet while
the monitor runs and takes over when it does not.

Deadline: the whole pass ends in bounded time, whatever an app does (a /health that never
finishes its answer, a stuck command). The deadline comes from the config, for the slowest of
the checked apps (they are checked in parallel, except that an app with depends_on is checked
after its dependencies have settled: then the slowest of each such layer counts, added up):
  startup_grace + (failure_threshold + 2) x interval + 2 checks (its probe timeouts, times the
  rounds of apps sharing the concurrency slots, plus a PM2 list) + one remedy (pre_restart_timeout,
  then per attempt PM2's stop and start limits of 30s each, kill_grace and verify_timeout, plus
  the restart delays), plus 13s to reach PM2 and a 10s margin.
With the defaults this is about 3 minutes. It starts once PM2 answers: bringing a dead daemon
back has its own limits (supervisor.resurrect_timeout); --deadline counts that time too. At the deadline, check logs the apps it had not
finished, reports them as unhealthy, releases the lock and exits 1 (a remedy still running is cut
short). --json shows the deadline as deadline_ms and the unfinished apps as unfinished.

Options:
  -a, --app NAME      check only this app (repeatable)
  -c, --config FILE   config file
      --deadline DURATION  end the pass after this long instead (e.g. 4m under a 5-minute timer)
      --dry-run       probe every app once and say what a check would do, without acting (no
                      re-probes, no remedy, no lock, no state written); the judgement is the
                      engine's, the same one \`status\` prints
      --strict        count an app stopped through PM2 as a failure (by default it is left
                      alone and reported as STOP, exit 0: a maintenance stop must not fail
                      every timer run)
      --exit-remedied exit 4 instead of 0 when everything is healthy but an app needed a remedy
                      in this pass (for timers that alert on it)
      --json          print one JSON document on stdout (logs go to the log file only)
  -v, --verbose       log at debug level
  -h, --help          this help

Output: one line per app on stdout: \`OK   app: healthy\`, \`OK   app: remedied (why); healthy
again after 2.3s\`, \`STOP app: stopped through PM2; left alone\`, or \`FAIL app: why\`. The log
(what the engine did, step by step) goes to stderr and the log file.

Exit codes: 0 every app healthy, remedied or stopped on purpose, 1 something is still unhealthy,
PM2 is down (and was not brought back) or hung, or the deadline passed, 2 bad usage or invalid config, 3 skipped: another live
instance holds the lock, 4 healthy after a remedy (only with --exit-remedied).

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
    strict: { type: 'boolean' },
    'exit-remedied': { type: 'boolean' },
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
  const strict = values.strict === true;
  const outcomes = outcomesOf(result, strict);
  const failed = outcomes.some((o) => o.result === 'failed' || o.result === 'unfinished');
  const remedied = outcomes.some((o) => o.result === 'remedied');
  if (values.json) {
    const by = (r: AppOutcome['result']): string[] => outcomes.filter((o) => o.result === r).map((o) => o.name);
    const doc = {
      healthy: !failed, strict, remedied: by('remedied'), stopped: by('stopped'),
      apps: outcomes.map(({ line: _line, ...o }) => o),
      deadline_ms: result.deadlineMs,
      ...(result.unfinished.length > 0 ? { unfinished: result.unfinished } : {}),
    };
    printJson(doc);
  } else {
    for (const o of outcomes) process.stdout.write(redactText(`${o.line}\n`));
  }
  if (result.unfinished.length > 0) {
    // Unfinished checks are still running: end them with the process (the lock is released).
    process.exit(EXIT.unhealthy);
  }
  process.exitCode = failed ? EXIT.unhealthy : remedied && values['exit-remedied'] ? EXIT.remedied : EXIT.ok;
}

/** What the pass came to for one app, and the line that says it. */
interface AppOutcome {
  readonly name: string;
  /** healthy; remedied (healthy after a remedy in this pass); stopped through PM2 on purpose; failed; unfinished at the deadline. */
  readonly result: 'healthy' | 'remedied' | 'stopped' | 'failed' | 'unfinished';
  readonly healthy: boolean;
  readonly phase: string;
  readonly consecutive_failures: number;
  readonly reason?: string;
  readonly health?: HealthJson;
  readonly remedy?: ReturnType<typeof remedyJson>;
  readonly line: string;
}

/**
 * Judge each app for the exit code. An app stopped through PM2 (and not left stopped by a failed
 * remedy) is someone's decision, not a failure: a maintenance stop must not fail every timer run.
 * `--strict` counts it as failed.
 */
function outcomesOf(result: CheckResult, strict: boolean): AppOutcome[] {
  const cut = ` (unfinished at the ${formatDuration(result.deadlineMs)} deadline)`;
  const out = result.views.map((v): AppOutcome => {
    const late = result.unfinished.includes(v.app);
    const r = v.lastRemedy;
    const phase = v.state.phase;
    const outcome: AppOutcome['result'] = late ? 'unfinished' : phase === 'healthy' ? (r?.ok ? 'remedied' : 'healthy') : phase === 'stopped' && !strict ? 'stopped' : 'failed';
    const why = v.state.lastReason ? `: ${v.state.lastReason}` : '';
    const line = {
      healthy: `OK   ${v.app}: healthy`,
      remedied: `OK   ${v.app}: remedied (${r?.reason}); healthy again after ${formatDuration(r?.timeToHealthyMs ?? r?.totalMs ?? 0)}`,
      stopped: `STOP ${v.app}: stopped through PM2; left alone (--strict counts it as a failure)`,
      failed: `FAIL ${v.app}: ${phase}${why}${r ? ` (remedy ${r.ok ? 'succeeded' : `failed: ${r.failure}`})` : ''}`,
      unfinished: `FAIL ${v.app}: ${phase}${why}${cut}`,
    }[outcome];
    return {
      name: v.app, result: outcome, healthy: outcome === 'healthy' || outcome === 'remedied', phase, consecutive_failures: v.state.consecutiveFailures,
      ...(v.state.lastReason ? { reason: v.state.lastReason } : {}),
      ...(v.lastObservation?.http ? { health: healthJson(v.lastObservation.http) } : {}),
      ...(r ? { remedy: remedyJson(r, v.history.at(-1)?.at) } : {}),
      line,
    };
  });
  // Apps the deadline caught before the engine even started (PM2 slow to answer).
  for (const name of result.unfinished.filter((n) => !result.views.some((v) => v.app === n))) {
    out.push({ name, result: 'unfinished', healthy: false, phase: 'unknown', consecutive_failures: 0, line: `FAIL ${name}: not checked${cut}` });
  }
  return out;
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
    printJson({ healthy, dry_run: true, apps });
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
