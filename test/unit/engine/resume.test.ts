// The judgement on an interrupted remedy (engine/resume.ts): start the app only when PM2 shows it
// stopped exactly as the remedy left it; anything an operator did since wins.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { systemClock } from '../../../src/clock.js';
import { defaultAppConfig } from '../../../src/config/schema.js';
import { judgeEntry, resumeRemedies, type JournalEntry } from '../../../src/engine/resume.js';
import type { Logger } from '../../../src/log/logger.js';
import type { Pm2Port, ProcessInfo } from '../../../src/pm2/adapter.js';
import type { HttpProber } from '../../../src/probes/http.js';

const entry: JournalEntry = {
  app: 'api', incidentId: 'i-1', step: 'stopping', at: '2026-12-02T10:00:00.000Z', by: { monitor: 'run', pid: 42 },
  instances: [{ pmId: 3, pid: 1000, restarts: 2, startedAt: 5000 }, { pmId: 4, pid: 1001, restarts: 0, startedAt: 5100 }],
};
const row = (pmId: number, status: string, patch: Partial<ProcessInfo> = {}): ProcessInfo => {
  const was = entry.instances.find((i) => i.pmId === pmId);
  return {
    pmId, name: 'api', pid: status === 'online' ? 2000 + pmId : 0, status, restarts: was?.restarts ?? 0, unstableRestarts: 0,
    startedAt: was?.startedAt ?? 1, memory: 0, cpu: 0, execMode: 'fork', isModule: false, ...patch,
  };
};

describe('judgeEntry', () => {
  test('stopped as we left it: start those instances', () => {
    const j = judgeEntry(entry, [row(3, 'stopped'), row(4, 'stopped')]);
    assert.deepEqual(j, { kind: 'start', pmIds: [3, 4], why: 'PM2 shows it stopped as the remedy left it (nobody started it since)' });
  });

  test('one instance stopped, one online (the remedy got half-way): start the stopped one', () => {
    const j = judgeEntry(entry, [row(3, 'online', { startedAt: 9000 }), row(4, 'stopped')]);
    assert.equal(j.kind, 'start');
    assert.deepEqual(j.kind === 'start' ? j.pmIds : [], [4]);
  });

  test('started and stopped again since (a new start time): an operator stop, left stopped', () => {
    const j = judgeEntry(entry, [row(3, 'stopped', { startedAt: 7777 }), row(4, 'stopped')]);
    assert.equal(j.kind, 'leave');
    assert.match(j.why, /instance 3 was started and stopped again since the remedy stopped it \(an operator's stop\)/);
  });

  test('restarted by PM2 since (a crash loop counted): not ours any more', () => {
    assert.equal(judgeEntry(entry, [row(3, 'stopped', { restarts: 3 }), row(4, 'stopped')]).kind, 'leave');
  });

  test('online everywhere: PM2 finished it, nothing to do', () => {
    const j = judgeEntry(entry, [row(3, 'online', { startedAt: 9000 }), row(4, 'online', { startedAt: 9001 })]);
    assert.equal(j.kind, 'done');
    assert.match(j.why, /PM2 shows it online/);
  });

  test('still stopping: wait; gone from PM2: leave; a stopped instance the remedy never saw: leave', () => {
    assert.equal(judgeEntry(entry, [row(3, 'stopping'), row(4, 'stopped')]).kind, 'wait');
    assert.equal(judgeEntry(entry, []).kind, 'leave');
    const j = judgeEntry(entry, [row(3, 'stopped'), row(9, 'stopped')]);
    assert.equal(j.kind, 'leave');
    assert.match(j.why, /instance 9 is not one the remedy stopped/);
  });
});

describe('resumeRemedies', () => {
  test('an app an operator paused is left as PM2 shows it, and its entry kept', async () => {
    const acted: string[] = [];
    const cleared: string[] = [];
    const lines: string[] = [];
    const pm2 = {
      list: () => Promise.resolve([row(3, 'stopped'), row(4, 'stopped')]),
      act: (a: string, id: number) => void acted.push(`${a} ${id}`),
    } as unknown as Pm2Port;
    const logger = { child: () => logger, log: (_l: string, m: string) => void lines.push(m), warn: (m: string) => void lines.push(m), info: (m: string) => void lines.push(m), error: (m: string) => void lines.push(m) } as unknown as Logger;
    const journal = { entries: () => [entry], clear: (a: string) => void cleared.push(a), forRemedy: () => { throw new Error('unused'); } };
    const app = defaultAppConfig('api');
    await resumeRemedies([app], { pm2, prober: {} as HttpProber, clock: systemClock, logger, journal, paused: (a) => a === 'api' });
    assert.deepEqual(acted, [], 'nothing started');
    assert.deepEqual(cleared, [], 'the entry is kept for later');
    assert.match(lines.join('\n'), /paused by an operator; left as PM2 shows it/);
  });
});
