// What kill-port and cleanup-ports say about a pid that is a live PM2 app (or its child), before
// and after the kill, and the JSON form of a result: snake_case keys, whole milliseconds.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { freedJson } from '../../../src/cli/json.js';
import { describePm2App, pm2AppOf, pm2AppsIn, withPm2Notes } from '../../../src/cli/port-report.js';
import type { ProcessInfo } from '../../../src/pm2/adapter.js';
import type { FreePortsResult } from '../../../src/ports/free-port.js';
import { describeFreed } from '../../../src/steps/wording.js';

const info = (pmId: number, name: string, pid: number, patch: Partial<ProcessInfo> = {}): ProcessInfo => ({
  pmId, name, pid, status: pid > 0 ? 'online' : 'stopped', restarts: 0, unstableRestarts: 0, startedAt: 0, memory: 0, cpu: 0, execMode: 'fork', isModule: false, ...patch,
});
const LIST = [info(3, 'api', 1234), info(4, 'old', 0), info(5, 'helpdesk-monitor', 1300, { isModule: true })];
/** 1234 is api; 1240 is its child; 1250 a grandchild; 999 nobody's; 0 (a stopped app) matches nothing. */
const PARENTS: Record<number, number> = { 1240: 1234, 1250: 1240, 1234: 1100, 999: 1, 1100: 1 };
const lineage = (pid: number): number[] => {
  const chain = [pid];
  for (let p = PARENTS[pid]; p !== undefined && p > 1; p = PARENTS[p]) chain.push(p);
  return chain;
};

const result = (patch: Partial<FreePortsResult> = {}): FreePortsResult => ({
  ports: [5000], killed: [], refused: [], stillHeld: [], free: true, wouldKill: [], elapsedMs: 12.6, ...patch,
});
const kill = (pid: number, why = 'listening on 5000 (kill-port)') => ({ port: 5000, pid, command: 'node server.js', uid: 0, signal: 'SIGTERM' as const, why });

describe('pm2AppOf', () => {
  test('the app\'s own process, a child or grandchild, or nothing', () => {
    assert.deepEqual(pm2AppOf(1234, LIST, lineage), { name: 'api', pm_id: 3, relation: 'app', module: false });
    assert.deepEqual(pm2AppOf(1250, LIST, lineage), { name: 'api', pm_id: 3, relation: 'child', module: false });
    assert.equal(pm2AppOf(999, LIST, lineage), undefined);
    assert.equal(pm2AppOf(0, LIST, () => [0]), undefined, 'a stopped app (pid 0) is no pid\'s app');
    assert.equal(pm2AppOf(1234, [], lineage), undefined, 'PM2 down: no names');
  });

  test('the wording', () => {
    assert.equal(describePm2App({ name: 'api', pm_id: 3, relation: 'app', module: false }), 'this is the live PM2 app "api" (pm_id 3)');
    assert.equal(describePm2App({ name: 'api', pm_id: 3, relation: 'child', module: false }, true), 'it was a child of the live PM2 app "api" (pm_id 3)');
    assert.equal(describePm2App({ name: 'm', pm_id: 5, relation: 'app', module: true }), 'this is the live PM2 module "m" (pm_id 5)');
  });
});

describe('withPm2Notes', () => {
  test('a would-be kill of a PM2 app says so, and how to stop the app for good; another pid is unchanged', () => {
    const r = result({ wouldKill: [kill(1234), kill(999)] });
    const noted = withPm2Notes(r, pm2AppsIn(r, LIST, lineage));
    assert.equal(noted.wouldKill[0]!.why, 'listening on 5000 (kill-port) — this is the live PM2 app "api" (pm_id 3); PM2 may restart it after the kill (`helpdesk-monitor stop api` stops it for good)');
    assert.equal(noted.wouldKill[1]!.why, 'listening on 5000 (kill-port)');
    assert.equal(r.wouldKill[0]!.why, 'listening on 5000 (kill-port)', 'the result itself is not changed');
  });

  test('a kill and a refusal, through the shared wording', () => {
    const r = result({ killed: [kill(1234)], refused: [{ port: 5001, pid: 1250, command: 'node worker.js', uid: 0, why: 'not in the app\'s kill_scope' }] });
    const line = describeFreed(withPm2Notes(r, pm2AppsIn(r, LIST, lineage)));
    assert.match(line, /^killed pid 1234 \(node server\.js\) on port 5000 with SIGTERM: listening on 5000 \(kill-port\) — it was the live PM2 app "api" \(pm_id 3\); PM2 may restart it/);
    assert.match(line, /refused pid 1250 .*: not in the app's kill_scope — this is a child of the live PM2 app "api" \(pm_id 3\)$/);
  });
});

describe('freedJson', () => {
  test('snake_case keys, whole milliseconds, the same content', () => {
    const r = { ...result({ stillHeld: [5001], free: false, wouldKill: [kill(1234)] }), live: 1 };
    const doc = freedJson(r, pm2AppsIn(r, LIST, lineage));
    assert.deepEqual(Object.keys(doc), ['ports', 'killed', 'refused', 'still_held', 'free', 'would_kill', 'elapsed_ms', 'live']);
    assert.equal(doc['elapsed_ms'], 13);
    assert.deepEqual(doc['still_held'], [5001]);
    assert.deepEqual(doc['would_kill'], [{ ...kill(1234), pm2_app: { name: 'api', pm_id: 3, relation: 'app', module: false } }]);
    const keys = JSON.stringify(doc).match(/"[^"]+":/g) ?? [];
    assert.deepEqual(keys.filter((k) => /[A-Z]/.test(k)), [], 'no camelCase key');
  });

  test('without apps or live, nothing extra', () => {
    const doc = freedJson(result({ killed: [kill(999)] }));
    assert.deepEqual(doc['killed'], [kill(999)]);
    assert.equal('live' in doc, false);
  });
});
