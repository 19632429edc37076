/** `helpdesk-monitor status`: one row per app: PM2, health now, ports and holders, the monitor's view. */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ConfigError, UsageError, describeError } from '../errors.js';
import type { MonitorConfig } from '../config/schema.js';
import { stateDirHint } from '../config/load.js';
import type { Pm2Port } from '../pm2/adapter.js';
import { controlFilePath, readControl } from '../state/control.js';
import { MONITOR_LEGEND, renderStatusTable, type StatusRow } from './status-table.js';
import { pauseInForce } from '../engine/control-log.js';
import type { AppStateRecord } from '../engine/state-document.js';
import { readStateDocument, stateFilePath } from '../state/state-file.js';
import { inspectLock } from '../lock/lock.js';
import { pm2Home, stateDir } from '../paths.js';
import { snapshotSync } from '../ports/sync.js';
import { procAvailable, procFacts } from '../proc/read.js';
import { killLimit } from '../proc/users.js';
import { redactText } from '../redact.js';
import { printJson } from './json.js';
import { statusRow } from '../status/rows.js';
import { updateStatus } from '../update/view.js';
import { scheduleStatus } from '../schedules/view.js';
import { parse } from './args.js';
import { appConfigFor, inspectApps } from '../app/inspect.js';
import { connect, optionalConfig } from './context.js';
import { EXIT } from './exit.js';

export const help = `Usage: helpdesk-monitor status [APP...] [--config FILE] [--json]

One row per app (the configured ones and every PM2 app): PM2 status, pid, uptime, restarts,
a live health probe with its latency, the app's ports and who holds them, and the monitor's
view (phase, consecutive failures, last remedy) from its state file, and for an app with PM2's
cron_restart its schedule (owner pm2 or monitor, next tick, last firing). Health is judged by the
monitor's own engine: every probe and rule the app has (HTTP, TCP, exec, log, memory), its
restart strategy, startup grace and thresholds, so status and check never disagree; an app
that is not healthy gets a line saying why. Nothing is restarted.

Options:
  -c, --config FILE   config file (for health URLs, ports and the state dir)
      --json          print one JSON document on stdout
  -h, --help          this help

With an invalid or missing config, status still answers: the config error first (on stderr, and
as config_error in JSON), then PM2's list with PM2 status alone and the last saved state (the
state_dir written in the broken file if it can be read, else the default), and exit 2.

${MONITOR_LEGEND}

Exit codes: 0 every listed app is online and healthy, 1 otherwise or PM2 is down,
2 bad usage or invalid config (the table is still printed).

Example:
  helpdesk-monitor status --json | jq '.apps[] | select(.healthy | not) | .name'
`;

export async function main(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parse(argv, { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } });
  if (values.help) {
    process.stdout.write(help);
    return;
  }
  const home = pm2Home();
  // An invalid or missing config must not hide PM2's list: that is when the operator needs it.
  let config: MonitorConfig | undefined;
  let configError: ConfigError | undefined;
  try {
    config = optionalConfig(values.config, home);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    configError = err;
    process.stderr.write(`helpdesk-monitor: ${err.message}\nstatus without the config: PM2's list, default probes (PM2 status only) and the last saved state\n\n`);
  }
  const dir = stateDir(config?.stateDir ?? (configError ? stateDirHint(configError.file) : undefined));
  let pm2: Pm2Port;
  try {
    pm2 = await connect(home, false);
  } catch (err) {
    if (!configError) throw err;
    process.stderr.write(`helpdesk-monitor: ${describeError(err)}\n`);
    process.exitCode = EXIT.usage;
    return;
  }
  let rows: StatusRow[];
  try {
    const list = await pm2.list();
    const names = [...new Set([...(config?.apps.map((a) => a.name) ?? []), ...list.filter((p) => !p.isModule).map((p) => p.name)])];
    const unknown = positionals.filter((n) => !names.includes(n));
    if (unknown.length > 0) throw new UsageError(`unknown app(s): ${unknown.join(', ')}`);
    const state = readStateDocument(stateFilePath(dir));
    const control = readControl(controlFilePath(dir));
    // The engine's own inspection: every probe and rule, judged as a check judges it.
    const looks = await inspectApps({ pm2, names: names.filter((n) => positionals.length === 0 || positionals.includes(n)), ...(config ? { config } : {}) });
    rows = looks.map((look): StatusRow => {
      const app = appConfigFor(look.app, config);
      const holders = procAvailable && app.ports.length > 0 ? snapshotSync(app.ports).holders : [];
      const monitor = withPause(state?.apps[look.app], control.get(look.app)?.pausedUntil);
      const update = app.update ? updateStatus(dir, look.app, app.update) : undefined;
      const configured = config?.apps.some((a) => a.name === look.app) ?? false;
      const schedule = scheduleStatus(dir, look.app, app.schedule, list.filter((p) => p.name === look.app && !p.isModule), Date.now(), configured);
      return statusRow({ app, strategy: look.strategy, observation: look.observation, verdict: look.verdict, holders, ...(monitor ? { monitor } : {}), ...(update ? { update } : {}), ...(schedule ? { schedule } : {}) });
    });
  } finally {
    await pm2.close();
  }
  const lock = readLock(join(dir, 'monitor.lock'));
  const healthy = rows.every((r) => r.healthy);
  if (values.json) {
    const problem = configError ? { config_error: { file: configError.file, message: configError.message, issues: configError.issues } } : {};
    // Where each top-level setting came from (env VAR, file, default): names only, never a secret's value.
    const sources = config?.sources ? { sources: config.sources } : {};
    printJson({ healthy, ...problem, ...sources, monitor: lock ?? null, apps: rows });
  } else {
    process.stdout.write(redactText(renderStatusTable(rows, monitorLine(lock))));
  }
  process.exitCode = configError ? EXIT.usage : healthy ? EXIT.ok : EXIT.unhealthy;
}

/**
 * The pause is the operator's word in control.json: shown at once, even before a running monitor
 * has applied it (or when none runs), and gone at once after `resume`.
 */
function withPause(rec: AppStateRecord | undefined, paused: number | 'indefinite' | undefined): AppStateRecord | undefined {
  // A pause that has ended is no pause (the file keeps it until the next pause or resume).
  const inForce = pauseInForce(paused, Date.now());
  const paused_until = inForce === undefined ? undefined : inForce === 'indefinite' ? 'indefinite' : new Date(inForce).toISOString();
  if (!rec && paused_until === undefined) return undefined;
  const { paused_until: _stale, ...base } = rec ?? { phase: 'unknown' as const, consecutive_failures: 0, failed_remedies: 0 };
  return { ...base, ...(paused_until === undefined ? {} : { paused_until }) };
}

function monitorLine(lock: ReturnType<typeof readLock>): string {
  if (lock?.live) return `monitor: running as pid ${lock.pid} on ${lock.hostname}${lock.kill_limit ? `\nmonitor: ${lock.kill_limit}` : ''}`;
  return lock ? `monitor: not running (stale lock of pid ${lock.pid}; the next start takes it over)` : 'monitor: not running (no lock held)';
}

function readLock(path: string): { pid: number; hostname: string; started_at: string; live: boolean; uid?: number; kill_limit?: string } | undefined {
  const held = inspectLock(path);
  if (!held) return undefined;
  // The live holder's uid (this host): what it cannot kill, as its start line says.
  const uid = held.live && held.record.hostname === hostname() ? procFacts(held.record.pid)?.uid : undefined;
  const limit = uid === undefined || uid < 0 ? undefined : killLimit(uid);
  return {
    pid: held.record.pid, hostname: held.record.hostname, started_at: held.record.started_at, live: held.live,
    ...(uid === undefined || uid < 0 ? {} : { uid }), ...(limit ? { kill_limit: limit } : {}),
  };
}
