import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { MONITOR_LEGEND, renderStatusTable, uptimeCell, type StatusRow } from '../../../src/cli/status-table.js';
import type { AppStateRecord } from '../../../src/engine/state-document.js';
import { ROOT } from '../../helpers/sandbox.js';

const NOW = Date.parse('2026-12-01T12:00:00Z');
const iso = (offsetMs: number): string => new Date(NOW + offsetMs).toISOString();

function row(name: string, patch: Partial<StatusRow> = {}, monitor?: Partial<AppStateRecord>): StatusRow {
  return {
    name,
    healthy: true,
    strategy: 'pm2',
    pm2: { status: 'online', pids: [41234], uptime_ms: 3_725_000, restarts: 2 },
    health: { ok: true, status: 200, latency_ms: 12 },
    ports: [{ port: 18880, holders: [{ pid: 41234, command: 'node server.js', uid: 1000 }] }],
    ...(monitor ? { monitor: { phase: 'healthy', consecutive_failures: 0, failed_remedies: 0, ...monitor } } : {}),
    ...patch,
  };
}

/** The cell of `col` in the row line of `app`, by the header's column positions. */
function cell(text: string, app: string, col: string): string {
  const lines = text.split('\n');
  const header = lines[0]!;
  const start = header.indexOf(col);
  const next = header.slice(start + col.length).search(/\S/);
  const end = next < 0 ? undefined : start + col.length + next;
  const line = lines.find((l) => l.startsWith(`${app} `));
  assert.ok(line, `a row for ${app}:\n${text}`);
  return line.slice(start, end).trim();
}

describe('status table', () => {
  const rows: StatusRow[] = [
    row('api', {}, { last_remedy: { at: iso(-600_000), ok: true, reason: 'hung', strategy: 'pm2', attempts: 1, duration_ms: 2300, steps: [], killed: [], refused: [] } }),
    row(
      'billing',
      { healthy: false, reason: 'GET /health timed out after 2s', health: { ok: false, latency_ms: 2001, failure: 'timeout', detail: 'timed out' } },
      { phase: 'unhealthy', consecutive_failures: 12, failed_remedies: 3, circuit: 'open', circuit_since: iso(-60_000), paused_until: iso(30 * 60_000) },
    ),
    row(
      'worker',
      { healthy: false, reason: 'GET /health answered 503', health: { ok: false, status: 503, latency_ms: 4, failure: 'status' } },
      { phase: 'unhealthy', consecutive_failures: 4, failed_remedies: 3, circuit: 'open', circuit_since: iso(-120_000) },
    ),
    row('a-very-long-application-name-indeed', { ports: [{ port: 18881, holders: [] }] }, { phase: 'failing', consecutive_failures: 2 }),
    row('cluster', {
      pm2: { status: 'online', pids: [101, 102, 103, 104], uptime_ms: 90_000_000, restarts: 1234 },
      ports: [{ port: 5000, holders: [{ pid: 999, command: 'python -m http.server 5000', uid: 1000 }] }, { port: 5001, holders: [] }],
    }),
  ];
  const text = renderStatusTable(rows, 'monitor: running as pid 4242 on host', NOW);

  test('every line fits 80 columns and nothing is cut with an ellipsis', () => {
    for (const l of text.split('\n')) assert.ok([...l].length <= 80, `${[...l].length} chars: ${l}`);
    assert.doesNotMatch(text, /…/);
  });

  test('a pause has its own word, over the open circuit, and both are explained under the table', () => {
    assert.equal(cell(text, 'billing', 'MONITOR'), 'PAUSED');
    assert.match(text, /^ {2}billing: remedies paused until 12:30:00Z$/m);
    assert.match(text, /^ {2}billing: circuit open since 11:59:00Z after 3 failed remedies;/m);
    assert.equal(cell(text, 'worker', 'MONITOR'), 'CIRCUIT OPEN');
    assert.equal(cell(text, 'worker', 'HEALTH'), 'HTTP 503');
    assert.equal(cell(text, 'billing', 'HEALTH'), 'timeout');
  });

  test('a healthy app shows healthy; its last remedy is a sentence, not "fix ok"', () => {
    assert.equal(cell(text, 'api', 'MONITOR'), 'healthy');
    assert.equal(cell(text, 'api', 'HEALTH'), '200 12ms');
    assert.equal(cell(text, 'api', 'PORTS'), '18880');
    assert.match(text, /^ {2}api: last remedy 11:50:00Z \(hung\): succeeded$/m);
    assert.doesNotMatch(text, /fix ok/);
  });

  test('a long app name gets a line of its own; its cells follow on the next line', () => {
    const lines = text.split('\n');
    const i = lines.indexOf('a-very-long-application-name-indeed');
    assert.ok(i > 0, text);
    assert.match(lines[i + 1]!, /^ {18}online +41234 .* 18881 free +failing 2$/);
  });

  test('several pids and ports: counted in the cells, listed under the table with the stranger named', () => {
    assert.equal(cell(text, 'cluster', 'PID'), '4 pids');
    assert.equal(cell(text, 'cluster', 'PORTS'), '2 ports');
    assert.equal(cell(text, 'cluster', '↺'), '1k+');
    assert.equal(cell(text, 'cluster', 'UPTIME'), '1d');
    const notes = text.replace(/\n {4}/g, ' '); // wrapped notes as one line each
    assert.match(notes, /cluster: port 5000 is held by pid 999 \(python -m http.server 5000\), not by the app/);
    assert.match(notes, /cluster: pids 101, 102, 103, 104/);
  });

  test('uptime in whole units', () => {
    assert.deepEqual([59_999, 60_000, 3_599_000, 3_600_000, 86_400_000].map(uptimeCell), ['59s', '1m', '59m', '1h', '1d']);
  });

  test('the README explains every word of the legend', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const words = [...MONITOR_LEGEND.matchAll(/^ {2}(\S+(?: [A-Z]\S*)?) {2,}/gm)].map((m) => m[1]!);
    assert.ok(words.length >= 11, words.join(', '));
    for (const w of words) assert.ok(readme.includes(`| \`${w}\` |`), `README row for ${w}`);
  });

  test('the legend names every word the MONITOR column can hold', () => {
    for (const w of ['healthy', 'failing N', 'remedying', 'unhealthy', 'stopped', 'missing', 'unknown', 'PAUSED', 'CIRCUIT OPEN', 'half-open', 'backoff']) {
      assert.match(MONITOR_LEGEND, new RegExp(`^ {2}${w} `, 'm'), w);
    }
  });
});
