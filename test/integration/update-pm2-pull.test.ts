// The baseline for git auto-update: the same crash-at-boot commit through PM2's own `pm2 pull APP`.
// PM2 fetches, `git reset --hard`s the clone to origin/main, reloads the app, reports success, and
// then leaves it broken: the bad commit stays on disk, the app crash-loops into 'errored' and /health
// never answers again. PM2 does not roll back.
//
// PM2 7 reads an app's git metadata (pm2_env.versioning, which `pm2 pull` needs) only when the
// daemon runs with PM2_ENABLE_GIT_PARSING=true; without it `pm2 pull` prints "No versioning system
// found for process" and exits 0 having done nothing. So this daemon is started with it.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import { createSandbox, httpStatus, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { createGitDeploy, type GitDeploy } from '../helpers/git-deploy.js';

const PORT = 48410;
const NAME = 'pulled';
const URL = `http://127.0.0.1:${PORT}/health`;
const T = { timeout: 120_000 };

let sb: Sandbox;
let dir: string;
let d: GitDeploy;

before(async () => {
  process.env['PM2_ENABLE_GIT_PARSING'] = 'true'; // inherited by the daemon createSandbox starts
  sb = await createSandbox('pm2pull');
  dir = mkdtempSync(join(tmpdir(), 'hdm-pm2pull-git-'));
  d = createGitDeploy(dir, PORT);
});
after(async () => {
  await sb?.teardown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface JlistEntry {
  name?: string;
  pm2_env?: { versioning?: { revision?: string; branch?: string; url?: string } | null; pm_err_log_path?: string };
}

function jlistEntry(): JlistEntry | undefined {
  return (JSON.parse(sb.pm2Cli(['jlist'])) as JlistEntry[]).find((p) => p.name === NAME);
}

async function healthVersion(): Promise<string | undefined> {
  try {
    const res = await fetch(URL, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { version?: string };
    return res.status === 200 ? body.version : undefined;
  } catch {
    return undefined;
  }
}

test('a crash-at-boot commit through `pm2 pull APP`: PM2 deploys it, reports success, and leaves the app broken (no rollback)', T, async (t) => {
  const good = d.head();
  await sb.start(d.appOptions(NAME));
  await waitFor('v1 answering /health', async () => (await healthVersion()) === 'v1', 30_000);
  // PM2 reads the repo asynchronously after 'online'; `pm2 pull` before that finds no versioning.
  const versioning = await waitFor('PM2 versioning of the app at the initial commit', () => {
    const v = jlistEntry()?.pm2_env?.versioning;
    return v?.revision === good ? v : undefined;
  }, 20_000);
  assert.equal(versioning.branch, 'main');
  assert.equal(versioning.url, d.remote);
  const before = await sb.info(NAME);
  assert.ok(before, 'the app is in the list');

  const bad = d.push('crash-at-boot', 'v2');
  const pulledAt = Date.now();
  let exit = 0;
  let output: string;
  try {
    output = sb.pm2Cli(['pull', NAME]);
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    exit = e.status ?? -1;
    output = `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
  output = stripVTControlCharacters(output).trim();
  const pullMs = Date.now() - pulledAt;
  t.diagnostic(`pm2 pull ${NAME}: exit ${exit} after ${pullMs} ms: ${output.split('\n').join(' | ')}`);
  assert.match(output, /Process successfully updated/, 'pm2 pull really pulled');
  assert.ok(output.includes(`Current commit ${bad}`), 'pm2 pull names the bad commit as current');
  assert.equal(d.head(), bad, 'the deploy clone is at the bad commit');
  assert.equal(d.subject(bad), 'crash-at-boot v2');

  // Watch for up to 10 s (until PM2 gives up with 'errored'): /health must never be healthy again,
  // and PM2 must end errored or still be restart-looping (restarts growing).
  const healthySeen: number[] = [];
  let info = before;
  let status = 0;
  for (const until = pulledAt + 10_000; Date.now() < until;) {
    status = await httpStatus(URL);
    if (status === 200) healthySeen.push(Date.now() - pulledAt);
    info = (await sb.info(NAME)) ?? info;
    if (info.status === 'errored') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const broken = { info, status };
  assert.ok(broken.info.status === 'errored' || broken.info.restarts >= before.restarts + 3, `errored or crash-looping: ${JSON.stringify(broken.info)}`);
  const brokenMs = Date.now() - pulledAt;
  assert.deepEqual(healthySeen, [], 'no healthy /health after the pull');
  assert.notEqual(broken.status, 200);
  assert.equal(await httpStatus(URL, 1000), 0, '/health does not answer');
  assert.equal(d.head(), bad, 'PM2 did not roll the clone back');

  const errLog = jlistEntry()?.pm2_env?.pm_err_log_path;
  const errText = errLog ? readFileSync(errLog, 'utf8') : '';
  assert.match(errText, /boot failure in v2/, 'the crashes are the new commit booting');
  t.diagnostic(
    `${brokenMs} ms after the pull: status ${broken.info.status}, restarts ${before.restarts} -> ${broken.info.restarts}, ` +
      `/health ${broken.status || 'refused'}, HEAD ${bad.slice(0, 12)} (crash-at-boot v2), was ${good.slice(0, 12)} (good v1)`,
  );
});
