/**
 * The status page as text: every outside string escaped (content and attributes), no script and
 * no external asset, the refresh, every app and at most 20 incidents, a health word for every
 * phase. The tags are read back with a small scanner: outside text can only ever be text, so
 * every `<` in the output must open a tag the renderer wrote.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StatusRow } from '../../../src/status/rows.js';
import type { Phase } from '../../../src/engine/decide.js';
import { escapeHtml } from '../../../src/web/html.js';
import { MAX_INCIDENTS, healthOf, renderStatusPage } from '../../../src/web/page.js';
import { NOW, XSS_COMMAND, XSS_NAME, XSS_REASON, healthyRow, incidents, sampleModel, unhealthyRow, xssRow } from '../../helpers/page-model.js';

/** The tags the renderer writes; anything else is markup that got through. */
const TAGS = new Set(['!doctype', 'html', 'head', 'meta', 'title', 'style', 'body', 'header', 'h1', 'h2', 'span', 'dl', 'div', 'dt', 'dd', 'p', 'main', 'section', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'ul', 'li', 'code', 'time']);

interface Tag {
  readonly name: string;
  readonly attrs: readonly string[];
  readonly raw: string;
}

/** Every tag outside <style>, its name and attribute names (values, always double-quoted, skipped). */
function tags(html: string): Tag[] {
  const body = html.replace(/<style>[\s\S]*?<\/style>/, '<style></style>');
  return [...body.matchAll(/<\/?([!a-zA-Z][^\s>/]*)([^>]*)>/g)].map((m) => {
    const rest = m[2]!.replace(/"[^"]*"/g, '');
    assert.ok(!/['"]/.test(rest), `an unbalanced quote in ${m[0]}`);
    return { name: m[1]!.toLowerCase(), attrs: [...rest.matchAll(/([^\s=]+)(?==)|([^\s=]+)/g)].map((a) => (a[1] ?? a[2]!).toLowerCase()), raw: m[0] };
  });
}

const tbody = (html: string, id: string): string => /^<table id="[^"]+">[\s\S]*?<\/table>/.exec(html.slice(html.indexOf(`<table id="${id}">`)))?.[0] ?? '';
const rowsOf = (table: string): number => (table.match(/<tr[ >]/g) ?? []).length - 1;

test('outside text is escaped in content and attributes; only the renderer\'s tags remain', () => {
  const html = renderStatusPage(sampleModel());
  for (const raw of [XSS_NAME, XSS_REASON, XSS_COMMAND]) assert.ok(!html.includes(raw), `raw ${raw}`);
  assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'), 'the name is shown as text');
  assert.ok(html.includes('probe &quot;http&quot; said &lt;b&gt;503&lt;/b&gt; &amp; &#39;retry&#39;'), 'the reason is shown as text');
  assert.ok(html.includes(escapeHtml(XSS_COMMAND)), 'the command is shown as text');
  assert.ok(html.includes(`data-app="${escapeHtml(XSS_NAME)}"`), 'attribute values are escaped');
  const all = tags(html);
  assert.deepEqual([...new Set(all.map((t) => t.name.replace(/^\//, '')))].filter((n) => !TAGS.has(n)), []);
  assert.ok(!/<script/i.test(html));
  const handlers = all.filter((t) => t.attrs.some((a) => a.startsWith('on')));
  assert.deepEqual(handlers.map((t) => t.raw), [], 'no event handler attribute');
  const fetching = all.filter((t) => t.attrs.some((a) => ['src', 'href', 'action', 'srcset', 'poster', 'formaction'].includes(a)));
  assert.deepEqual(fetching.map((t) => t.raw), [], 'nothing that loads a resource');
  assert.ok(!/url\(|@import/i.test(html), 'the style sheet loads nothing');
});

test('a command line is redacted and made printable before it is escaped', () => {
  const row: StatusRow = { ...healthyRow(), ports: [{ port: 3000, holders: [{ pid: 9, command: 'node app.js --db=https://admin:hunter2@db.example/x?token=abc123 \u202egnp.exe\u0007', uid: 0 }] }] };
  const html = renderStatusPage(sampleModel({ rows: [row] }));
  assert.ok(!html.includes('hunter2') && !html.includes('abc123'), 'secrets in a URL are redacted');
  assert.ok(!html.includes('\u202e') && !html.includes('\u0007'), 'no raw bidi override or control');
  assert.ok(html.includes('\\u{202e}gnp.exe\\x07'));
});

test('the page reloads itself, with a sane interval', () => {
  assert.match(renderStatusPage(sampleModel()), /<meta http-equiv="refresh" content="10">/);
  assert.match(renderStatusPage(sampleModel({ refreshS: 0 })), /<meta http-equiv="refresh" content="1">/);
  assert.match(renderStatusPage(sampleModel({ refreshS: Number.NaN })), /<meta http-equiv="refresh" content="10">/);
  const html = renderStatusPage(sampleModel());
  for (const head of ['<html lang="en">', '<meta charset="utf-8">', '<meta name="viewport" content="width=device-width, initial-scale=1">', '<meta name="color-scheme" content="light">', '<title>helpdesk-monitor on helpdesk-01</title>']) assert.ok(html.includes(head), head);
});

test('the header names the monitor, its version, host, pid, uptime and RSS', () => {
  const html = renderStatusPage(sampleModel({ host: 'box<1>' }));
  assert.match(html, /<h1>helpdesk-monitor<span class="ver">0\.1\.0<\/span><\/h1>/);
  for (const fact of ['<dd>box&lt;1&gt;</dd>', '<dd>31337</dd>', '<dd>1d 3h</dd>', '<dd>56.0 MiB</dd>']) assert.ok(html.includes(fact), fact);
});

test('every app has a row; the unhealthy one\'s health cell is the bad one', () => {
  const html = renderStatusPage(sampleModel());
  const apps = tbody(html, 'apps');
  assert.equal(rowsOf(apps), 3);
  for (const name of ['api', 'billing', XSS_NAME]) assert.ok(apps.includes(`<th scope="row">${escapeHtml(name)}</th>`), name);
  const billing = apps.slice(apps.indexOf('data-app="billing"'));
  assert.match(billing, /^[^\n]*<td class="health bad" data-label="Health"><div>unhealthy/);
  assert.match(billing, /^[^\n]*<span class="tag bad">open<\/span>/, 'the open circuit');
  assert.match(billing, /^[^\n]*<span class="tag bad">failed<\/span>/, 'the failed last remedy');
  assert.match(billing, /^[^\n]*pid 5120 <span class="tag warn">not the app<\/span>/, 'a stranger on the port');
  assert.match(apps, /<td class="health good" data-label="Health"><div>healthy/);
  assert.match(apps, /<td class="health warn" data-label="Health"><div>failing/);
  assert.match(apps, /<span class="tag warn">paused<\/span>/, 'the pause in force');
});

test('the last incidents: the newest 20 of 25, in the order given', () => {
  const html = renderStatusPage(sampleModel());
  const table = tbody(html, 'incidents');
  assert.equal(MAX_INCIDENTS, 20);
  assert.equal(rowsOf(table), 20);
  assert.ok(table.includes('incident 1:') && table.includes('incident 20:') && !table.includes('incident 22:'));
  assert.ok(table.indexOf('incident 1:') < table.indexOf('incident 20:'));
  assert.equal(rowsOf(tbody(renderStatusPage(sampleModel({ incidents: incidents(3) })), 'incidents')), 3);
});

test('a health word (and a tone) for every phase, and for an app the monitor has not recorded', () => {
  const base = healthyRow();
  const withPhase = (phase: Phase, healthy = phase === 'healthy'): StatusRow => ({ ...base, healthy, monitor: { ...base.monitor!, phase } });
  const cases: [StatusRow, string, string][] = [
    [withPhase('healthy'), 'healthy', 'good'],
    [withPhase('healthy', false), 'failing', 'warn'],
    [withPhase('failing', false), 'failing', 'warn'],
    [withPhase('remedying', false), 'remedying', 'warn'],
    [withPhase('unhealthy', false), 'unhealthy', 'bad'],
    [withPhase('missing', false), 'missing', 'bad'],
    [{ ...withPhase('stopped', false), pm2: { ...base.pm2, status: 'stopped', pids: [] } }, 'stopped', 'none'],
    [(({ health: _h, ...r }) => ({ ...r, healthy: false, monitor: { ...base.monitor!, phase: 'unknown' as const } }))(base), 'unknown', 'none'],
    [(({ monitor: _m, ...r }) => r)(unhealthyRow()), 'unhealthy', 'bad'],
    [(({ monitor: _m, ...r }) => r)(base), 'healthy', 'good'],
  ];
  for (const [row, word, tone] of cases) {
    assert.deepEqual(healthOf(row), { word, tone }, `${row.monitor?.phase ?? 'no record'} ${row.healthy}`);
    const html = renderStatusPage(sampleModel({ rows: [row] }));
    assert.match(html, new RegExp(`<td class="health ${tone}" data-label="Health"><div>${word}[<]`));
  }
});

test('a pause that has ended shows as none', () => {
  const row = xssRow();
  const ended = { ...row, monitor: { ...row.monitor!, paused_until: new Date(NOW - 1000).toISOString() } };
  assert.ok(!renderStatusPage(sampleModel({ rows: [ended] })).includes('class="tag warn">paused<'));
  const forever = { ...row, monitor: { ...row.monitor!, paused_until: 'indefinite' } };
  assert.ok(renderStatusPage(sampleModel({ rows: [forever] })).includes('until resumed'));
});

test('no apps and no incidents: a whole page that says so', () => {
  const html = renderStatusPage(sampleModel({ rows: [], incidents: [] }));
  assert.ok(html.startsWith('<!DOCTYPE html>') && html.trimEnd().endsWith('</html>'));
  assert.ok(html.includes('No apps are configured.') && html.includes('No remedies yet.'));
  assert.ok(!html.includes('<table'));
});
