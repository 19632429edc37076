// Step lines without a terminal (cron, CI, a pipe): one line per step, written when it ends, and
// one "still running" line for a step that is slow; on a terminal, the spinner.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { STILL_RUNNING_AFTER_MS, terminalReporter, type StepStream } from '../../../src/cli/progress.js';

/** A stream that keeps what is written, with or without a terminal behind it. */
function fakeStream(isTTY: boolean): StepStream & { readonly text: () => string; readonly lines: () => string[] } {
  const chunks: string[] = [];
  return {
    isTTY,
    write(s: string) {
      chunks.push(s);
      return true;
    },
    text: () => chunks.join(''),
    lines: () => chunks.join('').split('\n').filter(Boolean),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('terminalReporter without a terminal', () => {
  test('each step is one line, written when it ends, with its duration', () => {
    const out = fakeStream(false);
    const r = terminalReporter(out, 'api: ', { env: {} });
    const end1 = r.begin('free ports 5000');
    assert.equal(out.text(), '', 'nothing at the start of a step');
    end1(true, 'ports 5000 already free');
    const end2 = r.begin('pm2 start');
    end2(false, 'no PM2 app named "api"');
    assert.deepEqual(out.lines().map((l) => l.replace(/\(\d+ms\)/, '(Nms)')), [
      '✔ api: free ports 5000 (Nms): ports 5000 already free',
      '✘ api: pm2 start (Nms): no PM2 app named "api"',
    ]);
    assert.ok(!out.text().includes('\r') && !out.text().includes('\u001b'), 'no terminal control');
  });

  test('a slow step gets one "still running" line, then its finished line', async () => {
    const out = fakeStream(false);
    const r = terminalReporter(out, '', { stillRunningAfterMs: 60, env: {} });
    const end = r.begin('wait for /health');
    await sleep(250); // long enough for several notes, were the note repeated
    end(true, '200 in 3ms');
    const lines = out.lines();
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.equal(lines[0], '… wait for /health (still running)');
    assert.match(lines[1]!, /^✔ wait for \/health \(\d+ms\): 200 in 3ms$/);
  });

  test('a step that ends in time has no note, even after the limit has passed', async () => {
    const out = fakeStream(false);
    const r = terminalReporter(out, '', { stillRunningAfterMs: 60, env: {} });
    r.begin('quick')(true, '');
    await sleep(150);
    assert.deepEqual(out.lines().map((l) => l.replace(/\(\d+ms\)/, '(Nms)')), ['✔ quick (Nms)']);
  });

  test('the default limit is about 2 s', () => {
    assert.equal(STILL_RUNNING_AFTER_MS, 2000);
  });

  test('a terminal with CI set is treated as no terminal', () => {
    const out = fakeStream(true);
    const end = terminalReporter(out, '', { env: { CI: 'true' } }).begin('step');
    end(true, '');
    assert.match(out.text(), /^✔ step \(\d+ms\)\n$/);
  });
});

describe('terminalReporter on a terminal', () => {
  test('a spinner while the step runs, replaced by the finished line', async () => {
    const out = fakeStream(true);
    const end = terminalReporter(out, '', { env: {} }).begin('pm2 start');
    await sleep(200);
    end(true, 'online');
    const text = out.text();
    assert.match(text, /^\r. pm2 start /, 'spinner frames');
    const last = text.slice(text.lastIndexOf('\r'));
    assert.ok(last.startsWith('\r\u001b[K'), 'the spinner line is cleared before the finished line');
    assert.match(last.slice(4), /^✔ pm2 start \(\d+ms\): online\n$/);
    assert.equal(text.split('\n').filter(Boolean).length, 1, 'one line in the end');
  });
});
