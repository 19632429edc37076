import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_TIMER_MS } from '../../../src/config/duration.js';
import { rootSchema, toMonitorConfig, type MonitorConfig } from '../../../src/config/schema.js';
import { CONNECT_ALLOWANCE_MS, DEADLINE_MARGIN_MS, checkDeadline, probeMs } from '../../../src/engine/deadline.js';

const config = (doc: unknown): MonitorConfig => toMonitorConfig(rootSchema.parse(doc), '/test/monitor.yaml');
const URL = 'http://127.0.0.1:5000/health';
const S = 1000;

describe('checkDeadline', () => {
  test('the defaults: grace + (threshold + 2) intervals + 2 checks + one pm2 remedy + connect + margin', () => {
    const d = checkDeadline(config({ apps: [{ name: 'a', health: { url: URL } }] }));
    const check = 5 * S + 2 * S; // a PM2 list + the 2s HTTP timeout
    const rechecks = 10 * S + (3 + 2) * 5 * S + check;
    const remedy = 5 * S + 2 * 30 * S + 2 * S + (30 * S + 2 * S) + 5 * S; // list, stop + start, kill_grace, verify + probe, slack
    assert.deepEqual(d, { ms: CONNECT_ALLOWANCE_MS + check + rechecks + remedy + DEADLINE_MARGIN_MS, app: 'a' });
    assert.equal(d.ms, 176 * S, 'about 3 minutes, as the help says');
  });

  test('every setting the pass waits on raises it by what it adds', () => {
    const base = { name: 'a', health: { url: URL } };
    const at = (patch: Record<string, unknown>): number => checkDeadline(config({ apps: [{ ...base, ...patch }] })).ms;
    const d0 = at({});
    assert.equal(at({ startup_grace: '70s' }) - d0, 60 * S);
    assert.equal(at({ health: { url: URL, interval: '6s' } }) - d0, 5 * S, '(threshold + 2) x 1s more');
    assert.equal(at({ health: { url: URL, failure_threshold: 4 } }) - d0, 5 * S, 'one interval more');
    assert.equal(at({ verify_timeout: '40s' }) - d0, 10 * S);
    assert.equal(at({ pre_restart_command: 'true', pre_restart_timeout: '20s' }) - d0, 20 * S);
    // A 2s longer probe counts in the two checks, and in the verify of the remedy.
    assert.equal(at({ health: { url: URL, timeout: '4s' } }) - d0, 3 * 2 * S);
    // An exec probe runs after the HTTP one.
    assert.equal(at({ health_check_command: 'true', health_check_timeout: '3s' }) - d0, 3 * 3 * S);
    // Two attempts: a second restart, after restart_delay.
    const attempt = 5 * S + 60 * S + 2 * S + 32 * S + 5 * S;
    assert.equal(at({ max_attempts: 2, restart_delay: '7s' }) - d0, attempt + 7 * S);
  });

  test('apps run in parallel: the slowest sets it, and --app narrows the set', () => {
    const cfg = config({ apps: [{ name: 'quick', startup_grace: 0 }, { name: 'slow', startup_grace: '10m' }] });
    assert.equal(checkDeadline(cfg).app, 'slow');
    assert.equal(checkDeadline(cfg, ['quick']).app, 'quick');
    assert.equal(checkDeadline(cfg).ms - checkDeadline(cfg, ['quick']).ms, 600 * S);
  });

  test('depends_on: a dependency is checked before its dependents, so the layers add up', () => {
    const apart = config({ apps: [{ name: 'db', startup_grace: '10m' }, { name: 'api', startup_grace: '5m' }] });
    const chained = config({ apps: [{ name: 'db', startup_grace: '10m' }, { name: 'api', startup_grace: '5m', depends_on: 'db' }] });
    const api = checkDeadline(apart, ['api']).ms - CONNECT_ALLOWANCE_MS - DEADLINE_MARGIN_MS;
    assert.equal(checkDeadline(chained).ms - checkDeadline(apart).ms, api, 'api\'s whole pass comes after db\'s');
    assert.equal(checkDeadline(chained).app, 'db');
  });

  test('apps sharing concurrency slots wait for each other\'s probes', () => {
    const apps = Array.from({ length: 4 }, (_, i) => ({ name: `a${i}`, health: { url: URL, timeout: '10s' } }));
    const wide = checkDeadline(config({ concurrency: 4, apps })).ms;
    const narrow = checkDeadline(config({ concurrency: 1, apps })).ms;
    assert.equal(narrow - wide, 2 * 3 * 10 * S, 'each of the two checks waits for 3 more probes of 10s');
  });

  test('a remedy by systemd or by command is priced by its strategy', () => {
    const pm2 = checkDeadline(config({ apps: [{ name: 'a' }] })).ms;
    const service = checkDeadline(config({ apps: [{ name: 'a', restart_strategy: 'service' }] })).ms;
    const proc = checkDeadline(config({ apps: [{ name: 'a', restart_strategy: 'process', process: { command: 'x', stop_grace: '5s' } }] })).ms;
    const auto = checkDeadline(config({ apps: [{ name: 'a', restart_strategy: 'auto' }] })).ms;
    assert.ok(service < pm2 && proc < pm2, `${service} ${proc} ${pm2}`);
    assert.equal(auto, pm2, 'auto may turn out to be PM2, the slowest');
  });

  test('it never exceeds what a timer can hold', () => {
    const d = checkDeadline(config({ apps: [{ name: 'a', startup_grace: '590h', verify_timeout: '590h' }] }));
    assert.equal(d.ms, MAX_TIMER_MS);
  });

  test('probeMs: HTTP, then TCP and exec side by side', () => {
    const [app] = config({ apps: [{ name: 'a', health: { url: URL, timeout: '2s', tcp: 5000 }, health_check_command: 'true', health_check_timeout: '7s' }] }).apps;
    assert.equal(probeMs(app!), 2 * S + 7 * S);
    const [bare] = config({ apps: [{ name: 'b' }] }).apps;
    assert.equal(probeMs(bare!), 0);
  });
});
