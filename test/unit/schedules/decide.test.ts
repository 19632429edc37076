/**
 * The schedule takeover's decisions as sequences over explicit wall times (no sleeps): a tick,
 * what the bus said and what PM2 describes at the window's end -> leave to PM2, wait, fire or skip.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RECHECK_MS, TICK_SLACK_MS, TRANSITION_WINDOWS, decideCatchUp, decideTick, type AppNow, type TickFacts } from '../../../src/schedules/decide.js';

const TICK = Date.parse('2026-12-02T03:00:00Z');
const WINDOW = 10_000;
const facts = (over: Partial<TickFacts> = {}): TickFacts => ({ tick: TICK, now: TICK + WINDOW, windowMs: WINDOW, startsSeen: [], app: stopped(), ...over });
function stopped(startedAt = TICK - 3_600_000): AppNow {
  return { status: 'stopped', startedAt };
}

describe('decideTick', () => {
  test('PM2 fired (a start on the bus after the tick): left to PM2 at once, even inside the window', () => {
    const d = decideTick(facts({ now: TICK + 200, startsSeen: [TICK - 60_000, TICK + 120] }));
    assert.equal(d.kind, 'leave-to-pm2');
    assert.equal(d.kind === 'leave-to-pm2' && d.startedAt, TICK + 120);
  });

  test('the bus was away but pm_uptime says it started since the tick: left to PM2', () => {
    const d = decideTick(facts({ app: { status: 'online', startedAt: TICK + 900 } }));
    assert.equal(d.kind, 'leave-to-pm2');
  });

  test('a start just before the tick (timers run early) is the tick\'s; one well before is not', () => {
    assert.equal(decideTick(facts({ startsSeen: [TICK - TICK_SLACK_MS + 1] })).kind, 'leave-to-pm2');
    assert.equal(decideTick(facts({ startsSeen: [TICK - 5000] })).kind, 'fire');
  });

  test('inside the window with nothing seen: wait for the window end', () => {
    const d = decideTick(facts({ now: TICK + 3000 }));
    assert.deepEqual(d.kind === 'wait' && d.at, TICK + WINDOW);
  });

  test('a stopped app PM2 did not start by the window end (its cron was lost): the monitor fires', () => {
    const d = decideTick(facts());
    assert.equal(d.kind, 'fire');
    assert.match(d.reason, /PM2 did not start the stopped app within 10 s/);
  });

  test('an online app PM2 did not restart: the monitor fires (what PM2\'s cron would have done)', () => {
    assert.equal(decideTick(facts({ app: { status: 'online', startedAt: TICK - 60_000 } })).kind, 'fire');
    assert.equal(decideTick(facts({ app: { status: 'errored', startedAt: TICK - 60_000 } })).kind, 'fire');
  });

  test('PM2 mid-stop at the window end (a slow kill_timeout restart): wait, then leave it when the start shows', () => {
    const seq: string[] = [];
    let now = TICK + WINDOW;
    let d = decideTick(facts({ now, app: { status: 'stopping', startedAt: TICK - 60_000 } }));
    seq.push(d.kind);
    assert.equal(d.kind === 'wait' && d.at, now + RECHECK_MS);
    now += RECHECK_MS;
    d = decideTick(facts({ now, app: { status: 'launching', startedAt: TICK - 60_000 } }));
    seq.push(d.kind);
    now += RECHECK_MS;
    d = decideTick(facts({ now, startsSeen: [now - 10], app: { status: 'online', startedAt: now - 10 } }));
    seq.push(d.kind);
    assert.deepEqual(seq, ['wait', 'wait', 'leave-to-pm2']);
  });

  test('a stop that never ends: given up after the transition windows, nothing fired', () => {
    const now = TICK + WINDOW + TRANSITION_WINDOWS * WINDOW;
    const d = decideTick(facts({ now, app: { status: 'stopping', startedAt: TICK - 60_000 } }));
    assert.equal(d.kind, 'skip');
  });

  test('waiting restart: PM2 restarts it itself (the lost tick of finding h), not fired twice', () => {
    assert.equal(decideTick(facts({ app: { status: 'waiting restart', startedAt: TICK - 60_000 } })).kind, 'skip');
  });

  test('an app PM2 does not have (a resurrect in progress) is waited for, then skipped; a tick already decided is never decided again', () => {
    assert.equal(decideTick(facts({ app: undefined })).kind, 'wait');
    assert.equal(decideTick(facts({ app: undefined, now: TICK + WINDOW * (1 + TRANSITION_WINDOWS) })).kind, 'skip');
    const again = decideTick(facts({ lastTick: TICK }));
    assert.equal(again.kind, 'skip');
    assert.match(again.reason, /already decided/);
  });

  test('a sequence of ticks: PM2 fires, PM2 loses one, the monitor fires, PM2 (re-armed) fires again', () => {
    const period = 5000;
    const window = 2000;
    const starts: number[] = [];
    let last: number | undefined;
    const outcome: string[] = [];
    let app: AppNow = { status: 'online', startedAt: TICK - 60_000 };
    const pm2Fires = [true, false, true];
    pm2Fires.forEach((fires, i) => {
      const tick = TICK + i * period;
      if (fires) {
        app = { status: 'online', startedAt: tick + 300 };
        starts.push(tick + 300);
      } else app = { status: 'stopped', startedAt: app.startedAt };
      const d = decideTick({ tick, now: tick + window, windowMs: window, startsSeen: starts, app, ...(last === undefined ? {} : { lastTick: last }) });
      outcome.push(d.kind);
      last = tick;
      if (d.kind === 'fire') {
        app = { status: 'online', startedAt: tick + window + 100 };
        starts.push(tick + window + 100);
      }
    });
    assert.deepEqual(outcome, ['leave-to-pm2', 'fire', 'leave-to-pm2']);
  });
});

describe('decideCatchUp', () => {
  const base = { now: TICK + 60_000, catchUp: 'once' as const, windowMs: WINDOW, lastDue: TICK, app: stopped() };

  test('first run (no record): nothing caught up, the last due tick becomes the baseline', () => {
    const d = decideCatchUp({ ...base, lastTick: undefined });
    assert.equal(d.kind, 'skip');
    assert.equal(d.kind === 'skip' && d.tick, TICK);
  });

  test('a tick missed while down, catch_up once: fired once; a second start finds it decided', () => {
    const d = decideCatchUp({ ...base, lastTick: TICK - 86_400_000 });
    assert.equal(d.kind, 'fire');
    assert.equal(decideCatchUp({ ...base, lastTick: TICK }).kind, 'skip');
  });

  test('catch_up skip: recorded as decided, not fired', () => {
    const d = decideCatchUp({ ...base, catchUp: 'skip', lastTick: TICK - 86_400_000 });
    assert.equal(d.kind, 'skip');
    assert.equal(d.kind === 'skip' && d.tick, TICK);
  });

  test('started since the missed tick (a resurrect started it): left to PM2', () => {
    assert.equal(decideCatchUp({ ...base, lastTick: TICK - 86_400_000, app: { status: 'online', startedAt: TICK + 30_000 } }).kind, 'leave-to-pm2');
  });

  test('a tick due within the window is decided as a tick (PM2 may be acting on it now), unless already decided', () => {
    const d = decideCatchUp({ ...base, now: TICK + 4000, lastTick: TICK - 86_400_000 });
    assert.deepEqual(d, { kind: 'tick', tick: TICK });
    assert.equal(decideCatchUp({ ...base, now: TICK + 4000, lastTick: TICK }).kind, 'skip');
  });

  test('PM2 does not list the app (a resurrect in progress): nothing fired and nothing recorded (asked again)', () => {
    const d = decideCatchUp({ ...base, lastTick: TICK - 86_400_000, app: undefined });
    assert.deepEqual(d.kind === 'skip' && d.tick, undefined);
  });

  test('no tick due yet, or PM2 mid-stop: nothing fired', () => {
    assert.equal(decideCatchUp({ ...base, lastDue: undefined, lastTick: undefined }).kind, 'skip');
    assert.equal(decideCatchUp({ ...base, lastTick: TICK - 86_400_000, app: { status: 'stopping', startedAt: 0 } }).kind, 'skip');
  });
});
