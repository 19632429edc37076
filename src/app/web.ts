/**
 * The monitor's HTTP side, for the long-running doors (the module and `run`): the metrics fed by
 * the engine's record step, and the status server built from the workers' views. Always present
 * so its hooks can be handed to the engine at build; prom-client is loaded and a socket opened
 * only when the config has `http:`. A reload that changes the block moves the server; a new
 * address that cannot be bound is reported and the old server keeps answering.
 */
import { hostname } from 'node:os';
import type { HttpConfig } from '../config/http.js';
import type { MonitorConfig } from '../config/schema.js';
import type { Observation } from '../engine/decide.js';
import type { Incident } from '../engine/incident.js';
import type { WorkerView } from '../engine/view.js';
import { readSecret } from '../fsx/secret.js';
import type { Logger } from '../log/logger.js';
import type { MonitorMetrics } from '../metrics/metrics.js';
import { packageVersion } from '../paths.js';
import { listenersSync } from '../ports/sync.js';
import { procAvailable } from '../proc/read.js';
import { liveStatusDocument, type MonitorRecord, type StatusDocument } from '../status/live.js';
import type { PortHolder } from '../status/rows.js';
import { renderStatusPage as renderPage, type PageIncident } from '../web/page.js';
import type { WebServer } from '../web/server.js';

export interface WebSource {
  readonly views: () => readonly WorkerView[];
  readonly monoNow: () => number;
  readonly stateDir: string;
  readonly logger: Logger;
}

export class MonitorWeb {
  private metrics: MonitorMetrics | undefined;
  private server: WebServer | undefined;
  private serving: HttpConfig | undefined;
  private config: MonitorConfig | undefined;
  private readonly startedAt = new Date();

  constructor(private readonly source: WebSource) {}

  /** For the engine's build: what every check and remedy feeds. */
  readonly hooks = {
    onObservation: (app: string, obs: Observation): void => this.metrics?.observe(app, obs),
    onIncident: (incident: Incident): void => this.metrics?.incident(incident),
  };

  /** The server's URL, when one listens. */
  get url(): string | undefined {
    return this.server?.url;
  }

  /**
   * Apply a config (at start: throws when the server cannot listen, so the start fails and says
   * why; on reload: `keepOnError` reports and keeps the server that runs).
   */
  async apply(config: MonitorConfig, keepOnError = false): Promise<void> {
    this.config = config;
    this.metrics?.retain(config.apps.map((a) => a.name));
    const wanted = config.http;
    if (JSON.stringify(wanted) === JSON.stringify(this.serving)) return;
    if (!wanted) {
      await this.server?.close();
      this.server = undefined;
      this.serving = undefined;
      this.source.logger.info('status server stopped (no http: block)');
      return;
    }
    try {
      this.metrics ??= await this.makeMetrics();
      const token = wanted.token ? readSecret(wanted.token.kind === 'env' ? { env: wanted.token.name } : { file: wanted.token.path }, process.env, 'the status server token') : undefined;
      // The same address is given up first (it cannot be bound twice); a new one is bound before
      // the old is closed, so a bad new address leaves the old server answering.
      const same = this.serving && this.serving.host === wanted.host && this.serving.port === wanted.port;
      if (same) await this.server?.close();
      const { startWebServer } = await import('../web/server.js');
      const next = await startWebServer({
        host: wanted.host, port: wanted.port, maxConnections: wanted.maxConnections, ...(token ? { token } : {}),
        routes: { metrics: () => this.metrics!.scrape(), page: () => this.page(), status: () => this.status(), healthz: () => this.healthz() },
        log: (level, message) => this.source.logger.log(level, message),
      });
      if (!same) await this.server?.close();
      this.server = next;
      this.serving = wanted;
      this.source.logger.info(`status server on ${next.url}: / (page), /metrics, /api/status, /healthz${token ? ' (token required)' : ''}`);
    } catch (err) {
      if (!keepOnError) throw err;
      this.source.logger.error(`config reload: the http: block was not applied: ${err instanceof Error ? err.message : String(err)}; ${this.server ? `the status server stays on ${this.server.url}` : 'no status server runs'}`);
    }
  }

  async close(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
    this.serving = undefined;
  }

  /** The document `status --json` prints, from what the workers know now. */
  status(): StatusDocument {
    const config = this.config;
    if (!config) return { healthy: false, monitor: this.monitorRecord(), apps: [] };
    return liveStatusDocument({
      config, views: this.source.views(), monoNow: this.source.monoNow(), stateDir: this.source.stateDir,
      monitor: this.monitorRecord(), holders: this.holders(config),
    });
  }

  private async makeMetrics(): Promise<MonitorMetrics> {
    const { MonitorMetrics } = await import('../metrics/metrics.js');
    return new MonitorMetrics({ views: this.source.views, version: packageVersion() ?? 'unknown' });
  }

  private page(): string {
    const doc = this.status();
    const incidents: PageIncident[] = this.source.views()
      .flatMap((v) => v.history.map((entry) => ({ app: v.app, entry })))
      .sort((a, b) => (a.entry.at < b.entry.at ? 1 : a.entry.at > b.entry.at ? -1 : 0))
      .slice(0, 20);
    return renderPage({
      version: packageVersion() ?? 'unknown', host: hostname(), pid: process.pid, startedAt: this.startedAt.toISOString(),
      uptimeS: process.uptime(), rssBytes: process.memoryUsage.rss(), generatedAt: new Date().toISOString(),
      refreshS: (this.serving?.refreshMs ?? 10_000) / 1000, rows: doc.apps, incidents,
    });
  }

  private healthz(): Record<string, unknown> {
    const views = this.source.views();
    return { ok: true, version: packageVersion() ?? 'unknown', pid: process.pid, uptime_s: Math.round(process.uptime()), apps: views.length };
  }

  private monitorRecord(): MonitorRecord {
    return { pid: process.pid, hostname: hostname(), started_at: this.startedAt.toISOString(), live: true };
  }

  /** One /proc scan for every configured port (none where /proc cannot be read). */
  private holders(config: MonitorConfig): readonly PortHolder[] {
    const ports = [...new Set(config.apps.flatMap((a) => a.ports))];
    return procAvailable && ports.length > 0 ? listenersSync(ports) : [];
  }
}
