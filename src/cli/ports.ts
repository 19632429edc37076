/** `cleanup-ports` and `kill-port`: the original scripts as commands, on the shared ports module. */
import { systemClock } from '../clock.js';
import { parseDuration } from '../config/duration.js';
import { UsageError } from '../errors.js';
import { freePortsAroundLive } from '../strategies/pm2.js';
import { describeFreed } from '../steps/wording.js';
import { pm2Home, stateDir } from '../paths.js';
import { killLogIn } from '../ports/kill-log.js';
import { readDaemonPid, type Pm2Port, type ProcessInfo } from '../pm2/adapter.js';
import { runFreePorts } from '../ports/async.js';
import { buildScope } from '../ports/context.js';
import type { FreePortsResult } from '../ports/free-port.js';
import { createHttpProber } from '../probes/http.js';
import { parsePort } from '../text/port.js';
import { printable } from '../text/printable.js';
import { parse } from './args.js';
import { freedJson, printJson } from './json.js';
import { pm2AppsIn, withPm2Notes, type Pm2AppOf } from './port-report.js';
import { connectIfRunning, optionalConfig } from './context.js';
import { EXIT } from './exit.js';

export const cleanupHelp = `Usage: helpdesk-monitor cleanup-ports [--app NAME|all] [--dry-run] [--config FILE] [--json]

Free the configured ports of an app (default: all configured apps): find every process that
listens on them, SIGTERM, wait kill_grace, SIGKILL, confirm the port is free. Only processes in
the app's kill_scope are touched (default: the app's own processes); the app's live PM2
instances are spared; PID 1, the PM2 daemon and the monitor are never killed. Every kill and
every refusal is printed with pid, command, owner and reason.

Options:
  -a, --app NAME|all  which app's ports (default: all)
  -n, --dry-run       list what would be killed, kill nothing
  -c, --config FILE   config file (ports and kill_scope per app)
      --json          print the results as JSON on stdout
  -h, --help          this help

Exit codes: 0 every port is free (or held only by the app's live instances), 1 a port is still
held, 2 bad usage or invalid config.

Example:
  helpdesk-monitor cleanup-ports --app helpdesk-backend --dry-run
`;

export const killHelp = `Usage: helpdesk-monitor kill-port PORT... [--dry-run] [--grace 2s] [--json]

Free the given TCP ports: an explicit operator action, so any listener is a target, except
PID 1, the PM2 daemon and the monitor itself (and its parent shell), which are never killed.
SIGTERM first, SIGKILL after the grace, then confirm the port is free. A listener that is a live
PM2 app (or a child of one) is named as such: PM2 may restart the app after the kill, and
\`helpdesk-monitor stop APP\` is the way to stop it for good.
PORT is a plain decimal number 1-65535. Command lines are printed with control characters
escaped (\\x1b), never raw.

Options:
  -n, --dry-run       list what would be killed, kill nothing
  -g, --grace DUR     time between SIGTERM and SIGKILL (default 2s)
      --json          print the result as JSON on stdout
  -h, --help          this help

Exit codes: 0 all ports free, 1 a port is still held, 2 bad usage.

Example:
  helpdesk-monitor kill-port 5000 3000
`;

export async function cleanupMain(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    app: { type: 'string', short: 'a' },
    'dry-run': { type: 'boolean', short: 'n' },
    config: { type: 'string', short: 'c' },
    json: { type: 'boolean' },
  });
  if (values.help) return void process.stdout.write(cleanupHelp);
  if (positionals.length > 0) throw new UsageError(`cleanup-ports takes no arguments (got "${printable(positionals.join(' '))}"); use --app NAME`);
  const home = pm2Home();
  const config = optionalConfig(values.config, home);
  if (!config) throw new UsageError('cleanup-ports needs a config with ports: pass --config FILE (or use kill-port PORT)');
  const which = values.app ?? 'all';
  const apps = which === 'all' ? config.apps : config.apps.filter((a) => a.name === which);
  if (apps.length === 0) throw new UsageError(`--app: "${printable(which)}" is not in the config ${printable(config.source)}`);
  const pm2 = await connectIfRunning(home);
  const deps = { pm2, prober: createHttpProber(), clock: systemClock, killLog: killLogIn(stateDir(config.stateDir), 'cleanup-ports') };
  const results: Outcome[] = [];
  try {
    // Read before anything is killed: a killed app's pid is gone (or replaced) after.
    const list = await listOf(pm2);
    for (const app of apps.filter((a) => a.ports.length > 0)) {
      const r = await freePortsAroundLive(app, deps, values['dry-run'] === true);
      // Ports held only by the app's own live instances are in use, not squatted.
      results.push({ app: app.name, result: r, ok: r.free || r.live > 0, pm2Apps: pm2AppsIn(r, list) });
    }
  } finally {
    deps.prober.close();
    await pm2.close();
  }
  report(results, values.json === true, values['dry-run'] === true);
}

export async function killMain(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    'dry-run': { type: 'boolean', short: 'n' },
    grace: { type: 'string', short: 'g' },
    json: { type: 'boolean' },
  });
  if (values.help) return void process.stdout.write(killHelp);
  if (positionals.length === 0) throw new UsageError('kill-port needs at least one PORT');
  const ports = positionals.map((p) => {
    const n = parsePort(p);
    if (n === undefined) throw new UsageError(`not a TCP port: "${printable(p)}" (expected a plain decimal number 1-65535, like 5000)`);
    return n;
  });
  const graceMs = values.grace === undefined ? 2000 : parseDuration(values.grace);
  if (graceMs === undefined) throw new UsageError(`--grace: expected a duration like 2s, got "${printable(values.grace ?? '')}"`);
  const home = pm2Home();
  const daemonPid = readDaemonPid(home);
  // PM2's list before anything is killed: a killed app's pid is gone (or already replaced) after.
  // No daemon pid file, no PM2 to ask (and no PM2 library to load).
  const list = daemonPid ? await listOf(await connectIfRunning(home), true) : [];
  const scope = buildScope({ scope: 'port', ...(daemonPid ? { daemonPid } : {}), killLog: killLogIn(stateDir(undefined), 'kill-port') });
  const result = await runFreePorts({ ports, scope, graceMs, now: () => performance.now(), dryRun: values['dry-run'] === true });
  report([{ app: '(kill-port)', result, ok: result.free, pm2Apps: pm2AppsIn(result, list) }], values.json === true, values['dry-run'] === true);
}

/** PM2's processes, or none when PM2 does not answer (the ports are freed all the same). */
async function listOf(pm2: Pm2Port, close = false): Promise<ProcessInfo[]> {
  try {
    return await pm2.list();
  } catch {
    return [];
  } finally {
    if (close) await pm2.close();
  }
}

interface Outcome {
  readonly app: string;
  readonly result: FreePortsResult;
  readonly ok: boolean;
  /** The pids of the result that are live PM2 apps (or their children). */
  readonly pm2Apps: ReadonlyMap<number, Pm2AppOf>;
}

function report(results: readonly Outcome[], json: boolean, dryRun: boolean): void {
  // A dry run changes nothing, so it succeeds when it could look.
  const ok = dryRun || results.every((r) => r.ok);
  if (json) {
    // Commands stay whole in JSON (a consumer may match on them); printJson escapes what JSON.stringify leaves raw.
    printJson({ ok, dry_run: dryRun, results: results.map((r) => ({ app: r.app, ...freedJson(r.result, r.pm2Apps) })) });
  } else {
    for (const { app, result: plain, pm2Apps } of results) {
      const result = withPm2Notes(plain, pm2Apps);
      const prefix = app === '(kill-port)' ? '' : `${app}: `;
      // A command line is whatever its process chose (escape sequences included): printed, never obeyed.
      for (const w of result.wouldKill) process.stdout.write(`${prefix}would kill pid ${w.pid} (${printable(w.command)}) on port ${w.port}: ${printable(w.why, 1000)}\n`);
      if (!dryRun || result.refused.length > 0 || result.wouldKill.length === 0) process.stdout.write(`${prefix}${describeFreed(result)}\n`);
    }
  }
  process.exitCode = ok ? EXIT.ok : EXIT.unhealthy;
}
