/**
 * depends_on as pure policy: a dependency's state says whether it holds its dependents, a
 * dependency still deciding is waited for, and decide() counts a held app's failures without
 * remedying it, then remedies it once the wait is over and it still fails.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultAppConfig, type AppConfig } from '../../../src/config/schema.js';
import { decide, initialState, transition, type AppState, type Observation } from '../../../src/engine/decide.js';
import { dependencyWait, notHealthy } from '../../../src/engine/dependencies.js';
import type { HttpOutcome } from '../../../src/probes/types.js';

const BASE = defaultAppConfig('api');
const APP: AppConfig = { ...BASE, dependsOn: ['db'], startupGraceMs: 0, health: { ...BASE.health, url: 'http://127.0.0.1:5000/health', failureThreshold: 2 } };
const TIMEOUT: HttpOutcome = { ok: false, failure: 'timeout', latencyMs: 2000, detail: 'no answer within 2000 ms' };
const OK: HttpOutcome = { ok: true, status: 200, latencyMs: 3 };
const obs = (at: number, http: HttpOutcome, waitingFor?: string): Observation => ({
  at, http, crashes: 0, squatters: [], pm2: { state: 'online', pids: [7], pmIds: [0], restarts: 0, uptimeMs: 60_000, detail: 'online' },
  ...(waitingFor ? { waitingFor } : {}),
});
const at = (phase: AppState['phase'], lastReason?: string): AppState => transition(initialState(0), phase, 0, lastReason ? { lastReason } : {});

describe('what holds a dependent', () => {
  test('every phase but healthy and unknown holds, and says why', () => {
    assert.equal(notHealthy(at('healthy')), undefined);
    assert.equal(notHealthy(at('unknown')), undefined, 'nothing bad known: no hold');
    assert.equal(notHealthy(at('remedying')), 'is being remedied');
    assert.equal(notHealthy(at('failing', 'health timeout (1/3)')), 'is unhealthy (health timeout (1/3))');
    assert.equal(notHealthy(at('unhealthy')), 'is unhealthy');
    assert.equal(notHealthy(at('stopped')), 'is stopped in PM2');
    assert.equal(notHealthy(at('missing')), 'is not in PM2');
  });

  test('a dependency still deciding is waited for, then read afresh', async () => {
    let state = at('healthy');
    let decide = (): void => undefined;
    const decided = new Promise<void>((r) => (decide = r));
    const waiting = dependencyWait(['db'], (name) => (name === 'db' ? { state, decided: () => decided } : undefined));
    // db's check in progress decides to remedy.
    setTimeout(() => {
      state = at('remedying');
      decide();
    }, 20);
    assert.equal(await waiting, 'db, which is being remedied');
  });

  test('the first holding dependency is named; an app not configured holds nothing', async () => {
    const looks: Record<string, AppState> = { db: at('healthy'), cache: at('unhealthy', 'exited') };
    const look = (n: string) => (looks[n] ? { state: looks[n], decided: () => Promise.resolve() } : undefined);
    assert.equal(await dependencyWait(['db', 'cache', 'ghost'], look), 'cache, which is unhealthy (exited)');
    assert.equal(await dependencyWait(['db', 'ghost'], look), undefined);
  });
});

describe('decide with a wait', () => {
  test('failures count while held; the remedy goes once the wait is over and the app still fails', () => {
    let s = initialState(0);
    const d1 = decide(s, obs(1000, TIMEOUT, 'db, which is being remedied'), APP);
    assert.equal(d1.action, 'none');
    s = d1.state;
    const d2 = decide(s, obs(2000, TIMEOUT, 'db, which is being remedied'), APP);
    assert.equal(d2.action, 'none', 'at the threshold, held');
    assert.ok(d2.action === 'none' && d2.note === 'waiting for db, which is being remedied');
    assert.equal(d2.state.phase, 'unhealthy');
    assert.equal(d2.state.consecutiveFailures, 2);
    s = d2.state;
    const d3 = decide(s, obs(3000, TIMEOUT), APP);
    assert.equal(d3.action, 'remedy', 'db healthy again, api still hung: remedied');
  });

  test('recovered by itself while held: healthy, no remedy', () => {
    let s = initialState(0);
    for (const t of [1000, 2000, 3000]) s = decide(s, obs(t, TIMEOUT, 'db, which is unhealthy'), APP).state;
    const d = decide(s, obs(4000, OK), APP);
    assert.equal(d.action, 'none');
    assert.equal(d.state.phase, 'healthy');
  });

  test('an operator pause and an open circuit are told before the wait', () => {
    const open = { ...initialState(0), circuit: 'open' as const, circuitSince: 0, consecutiveFailures: 5 };
    const d = decide(open, obs(1000, TIMEOUT, 'db, which is unhealthy'), APP);
    assert.ok(d.action === 'none' && d.note?.startsWith('circuit open'));
  });
});
