/** `helpdesk-monitor incidents`: the remedies told in the monitor's log, current and rotated files. */
import { join } from 'node:path';
import { logFileOf } from '../app/log.js';
import { parseDuration } from '../config/duration.js';
import { UsageError } from '../errors.js';
import { scanIncidents, type FoundIncident } from '../log/incidents.js';
import { pm2Home, stateDir } from '../paths.js';
import { redactText } from '../redact.js';
import { printable } from '../text/printable.js';
import { parse } from './args.js';
import { optionalConfig } from './context.js';
import { EXIT } from './exit.js';
import { printJson } from './json.js';

export const help = `Usage: helpdesk-monitor incidents [--app APP] [--since DURATION|TIME] [--json] [--config FILE | --file LOG]

Every remedy ends with one incident record in the monitor's log: what triggered it, what was
seen, what was done (ports freed, processes killed or refused, how the app was restarted),
whether health came back and how fast, the circuit after, and the notifications sent. This reads
them back, oldest first, from the log file and the files rotated out of it (gzipped or not;
JSON or text lines), each with its story: the lines that carry its incident_id. Reads only.

Options:
  -c, --config FILE   config file (its log.file, else <state_dir>/monitor.log)
      --file LOG      read this log file (and its rotated siblings) instead
      --app APP       only this app's incidents
      --since WHEN    only incidents that ended in the last DURATION (90s, 30m, 12h, 7d) or
                      at or after TIME (2025-01-31 or 2025-01-31T08:00:00Z)
      --json          print one JSON document on stdout (schemas/incidents.schema.json)
  -h, --help          this help

Without a config, the default log is read: $PM2_HOME/helpdesk-monitor/monitor.log.

Exit codes: 0 the log was read (with or without incidents), 1 no log file was found,
2 bad usage or invalid config.

Example:
  helpdesk-monitor incidents --app helpdesk-backend --since 24h --json | jq '.incidents[].incident.time_to_healthy_s'
`;

export async function main(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    config: { type: 'string', short: 'c' }, file: { type: 'string' }, app: { type: 'string' }, since: { type: 'string' }, json: { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(help);
    return;
  }
  if (positionals.length > 0) throw new UsageError(`incidents takes no arguments (got ${positionals.map((p) => printable(p)).join(' ')}); use --app APP for one app`);
  if (values.file !== undefined && values.config !== undefined) throw new UsageError('incidents: give --config or --file, not both');
  const sinceMs = values.since === undefined ? undefined : parseSince(values.since, Date.now());
  const file = values.file ?? logFile(values.config);
  const scan = scanIncidents(file, { ...(values.app === undefined ? {} : { app: values.app }), ...(sinceMs === undefined ? {} : { sinceMs }) });
  const found = scan.files.length > 0;
  if (values.json) {
    printJson({
      log_file: file,
      files: scan.files,
      ...(values.app === undefined ? {} : { app: values.app }),
      ...(sinceMs === undefined ? {} : { since: new Date(sinceMs).toISOString() }),
      incidents: scan.incidents,
    });
  } else if (found) {
    process.stdout.write(redactText(render(scan.incidents)));
  }
  for (const f of scan.files) if (f.error) process.stderr.write(`helpdesk-monitor: cannot read ${f.path}: ${f.error}\n`);
  if (!found) {
    process.stderr.write(`helpdesk-monitor: no log file at ${file} (nor rotated ones beside it)\n`);
    process.exitCode = EXIT.unhealthy;
  }
}

/** The log a config names, or the default one when no config is given or set. */
function logFile(flag: string | undefined): string {
  const config = optionalConfig(flag, pm2Home());
  return config ? logFileOf(config) : join(stateDir(undefined), 'monitor.log');
}

/** `--since`: a duration back from now (with `d` for days too), or a date or time. */
export function parseSince(text: string, now: number): number {
  const days = /^\s*(\d+(?:\.\d+)?)\s*d\s*$/.exec(text);
  const ms = days ? Number(days[1]) * 86_400_000 : parseDuration(text);
  if (ms !== undefined) return now - ms;
  const at = /^\d{4}-\d\d-\d\d([T ][\d:.]+(Z|[+-]\d\d:?\d\d)?)?$/.test(text.trim()) ? Date.parse(text.trim()) : NaN;
  if (Number.isNaN(at)) throw new UsageError(`--since ${printable(text)}: expected a duration (90s, 30m, 12h, 7d) or a date or time (2025-01-31, 2025-01-31T08:00:00Z)`);
  return at;
}

/** One row per incident, then its trigger and actions on the lines below. */
export function render(incidents: readonly FoundIncident[]): string {
  if (incidents.length === 0) return 'No incidents in the log.\n';
  const out: string[] = [];
  for (const i of incidents) {
    const r = i.incident;
    const tth = typeof r['time_to_healthy_s'] === 'number' ? `healthy in ${r['time_to_healthy_s']} s` : '';
    out.push(`${i.time}  ${printable(i.app)}  ${String(r['result'] ?? '?').toUpperCase()}${tth ? ` (${tth})` : ''}  incident ${i.incident_id.slice(0, 8)}`);
    const trigger = r['trigger'] as { text?: unknown } | undefined;
    if (typeof r['reason'] === 'string') out.push(`    reason:  ${printable(r['reason'], 300)}`);
    if (typeof trigger?.text === 'string') out.push(`    trigger: ${printable(trigger.text, 300)}`);
    for (const a of actionLines(r['actions'])) out.push(`    ${a}`);
    if (typeof r['failure'] === 'string') out.push(`    failure: ${printable(r['failure'], 300)}`);
    const notes = Array.isArray(r['notifications']) ? r['notifications'].join(', ') : '';
    out.push(`    circuit after: ${String(r['circuit_after'] ?? '?')}${notes ? `; told: ${notes}` : ''}`);
  }
  return `${out.join('\n')}\n`;
}

function actionLines(actions: unknown): string[] {
  if (typeof actions !== 'object' || actions === null) return [];
  const a = actions as Record<string, unknown>;
  const lines: string[] = [];
  if (typeof a['restart_method'] === 'string') lines.push(`restart: ${printable(a['restart_method'], 300)}`);
  const who = (x: Record<string, unknown>): string => `pid ${String(x['pid'])} (${printable(String(x['command'] ?? ''), 80)}, ${typeof x['user'] === 'string' ? x['user'] : `uid ${String(x['uid'])}`}) on port ${String(x['port'])}`;
  for (const k of list(a['killed'])) lines.push(`killed:  ${who(k)} with ${String(k['signal'])}`);
  for (const x of list(a['refused'])) lines.push(`refused: ${who(x)}: ${printable(String(x['why'] ?? ''), 200)}`);
  return lines;
}

const list = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null) : []);
