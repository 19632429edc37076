/**
 * `status` as a table for people: one row per app in 80 columns, then notes under the table for
 * what a cell cannot hold (why an app is unhealthy, a pause, an open circuit, the last remedy, a
 * stranger on a port). Every cell holds a word from a closed set (the legend below, also in the
 * README) or a number that fits its column, so nothing is cut mid-word; only an app name longer
 * than its column gets a line of its own. Pure: rows in, text out.
 */
import { pauseInForce, pauseOfRecord, timeText } from '../engine/control-log.js';
import type { AppStateRecord } from '../engine/state-document.js';
import { wrap } from '../text/wrap.js';
import type { StatusRow } from '../status/rows.js';
import { updateNotes } from '../update/view.js';
import { scheduleNote } from '../schedules/view.js';

export type { StatusRow } from '../status/rows.js';

/** What the MONITOR column's words mean (`status --help` and the README print this). */
export const MONITOR_LEGEND = `MONITOR column (the monitor's view, from its state file):
  healthy       the last check passed
  failing N     N checks in a row failed; a remedy follows at the app's failure_threshold
  remedying     a remedy (stop, free ports, start, verify) is running
  unhealthy     still failing after a remedy, or no remedy was possible
  stopped       stopped through PM2 on purpose: left alone
  missing       not in PM2's list
  unknown       not checked yet
  PAUSED        remedies paused by an operator (pause/resume); still probed
  CIRCUIT OPEN  too many failed remedies: no more until the cool-down or \`reset\`
  half-open     the circuit's one trial remedy after the cool-down
  backoff       waiting before the next remedy (the policy's backoff)
  -             the monitor has not recorded this app
Notes under the table give the times, the reason and the last remedy.`;

const WIDTH = 80;
// APP, PM2, PID, UPTIME, restarts, HEALTH, PORTS, MONITOR; with 7 separating spaces, 80 in all.
const COLS = [17, 9, 7, 6, 3, 9, 10, 12] as const;

/** The table and its notes, ending with the monitor's own line. */
export function renderStatusTable(rows: readonly StatusRow[], monitorLine: string, now = Date.now()): string {
  const out = [line(['APP', 'PM2', 'PID', 'UPTIME', '↺', 'HEALTH', 'PORTS', 'MONITOR'])];
  for (const r of rows) {
    const cells = [r.name, r.pm2.status, pidCell(r.pm2.pids), r.pm2.uptime_ms ? uptimeCell(r.pm2.uptime_ms) : '-', restartsCell(r.pm2.restarts), healthCell(r.health), portsCell(r), monitorCell(r.monitor, now)];
    if ([...r.name].length > COLS[0]) {
      out.push(r.name);
      cells[0] = '';
    }
    out.push(line(cells));
  }
  for (const r of rows) for (const note of [...notesFor(r, now), ...(r.update ? updateNotes(r.update) : []), ...(r.schedule ? [scheduleNote(r.schedule)] : [])]) out.push(...wrap(`  ${r.name}: ${note}`, WIDTH, '    '));
  out.push(...wrap(monitorLine, WIDTH, '  '));
  return `${out.join('\n')}\n`;
}

function line(cells: readonly string[]): string {
  return cells.map((c, i) => c.padEnd(COLS[i] ?? 0)).join(' ').trimEnd();
}

const pidCell = (pids: readonly number[]): string => (pids.length === 0 ? '-' : pids.length === 1 ? String(pids[0]) : `${pids.length} pids`);

const restartsCell = (n: number): string => (n > 999 ? '1k+' : String(n));

/** 59s, 59m, 23h, 364d: whole units, like `pm2 ls`. */
export function uptimeCell(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.min(Math.floor(s / 86_400), 9999)}d`;
}

function healthCell(h: StatusRow['health']): string {
  if (!h) return '-';
  const ms = h.latency_ms < 1000 ? `${h.latency_ms}ms` : `${(h.latency_ms / 1000).toFixed(1)}s`;
  if (h.ok) return `${h.status ?? ''} ${ms}`.trim();
  if (h.failure === 'status') return `HTTP ${h.status ?? '?'}`;
  return h.failure === 'body-too-large' ? 'too large' : (h.failure ?? 'failed');
}

/** Whose a port is: the app's (its number), free, or busy (held by a process that is not the app). */
function portState(r: StatusRow, p: StatusRow['ports'][number]): 'app' | 'free' | 'busy' {
  if (p.holders.length === 0) return 'free';
  return p.holders.some((h) => r.pm2.pids.includes(h.pid)) ? 'app' : 'busy';
}

function portsCell(r: StatusRow): string {
  if (r.ports.length === 0) return '-';
  if (r.ports.length === 1) {
    const p = r.ports[0]!;
    const s = portState(r, p);
    return s === 'app' ? String(p.port) : `${p.port} ${s}`;
  }
  const all = r.ports.map((p) => p.port).join(',');
  const mixed = r.ports.some((p) => portState(r, p) !== 'app');
  return !mixed && all.length <= COLS[6] ? all : `${r.ports.length} ports`;
}

/** A pause from state.json, or one written by a monitor that has since stopped, may have ended. */
function pausedNow(until: string | undefined, now = Date.now()): boolean {
  return pauseInForce(pauseOfRecord(until), now) !== undefined;
}

function monitorCell(m: AppStateRecord | undefined, now: number): string {
  if (!m) return '-';
  if (pausedNow(m.paused_until, now)) return 'PAUSED';
  if (m.circuit === 'open') return 'CIRCUIT OPEN';
  if (m.circuit === 'half-open') return 'half-open';
  if (m.backoff_until && Date.parse(m.backoff_until) > now) return 'backoff';
  if (m.phase === 'failing') return `failing ${Math.min(m.consecutive_failures, 9999)}`;
  return m.phase;
}

/** "12:30:05Z" today, else the date too; what is not a time, as it is. */
function at(iso: string | undefined, now: number): string {
  const t = iso === undefined ? NaN : Date.parse(iso);
  return Number.isFinite(t) ? timeText(t, now) : (iso ?? '?');
}

function notesFor(r: StatusRow, now: number): string[] {
  const notes: string[] = [];
  if (!r.healthy && r.reason) notes.push(r.reason);
  for (const p of r.ports) {
    if (portState(r, p) !== 'busy') continue;
    const h = p.holders[0]!;
    notes.push(`port ${p.port} is held by pid ${h.pid} (${h.command}), not by the app${p.holders.length > 1 ? ` (and ${p.holders.length - 1} more)` : ''}`);
  }
  if (r.pm2.pids.length > 1) notes.push(`pids ${r.pm2.pids.join(', ')}`);
  const m = r.monitor;
  if (!m) return notes;
  if (pausedNow(m.paused_until, now)) notes.push(`remedies paused ${m.paused_until === 'indefinite' ? 'until `helpdesk-monitor resume`' : `until ${at(m.paused_until, now)}`}`);
  if (m.circuit && m.circuit !== 'closed') notes.push(`circuit ${m.circuit} since ${at(m.circuit_since, now)} after ${m.failed_remedies} failed ${m.failed_remedies === 1 ? 'remedy' : 'remedies'}; \`helpdesk-monitor reset ${r.name}\` closes it`);
  if (m.backoff_until && Date.parse(m.backoff_until) > now) notes.push(`no remedy before ${at(m.backoff_until, now)} (backoff)`);
  if (m.waiting_for) notes.push(`remedies wait for ${m.waiting_for} (depends_on)`);
  const last = m.last_remedy;
  if (last) {
    const result = last.skipped ? 'skipped' : last.ok ? 'succeeded' : 'failed';
    notes.push(`last remedy ${at(last.at, now)} (${last.reason}): ${result}${!last.ok && last.failure ? `: ${last.failure}` : ''}`);
  }
  return notes;
}
