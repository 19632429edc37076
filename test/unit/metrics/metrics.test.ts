/**
 * The metrics as a scrape sees them: counters move by exactly what happened, gauges read the
 * workers' views at scrape time, and label values come from closed sets: a thousand failures with
 * a thousand different error texts add no series. A registry of its own per instance.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import type { AppState, Observation } from '../../../src/engine/decide.js';
import { initialState } from '../../../src/engine/decide.js';
import type { Incident } from '../../../src/engine/incident.js';
import type { WorkerView } from '../../../src/engine/view.js';
import { MonitorMetrics } from '../../../src/metrics/metrics.js';

const pm2 = { state: 'online' as const, pids: [10], pmIds: [0], restarts: 0, uptimeMs: 60_000, detail: 'online' };

function view(app: string, state: Partial<AppState> = {}): WorkerView {
  return { app, state: { ...initialState(0), ...state }, history: [], control: {}, resetSeen: 0 };
}

function failing(detail: string): Observation {
  return {
    at: 0, pm2, crashes: 0, squatters: [],
    http: { ok: false, failure: 'status', status: 500, latencyMs: 12, detail },
    others: [{ kind: 'exec', ok: false, latencyMs: 30, detail: `exit 1: ${detail}` }, { kind: 'alarm', ok: false, latencyMs: 0, detail }],
  };
}

function incident(app: string, ok: boolean, patch: Partial<Incident['report']> = {}): Incident {
  return {
    id: 'x', app, startedAt: new Date().toISOString(), trigger: { kind: 'probe', text: 'probe failures 2/2 (health)' }, reason: 'health: status 500', trial: false, hung: false,
    observation: failing('boom'), circuitAfter: ok ? 'closed' : 'open', told: [],
    report: { app, reason: 'health: status 500', ok, skipped: false, attempts: 1, strategy: 'pm2', steps: [], totalMs: 900, ...(ok ? { timeToHealthyMs: 850 } : { failure: 'verify failed' }), ...patch },
  };
}

const seriesCount = (text: string): number => text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('a thousand probe failures with random error texts leave the number of series unchanged', async () => {
  const m = new MonitorMetrics({ views: () => [view('api')], version: '1.2.3' });
  m.observe('api', failing('first'));
  const before = seriesCount((await m.scrape()).body);
  for (let i = 0; i < 1000; i++) m.observe('api', failing(randomBytes(12).toString('hex')));
  const after = (await m.scrape()).body;
  // Default process metrics may gain a series (a new GC kind); ours may not.
  const ours = (t: string): string[] => t.split('\n').filter((l) => /^helpdesk_monitor_(probe|remedies|time_to|port_kills|circuit|app_healthy|consecutive)/.test(l));
  assert.equal(ours(after).length, ours((await m.scrape()).body).length);
  assert.ok(seriesCount(after) <= before + 2, `${seriesCount(after)} series after, ${before} before`);
  assert.equal(value(after, 'helpdesk_monitor_probe_duration_seconds_count{app="api",probe="http",result="status"}'), 1001);
  assert.equal(value(after, 'helpdesk_monitor_probe_duration_seconds_count{app="api",probe="exec",result="fail"}'), 1001);
  assert.doesNotMatch(after, /probe="alarm"/);
  assert.doesNotMatch(after, /first|boom/);
});

test('each incident adds exactly 1 to remedies_total for its app, reason and result; kills by outcome', async () => {
  const m = new MonitorMetrics({ views: () => [], version: '1' });
  m.incident(incident('api', true));
  let t = (await m.scrape()).body;
  assert.equal(value(t, 'helpdesk_monitor_remedies_total{app="api",reason="probe",result="healed"}'), 1);
  assert.equal(value(t, 'helpdesk_monitor_time_to_healthy_seconds_count{app="api",reason="probe"}'), 1);
  assert.equal(value(t, 'helpdesk_monitor_time_to_healthy_seconds_sum{app="api",reason="probe"}'), 0.85);
  const ports = { ports: [80], killed: [{ pid: 5, command: 'x', uid: 0, port: 80, signal: 'SIGTERM' }], refused: [{ pid: 6 }, { pid: 7 }], stillHeld: [], free: true, wouldKill: [], elapsedMs: 1 };
  m.incident(incident('api', false, { ports: ports as unknown as NonNullable<Incident['report']['ports']> }));
  t = (await m.scrape()).body;
  assert.equal(value(t, 'helpdesk_monitor_remedies_total{app="api",reason="probe",result="healed"}'), 1);
  assert.equal(value(t, 'helpdesk_monitor_remedies_total{app="api",reason="probe",result="failed"}'), 1);
  assert.equal(value(t, 'helpdesk_monitor_time_to_healthy_seconds_count{app="api",reason="probe"}'), 1, 'a failed remedy never healed');
  assert.equal(value(t, 'helpdesk_monitor_port_kills_total{app="api",outcome="killed"}'), 1);
  assert.equal(value(t, 'helpdesk_monitor_port_kills_total{app="api",outcome="refused"}'), 2);
});

test('circuit_state has one series per state, 1 for the current; health and failures read the views at scrape time', async () => {
  let views = [view('api', { circuit: 'open', phase: 'unhealthy', consecutiveFailures: 4 }), view('web', { phase: 'healthy' })];
  const m = new MonitorMetrics({ views: () => views, version: '1' });
  let t = (await m.scrape()).body;
  assert.equal(value(t, 'helpdesk_monitor_circuit_state{app="api",state="open"}'), 1);
  assert.equal(value(t, 'helpdesk_monitor_circuit_state{app="api",state="closed"}'), 0);
  assert.equal(value(t, 'helpdesk_monitor_circuit_state{app="api",state="half-open"}'), 0);
  assert.equal(value(t, 'helpdesk_monitor_app_healthy{app="api"}'), 0);
  assert.equal(value(t, 'helpdesk_monitor_app_healthy{app="web"}'), 1);
  assert.equal(value(t, 'helpdesk_monitor_consecutive_failures{app="api"}'), 4);
  views = [view('web', { phase: 'healthy' })];
  t = (await m.scrape()).body;
  assert.doesNotMatch(t, /app="api"/, 'an app no longer configured has no gauge series');
  assert.equal(value(t, 'helpdesk_monitor_build_info{version="1",node="' + process.versions.node + '"}'), 1);
});

test('retain() drops the counters of apps a reload removed', async () => {
  const m = new MonitorMetrics({ views: () => [], version: '1' });
  m.incident(incident('gone', true));
  m.incident(incident('kept', true));
  m.observe('gone', failing('x'));
  m.retain(['kept']);
  const t = (await m.scrape()).body;
  assert.doesNotMatch(t, /app="gone"/);
  assert.match(t, /remedies_total\{app="kept"/);
});

test('two instances keep apart (each its own registry)', async () => {
  const a = new MonitorMetrics({ views: () => [], version: '1' });
  const b = new MonitorMetrics({ views: () => [], version: '1' });
  a.incident(incident('api', true));
  assert.doesNotMatch((await b.scrape()).body, /remedies_total\{/);
});
