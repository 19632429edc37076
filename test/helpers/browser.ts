/**
 * A real browser for the status page tests: Debian's Chromium (/usr/bin/chromium, installed by
 * .ci/run), driven by playwright-core with a temp profile. Never a browser a package downloads.
 * Guards record what a page must never do: a request that leaves 127.0.0.1 (aborted), a dialog
 * (dismissed), a console error (a CSP violation is one). Screenshots go to test-artifacts/ at the
 * repo root, kept after the run for people to look at; pixels are read back with pngjs.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { PNG } from 'pngjs';

export const CHROMIUM = '/usr/bin/chromium';

/** The repo root: this file runs as dist/test/helpers/browser.js. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const ARTIFACTS = join(ROOT, 'test-artifacts');

/** Flags against everything Chromium would do on its own (updates, sync, field trials, QUIC). */
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--disable-default-apps', '--disable-domain-reliability', '--no-pings', '--metrics-recording-only', '--disable-field-trial-config'];

export interface Dialog {
  readonly type: string;
  readonly message: string;
  readonly url: string;
}

export interface OpenBrowser {
  /** A new tab (JavaScript on: an injected script must be able to run, for a test to see it). */
  newPage(width?: number, height?: number): Promise<Page>;
  readonly context: BrowserContext;
  /** Every request URL the pages made, in order (loopback ones included). */
  readonly requests: readonly string[];
  /** Requests to anything but http(s)/ws(s) on 127.0.0.1: aborted, and recorded here. */
  readonly foreign: readonly string[];
  /** Dialogs (alert, confirm, prompt, beforeunload) the pages opened: dismissed, recorded here. */
  readonly dialogs: readonly Dialog[];
  /** Console errors and uncaught page errors (a CSP violation is logged as one). */
  readonly errors: readonly string[];
  close(): Promise<void>;
}

/** Only loopback by its address: `localhost` could resolve elsewhere, and is not what the server binds. */
export function isLoopback(url: string): boolean {
  try {
    const u = new URL(url);
    return ['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol) && u.hostname === '127.0.0.1';
  } catch {
    return false;
  }
}

export async function openBrowser(): Promise<OpenBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium; .ci/run does)`);
  const profile = mkdtempSync(join(tmpdir(), 'hdm-chromium-'));
  const requests: string[] = [];
  const foreign: string[] = [];
  const dialogs: Dialog[] = [];
  const errors: string[] = [];
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 800 }, serviceWorkers: 'block', acceptDownloads: false, timeout: 60_000 });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  const guard = (url: string): boolean => {
    requests.push(url);
    if (isLoopback(url)) return true;
    foreign.push(url);
    return false;
  };
  await context.route('**/*', (route) => (guard(route.request().url()) ? route.continue() : route.abort('blockedbyclient')));
  await context.routeWebSocket(/.*/, (ws) => (guard(ws.url()) ? ws.connectToServer() : ws.close({ code: 1008, reason: 'blocked by the test' })));
  context.on('dialog', (d) => {
    dialogs.push({ type: d.type(), message: d.message(), url: d.page()?.url() ?? '' });
    void d.dismiss().catch(() => undefined);
  });
  const watch = (page: Page): void => {
    page.on('console', (m) => void (m.type() === 'error' && errors.push(`console: ${m.text()}`)));
    page.on('pageerror', (e) => void errors.push(`pageerror: ${e.message}`));
  };
  context.on('page', watch);
  for (const p of context.pages()) watch(p);
  return {
    context,
    requests,
    foreign,
    dialogs,
    errors,
    async newPage(width = 1280, height = 800) {
      const page = await context.newPage();
      await page.setViewportSize({ width, height });
      return page;
    },
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Resize the viewport to width x height, then save a PNG of it in test-artifacts/; its path. */
export async function screenshot(page: Page, width: number, height: number, file: string, options: { fullPage?: boolean } = {}): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.setViewportSize({ width, height });
  const path = join(ARTIFACTS, file);
  await page.screenshot({ path, fullPage: options.fullPage ?? false, animations: 'disabled' });
  return path;
}

/** An element's own pixels (a table cell, say), saved in test-artifacts/; its path. */
export async function elementShot(page: Page, selector: string, file: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, file);
  writeFileSync(path, await page.locator(selector).screenshot({ animations: 'disabled' }));
  return path;
}

/** A PNG from a path or its bytes. */
export function readPng(png: string | Buffer): PNG {
  return PNG.sync.read(typeof png === 'string' ? readFileSync(png) : png);
}

export interface Pixels {
  readonly distinctColours: number;
  /** The share of the most common colour (1: one flat colour). */
  readonly dominantShare: number;
  readonly width: number;
  readonly height: number;
}

export function pixelStats(png: string | Buffer): Pixels {
  const img = readPng(png);
  const counts = new Map<number, number>();
  for (let i = 0; i < img.data.length; i += 4) {
    const key = ((img.data[i]! << 16) | (img.data[i + 1]! << 8) | img.data[i + 2]!) >>> 0;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const total = img.width * img.height;
  return { distinctColours: counts.size, dominantShare: total === 0 ? 1 : Math.max(0, ...counts.values()) / total, width: img.width, height: img.height };
}

/**
 * Throws unless the image shows something: text and coloured cells give many colours
 * (anti-aliasing alone makes dozens), a blank or error page few, and one colour covers nearly all.
 */
export function checkNotBlank(png: string | Buffer, minColours = 16, maxDominant = 0.97): Pixels {
  const s = pixelStats(png);
  if (s.distinctColours < minColours || s.dominantShare > maxDominant) {
    throw new Error(`${typeof png === 'string' ? png : 'the screenshot'} looks blank: ${s.distinctColours} colours, the commonest covers ${(s.dominantShare * 100).toFixed(1)}%`);
  }
  return s;
}

export type Rgba = { readonly r: number; readonly g: number; readonly b: number; readonly a: number };

/** The share (0..1) of the image's pixels for which `predicate` holds. */
export function fractionInRange(png: string | Buffer, predicate: (p: Rgba) => boolean): number {
  const img = readPng(png);
  let hits = 0;
  for (let i = 0; i < img.data.length; i += 4) {
    if (predicate({ r: img.data[i]!, g: img.data[i + 1]!, b: img.data[i + 2]!, a: img.data[i + 3]! })) hits++;
  }
  return img.width * img.height === 0 ? 0 : hits / (img.width * img.height);
}

/** The page's "bad" red (#c62828 and what anti-aliasing leaves of it). */
export const isBadRed = (p: Rgba): boolean => p.r > 150 && p.g < 90 && p.b < 90;

/**
 * The few DOM shapes read inside the page (the project compiles without the DOM library). The
 * functions passed to evaluate() run in the page, serialized: they can use no closure of ours.
 */
interface Box {
  readonly right: number;
}
interface El {
  readonly tagName: string;
  readonly className: unknown;
  getBoundingClientRect(): Box;
}
interface Doc {
  readonly documentElement: { readonly scrollWidth: number; readonly clientWidth: number };
  querySelectorAll(selector: string): Iterable<El>;
}

/** True when the page is wider than the viewport: it would scroll sideways. */
export async function hasHorizontalOverflow(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const d = (globalThis as unknown as { document: Doc }).document.documentElement;
    return d.scrollWidth > d.clientWidth;
  });
}

/** For a failure message: the elements whose right edge passes the viewport's (tag.class right=px). */
export async function overflowingElements(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const d = (globalThis as unknown as { document: Doc }).document;
    const width = d.documentElement.clientWidth;
    return [...d.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > width + 0.5)
      .slice(0, 10)
      .map((e) => `${e.tagName.toLowerCase()}.${typeof e.className === 'string' && e.className ? e.className : '-'} right=${Math.round(e.getBoundingClientRect().right)}`);
  });
}

/**
 * The checks every look at a page makes, at one size: a viewport screenshot
 * (`<name>-<w>x<h>.png`) that is not blank, a full-page one for people (`<name>-<w>-full.png`),
 * and no sideways scroll (the error names the elements that stick out). Throws on failure.
 */
export async function checkReadableAt(page: Page, width: number, height: number, name: string): Promise<{ shot: string; full: string; stats: Pixels }> {
  const shot = await screenshot(page, width, height, `${name}-${width}x${height}.png`);
  const stats = checkNotBlank(shot);
  const full = await screenshot(page, width, height, `${name}-${width}-full.png`, { fullPage: true });
  checkNotBlank(full);
  if (await hasHorizontalOverflow(page)) throw new Error(`${name} scrolls sideways at ${width}px: ${(await overflowingElements(page)).join('; ')}`);
  return { shot, full, stats };
}
