// The log_match rule against a real PM2: an app that logs FATAL three times within the window is
// restarted once; two times, never; the lines of the old instance are not counted again for the
// new one. A catastrophic pattern, (a+)+$, against a 100 KB line neither stalls the monitor
// (another app's checks keep their interval) nor crashes it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Observation } from '../../src/engine/decide.js';
import { createSandbox, healthUrl, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { drive, startRulesApp } from '../helpers/rules-app.js';
import { startTestMonitor } from '../helpers/monitor.js';

const INTERVAL_MS = 500;
let sb: Sandbox;

before(async () => {
  sb = await createSandbox('logmatch');
});
after(async () => {
  await sb.teardown();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('FATAL twice: no restart; a third time within the window: restarted once, and the old lines are not counted again', async () => {
  const port = 48801;
  const pid = await startRulesApp(sb, 'fatal', port);
  const monitor = startTestMonitor(sb, {
    apps: [{ name: 'fatal', health: { url: healthUrl(port), interval: `${INTERVAL_MS}ms` }, startup_grace: 0, log_match: { pattern: 'FATAL', min_count: 3, window: '1m', stream: 'both' } }],
  });
  try {
    await waitFor('monitor sees healthy', () => monitor.engine.views()[0]?.state.phase === 'healthy', 15_000);
    await drive(port, '/log?text=FATAL%20db%20gone&n=1&stream=err');
    await drive(port, '/log?text=INFO%20FATALITY%20is%20a%20word&n=1&stream=out'); // matches too: pattern is a substring
    await drive(port, '/log?text=all%20fine&n=5&stream=out');
    // Several checks read those lines: 2 matches, below min_count.
    await sleep(INTERVAL_MS * 6);
    assert.equal(monitor.remedies.length, 0, `two matches restart nothing:\n${monitor.lines.join('\n')}`);
    const count = monitor.engine.views()[0]?.lastObservation?.others?.find((o) => o.kind === 'log-match')?.info?.['count'];
    assert.equal(count, 2, 'the rule counts two matches in the window');

    await drive(port, '/log?text=FATAL%20again&n=1&stream=out');
    await waitFor('one remedy', () => monitor.remedies.length === 1, 20_000);
    const r = monitor.remedies[0]!;
    assert.ok(r.ok, `the remedy verified health: ${r.failure}`);
    assert.match(r.reason, /log matched \/FATAL\/ 3 times within 60 s \(min_count 3\)/);
    const now = await sb.info('fatal');
    assert.ok(now && now.pid !== pid && now.status === 'online', 'a new instance runs');
    // The new instance is quiet: nothing counts again, nothing restarts again.
    await sleep(INTERVAL_MS * 8);
    assert.equal(monitor.remedies.length, 1, `restarted exactly once:\n${monitor.lines.join('\n')}`);
    assert.ok(monitor.lines.some((l) => l.includes('trigger: alarm: the log-match rule')), 'the story names the rule');
  } finally {
    await monitor.stop();
  }
});

test('(a+)+$ against a 100 KB line: no stall (the other app keeps its interval), no crash, no restart', async () => {
  const port = 48802;
  const otherPort = 48803;
  await startRulesApp(sb, 'flood', port);
  await startRulesApp(sb, 'steady', otherPort);
  const seen: { app: string; at: number }[] = [];
  const monitor = startTestMonitor(sb, {
    apps: [
      { name: 'flood', health: { url: healthUrl(port), interval: `${INTERVAL_MS}ms` }, startup_grace: 0, log_match: { pattern: '(a+)+$', stream: 'err', action: 'notify' } },
      { name: 'steady', health: { url: healthUrl(otherPort), interval: `${INTERVAL_MS}ms` }, startup_grace: 0 },
    ],
  }, { onObservation: (app: string, obs: Observation) => seen.push({ app, at: obs.at }) });
  try {
    await waitFor('both healthy', () => monitor.engine.views().every((v) => v.state.phase === 'healthy'), 15_000);
    const from = seen.length;
    for (let i = 0; i < 5; i++) {
      await drive(port, '/long?kb=100');
      await sleep(INTERVAL_MS);
    }
    await sleep(INTERVAL_MS * 4);
    const steady = seen.slice(from).filter((s) => s.app === 'steady').map((s) => s.at);
    const gaps = steady.slice(1).map((t, i) => t - steady[i]!);
    assert.ok(steady.length >= 7, `steady was checked on its interval: ${steady.length} checks`);
    assert.ok(Math.max(...gaps) < INTERVAL_MS * 3, `no gap between steady's checks reached 3 intervals: ${gaps.map(Math.round).join(',')}`);
    // The line ends in 'b': (a+)+$ never matches it (cut at 8 KiB it ends in 'a' and matches once per line).
    const matched = monitor.lines.filter((l) => l.includes('log matched /(a+)+$/')).length;
    assert.ok(matched >= 1, 'the cut line (8 KiB of a) matched and was told (action notify)');
    assert.equal(monitor.remedies.length, 0, 'action notify restarts nothing');
    assert.ok(monitor.engine.views().every((v) => v.state.phase === 'healthy'), 'both apps stay healthy');
  } finally {
    await monitor.stop();
  }
});
