/** `helpdesk-monitor status`: one row per app: PM2, health now, ports and holders, the monitor's view. */
import { join } from 'node:path';
import { formatDuration } from '../config/duration.js';
import { UsageError } from '../errors.js';
import type { AppStateRecord } from '../engine/state-document.js';
import { readStateDocument, stateFilePath } from '../state/state-file.js';
import { inspectLock } from '../lock/lock.js';
import { pm2Home, stateDir } from '../paths.js';
import type { HttpOutcome } from '../probes/types.js';
import { snapshotSync } from '../ports/sync.js';
import { procAvailable } from '../proc/read.js';
import { redactDeep, redactText } from '../redact.js';
import { parse } from './args.js';
import { appConfigFor, inspectApps } from '../app/inspect.js';
import { connect, optionalConfig } from './context.js';
import { EXIT } from './exit.js';

export const help = `Usage: helpdesk-monitor status [APP...] [--config FILE] [--json]

One row per app (the configured ones and every PM2 app): PM2 status, pid, uptime, restarts,
a live health probe with its latency, the app's ports and who holds them, and the monitor's
view (phase, consecutive failures, last remedy) from its state file. Health is judged by the
monitor's own engine: every probe and rule the app has (HTTP, TCP, exec, log, memory), its
restart strategy, startup grace and thresholds, so status and check never disagree; an app
that is not healthy gets a line saying why. Nothing is restarted.

Options:
  -c, --config FILE   config file (for health URLs, ports and the state dir)
      --json          print one JSON document on stdout
  -h, --help          this help

Exit codes: 0 every listed app is online and healthy, 1 otherwise or PM2 is down,
2 bad usage or invalid config.

Example:
  helpdesk-monitor status --json | jq '.apps[] | select(.healthy | not) | .name'
`;

interface Row {
  readonly name: string;
  readonly healthy: boolean;
  /** Why not healthy: the failing probe or rule, PM2's state, or the startup grace. */
  readonly reason?: string;
  /** How the app runs and restarts (restart_strategy, auto resolved). */
  readonly strategy: string;
  readonly pm2: { readonly status: string; readonly pids: readonly number[]; readonly uptime_ms: number; readonly restarts: number };
  readonly health?: { readonly ok: boolean; readonly status?: number; readonly latency_ms: number; readonly failure?: string; readonly detail?: string };
  /** TCP, exec, log and memory rules, as the monitor runs them. */
  readonly probes?: readonly { readonly kind: string; readonly ok: boolean; readonly latency_ms: number; readonly detail?: string }[];
  readonly ports: readonly { readonly port: number; readonly holders: readonly { readonly pid: number; readonly command: string; readonly uid: number }[] }[];
  readonly monitor?: AppStateRecord;
}

export async function main(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parse(argv, { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } });
  if (values.help) {
    process.stdout.write(help);
    return;
  }
  const home = pm2Home();
  const config = optionalConfig(values.config, home);
  const dir = stateDir(config?.stateDir);
  const pm2 = await connect(home, false);
  let rows: Row[];
  try {
    const list = await pm2.list();
    const names = [...new Set([...(config?.apps.map((a) => a.name) ?? []), ...list.filter((p) => !p.isModule).map((p) => p.name)])];
    const unknown = positionals.filter((n) => !names.includes(n));
    if (unknown.length > 0) throw new UsageError(`unknown app(s): ${unknown.join(', ')}`);
    const state = readStateDocument(stateFilePath(dir));
    // The engine's own inspection: every probe and rule, judged as a check judges it.
    const looks = await inspectApps({ pm2, names: names.filter((n) => positionals.length === 0 || positionals.includes(n)), ...(config ? { config } : {}) });
    rows = looks.map((look): Row => {
      const app = appConfigFor(look.app, config);
      const s = look.observation.pm2;
      const health = look.observation.http;
      const holders = procAvailable && app.ports.length > 0 ? snapshotSync(app.ports).holders : [];
      const monitor = state?.apps[look.app];
      const others = look.observation.others ?? [];
      return {
        name: look.app,
        healthy: look.verdict.healthy,
        ...(look.verdict.reason ? { reason: look.verdict.reason } : {}),
        strategy: look.strategy,
        pm2: { status: s.state, pids: s.pids, uptime_ms: s.state === 'online' && s.uptimeMs < Number.MAX_SAFE_INTEGER ? s.uptimeMs : 0, restarts: s.restarts },
        ...(health ? { health: healthJson(health) } : {}),
        ...(others.length > 0 ? { probes: others.map((o) => ({ kind: o.kind, ok: o.ok, latency_ms: Math.round(o.latencyMs), ...(o.detail ? { detail: o.detail } : {}) })) } : {}),
        ports: app.ports.map((port) => ({ port, holders: holders.filter((h) => h.port === port).map((h) => ({ pid: h.pid, command: h.command, uid: h.uid })) })),
        ...(monitor ? { monitor } : {}),
      };
    });
  } finally {
    await pm2.close();
  }
  const lock = readLock(join(dir, 'monitor.lock'));
  const healthy = rows.every((r) => r.healthy);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(redactDeep({ healthy, monitor: lock ?? null, apps: rows }), null, 2)}\n`);
  } else {
    process.stdout.write(redactText(renderTable(rows, lock)));
  }
  process.exitCode = healthy ? EXIT.ok : EXIT.unhealthy;
}

/** A pause written by a monitor that has since stopped may have ended. */
function pausedNow(until: string | undefined): boolean {
  return until === 'indefinite' || (until !== undefined && Date.parse(until) > Date.now());
}

function healthJson(h: HttpOutcome): NonNullable<Row['health']> {
  const latency_ms = Math.round(h.latencyMs);
  return h.ok ? { ok: true, status: h.status, latency_ms } : { ok: false, latency_ms, failure: h.failure, detail: h.detail, ...(h.status ? { status: h.status } : {}) };
}

function readLock(path: string): { pid: number; hostname: string; started_at: string; live: boolean } | undefined {
  const held = inspectLock(path);
  return held ? { pid: held.record.pid, hostname: held.record.hostname, started_at: held.record.started_at, live: held.live } : undefined;
}

/** Fits 80 columns: long values are cut with an ellipsis. */
function renderTable(rows: readonly Row[], lock: { pid: number; hostname: string; live: boolean } | undefined): string {
  // 14+7+7+6+3+9+9 + 7 separators = 62: the MONITOR column gets the rest of 80.
  const cols = [14, 7, 7, 6, 3, 9, 9, 18] as const;
  const cut = (s: string, n: number): string => ([...s].length > n ? `${[...s].slice(0, n - 1).join('')}…` : s.padEnd(n));
  const line = (cells: readonly string[]): string => cells.map((c, i) => cut(c, cols[i] ?? 18)).join(' ').trimEnd();
  const out = [line(['APP', 'PM2', 'PID', 'UPTIME', '↺', 'HEALTH', 'PORTS', 'MONITOR'])];
  for (const r of rows) {
    const health = r.health ? (r.health.ok ? `${r.health.status} ${r.health.latency_ms}ms` : (r.health.failure ?? 'failed')) : '-';
    const ports = r.ports.map((p) => `${p.port}${p.holders.length === 0 ? ' free' : p.holders.some((h) => r.pm2.pids.includes(h.pid)) ? '' : ` pid ${p.holders[0]?.pid}`}`).join(',') || '-';
    const m = r.monitor;
    const flags = m ? [m.circuit && m.circuit !== 'closed' ? m.circuit.toUpperCase() : '', pausedNow(m.paused_until) ? 'PAUSED' : '', m.backoff_until ? 'backoff' : ''].filter(Boolean).join(' ') : '';
    const monitor = m ? `${m.phase}${m.consecutive_failures > 0 ? ` ${m.consecutive_failures}x` : ''}${flags ? ` ${flags}` : m.last_remedy ? ` fix ${m.last_remedy.ok ? 'ok' : 'failed'}` : ''}` : '-';
    out.push(line([r.name, r.pm2.status, r.pm2.pids.join(',') || '-', r.pm2.uptime_ms ? formatDuration(r.pm2.uptime_ms) : '-', String(r.pm2.restarts), health, ports, monitor]));
  }
  for (const r of rows) {
    if (!r.healthy && r.reason) out.push(cut(`  ${r.name}: ${r.reason}`, 80).trimEnd());
    const m = r.monitor;
    if (!m) continue;
    const at = (iso: string | undefined): string => (iso && iso !== 'indefinite' ? `${iso.slice(11, 19)}Z` : (iso ?? '?'));
    const notes = [
      m.circuit && m.circuit !== 'closed' ? `circuit ${m.circuit} since ${at(m.circuit_since)}` : '',
      pausedNow(m.paused_until) ? `paused until ${m.paused_until === 'indefinite' ? 'resumed' : at(m.paused_until)}` : '',
      m.backoff_until ? `no remedy before ${at(m.backoff_until)}` : '',
    ].filter(Boolean);
    if (notes.length > 0) out.push(cut(`  ${r.name}: ${notes.join('; ')}`, 80).trimEnd());
  }
  out.push(
    lock?.live
      ? `monitor: running as pid ${lock.pid} on ${lock.hostname}`
      : lock
        ? `monitor: not running (stale lock of pid ${lock.pid}; the next start takes it over)`
        : 'monitor: not running (no lock held)',
  );
  return `${out.join('\n')}\n`;
}
