// verdictOf: one observation judged as decide() judges it, without acting: what `status` and
// `check --dry-run` print. It must agree with decide() on every kind of evidence: HTTP, TCP and
// exec probes, the log and memory rules, PM2's status, squatters, startup grace.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultAppConfig, type AppConfig } from '../../../src/config/schema.js';
import { decide, initialState, verdictOf, type AppState, type Observation } from '../../../src/engine/decide.js';
import type { OtherProbeOutcome, Pm2State, Pm2StatusOutcome } from '../../../src/probes/types.js';

const BASE = defaultAppConfig('api');
const APP: AppConfig = { ...BASE, health: { ...BASE.health, url: 'http://127.0.0.1:5000/health', failureThreshold: 3 }, ports: [5000], startupGraceMs: 10_000 };

const pm2 = (state: Pm2State, uptimeMs = 60_000): Pm2StatusOutcome => ({ state, pids: state === 'online' ? [1234] : [], pmIds: [0], restarts: 0, uptimeMs, detail: `status ${state}` });
const obs = (patch: Partial<Observation> = {}): Observation => ({ at: 100_000, pm2: pm2('online'), http: { ok: true, status: 200, latencyMs: 3 }, crashes: 0, squatters: [], ...patch });
const exec = (ok: boolean): OtherProbeOutcome => ({ kind: 'exec', ok, latencyMs: 5, ...(ok ? {} : { detail: 'health_check_command exit: exit code 1' }) });
const HEALTHY: AppState = { ...initialState(0), phase: 'healthy' };

describe('verdictOf', () => {
  test('online with every probe passing is healthy, and decide() agrees', () => {
    const v = verdictOf(HEALTHY, obs({ others: [exec(true)] }), APP);
    assert.equal(v.healthy, true);
    assert.equal(v.reason, undefined);
    assert.equal(v.decision.state.phase, 'healthy');
  });

  test('an app only its exec probe finds failing is not healthy (HTTP says 200)', () => {
    const v = verdictOf(HEALTHY, obs({ others: [exec(false)] }), APP);
    assert.equal(v.healthy, false);
    assert.match(v.reason ?? '', /health_check_command exit/);
    // The same observation, fed to the policy: the first of three failures.
    assert.equal(v.decision.action, 'none');
    assert.equal(v.decision.state.phase, 'failing');
  });

  test('at the threshold the verdict says a remedy would run, without running one', () => {
    const failing: AppState = { ...HEALTHY, phase: 'failing', consecutiveFailures: 2 };
    const v = verdictOf(failing, obs({ others: [exec(false)] }), APP);
    assert.equal(v.healthy, false);
    assert.equal(v.decision.action, 'remedy');
    assert.deepEqual(decide(failing, obs({ others: [exec(false)] }), APP), v.decision, 'the verdict carries exactly what decide() says');
  });

  test('an urgent rule (memory, log silence) is unhealthy at once', () => {
    const memory: OtherProbeOutcome = { kind: 'memory', ok: false, urgent: true, latencyMs: 0, detail: 'memory 300.0 MiB above max_memory 200.0 MiB for 3 checks in a row' };
    const v = verdictOf(HEALTHY, obs({ others: [memory] }), APP);
    assert.equal(v.healthy, false);
    assert.match(v.reason ?? '', /max_memory/);
    assert.equal(v.decision.action, 'remedy');
  });

  test('stopped, missing, errored and launching apps are not healthy, each with its reason', () => {
    assert.match(verdictOf(HEALTHY, obs({ pm2: pm2('stopped'), http: undefined }), APP).reason ?? '', /^stopped/);
    assert.match(verdictOf(HEALTHY, obs({ pm2: pm2('missing'), http: undefined }), APP).reason ?? '', /^missing/);
    assert.match(verdictOf(HEALTHY, obs({ pm2: pm2('errored'), http: undefined }), APP).reason ?? '', /errored/);
    const launching = verdictOf(HEALTHY, obs({ pm2: pm2('launching'), http: undefined }), APP);
    assert.equal(launching.healthy, false);
    assert.match(launching.reason ?? '', /^launching/);
  });

  test('a failure inside startup_grace is reported as such, and would not count', () => {
    const v = verdictOf(initialState(0), obs({ pm2: pm2('online', 2000), http: { ok: false, failure: 'refused', latencyMs: 1, detail: 'connection refused' } }), APP);
    assert.equal(v.healthy, false);
    assert.equal(v.graced, true);
    assert.match(v.reason ?? '', /refused.*inside startup_grace/);
    assert.equal(v.decision.action, 'none');
  });

  test('a squatter on the port of a crashed app is named', () => {
    const v = verdictOf(HEALTHY, obs({ pm2: pm2('errored'), http: undefined, squatters: [{ port: 5000, pid: 77, command: 'nc -l 5000' }] }), APP);
    assert.match(v.reason ?? '', /port 5000 held by pid 77/);
  });
});
