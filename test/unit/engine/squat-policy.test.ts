// The squatter policy (issue 12): when a check searches the app's ports, when it skips the
// probes, how long the port watch polls after a crash, and what decide() makes of a squatter: an
// urgent remedy whose reason names the holder, never a hang.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultAppConfig, type AppConfig } from '../../../src/config/schema.js';
import { decide, initialState, type Observation } from '../../../src/engine/decide.js';
import { nextPortLook, PORT_WATCH_MS, probesWanted, squatterReason, squatterSearch, type SearchInput } from '../../../src/engine/squat-policy.js';
import type { HttpOutcome, Pm2State } from '../../../src/probes/types.js';

const BASE = defaultAppConfig('helpdesk-backend');
const APP: AppConfig = { ...BASE, health: { ...BASE.health, url: 'http://127.0.0.1:5000/health', failureThreshold: 3 }, ports: [5000], startupGraceMs: 0 };
const TIMEOUT: HttpOutcome = { ok: false, failure: 'timeout', latencyMs: 2000, detail: 'no answer within 2000 ms' };
const SQUATTER = { port: 5000, pid: 4242, command: 'node -e listen' };

const input = (patch: Partial<SearchInput>): SearchInput => ({ state: 'online', crashes: 0, leftStopped: false, watchHit: false, ...patch });
const obs = (state: Pm2State, patch: Partial<Observation> = {}): Observation => ({
  at: 1000, pm2: { state, pids: state === 'online' ? [1234] : [], pmIds: [0], restarts: 0, uptimeMs: 60_000, detail: `status ${state}` }, crashes: 0, squatters: [], ...patch,
});

describe('squatterSearch: when a check looks at the ports', () => {
  test('a crash from the bus, a port-watch hit, PM2 starting or giving up: before any probe', () => {
    assert.equal(squatterSearch(input({ crashes: 1 })), 'first');
    assert.equal(squatterSearch(input({ watchHit: true })), 'first');
    assert.equal(squatterSearch(input({ state: 'launching' })), 'first');
    assert.equal(squatterSearch(input({ state: 'errored' })), 'first');
    assert.equal(squatterSearch(input({ state: 'stopped', leftStopped: true })), 'first');
  });

  test('within the watch window after a crash: only after a failed probe (a stranger may have bound between two looks)', () => {
    assert.equal(squatterSearch(input({ sinceCrashMs: 0 })), 'after-failure');
    assert.equal(squatterSearch(input({ sinceCrashMs: PORT_WATCH_MS - 1 })), 'after-failure');
  });

  test('no crash, or an old one, a settled or starting app (its own proxy may listen for it), an operator stop: no search', () => {
    assert.equal(squatterSearch(input({})), 'none');
    assert.equal(squatterSearch(input({ sinceCrashMs: PORT_WATCH_MS })), 'none');
    assert.equal(squatterSearch(input({ state: 'stopped' })), 'none');
    assert.equal(squatterSearch(input({ state: 'stopping', sinceCrashMs: 10 })), 'none');
  });
});

describe('probesWanted', () => {
  test('a found squatter or a crash from the bus skips the probes; otherwise they run', () => {
    assert.equal(probesWanted(0, 0), true);
    assert.equal(probesWanted(1, 0), false);
    assert.equal(probesWanted(0, 1), false);
  });
});

describe('nextPortLook: the port watch after a crash', () => {
  test('every 10 ms for the first second, every 50 ms after, nothing past the window', () => {
    assert.equal(nextPortLook(0), 10);
    assert.equal(nextPortLook(999), 10);
    assert.equal(nextPortLook(1000), 50);
    assert.equal(nextPortLook(PORT_WATCH_MS - 1), 50);
    assert.equal(nextPortLook(PORT_WATCH_MS), undefined);
  });

  test('the whole window is a bounded number of looks', () => {
    let looks = 0;
    for (let t = 0, d = nextPortLook(0); d !== undefined; t += d, d = nextPortLook(t)) looks++;
    assert.ok(looks <= 150, `${looks} looks`);
  });
});

describe('decide with a squatter', () => {
  test('the reason names the port, the holder and says it is not the app', () => {
    assert.equal(squatterReason(SQUATTER), 'port 5000 held by pid 4242 (node -e listen), not the app: a squatter');
    assert.match(squatterReason({ ...SQUATTER, command: '' }), /\(\?\)/);
  });

  test('a squatter seen while PM2 says the restarted instance is online: urgent, not hung', () => {
    const d = decide({ ...initialState(0), phase: 'healthy' }, obs('online', { squatters: [SQUATTER] }), APP);
    assert.ok(d.action === 'remedy');
    assert.equal(d.hung, false);
    assert.equal(d.reason, squatterReason(SQUATTER));
  });

  test('a probe that timed out against the squatter does not make the remedy a hang', () => {
    const d = decide({ ...initialState(0), phase: 'healthy' }, obs('online', { http: TIMEOUT, squatters: [SQUATTER] }), APP);
    assert.ok(d.action === 'remedy');
    assert.equal(d.hung, false, 'the squatter answered the probe, not a frozen app');
    assert.match(d.reason, /not the app: a squatter/);
    assert.doesNotMatch(d.reason, /timeout/);
  });

  test('a crash that reaches the threshold with a timed-out probe is not a hang either', () => {
    const app = { ...APP, health: { ...APP.health, failureThreshold: 1 } };
    const d = decide({ ...initialState(0), phase: 'healthy' }, obs('online', { http: TIMEOUT, crashes: 1 }), app);
    assert.ok(d.action === 'remedy');
    assert.equal(d.hung, false);
  });

  test('a timeout of the app itself is still a hang', () => {
    const app = { ...APP, health: { ...APP.health, failureThreshold: 1 } };
    const d = decide({ ...initialState(0), phase: 'healthy' }, obs('online', { http: TIMEOUT }), app);
    assert.ok(d.action === 'remedy');
    assert.equal(d.hung, true);
  });
});
