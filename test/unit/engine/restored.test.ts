/**
 * What the monitor says at start about state another run left (state.json) or an operator set
 * (control.json): each holding part with its end time and the command that ends it. Pure, with
 * an injected monotonic clock and a fixed wall clock.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultAppConfig, type AppConfig } from '../../../src/config/schema.js';
import { initialState, type AppState } from '../../../src/engine/decide.js';
import { restoredNotices } from '../../../src/engine/restored.js';
import { restoreApp } from '../../../src/engine/state-document.js';
import type { Control } from '../../../src/engine/view.js';

const BASE = defaultAppConfig('api');
const APP: AppConfig = { ...BASE, policy: { ...BASE.policy, circuitResetMs: 1_800_000, maxRestartFailures: 3, failureWindowMs: 600_000 } };
const WALL = Date.parse('2030-01-02T03:00:00.000Z');
const MONO = 500_000;

const tell = (state: Partial<AppState>, control: Control = {}, configSource?: string): string[] =>
  restoredNotices({ app: APP, state: { ...initialState(0), ...state }, control, monoNow: MONO, wallNow: WALL, ...(configSource ? { configSource } : {}) });

describe('restoredNotices', () => {
  test('a default state says nothing', () => {
    assert.deepEqual(tell({}), []);
    assert.deepEqual(tell({ phase: 'unhealthy', consecutiveFailures: 7, failedRemedies: 1, backoffUntil: MONO - 1 }), []);
    assert.deepEqual(tell({}, { pausedUntil: WALL - 1000 }), [], 'an ended pause is no pause');
  });

  test('an open circuit: since and until as ISO times, why, and the reset command', () => {
    const [line, ...rest] = tell({
      circuit: 'open', circuitSince: MONO - 60_000, recentFailures: [MONO - 200_000, MONO - 100_000, MONO - 60_000], failedRemedies: 3,
      lastReason: 'not healthy: health timeout',
    });
    assert.deepEqual(rest, []);
    assert.equal(
      line,
      'circuit open since 2030-01-02T02:59:00.000Z until 2030-01-02T03:29:00.000Z (after 3 failed remedies within 600 s; last: not healthy: health timeout): ' +
        'no restarts until then; `helpdesk-monitor reset api` closes it now',
    );
  });

  test('an open circuit after a failed half-open trial says so', () => {
    const [line] = tell({ circuit: 'open', circuitSince: MONO, recentFailures: [MONO] });
    assert.match(line ?? '', /after a failed half-open trial/);
  });

  test('an open circuit whose reset time has passed: the next failing check is the trial', () => {
    const [line] = tell({ circuit: 'open', circuitSince: MONO - 2_000_000, recentFailures: [1, 2, 3] });
    assert.match(line ?? '', /circuit_reset_time has passed: the next failing check gets one trial remedy; `helpdesk-monitor reset api` closes it now/);
    assert.doesNotMatch(line ?? '', / until /);
  });

  test('half-open, backoff and pauses, each with its command; the config file rides along, quoted when needed', () => {
    assert.match(tell({ circuit: 'half-open', circuitSince: MONO })[0] ?? '', /^circuit half-open since 2030-01-02T03:00:00.000Z: .*reset api/);
    assert.deepEqual(tell({ failedRemedies: 2, backoffUntil: MONO + 20_000 }), [
      'backing off after 2 failed remedies: no remedy before 2030-01-02T03:00:20.000Z; `helpdesk-monitor reset api` clears it',
    ]);
    assert.deepEqual(tell({}, { pausedUntil: 'indefinite' }), ['remedies paused (no end set) until `helpdesk-monitor resume api`']);
    assert.deepEqual(tell({}, { pausedUntil: WALL + 1_800_000 }, '/etc/hdm/monitor.yaml'), [
      'remedies paused until 2030-01-02T03:30:00.000Z; `helpdesk-monitor resume api --config /etc/hdm/monitor.yaml` ends the pause now',
    ]);
    assert.match(tell({}, { pausedUntil: 'indefinite' }, "/srv/it's here/m.yaml")[0] ?? '', /--config '\/srv\/it'\\''s here\/m\.yaml'`/);
  });

  test('everything at once: one sentence per part, in order circuit, backoff, pause', () => {
    const lines = tell({ circuit: 'open', circuitSince: MONO, recentFailures: [1, 2, 3], failedRemedies: 3, backoffUntil: MONO + 1000 }, { pausedUntil: 'indefinite' });
    assert.deepEqual(lines.map((l) => l.split(' ')[0]), ['circuit', 'backing', 'remedies']);
  });

  test('a state restored from a state.json record is read back in wall-clock times', () => {
    const { state } = restoreApp(
      { phase: 'unhealthy', consecutive_failures: 3, failed_remedies: 3, circuit: 'open', circuit_since: '2030-01-02T02:50:00.000Z',
        recent_failures: ['2030-01-02T02:45:00.000Z', '2030-01-02T02:48:00.000Z', '2030-01-02T02:50:00.000Z'] },
      MONO, WALL,
    );
    const [line] = restoredNotices({ app: APP, state, control: {}, monoNow: MONO, wallNow: WALL });
    assert.match(line ?? '', /^circuit open since 2030-01-02T02:50:00.000Z until 2030-01-02T03:20:00.000Z \(after 3 failed remedies within 600 s\)/);
  });
});
