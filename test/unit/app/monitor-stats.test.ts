// The figures of `pm2 show helpdesk-monitor`: remedies counted from incidents, the p95 of recent
// HTTP probes over a bounded window (by count and by age), and the counts over the workers' views.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_AGE_MS, MonitorStats, WINDOW, monitorFigures } from '../../../src/app/monitor-stats.js';
import { initialState, type Observation, type Phase } from '../../../src/engine/decide.js';
import type { Incident } from '../../../src/engine/incident.js';
import type { WorkerView } from '../../../src/engine/view.js';

const obs = (at: number, latencyMs?: number): Observation =>
  ({ at, pm2: { state: 'online', pids: [1], pmIds: [0], restarts: 0, uptimeMs: 1 }, squatters: [], crashes: 0, ...(latencyMs === undefined ? {} : { http: { ok: true, status: 200, latencyMs } }) }) as unknown as Observation;

describe('MonitorStats', () => {
  test('p95 by nearest rank over the HTTP probes seen; none before the first', () => {
    const s = new MonitorStats();
    assert.equal(s.probeP95Ms(0), undefined);
    s.hooks.onObservation('api', obs(0));
    assert.equal(s.probeP95Ms(0), undefined, 'an observation without an HTTP probe adds nothing');
    for (let i = 1; i <= 100; i++) s.hooks.onObservation('api', obs(i, i));
    assert.equal(s.probeP95Ms(100), 95);
    s.probe(1000.4, 101);
    assert.equal(s.probeP95Ms(101), 96, 'an outlier moves the p95 by one rank');
  });

  test('the window keeps the last WINDOW probes only', () => {
    const s = new MonitorStats();
    for (let i = 0; i < WINDOW; i++) s.probe(5000, i);
    for (let i = 0; i < WINDOW; i++) s.probe(10, WINDOW + i);
    assert.equal(s.probeP95Ms(2 * WINDOW), 10, 'the slow probes were pushed out');
  });

  test('probes older than MAX_AGE_MS do not count', () => {
    const s = new MonitorStats();
    s.probe(900, 0);
    s.probe(20, MAX_AGE_MS);
    assert.equal(s.probeP95Ms(MAX_AGE_MS), 900);
    assert.equal(s.probeP95Ms(MAX_AGE_MS + 1), 20);
    assert.equal(s.probeP95Ms(3 * MAX_AGE_MS), undefined);
  });

  test('remedies count finished incidents', () => {
    const s = new MonitorStats();
    s.hooks.onIncident({} as Incident);
    s.hooks.onIncident({} as Incident);
    assert.equal(s.remedies, 2);
  });
});

describe('monitorFigures', () => {
  const view = (app: string, phase: Phase, circuit: 'closed' | 'open' | 'half-open' = 'closed'): WorkerView =>
    ({ app, state: { ...initialState(0), phase, circuit }, history: [], control: {}, resetSeen: 0 });

  test('counts apps, the ones not healthy, and open circuits (half-open is a trial, not open)', () => {
    const s = new MonitorStats();
    s.probe(12, 0);
    s.hooks.onIncident({} as Incident);
    const views = [view('a', 'healthy'), view('b', 'unhealthy', 'open'), view('c', 'unknown'), view('d', 'failing', 'half-open'), view('e', 'healthy')];
    assert.deepEqual(monitorFigures(views, s, 10), { apps: 5, unhealthy: 3, openCircuits: 1, remedies: 1, probeP95Ms: 12 });
    assert.deepEqual(monitorFigures([], new MonitorStats(), 10), { apps: 0, unhealthy: 0, openCircuits: 0, remedies: 0, probeP95Ms: undefined });
  });
});
