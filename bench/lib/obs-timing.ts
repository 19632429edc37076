/**
 * What the status server's answers cost at N apps, in this process: the parts called directly
 * (MonitorMetrics.scrape, liveStatusDocument + JSON.stringify, renderStatusPage, the /proc holders
 * scan) beside their baselines (a bare prom-client registry with the default metrics only, and
 * JSON.stringify of the same document or page model); then the real MonitorWeb and server over
 * loopback HTTP (one keep-alive connection, as Prometheus scrapes), beside /healthz of the same
 * server. Every operation runs once per round, in an order that rotates from round to round;
 * wall time from performance.now(), CPU from process.cpuUsage() around each call.
 */
import http from 'node:http';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import winston from 'winston';
import { MonitorWeb } from '../../src/app/web.js';
import { MonitorMetrics, PREFIX } from '../../src/metrics/metrics.js';
import { snapshotSync } from '../../src/ports/sync.js';
import { liveStatusDocument, type StatusDocument } from '../../src/status/live.js';
import { renderStatusPage, type PageModel } from '../../src/web/page.js';
import { summarize, type Summary } from './stats.js';
import type { Synthetic } from './obs-synth.js';

export interface OpResult {
  readonly name: string;
  readonly wallMs: Summary;
  /** CPU µs per call (user + system), median and p90. */
  readonly cpuUs: Summary;
  /** Bytes of the answer (the last call's). */
  readonly bytes: number;
}

interface Op {
  readonly name: string;
  /** Returns the size of what it produced, in bytes. */
  readonly run: () => number | Promise<number>;
}

/** Run every op once per round (rotating order); the first `warmup` rounds are not counted. */
async function timeOps(ops: readonly Op[], rounds: number, warmup: number, progress: (t: string) => void): Promise<OpResult[]> {
  const wall = ops.map((): number[] => []);
  const cpu = ops.map((): number[] => []);
  const bytes = ops.map(() => 0);
  for (let r = 0; r < warmup + rounds; r++) {
    if (r % 10 === 0) progress(`  round ${r + 1}/${warmup + rounds}${r < warmup ? ' (warm-up)' : ''}`);
    for (let k = 0; k < ops.length; k++) {
      const j = (k + r) % ops.length;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      bytes[j] = await ops[j]!.run();
      const t1 = performance.now();
      const c = process.cpuUsage(c0);
      if (r < warmup) continue;
      wall[j]!.push(t1 - t0);
      cpu[j]!.push(c.user + c.system);
    }
  }
  return ops.map((op, j) => ({ name: op.name, wallMs: summarize(wall[j]!), cpuUs: summarize(cpu[j]!), bytes: bytes[j]! }));
}

const silent = (): winston.Logger => winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });

/** The page model MonitorWeb.page() builds (src/app/web.ts), from a status document and the views. */
function pageModel(doc: StatusDocument, syn: Synthetic): PageModel {
  const incidents = syn.views
    .flatMap((v) => v.history.map((entry) => ({ app: v.app, entry })))
    .sort((a, b) => (a.entry.at < b.entry.at ? 1 : a.entry.at > b.entry.at ? -1 : 0))
    .slice(0, 20);
  return {
    version: '0.1.0', host: hostname(), pid: process.pid, startedAt: new Date().toISOString(), uptimeS: process.uptime(),
    rssBytes: process.memoryUsage.rss(), generatedAt: new Date().toISOString(), refreshS: 10, rows: doc.apps, incidents,
  };
}

const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');

/** The parts, called directly, beside their baselines. */
export async function timeInProcess(syn: Synthetic, rounds: number, warmup: number, progress: (t: string) => void): Promise<OpResult[]> {
  const metrics = new MonitorMetrics({ views: () => syn.views, version: '0.1.0' });
  syn.feed(metrics);
  const bare = new Registry();
  collectDefaultMetrics({ register: bare, prefix: PREFIX });
  const holders = snapshotSync(syn.ports).holders;
  if (holders.length < syn.ports.length) throw new Error(`the holders scan found ${holders.length} of ${syn.ports.length} listeners`);
  const input = {
    config: syn.config, views: syn.views, monoNow: performance.now(), stateDir: join(syn.config.stateDir ?? '.', 'x'),
    monitor: { pid: process.pid, hostname: hostname(), started_at: new Date().toISOString(), live: true }, holders,
  };
  const doc = liveStatusDocument(input);
  const model = pageModel(doc, syn);
  const ops: Op[] = [
    { name: 'scrape', run: async () => utf8((await metrics.scrape()).body) },
    { name: 'scrape-baseline', run: async () => utf8(await bare.metrics()) },
    { name: 'status', run: () => utf8(JSON.stringify(liveStatusDocument({ ...input, monoNow: performance.now() }))) },
    { name: 'status-baseline', run: () => utf8(JSON.stringify(doc)) },
    { name: 'page', run: () => utf8(renderStatusPage(model)) },
    { name: 'page-baseline', run: () => utf8(JSON.stringify(model)) },
    { name: 'holders', run: () => snapshotSync(syn.ports).holders.length },
  ];
  return timeOps(ops, rounds, warmup, progress);
}

/** GET a path over the agent's one connection; resolves with the body's length (rejects on a status other than 200). */
function get(port: number, path: string, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => (res.statusCode === 200 ? resolve(n) : reject(new Error(`GET ${path}: ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path}: timeout`)));
    req.on('error', reject);
  });
}

export const ROUTES = ['/metrics', '/', '/api/status', '/healthz'] as const;

/** The real MonitorWeb (its own metrics, fed through its hooks) and server, over loopback HTTP. */
export async function timeHttp(syn: Synthetic, rounds: number, warmup: number, progress: (t: string) => void): Promise<OpResult[]> {
  const web = new MonitorWeb({ views: () => syn.views, monoNow: () => performance.now(), stateDir: syn.config.stateDir ?? '.', logger: silent() });
  await web.apply(syn.config);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    syn.feed({ observe: (app, obs) => web.hooks.onObservation(app, obs), incident: (i) => web.hooks.onIncident(i) });
    const port = Number(new URL(web.url!).port);
    return await timeOps(ROUTES.map((path) => ({ name: path, run: () => get(port, path, agent) })), rounds, warmup, progress);
  } finally {
    agent.destroy();
    await web.close();
  }
}
