/**
 * The monitor's read-only status page: one HTML5 document, rendered on the server from the same
 * rows `status --json` prints. No script, no external asset, no form: it refreshes itself with a
 * meta refresh, and works under the server's CSP (`default-src 'none'; style-src
 * 'unsafe-inline'`). Every outside string goes through src/web/html.ts. Pure: model in, text out.
 */
import type { StatusRow } from '../status/rows.js';
import { pauseInForce, pauseOfRecord, timeText } from '../engine/control-log.js';
import type { RemedyEntry } from '../engine/view.js';
import { attr, durationText, escapeHtml, mibText, text, timeTag, uptimeText } from './html.js';
import { STYLE } from './style.js';

export interface PageIncident {
  readonly app: string;
  readonly entry: RemedyEntry;
}

export interface PageModel {
  readonly version: string;
  readonly host: string;
  readonly pid: number;
  /** ISO. */
  readonly startedAt: string;
  readonly uptimeS: number;
  readonly rssBytes: number;
  /** ISO: the page's "now" (times of today are shown without their date). */
  readonly generatedAt: string;
  /** Seconds between reloads (meta refresh). */
  readonly refreshS: number;
  readonly rows: readonly StatusRow[];
  /** Newest first; the page shows the first MAX_INCIDENTS. */
  readonly incidents: readonly PageIncident[];
}

export const MAX_INCIDENTS = 20;

/** The policy the page needs and the server sends with it (the page repeats it in a meta tag). */
export const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'";

/** good = green, bad = red, warn = amber, none = grey; always beside a word. */
export type Tone = 'good' | 'bad' | 'warn' | 'none';

const APP_COLUMNS = ['App', 'PM2', 'Health', 'Latency', 'Failures', 'Circuit', 'Paused until', 'Last remedy', 'Ports and holders'] as const;
const INCIDENT_COLUMNS = ['When', 'App', 'Reason', 'Result', 'Duration', 'Time to healthy', 'Killed pids'] as const;

export function renderStatusPage(model: PageModel): string {
  const now = Date.parse(model.generatedAt);
  const ctx: Ctx = { now: Number.isFinite(now) ? now : NaN };
  const refresh = Number.isFinite(model.refreshS) ? Math.min(Math.max(Math.round(model.refreshS), 1), 86_400) : 10;
  const incidents = model.incidents.slice(0, MAX_INCIDENTS);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(PAGE_CSP)}">
<meta name="referrer" content="no-referrer">
<meta http-equiv="refresh" content="${refresh}">
<title>${text(`helpdesk-monitor on ${model.host}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>helpdesk-monitor<span class="ver">${text(model.version)}</span></h1>
<dl class="facts">${fact('host', text(model.host))}${fact('pid', String(model.pid))}${fact('uptime', escapeHtml(uptimeText(model.uptimeS)))}${fact('RSS', escapeHtml(mibText(model.rssBytes)))}${fact('started', when(model.startedAt, ctx))}</dl>
${summary(model.rows)}
<p class="fine">Generated ${when(model.generatedAt, ctx)}; reloads every ${refresh} s. Read-only.</p>
</header>
<main>
<section aria-labelledby="apps-h">
<h2 id="apps-h">Apps</h2>
${model.rows.length === 0 ? '<p class="empty">No apps are configured.</p>' : table('apps', APP_COLUMNS, model.rows.map((r) => appRow(r, ctx)))}
</section>
<section aria-labelledby="incidents-h">
<h2 id="incidents-h">Last incidents</h2>
${incidents.length === 0 ? '<p class="empty">No remedies yet.</p>' : table('incidents', INCIDENT_COLUMNS, incidents.map((i) => incidentRow(i, ctx)))}
</section>
</main>
</body>
</html>
`;
}

interface Ctx {
  /** Wall-clock ms of generatedAt (NaN: every time is shown with its date). */
  readonly now: number;
}

/** The word and colour of an app's health: the monitor's phase, else the last check's verdict. */
export function healthOf(r: StatusRow): { word: string; tone: Tone } {
  const phase = r.monitor?.phase;
  if (r.pm2.status === 'stopped' || phase === 'stopped') return { word: 'stopped', tone: 'none' };
  switch (phase) {
    case 'missing':
      return { word: 'missing', tone: 'bad' };
    case 'unhealthy':
      return { word: 'unhealthy', tone: 'bad' };
    case 'failing':
      return { word: 'failing', tone: 'warn' };
    case 'remedying':
      return { word: 'remedying', tone: 'warn' };
    case 'healthy':
      // Between checks the monitor may still say healthy while the last check failed.
      return r.healthy ? { word: 'healthy', tone: 'good' } : { word: 'failing', tone: 'warn' };
    default:
      // Not recorded, or not checked yet ('unknown'): the row's own verdict, when it has one.
      if (r.healthy) return { word: 'healthy', tone: 'good' };
      return phase === 'unknown' && r.health === undefined ? { word: 'unknown', tone: 'none' } : { word: 'unhealthy', tone: 'bad' };
  }
}

function fact(name: string, html: string): string {
  return `<div><dt>${name}</dt><dd>${html}</dd></div>`;
}

function summary(rows: readonly StatusRow[]): string {
  if (rows.length === 0) return '';
  const counts = new Map<string, { n: number; tone: Tone }>();
  for (const r of rows) {
    const h = healthOf(r);
    counts.set(h.word, { n: (counts.get(h.word)?.n ?? 0) + 1, tone: h.tone });
  }
  const tags = [...counts].map(([word, c]) => tag(`${c.n} ${word}`, c.tone)).join(' ');
  return `<p class="summary">${rows.length} ${rows.length === 1 ? 'app' : 'apps'}: ${tags}</p>`;
}

function table(id: string, columns: readonly string[], rows: readonly string[]): string {
  return `<table id="${id}"><thead><tr>${columns.map((c) => `<th scope="col">${c}</th>`).join('')}</tr></thead>\n<tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

/** A cell whose content is one element, so the card layout's label and value are two grid items. */
function cell(label: string, html: string, cls = ''): string {
  return `<td${cls ? ` class="${cls}"` : ''} data-label="${label}"><div>${html}</div></td>`;
}

function tag(word: string, tone: Tone): string {
  return `<span class="tag ${tone}">${escapeHtml(word)}</span>`;
}

const sub = (html: string): string => `<span class="sub">${html}</span>`;
const dash = '-';

/** A time as `12:30:05Z` when it is of the page's day, else with its date; non-times as text. */
function when(iso: string, ctx: Ctx): string {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return text(iso);
  return timeTag(iso, Number.isFinite(ctx.now) ? timeText(t, ctx.now) : new Date(t).toISOString());
}

function appRow(r: StatusRow, ctx: Ctx): string {
  const h = healthOf(r);
  const m = r.monitor;
  const pm2 = `${text(r.pm2.status)}${r.pm2.pids.length > 0 ? sub(`pid ${r.pm2.pids.join(', ')} · <span class="nw">↺ ${r.pm2.restarts}</span>`) : sub(`↺ ${r.pm2.restarts}`)}`;
  const why = !r.healthy && r.reason ? sub(text(r.reason, 200)) : '';
  const latency = r.health ? `${r.health.latency_ms} ms${sub(r.health.ok ? `HTTP ${r.health.status ?? '?'}` : text(r.health.failure ?? 'failed'))}` : dash;
  const failures = m ? `${m.consecutive_failures}${m.failed_remedies > 0 ? sub(`${m.failed_remedies} failed ${m.failed_remedies === 1 ? 'remedy' : 'remedies'}`) : ''}` : dash;
  return `<tr${attr('data-app', r.name)}><th scope="row">${text(r.name)}</th>${cell('PM2', pm2, 'pm2')}${cell('Health', `${h.word}${why}`, `health ${h.tone}`)}${cell('Latency', latency, 'num')}${cell('Failures', failures, 'num')}${cell('Circuit', circuit(r, ctx))}${cell('Paused until', paused(r, ctx))}${cell('Last remedy', lastRemedy(m?.last_remedy, ctx))}${cell('Ports', ports(r))}</tr>`;
}

function circuit(r: StatusRow, ctx: Ctx): string {
  const m = r.monitor;
  if (!m) return dash;
  const c = m.circuit ?? 'closed';
  const since = c !== 'closed' && m.circuit_since ? sub(`since ${when(m.circuit_since, ctx)}`) : '';
  const backoff = m.backoff_until && Date.parse(m.backoff_until) > ctx.now ? sub(`backoff until ${when(m.backoff_until, ctx)}`) : '';
  return `${c === 'closed' ? 'closed' : tag(c, c === 'open' ? 'bad' : 'warn')}${since}${backoff}`;
}

function paused(r: StatusRow, ctx: Ctx): string {
  const until = r.monitor?.paused_until;
  const p = pauseInForce(pauseOfRecord(until), Number.isFinite(ctx.now) ? ctx.now : 0);
  if (p === undefined) return dash;
  return p === 'indefinite' ? `${tag('paused', 'warn')}${sub('until resumed')}` : `${tag('paused', 'warn')}${sub(when(until!, ctx))}`;
}

function result(e: RemedyEntry): string {
  return e.skipped ? tag('skipped', 'none') : e.ok ? tag('succeeded', 'good') : tag('failed', 'bad');
}

function lastRemedy(e: RemedyEntry | undefined, ctx: Ctx): string {
  if (!e) return dash;
  const failure = !e.ok && e.failure ? sub(text(e.failure, 200)) : '';
  const healthy = e.time_to_healthy_ms === undefined ? '' : sub(`healthy after ${durationText(e.time_to_healthy_ms)}`);
  return `${when(e.at, ctx)}${sub(text(e.reason, 200))}${result(e)}${failure}${healthy}`;
}

function ports(r: StatusRow): string {
  if (r.ports.length === 0) return dash;
  const items = r.ports.map((p) => {
    if (p.holders.length === 0) return `<li>${p.port} ${sub('free')}</li>`;
    const holders = p.holders.map((h) => {
      const own = r.pm2.pids.includes(h.pid);
      return sub(`pid ${h.pid}${own ? '' : ` ${tag('not the app', 'warn')}`} <code>${text(h.command, 200)}</code>`);
    });
    return `<li>${p.port}${holders.join('')}</li>`;
  });
  return `<ul class="ports">${items.join('')}</ul>`;
}

function incidentRow(i: PageIncident, ctx: Ctx): string {
  const e = i.entry;
  const killed = e.killed.length > 0 ? e.killed.join(', ') : dash;
  const refused = e.refused.length > 0 ? sub(`refused ${e.refused.join(', ')}`) : '';
  return `<tr${attr('data-app', i.app)}>${cell('When', when(e.at, ctx))}${cell('App', text(i.app))}${cell('Reason', text(e.reason, 200), 'wide')}${cell('Result', `${result(e)}${!e.ok && e.failure ? sub(text(e.failure, 200)) : ''}`)}${cell('Duration', durationText(e.duration_ms), 'num')}${cell('Time to healthy', e.time_to_healthy_ms === undefined ? dash : durationText(e.time_to_healthy_ms), 'num')}${cell('Killed pids', `${killed}${refused}`)}</tr>`;
}
