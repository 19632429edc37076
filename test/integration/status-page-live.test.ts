// The status page of the real `helpdesk-monitor run`, in Debian's Chromium: a SIGSTOPped app
// (remedies paused, so it stays hung) turns "unhealthy" on the page within interval x threshold
// plus one page refresh; an app whose PM2 name is markup shows as text and opens no dialog; no
// request leaves 127.0.0.1; both widths pass their checks. Screenshots stay in test-artifacts/.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { runCli, startCli, type RunningCli } from '../helpers/cli.js';
import { PidLedger, thaw } from '../helpers/holders.js';
import { configIn, freshDir, healthPid, sandboxCliEnv, startHealthy } from '../helpers/operator.js';
import { checkReadableAt, elementShot, fractionInRange, isBadRed, openBrowser, type OpenBrowser } from '../helpers/browser.js';

const HUNG_PORT = 48550;
const XSS_PORT = 48551;
const HTTP_PORT = 48555;
const XSS = '<img src=x onerror=alert(1)>';
const INTERVAL_MS = 1000;
const THRESHOLD = 2;
const REFRESH_S = 1;
const T = { timeout: 180_000 };

let sb: Sandbox;
let env: NodeJS.ProcessEnv;
let run: RunningCli | undefined;
let browser: OpenBrowser;
let page: Page;
let configFile: string;
const ledger = new PidLedger();
const frozen: number[] = [];
const url = `http://127.0.0.1:${HTTP_PORT}/`;

before(async () => {
  sb = await createSandbox('page-live');
  env = sandboxCliEnv(sb);
  const script = join(freshDir(join(sb.home, 'apps'), 'pl'), 'app.cjs');
  writeFileSync(script, `require('node:http').createServer((q, s) => s.end(JSON.stringify({ pid: process.pid }))).listen(Number(process.env.PORT), '127.0.0.1');\n`);
  await startHealthy(sb, 'hung', HUNG_PORT, { name: 'hung', script, env: { PORT: String(HUNG_PORT) }, autorestart: true });
  await startHealthy(sb, XSS, XSS_PORT, { name: XSS, script, env: { PORT: String(XSS_PORT) }, autorestart: true });
  const health = (port: number) => ({ url: `http://127.0.0.1:${port}/`, interval: `${INTERVAL_MS}ms`, timeout: '300ms', failure_threshold: THRESHOLD });
  configFile = configIn(sb.home, {
    http: { port: HTTP_PORT, refresh: `${REFRESH_S}s` },
    apps: [
      { name: 'hung', health: health(HUNG_PORT), startup_grace: 0, ports: [HUNG_PORT] },
      { name: XSS, health: health(XSS_PORT), startup_grace: 0, ports: [XSS_PORT] },
    ],
  });
  run = startCli(['run', '--config', configFile], env, ledger);
  await run.waitForLine(/status server on http:\/\/127\.0\.0\.1:48555/, 60_000);
  browser = await openBrowser();
  page = await browser.newPage(1280, 800);
});
after(async () => {
  await browser?.close();
  thaw(frozen);
  if (run && run.child.exitCode === null) run.child.kill('SIGTERM');
  await run?.exited;
  ledger.killAll();
  await sb?.teardown();
});

/** The health word of an app's row, as the page shows it now. */
async function healthWord(app: string): Promise<string> {
  return ((await page.locator(`tr[data-app="${app}"] td.health`).first().textContent()) ?? '').trim();
}

test('both apps show healthy; the markup name is text and runs nothing', T, async () => {
  await page.goto(url, { waitUntil: 'load' });
  await waitFor('both healthy on the page', async () => {
    await page.reload({ waitUntil: 'load' });
    return /healthy/.test(await healthWord('hung')) && (await page.locator('#apps tbody th').allTextContents()).includes(XSS) ? true : undefined;
  }, 30_000);
  assert.match(await healthWord('hung'), /^healthy/);
  assert.equal(await page.locator('img, script, iframe, object, embed').count(), 0);
  assert.deepEqual(browser.dialogs, [], 'no dialog opened');
  assert.deepEqual(browser.errors, [], 'no console error (a CSP violation would be one)');
});

test('a SIGSTOPped app is shown unhealthy within interval x threshold plus one refresh', T, async (t) => {
  // Paused: probed and judged, never remedied, so the page has time to show it.
  const paused = await runCli(['pause', 'hung', '--config', configFile], env);
  assert.equal(paused.code, 0, paused.stderr);
  await run!.waitForLine(/\[hung\].*pause/i, 10_000);
  const info = await waitFor('hung answering', async () => {
    const i = await sb.info('hung');
    return i && (await healthPid(HUNG_PORT)) === i.pid ? i : undefined;
  }, 10_000);
  frozen.push(info.pid);
  const t0 = Date.now();
  process.kill(info.pid, 'SIGSTOP');
  // The page reloads itself (meta refresh); only read it, never reload it here.
  await page.goto(url, { waitUntil: 'load' });
  await waitFor('hung unhealthy on the page', async () => ((await healthWord('hung').catch(() => '')).startsWith('unhealthy') ? true : undefined), 30_000, 100);
  const seen = Date.now() - t0;
  // Threshold checks on the shared beat (the first may come up to one interval after the stop),
  // each up to its timeout, then at most one refresh.
  const bound = (THRESHOLD + 1) * INTERVAL_MS + THRESHOLD * 300 + REFRESH_S * 1000 + 1500;
  t.diagnostic(`shown unhealthy ${seen} ms after SIGSTOP (bound ${bound} ms)`);
  assert.ok(seen <= bound, `shown unhealthy after ${seen} ms (bound ${bound} ms)`);
});

test('1280 and 375 px: drawn, no sideways scroll, the hung app\'s cell red; no request left 127.0.0.1', T, async () => {
  // The page as the server sends it now, minus its 1 s meta refresh: a reload in the middle of a
  // measurement would destroy the page being measured.
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const html = (await res.text()).replace(/<meta http-equiv="refresh"[^>]*>/, '');
  assert.match(html, /tr data-app="hung"/);
  const still = await browser.newPage(1280, 800);
  await still.route(url, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', headers: { 'content-security-policy': res.headers.get('content-security-policy') ?? '' }, body: html }));
  await still.goto(url, { waitUntil: 'load' });
  for (const [w, h] of [[1280, 800], [375, 800]] as const) {
    await checkReadableAt(still, w, h, 'status-page-live');
    const cell = await elementShot(still, 'tr[data-app="hung"] td.health', `status-page-live-${w}-hung-cell.png`);
    assert.ok(fractionInRange(cell, isBadRed) > 0.6, `the unhealthy cell is red at ${w} px`);
  }
  await still.close();
  assert.deepEqual(browser.foreign, []);
  assert.deepEqual(browser.dialogs, []);
});
