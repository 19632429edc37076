// Deadlines that hold: a /health that trickles one byte every 500 ms (every byte used to restart
// axios's idle timeout, so the probe never ended, held its concurrency slot for ever, and `check`
// kept the lock so later timer runs exited 3). Now every probe is decided at its deadline, a slot
// is free again then, and `check` ends within a deadline derived from the config, releasing the
// lock on the way out. Real PM2 daemon in a sandbox, real CLI, loopback only.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import winston from 'winston';
import { createSandbox, exampleApp, httpStatus, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { runCli } from '../helpers/cli.js';
import { configIn, freshDir, sandboxCliEnv } from '../helpers/operator.js';
import { assertMatchesSchema } from '../helpers/schema.js';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config/load.js';
import type { Observation } from '../../src/engine/decide.js';
import { Engine } from '../../src/engine/engine.js';
import { execCleanupsDone, probeExec } from '../../src/probes/exec.js';
import { createHttpProber } from '../../src/probes/http.js';

const PORT_TRICKLE = 47860;
const PORT_HEALTHY = 47861;
const TRICKLE = 'dl-trickle';
const HEALTHY = 'dl-healthy';
const T = { timeout: 120_000 };

/** A PM2 app whose /health sends its headers, then one byte every 500 ms, for ever. */
const TRICKLE_APP = `
const http = require('node:http');
http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.write('.');
  const t = setInterval(() => res.write('.'), 500);
  res.on('close', () => clearInterval(t));
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

let sb: Sandbox;
let env: NodeJS.ProcessEnv;

const url = (port: number): string => `http://127.0.0.1:${port}/health`;

/** Does GET /health on `port` send headers (the trickle answers 200 at once, then never ends)? */
async function answersHeaders(port: number): Promise<boolean> {
  try {
    const ac = new AbortController();
    const res = await fetch(url(port), { signal: ac.signal });
    ac.abort();
    return res.status === 200;
  } catch {
    return false;
  }
}

before(async () => {
  sb = await createSandbox('deadlines');
  env = sandboxCliEnv(sb);
  const script = join(freshDir(sb.home, 'app'), 'trickle.cjs');
  writeFileSync(script, TRICKLE_APP);
  await sb.start({ name: TRICKLE, script, env: { PORT: String(PORT_TRICKLE) }, autorestart: true });
  await sb.start(exampleApp(HEALTHY, PORT_HEALTHY));
  await waitFor('the trickling app answers headers', () => answersHeaders(PORT_TRICKLE), 30_000);
  await waitFor('the healthy app answers', async () => (await httpStatus(url(PORT_HEALTHY))) === 200, 30_000);
});
after(async () => {
  await sb.teardown();
});

const cliFailed = (what: string, r: { code: number | null; stdout: string; stderr: string }): string => `${what}: exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

interface CheckDoc {
  healthy: boolean;
  deadline_ms: number;
  unfinished?: string[];
  apps: { name: string; healthy: boolean; phase: string; result: string; reason?: string; health?: { ok: boolean; failure?: string; latency_ms?: number } }[];
}

test('with concurrency 1, a healthy app is observed by the trickling app\'s probe deadline, not after it', T, async () => {
  const config = loadConfig(configIn(sb.home, {
    state_dir: freshDir(sb.home, 'state'),
    concurrency: 1,
    apps: [
      // Paused: at its first failed check it is held unhealthy, so the pass ends without a restart.
      { name: TRICKLE, health: { url: url(PORT_TRICKLE), timeout: '1500ms', interval: '1s', failure_threshold: 1 }, startup_grace: 0 },
      { name: HEALTHY, health: { url: url(PORT_HEALTHY), timeout: '1500ms', interval: '1s' }, startup_grace: 0 },
    ],
  }));
  const seen = new Map<string, { at: number; obs: Observation }>();
  const logger = winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream: new Writable({ write: (_c, _e, cb) => cb() }) })] });
  const prober = createHttpProber();
  const engine = new Engine(config, {
    pm2: sb.pm2, prober, clock: systemClock, logger,
    onObservation: (app, obs) => void (seen.has(app) ? undefined : seen.set(app, { at: performance.now(), obs })),
  });
  engine.applyControl(new Map([[TRICKLE, { pausedUntil: 'indefinite' as const }]]));
  try {
    const started = performance.now();
    // The trickling app asks for the single slot first; the healthy one queues behind it.
    const trickle = engine.checkOnce([TRICKLE]);
    const healthy = engine.checkOnce([HEALTHY]);
    const [[t], [h]] = await Promise.all([trickle, healthy]);
    assert.equal(h?.state.phase, 'healthy');
    assert.equal(t?.state.phase, 'unhealthy', 'held unhealthy (paused), not restarted');
    const tObs = seen.get(TRICKLE);
    const hObs = seen.get(HEALTHY);
    assert.ok(tObs && hObs);
    assert.deepEqual([tObs.obs.http?.ok, tObs.obs.http?.ok === false && tObs.obs.http.failure], [false, 'timeout'], JSON.stringify(tObs.obs.http));
    assert.ok((tObs.obs.http?.latencyMs ?? 0) >= 1490, `the trickle took its whole timeout: ${tObs.obs.http?.latencyMs}`);
    assert.equal(hObs.obs.http?.ok, true);
    const hAt = hObs.at - started;
    assert.ok(hAt >= 1400, `the healthy app did wait for the slot (else this test proves nothing): ${hAt} ms`);
    assert.ok(hAt < 1500 + 1000, `the slot was free at the trickle's 1500 ms deadline: healthy observed at ${Math.round(hAt)} ms`);
  } finally {
    await engine.stop();
    prober.close();
  }
});

test('check against a trickling /health ends within its deadline, and the next check is not refused (exit 3)', T, async () => {
  const config = configIn(sb.home, {
    state_dir: freshDir(sb.home, 'state'),
    apps: [{ name: TRICKLE, health: { url: url(PORT_TRICKLE), timeout: '500ms', interval: '500ms', failure_threshold: 2 }, startup_grace: 0, verify_timeout: '2s' }],
  });
  const started = performance.now();
  const first = await runCli(['check', '--json', '--config', config], env, 110_000);
  const took = performance.now() - started;
  assert.equal(first.code, 1, cliFailed('check', first));
  const doc = JSON.parse(first.stdout) as CheckDoc;
  assert.ok(took < doc.deadline_ms, `ended within its deadline (${doc.deadline_ms} ms): ${Math.round(took)} ms`);
  // The trickle is a timeout at each check, remedied (restarted) once, still trickling after it.
  assert.ok(took < 2 * 500 + 1000 + 2000 + 8000, `and in the time the config allows, not at the deadline: ${Math.round(took)} ms`);
  const app = doc.apps.find((a) => a.name === TRICKLE);
  assert.ok(app);
  assert.equal(app.healthy, false);
  assert.equal(app.result, 'failed', 'failed, not unfinished');
  assert.match(app.reason ?? '', /health timeout: no answer within \d+ ms$/, 'a timeout, in whole milliseconds');
  assert.equal(doc.unfinished, undefined);

  const second = await runCli(['check', '--json', '--config', config], env, 110_000);
  assert.notEqual(second.code, 3, cliFailed('the second check was refused: the lock was kept', second));
  assert.equal(second.code, 1, cliFailed('second check', second));
});

test('at its deadline check reports the unfinished apps, logs them, releases the lock and exits 1', T, async () => {
  const stateDir = freshDir(sb.home, 'state');
  const config = configIn(sb.home, {
    state_dir: stateDir,
    apps: [
      { name: TRICKLE, health: { url: url(PORT_TRICKLE), timeout: '20s', interval: '1s', failure_threshold: 3 }, startup_grace: 0 },
      { name: HEALTHY, health: { url: url(PORT_HEALTHY), timeout: '2s' }, startup_grace: 0 },
    ],
  });
  const started = performance.now();
  const r = await runCli(['check', '--json', '--deadline', '3s', '--config', config], env, 60_000);
  const took = performance.now() - started;
  assert.equal(r.code, 1, cliFailed('check --deadline 3s', r));
  assert.ok(took < 3000 + 6000, `returned at its 3 s deadline (plus start-up), not after the 20 s probe: ${Math.round(took)} ms`);
  const doc = JSON.parse(r.stdout) as CheckDoc;
  assert.equal(doc.deadline_ms, 3000);
  assert.equal(doc.healthy, false);
  assert.deepEqual(doc.unfinished, [TRICKLE]);
  assert.deepEqual(doc.apps.map((a) => [a.name, a.healthy, a.result]), [[TRICKLE, false, 'unfinished'], [HEALTHY, true, 'healthy']]);
  assertMatchesSchema('check', doc);
  const log = readFileSync(join(stateDir, 'monitor.log'), 'utf8');
  assert.match(log, new RegExp(`check deadline of 3s passed; unfinished: ${TRICKLE}`));
  assert.deepEqual(readdirSync(stateDir).filter((f) => f.startsWith('monitor.lock')), [], 'no lock file left behind');

  // The lock is free: a check right after runs (and, for the healthy app alone, passes).
  const next = await runCli(['check', '--app', HEALTHY, '--config', config], env, 60_000);
  assert.equal(next.code, 0, cliFailed('the check right after', next));

  // Without --json, the unfinished app is a FAIL line naming the deadline.
  const plain = await runCli(['check', '--deadline', '2s', '--config', config], env, 60_000);
  assert.equal(plain.code, 1, cliFailed('check --deadline 2s', plain));
  assert.match(plain.stdout, new RegExp(`^FAIL ${TRICKLE}: .*\\(unfinished at the 2s deadline\\)$`, 'm'));
  assert.match(plain.stdout, new RegExp(`^OK +${HEALTHY}: healthy$`, 'm'));
});

test('check --deadline refuses what is not a duration a timer can hold; --help documents the deadline', T, async () => {
  for (const bad of ['0', 'soon', '700h']) {
    const r = await runCli(['check', '--deadline', bad, '--config', '/nonexistent.yaml'], env);
    assert.equal(r.code, 2, cliFailed(`--deadline ${bad}`, r));
    assert.match(r.stderr, /--deadline: expected a duration greater than zero and at most 596\.5h/);
  }
  const help = await runCli(['check', '--help'], env);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Deadline: the whole pass ends in bounded time/);
  assert.match(help.stdout, /startup_grace \+ \(failure_threshold \+ 2\) x interval/);
  assert.match(help.stdout, /releases the lock and exits 1/);
});

test('an exec probe is decided at its deadline even while an escaped process holds its pipes', T, async () => {
  // The escapee leaves the shell's family (its parent exits) and session (setsid), so the tree
  // kill cannot reach it and our pipes stay open: the outcome used to wait 5 s more for them.
  const run = `${randomInt(100_000, 999_999)}${process.pid}`;
  const [marker, shellSleep] = [`1${run}`, `2${run}`];
  const started = performance.now();
  const r = await probeExec({ command: `(setsid sleep ${marker} &); sleep ${shellSleep}`, timeoutMs: 800, appName: 'dl' });
  const took = performance.now() - started;
  const escapees = sleepersOf(marker);
  try {
    assert.ok(!r.ok);
    assert.equal(r.failure, 'timeout');
    assert.match(r.detail, /^no exit within 800 ms, process tree killed/);
    assert.ok(took < 800 + 700, `decided at the deadline: ${Math.round(took)} ms`);
    assert.equal(escapees.length, 1, 'the escaped sleeper ran (else this test proves nothing)');
  } finally {
    for (const pid of escapees) {
      try {
        process.kill(pid, 'SIGKILL'); // ours: started above, found by its unique command line
      } catch {
        // gone
      }
    }
  }
  // Once the escapee is gone the pipes close and the probe's cleanup ends.
  const cleanup = performance.now();
  await execCleanupsDone();
  assert.ok(performance.now() - cleanup < 3000, `cleanup ended once the pipes closed: ${Math.round(performance.now() - cleanup)} ms`);
});

/** Live `sleep <marker>` processes (pids), read from /proc. */
function sleepersOf(marker: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').filter(Boolean);
      const stat = readFileSync(`/proc/${e}/stat`, 'latin1');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (argv.length === 2 && argv[0]!.endsWith('sleep') && argv[1] === marker && state !== 'Z') out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}
