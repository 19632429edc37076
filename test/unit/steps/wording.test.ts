// describeFreed: the one line about a port cleanup that goes to logs, state step labels and command
// output. A command line from /proc is the process's own choice: it is escaped and bounded, and the
// line stays one line whatever the command or the reason carries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeFreed } from '../../../src/steps/wording.js';
import type { FreePortsResult } from '../../../src/ports/free-port.js';

const EVIL = 'node squat.js \u001b[31mRED\u001b[0m\n\u009b2J\u001b]0;pwned\u0007 \\';

function result(over: Partial<FreePortsResult>): FreePortsResult {
  return { ports: [5000], killed: [], refused: [], stillHeld: [], free: true, wouldKill: [], elapsedMs: 3, ...over };
}

const hasRaw = (s: string): boolean => [...s].some((c) => c.codePointAt(0)! < 0x20 || (c.codePointAt(0)! >= 0x7f && c.codePointAt(0)! <= 0x9f));

test('kills and refusals print the command escaped, on one line', () => {
  const line = describeFreed(
    result({
      killed: [{ port: 5000, pid: 41, command: EVIL, uid: 0, signal: 'SIGTERM', why: 'explicit kill-port' }],
      refused: [{ port: 5000, pid: 42, command: EVIL, uid: 65534, why: `another user's process (${EVIL})` }],
      free: false,
      stillHeld: [5000],
    }),
  );
  assert.equal(hasRaw(line), false, JSON.stringify(line));
  assert.ok(line.includes('killed pid 41 (node squat.js \\x1b[31mRED\\x1b[0m\\x0a\\x9b2J\\x1b]0;pwned\\x07 \\\\) on port 5000 with SIGTERM: explicit kill-port'), line);
  assert.ok(line.includes("refused pid 42 (node squat.js \\x1b[31mRED"), line);
  assert.ok(line.includes("another user's process (node squat.js \\x1b[31mRED"), 'the reason is escaped too');
});

test('a huge command line is bounded', () => {
  const line = describeFreed(result({ killed: [{ port: 5000, pid: 41, command: 'x'.repeat(100_000), uid: 0, signal: 'SIGKILL', why: 'w' }] }));
  assert.ok(line.length < 1000, `${line.length} characters`);
  assert.match(line, /x…\) on port 5000/);
});

test('nothing to do reads as before', () => {
  assert.equal(describeFreed(result({})), 'ports 5000 already free');
  assert.equal(describeFreed(result({ free: false, stillHeld: [5000, 5001] })), 'ports 5000,5001 held');
});
