// `run` survives its PM2 daemon: when the daemon is killed and a new one comes up, the monitor
// reconnects by itself (RPC and bus) and remedies again, without spawning a daemon of its own.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { cliEnv, startCli } from '../helpers/cli.js';
import { PidLedger } from '../helpers/holders.js';
import { writeConfig } from '../helpers/monitor.js';
import { EXAMPLE_APP, createSandbox, httpStatus, waitFor, type Sandbox } from '../helpers/sandbox.js';

const PORT = 47320;
const HEALTH = `http://127.0.0.1:${PORT}/health`;
let sb: Sandbox;
const ledger = new PidLedger();

before(async () => {
  sb = await createSandbox('reconnect');
});
after(async () => {
  ledger.killAll();
  await sb.teardown();
});

const startApp = (): string => sb.pm2Cli(['start', EXAMPLE_APP, '--name', 'hd']);
const appPid = (): number => Number(sb.pm2Cli(['pid', 'hd']).trim());

test('run reconnects after the PM2 daemon is killed and restarted', { timeout: 120_000 }, async () => {
  const env = cliEnv({ ...sb.env, PORT: String(PORT), FAULTS: '1' });
  sb.env['PORT'] = String(PORT);
  sb.env['FAULTS'] = '1';
  startApp();
  await waitFor('app healthy', async () => (await httpStatus(HEALTH)) === 200);
  const config = writeConfig({
    apps: [{ name: 'hd', health: { url: HEALTH, interval: '500ms', timeout: '400ms', failure_threshold: 2 }, startup_grace: 0, ports: [PORT] }],
  });
  const run = startCli(['run', '--config', config], env, ledger);
  await run.waitForLine(/\[hd\] unknown -> healthy/);

  sb.pm2Cli(['kill']);
  assert.equal(existsSync(join(sb.home, 'pm2.pid')), false, 'the daemon is gone');
  await new Promise((r) => setTimeout(r, 2000)); // the monitor must not spawn one meanwhile
  assert.equal(existsSync(join(sb.home, 'pm2.pid')), false, 'the monitor did not spawn a daemon');
  assert.equal(run.child.exitCode, null, 'the monitor is still running');

  const mark = run.stderrLines.length;
  startApp(); // a new daemon, and the app in it
  await waitFor('app healthy in the new daemon', async () => (await httpStatus(HEALTH)) === 200, 30_000);
  // With startup_grace 0 the monitor may remedy the new instance while it starts (refused twice):
  // freezing the instance that remedy starts fails its verify for 30 s. Freeze only once every
  // remedy begun since the new daemon has ended and the monitor's last word on hd is "healthy".
  await waitFor(() => `the monitor settled on hd healthy:\n${run.stderrLines.slice(mark).join('\n')}`, async () => {
    const lines = run.stderrLines.slice(mark);
    const begun = lines.filter((l) => /\[hd\] unhealthy: .*starting remedy/.test(l)).length;
    const ended = lines.filter((l) => /\[hd\] remedy (succeeded|failed)/.test(l)).length;
    const last = lines.filter((l) => /\[hd\] \w+ -> \w+/.test(l)).at(-1);
    return begun === ended && (last === undefined || / -> healthy\b/.test(last)) && (await httpStatus(HEALTH)) === 200;
  }, 60_000);

  const frozenAt = run.stderrLines.length;
  const frozen = appPid();
  sb.track(frozen);
  process.kill(frozen, 'SIGSTOP');
  await run.waitForLine(/\[hd\] remedy succeeded/, 30_000, frozenAt);
  await waitFor('a new healthy instance', async () => appPid() !== frozen && (await httpStatus(HEALTH)) === 200, 20_000);

  // The bus reconnected too: a crash is seen at once, not at the next tick.
  const before = run.stderrLines.length;
  await fetch(`http://127.0.0.1:${PORT}/__fault/crash`, { method: 'POST' }).catch(() => undefined);
  await run.waitForLine(/exited unexpectedly/, 10_000, before);

  run.child.kill('SIGTERM');
  assert.equal((await run.exited).code, 0);
});
