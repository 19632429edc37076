/**
 * The chaos harness's own checks (the run itself is `npm run chaos`, not part of npm test): bad
 * usage exits 2 and lists the faults, and a row's cleanup names (and ends) what was left
 * behind: a process that carries the row's PM2_HOME, whoever started it.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FAULTS } from '../chaos/faults.js';
import { Rig } from '../chaos/rig.js';
import { identify, isAlive } from '../helpers/holders.js';
import { ROOT } from '../helpers/sandbox.js';
import { waitFor } from '../helpers/wait.js';

const ENTRY = join(ROOT, 'dist', 'bench', 'chaos.js');
const T = { timeout: 60_000 };
const dir = mkdtempSync(join(tmpdir(), 'hdm-chaos-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ENTRY, ...args], { timeout: 30_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

test('an unknown fault exits 2 and lists the faults; --help exits 0', T, async () => {
  const bad = await run(['--only', 'sigkill,no-such-fault']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown fault: no-such-fault/);
  for (const f of FAULTS) assert.ok(bad.stderr.includes(f.name), `lists ${f.name}`);
  const repeat = await run(['--repeat', '0']);
  assert.equal(repeat.code, 2);
  assert.match(repeat.stderr, /--repeat: expected an integer/);
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--only FAULT/);
});

test('a row\'s cleanup names a process left behind with its pid and command, and ends it', T, async () => {
  const rig = new Rig(dir, 'leftover', { interval: '1s', timeout: '500ms', timeoutMs: 500, failureThreshold: 2, timerMs: 5000 });
  // Not tracked by the row: found by the PM2_HOME in its environment.
  const stray = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)', 'chaos-leftover-marker'], { env: { ...process.env, PM2_HOME: rig.home }, stdio: 'ignore' });
  // Tracked by the row and left running: found by its identity.
  const tracked = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)', 'chaos-tracked-marker'], { stdio: 'ignore' });
  const strayId = await waitFor('the stray', () => identify(stray.pid!));
  const trackedId = await waitFor('the tracked one', () => identify(tracked.pid!));
  rig.track(tracked.pid);
  const left = await rig.cleanup();
  assert.equal(left.length, 2, left.join('\n'));
  assert.ok(left.some((l) => l.includes(`pid ${stray.pid} `) && l.includes('chaos-leftover-marker') && l.includes("PM2_HOME")), left.join('\n'));
  assert.ok(left.some((l) => l.includes(`pid ${tracked.pid} `) && l.includes('chaos-tracked-marker') && l.includes('started by the row')), left.join('\n'));
  await waitFor('both ended', () => !isAlive(strayId) && !isAlive(trackedId), 5000);
});
