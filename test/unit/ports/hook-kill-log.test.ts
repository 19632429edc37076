/**
 * The pre-start hook's kill log: the preload (ports/hook.ts) knows only PM2_HOME, so its lines go
 * to the default state dir `$PM2_HOME/helpdesk-monitor/kills.jsonl`, when that dir exists (the
 * monitor's doors make it; the hook runs as the app's user and never makes one). Real
 * processes on a loopback port of this suite's range; only children this file started are
 * signalled.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { preStartFreePorts } from '../../../src/ports/hook.js';
import { readKillLog } from '../../../src/ports/kill-log.js';
import { procAvailable } from '../../../src/proc/read.js';
import { holdersOf } from '../../helpers/holders.js';
import { waitFor } from '../../helpers/wait.js';

const skip = procAvailable ? false : 'needs Linux /proc';
const PORT = 48990;
const dir = realpathSync(mkdtempSync(join(tmpdir(), 'hdm-hooklog-')));
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A stray listener on PORT started in `cwd` with no PM2 marks: the app's by the cwd rule. */
async function stray(cwd: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${PORT}, '127.0.0.1')`], { cwd, stdio: 'ignore', env: { PATH: process.env['PATH'] ?? '' } });
  children.add(child);
  await waitFor('the stray listening', () => holdersOf(PORT).some((h) => h.pid === child.pid), 10_000, 20);
  return child;
}

const env = (home: string): Record<string, string> => ({ PM2_HOME: home, pm_id: '7', name: 'api', PORT: String(PORT), HDM_KILL_GRACE_MS: '500' });

test('the hook logs its kill to $PM2_HOME/helpdesk-monitor/kills.jsonl, door "pre-start hook"', { skip }, async () => {
  const home = join(dir, 'home-a');
  const cwd = join(dir, 'app-a');
  mkdirSync(join(home, 'helpdesk-monitor'), { recursive: true, mode: 0o700 });
  mkdirSync(cwd);
  const s = await stray(cwd);
  const r = preStartFreePorts({ env: env(home), cwd });
  assert.ok(typeof r !== 'string' && r.free, JSON.stringify(r));
  await once(s, 'exit');
  const lines = readKillLog(join(home, 'helpdesk-monitor', 'kills.jsonl'));
  const sent = lines.filter((e) => e.outcome === 'sent' && e.pid === s.pid);
  assert.ok(sent.length >= 1, JSON.stringify(lines));
  assert.equal(sent[0]?.signal, 'SIGTERM');
  assert.equal(sent[0]?.rule, 'cwd');
  assert.equal(sent[0]?.app, 'api');
  assert.equal(sent[0]?.door, 'pre-start hook');
});

test('without a state dir the hook kills all the same and makes none', { skip }, async () => {
  const home = join(dir, 'home-b');
  const cwd = join(dir, 'app-b');
  mkdirSync(home);
  mkdirSync(cwd);
  const s = await stray(cwd);
  const r = preStartFreePorts({ env: env(home), cwd });
  assert.ok(typeof r !== 'string' && r.free, JSON.stringify(r));
  await once(s, 'exit');
  assert.equal(existsSync(join(home, 'helpdesk-monitor')), false);
});
