/**
 * The status page in a real browser (Debian's Chromium): served by a small HTTP server on
 * 127.0.0.1 with the CSP the monitor's server sends, looked at 1280 and 375 px wide. The pictures
 * stay in test-artifacts/ for people. Checked: something is drawn, the unhealthy app's health
 * cell is red, nothing scrolls sideways, a name that is markup shows as text and runs nothing, no
 * request leaves 127.0.0.1, and the incidents table holds the newest 20 of 25.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { PAGE_CSP, renderStatusPage } from '../../src/web/page.js';
import { checkReadableAt, elementShot, fractionInRange, isBadRed, openBrowser, type OpenBrowser } from '../helpers/browser.js';
import { XSS_NAME, sampleModel } from '../helpers/page-model.js';

/** Serve `html` at every path on the first free port of 48500-48509. */
async function servePage(html: string): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/') return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': PAGE_CSP, 'x-content-type-options': 'nosniff' }).end(html);
  });
  for (let port = 48500; port <= 48509; port++) {
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (ok) return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
  }
  throw new Error('no free port in 48500-48509');
}

let browser: OpenBrowser;
let served: { server: http.Server; url: string };
let page: Page;

before(async () => {
  served = await servePage(renderStatusPage(sampleModel({ refreshS: 3600 })));
  browser = await openBrowser();
  page = await browser.newPage(1280, 800);
  const res = await page.goto(served.url, { waitUntil: 'load' });
  assert.equal(res?.status(), 200);
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => served?.server.close(resolve));
});

for (const [width, height] of [[1280, 800], [375, 800]] as const) {
  test(`${width}x${height}: drawn, no sideways scroll, the unhealthy cell red`, async (t) => {
    const { shot, stats } = await checkReadableAt(page, width, height, 'status-page');
    const cell = await elementShot(page, 'tr[data-app="billing"] td.health', `status-page-${width}-unhealthy-cell.png`);
    const red = fractionInRange(cell, isBadRed);
    t.diagnostic(`${shot}: ${stats.distinctColours} colours, commonest ${(stats.dominantShare * 100).toFixed(0)}%; unhealthy cell ${(red * 100).toFixed(0)}% red`);
    assert.ok(red > 0.6, `the unhealthy health cell is ${(red * 100).toFixed(0)}% red`);
    const healthy = await elementShot(page, 'tr[data-app="api"] td.health', `status-page-${width}-healthy-cell.png`);
    assert.ok(fractionInRange(healthy, isBadRed) < 0.01, 'the healthy cell is not red');
  });
}

test('a name that is markup shows as text and runs nothing', async () => {
  const names = await page.locator('#apps tbody th').allTextContents();
  assert.deepEqual(names, ['api', 'billing', XSS_NAME]);
  assert.equal(await page.locator('img, svg, script, iframe, object, embed').count(), 0);
  await page.reload({ waitUntil: 'load' });
  assert.equal(browser.dialogs.length, 0, 'no dialog opened');
  assert.deepEqual(browser.errors, [], 'no console error (a CSP violation would be one)');
  // The guard itself: the same markup, unescaped on a page without a CSP, does open a dialog.
  const control = await browser.newPage(320, 200);
  await control.setContent(XSS_NAME, { waitUntil: 'load' });
  await control.waitForTimeout(200);
  await control.close();
  assert.deepEqual(browser.dialogs.map((d) => `${d.type}: ${d.message}`), ['alert: 1']);
});

test('no request leaves 127.0.0.1, and the guard would have seen one', async () => {
  assert.deepEqual(browser.foreign, []);
  assert.ok(browser.requests.includes(served.url), `requests seen: ${browser.requests.join(', ')}`);
  // The guard itself: a page that asks for a foreign image gets it aborted and recorded.
  const probe = await browser.newPage(320, 200);
  await probe.setContent('<img src="http://192.0.2.1/x.png">', { waitUntil: 'load' });
  await probe.close();
  assert.deepEqual(browser.foreign, ['http://192.0.2.1/x.png']);
});

test('the incidents table holds the newest 20 of 25', async () => {
  const rows = page.locator('#incidents tbody tr');
  assert.equal(await rows.count(), 20);
  assert.match((await rows.first().textContent()) ?? '', /incident 1:/);
  assert.match((await rows.last().textContent()) ?? '', /incident 20:/);
});
