/**
 * The baseline of the update bench, run as a child process of bench/update.ts (update-pull.ts
 * spawns it): PM2's own `pm2 pull APP` with a crash-at-boot commit, in a sandbox of its own whose
 * daemon runs with PM2_ENABLE_GIT_PARSING=true (PM2 7 reads an app's git metadata only then; see
 * test/integration/update-pm2-pull.test.ts). A child, because the pm2 API is a singleton bound to
 * the PM2_HOME it was first loaded with: one process cannot drive two sandboxes.
 *
 *   node dist/bench/lib/update-pull-child.js --port PORT [--watch-ms 10000]
 *
 * Prints one JSON line (PullResult) on stdout; progress on stderr. Cleans up on every way out,
 * SIGINT/SIGTERM included (later signals only wait for that cleanup).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, stripVTControlCharacters } from 'node:util';
import { createGitDeploy } from '../../test/helpers/git-deploy.js';
import { createSandbox, PM2_BIN, type Sandbox } from '../../test/helpers/sandbox.js';
import { killPortHolders } from './ports.js';
import { answerChanges, getVersion, HealthWatch, outage, serves } from './update-health.js';
import type { PullResult } from './update-pull.js';

const NAME = 'hd-pulled';
const { values } = parseArgs({ options: { port: { type: 'string' }, 'watch-ms': { type: 'string', default: '10000' } } });
const PORT = Number(values.port);
const WATCH_MS = Number(values['watch-ms']);
const say = (line: string): void => void process.stderr.write(`${line}\n`);

let opening: Promise<Sandbox> | undefined;
/** A signal started the cleanup: main's failures from then on are its consequence (a git killed by the same Ctrl-C). */
let interrupted = false;

async function waitUntil<T>(what: string, get: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v !== undefined) return v;
    if (performance.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface JlistEntry {
  name?: string;
  pm2_env?: { versioning?: { revision?: string } | null; pm_err_log_path?: string };
}

async function main(): Promise<PullResult> {
  if (!Number.isInteger(PORT) || PORT < 1024) throw new Error(`--port: expected a port, got ${values.port}`);
  process.env['PM2_ENABLE_GIT_PARSING'] = 'true'; // the daemon createSandbox starts inherits it (the parent sets it too)
  opening = createSandbox('bench-update-pull');
  const sb = await opening;
  const gitDir = join(sb.home, 'git');
  mkdirSync(gitDir);
  const d = createGitDeploy(gitDir, PORT);
  const errLog = join(sb.home, 'logs', `${NAME}-error.log`);
  await sb.start({ ...d.appOptions(NAME), out_file: join(sb.home, 'logs', `${NAME}-out.log`), error_file: errLog });
  await waitUntil('v1 on /health', async () => (serves('v1')(await getVersion(PORT, 1000)) ? true : undefined), 30_000);
  // PM2 reads the repo asynchronously after 'online'; `pm2 pull` before that finds no versioning.
  const good = d.head();
  const jlist = (): JlistEntry | undefined => (JSON.parse(sb.pm2Cli(['jlist'])) as JlistEntry[]).find((p) => p.name === NAME);
  await waitUntil('PM2 versioning at the initial commit', () => (jlist()?.pm2_env?.versioning?.revision === good ? true : undefined), 20_000);
  await sleep(1200); // up past min_uptime, as the main app is before its trials
  const before = (await sb.info(NAME))!;
  const bad = d.push('crash-at-boot', 'v2');
  say(`pm2 pull ${NAME} with crash-at-boot v2 (${bad.slice(0, 10)}), then /health watched for ${WATCH_MS / 1000} s`);

  const t0 = performance.now();
  const watch = new HealthWatch(PORT, t0);
  const pull = await new Promise<{ exit: number; output: string }>((resolve) => {
    execFile(process.execPath, [PM2_BIN, 'pull', NAME], { env: sb.env, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      resolve({ exit: code, output: stripVTControlCharacters(`${stdout}${stderr}`).trim() });
    });
  });
  const pullMs = performance.now() - t0;
  let status = '?';
  let restarts = before.restarts;
  let erroredAfterMs: number | undefined;
  while (performance.now() - t0 < pullMs + WATCH_MS) {
    const info = await sb.info(NAME);
    if (info) {
      status = info.status;
      restarts = info.restarts;
      if (status === 'errored' && erroredAfterMs === undefined) erroredAfterMs = performance.now() - t0;
    }
    await sleep(100);
  }
  await watch.stop();
  const samples = watch.snapshot();
  const out = outage(samples, 'v1', 'v1');
  const anyBack = samples.find((s) => s.status === 200 && out.downMs !== undefined && s.startMs > out.downMs);
  let bootFailures = 0;
  try {
    bootFailures = readFileSync(errLog, 'utf8').split('\n').filter((l) => l.includes('boot failure in v2')).length;
  } catch {
    // no error log: 0
  }
  return {
    pullMs, pullExit: pull.exit,
    pullSaid: pull.output.split('\n').map((l) => l.trim()).filter((l) => /success|Current commit|error|versioning/i.test(l)).slice(0, 6),
    watchMs: performance.now() - t0,
    headIsBad: d.head() === bad, status, restarts: restarts - before.restarts,
    ...(erroredAfterMs !== undefined ? { erroredAfterMs } : {}),
    ...(out.downMs !== undefined ? { downMs: out.downMs } : {}),
    ...(anyBack ? { healthyAgainMs: anyBack.endMs } : {}),
    requests: samples.length, ok200: samples.filter((s) => s.status === 200).length, bootFailures,
    answers: answerChanges(samples),
  };
}

let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    const sb = await opening?.catch(() => undefined);
    try {
      await sb?.teardown();
    } catch (err) {
      say(`cleanup: ${err instanceof Error ? err.message : String(err)}`);
    }
    for (const h of await killPortHolders([PORT])) say(`cleanup: ended pid ${h.pid} still holding port ${h.port}`);
  })();
  return cleaning;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    interrupted = true;
    say(`pm2 pull part: ${sig}, cleaning up`);
    void cleanup().then(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  });
}

main().then(
  async (r) => {
    await cleanup();
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.exit(0);
  },
  async (err: unknown) => {
    if (interrupted) return; // the signal handler exits once the cleanup is done
    say(`pm2 pull part failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await cleanup();
    process.exit(1);
  },
);
