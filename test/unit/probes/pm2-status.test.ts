import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ProcessInfo } from '../../../src/pm2/adapter.js';
import { probePm2Status } from '../../../src/probes/pm2-status.js';

const NOW = 1_700_000_000_000;

const proc = (patch: Partial<ProcessInfo> & Pick<ProcessInfo, 'name'>): ProcessInfo => ({
  pmId: 0,
  pid: 1234,
  status: 'online',
  restarts: 0,
  unstableRestarts: 0,
  startedAt: NOW - 60_000,
  memory: 50_000_000,
  cpu: 1,
  execMode: 'fork',
  isModule: false,
  ...patch,
});

describe('probePm2Status', () => {
  test('an app PM2 does not know is missing', () => {
    const r = probePm2Status('helpdesk', [proc({ name: 'other' })], NOW);
    assert.deepEqual(r, { state: 'missing', pids: [], pmIds: [], restarts: 0, uptimeMs: 0, detail: 'not known to PM2' });
    assert.equal(probePm2Status('helpdesk', [], NOW).state, 'missing');
  });

  test('one online instance', () => {
    const r = probePm2Status('helpdesk', [proc({ name: 'other', pmId: 0, pid: 1 }), proc({ name: 'helpdesk', pmId: 3, pid: 4321, restarts: 2 })], NOW);
    assert.deepEqual(r, { state: 'online', pids: [4321], pmIds: [3], restarts: 2, uptimeMs: 60_000, detail: 'status online' });
  });

  test('errored wins over every other instance state', () => {
    const list = [
      proc({ name: 'api', pmId: 1, status: 'online' }),
      proc({ name: 'api', pmId: 2, status: 'errored', pid: 0 }),
      proc({ name: 'api', pmId: 3, status: 'stopped', pid: 0 }),
      proc({ name: 'api', pmId: 4, status: 'launching' }),
    ];
    const r = probePm2Status('api', list, NOW);
    assert.equal(r.state, 'errored');
    assert.equal(r.detail, 'statuses online,errored,stopped,launching');
  });

  test('severity order: stopped > stopping > launching > online', () => {
    const states = (statuses: string[]): string =>
      probePm2Status('a', statuses.map((status, i) => proc({ name: 'a', pmId: i, status })), NOW).state;
    assert.equal(states(['online', 'stopped', 'stopping']), 'stopped');
    assert.equal(states(['online', 'stopping', 'launching']), 'stopping');
    assert.equal(states(['online', 'launching']), 'launching');
    assert.equal(states(['online', 'online']), 'online');
  });

  test("'launching' and 'waiting restart' are launching", () => {
    assert.equal(probePm2Status('a', [proc({ name: 'a', status: 'launching' })], NOW).state, 'launching');
    const waiting = probePm2Status('a', [proc({ name: 'a', status: 'waiting restart', pid: 0 })], NOW);
    assert.equal(waiting.state, 'launching');
    assert.equal(waiting.detail, 'status waiting restart');
  });

  test("'stopping' is stopping; 'stopped' and unknown statuses are stopped", () => {
    assert.equal(probePm2Status('a', [proc({ name: 'a', status: 'stopping' })], NOW).state, 'stopping');
    assert.equal(probePm2Status('a', [proc({ name: 'a', status: 'stopped', pid: 0 })], NOW).state, 'stopped');
    assert.equal(probePm2Status('a', [proc({ name: 'a', status: 'one-launch-status', pid: 0 })], NOW).state, 'stopped');
  });

  test('multiple instances: pids (running only), pm ids, summed restarts, uptime of the latest start', () => {
    const list = [
      proc({ name: 'cluster', pmId: 5, pid: 100, restarts: 1, startedAt: NOW - 50_000, execMode: 'cluster' }),
      proc({ name: 'cluster', pmId: 6, pid: 0, restarts: 4, startedAt: NOW - 2_000, status: 'launching', execMode: 'cluster' }),
      proc({ name: 'cluster', pmId: 7, pid: 102, restarts: 0, startedAt: NOW - 90_000, execMode: 'cluster' }),
    ];
    const r = probePm2Status('cluster', list, NOW);
    assert.deepEqual(r.pids, [100, 102]);
    assert.deepEqual(r.pmIds, [5, 6, 7]);
    assert.equal(r.restarts, 5);
    assert.equal(r.uptimeMs, 2_000);
    assert.equal(r.state, 'launching');
  });

  test('modules are ignored, even with the same name', () => {
    const r = probePm2Status('helpdesk-monitor', [proc({ name: 'helpdesk-monitor', isModule: true })], NOW);
    assert.equal(r.state, 'missing');
    const mixed = probePm2Status('x', [proc({ name: 'x', isModule: true, status: 'errored', pmId: 1 }), proc({ name: 'x', pmId: 2 })], NOW);
    assert.equal(mixed.state, 'online');
    assert.deepEqual(mixed.pmIds, [2]);
  });

  test('uptime is never negative (clock skew) and defaults to Date.now()', () => {
    assert.equal(probePm2Status('a', [proc({ name: 'a', startedAt: NOW + 5_000 })], NOW).uptimeMs, 0);
    const recent = probePm2Status('a', [proc({ name: 'a', startedAt: Date.now() - 1_000 })]);
    assert.ok(recent.uptimeMs >= 1_000 && recent.uptimeMs < 60_000, String(recent.uptimeMs));
  });
});
