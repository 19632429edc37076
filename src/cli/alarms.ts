/** `helpdesk-monitor alarms`: the alarm table's rows in alarm, where they map, and what the monitor does about them. */
import { planContext, planPoll } from '../alarms/plan.js';
import { explainPlan, type RowView } from '../alarms/explain.js';
import { openAlarmSource, type AlarmSource } from '../alarms/source.js';
import { sourceWhere } from '../alarms/sql.js';
import { pauseInForce } from '../engine/control-log.js';
import { AlarmSourceError, describeError, UsageError } from '../errors.js';
import { pm2Home, stateDir } from '../paths.js';
import { controlFilePath, readControl } from '../state/control.js';
import { readStateDocument, stateFilePath } from '../state/state-file.js';
import { parse } from './args.js';
import { optionalConfig } from './context.js';
import { EXIT } from './exit.js';
import { printJson } from './json.js';

export const help = `Usage: helpdesk-monitor alarms [--config FILE] [--json] [--dry-run]

Reads the alarm table once (the config's alarms: block) and shows each row in alarm: its
process id, name and value, the app it maps to, and what the monitor does about it: asks for a
remedy (a new alarm, or one held back before), nothing (already handled: the state file says
when, with its incident id and result), or nothing because no app has that name. Also lists
the alarms the monitor has handled. Acts on nothing, writes nothing.

Options:
  -c, --config FILE   config file with an alarms: block
      --dry-run       also explain, row by row, what the next poll would do and write back
      --json          print one JSON document on stdout
  -h, --help          this help

Exit codes: 0 the table was read, 1 the database is unreachable or refused the query (the
message names the SQL error and the GRANT that fixes it), 2 bad usage, invalid config or no
alarms: block.

Example:
  HELPDESK_MONITOR_DB_PASSWORD=... helpdesk-monitor alarms --dry-run --config /etc/helpdesk-monitor.yaml
`;

export async function main(argv: readonly string[]): Promise<void> {
  const { values, positionals } = parse(argv, { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, 'dry-run': { type: 'boolean' } });
  if (values.help) {
    process.stdout.write(help);
    return;
  }
  if (positionals.length > 0) throw new UsageError(`alarms takes no arguments (got ${positionals.join(' ')})`);
  const config = optionalConfig(values.config, pm2Home());
  if (!config) throw new UsageError('alarms needs a config: pass --config FILE (or set HELPDESK_MONITOR_CONFIG)');
  const cfg = config.alarms;
  if (!cfg) throw new UsageError(`the config ${config.source} has no alarms: block`);
  const dir = stateDir(config.stateDir);
  const doc = readStateDocument(stateFilePath(dir));
  const handled = doc?.alarms?.handled ?? [];
  const target = { where: sourceWhere(cfg), database: cfg.database, table: cfg.tables.status, user: cfg.user };
  let source: AlarmSource | undefined;
  let rows;
  try {
    source = openAlarmSource(cfg);
    rows = await source.poll();
  } catch (err) {
    const text = err instanceof AlarmSourceError ? err.fault.text : describeError(err);
    if (values.json) printJson({ ok: false, source: target, error: text, handled });
    else process.stderr.write(`helpdesk-monitor: cannot read the alarm table: ${text}\n`);
    process.exitCode = EXIT.unhealthy;
    return;
  } finally {
    await source?.close();
  }
  const plan = planPoll(rows, new Map(handled.map((h) => [h.process_id, h])), planContext(cfg, config.apps.map((a) => a.name), Date.now()));
  const control = readControl(controlFilePath(dir));
  const holdOf = (app: string): string | undefined => {
    const paused = pauseInForce(control.get(app)?.pausedUntil, Date.now());
    if (paused !== undefined) return `paused by an operator${paused === 'indefinite' ? '' : ` until ${new Date(paused).toISOString()}`}`;
    const rec = doc?.apps[app];
    if (rec?.circuit === 'open') return `its circuit is open (since ${rec.circuit_since ?? '?'}; helpdesk-monitor reset ${app} closes it)`;
    const backoff = rec?.backoff_until ? Date.parse(rec.backoff_until) : NaN;
    return backoff > Date.now() ? `backing off after failed remedies until ${rec!.backoff_until}` : undefined;
  };
  const views = explainPlan(plan, cfg, holdOf);
  if (values.json) {
    printJson({ ok: true, source: target, dry_run: values['dry-run'] === true, rows: views, handled });
    return;
  }
  process.stdout.write(render(views, values['dry-run'] === true, target.where));
  if (handled.length > 0) {
    process.stdout.write('\nHandled (state file):\n');
    for (const h of handled) process.stdout.write(`  process_id ${h.process_id} (${h.app}) value ${h.value}: ${h.result} at ${h.handled_at}, incident ${h.incident}: ${h.detail}\n`);
  }
}

function render(views: readonly RowView[], dryRun: boolean, where: string): string {
  if (views.length === 0) return `No rows in alarm (${where}).\n`;
  const head = ['PROCESS_ID', 'NAME', 'VALUE', 'APP', 'ACTION'];
  const cells = views.map((v) => [String(v.process_id), JSON.stringify(v.process_name), String(v.value), v.app ?? '-', v.action]);
  const widths = head.map((h, i) => Math.min(40, Math.max(h.length, ...cells.map((c) => c[i]!.length))));
  const line = (c: readonly string[]): string => c.map((x, i) => x.slice(0, 40).padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [line(head), ...cells.map(line)];
  if (dryRun) {
    out.push('', 'At the next poll (dry run: nothing was done):');
    for (const v of views) out.push(`  process_id ${v.process_id}: ${v.explain}`);
  }
  return `${out.join('\n')}\n`;
}
