/**
 * The monitor's Prometheus metrics, on a registry of its own (never prom-client's global one:
 * an app embedding us keeps its own). Counters and histograms are fed by the record step (every
 * observation, every incident); gauges of app state are read from the workers' views when
 * scraped, so a scrape never calls PM2 and never waits for a check. Every label value comes from
 * a closed set: app names from the config, probe kinds, results and circuit states; never a pid,
 * a URL or error text, so the number of series is bounded by the config.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Circuit, Observation } from '../engine/decide.js';
import { incidentResult, type Incident } from '../engine/incident.js';
import type { WorkerView } from '../engine/view.js';

export const PREFIX = 'helpdesk_monitor_';

const CIRCUIT_STATES: readonly Circuit[] = ['closed', 'open', 'half-open'];
/**
 * prom-client's defaults include gauges whose names end in `_total`, which Prometheus keeps for
 * counters (`promtool check metrics` says so). Their per-type siblings without the suffix stay.
 */
const MISNAMED_DEFAULTS = ['nodejs_active_resources_total', 'nodejs_active_handles_total', 'nodejs_active_requests_total'];

export interface MetricsSource {
  /** What every worker knows now (in memory). */
  readonly views: () => readonly WorkerView[];
  readonly version: string;
}

export class MonitorMetrics {
  readonly registry = new Registry();
  private readonly probeDuration: Histogram<'app' | 'probe' | 'result'>;
  private readonly remedies: Counter<'app' | 'reason' | 'result'>;
  private readonly timeToHealthy: Histogram<'app' | 'reason'>;
  private readonly portKills: Counter<'app' | 'outcome'>;
  /** Label sets written per app, so a reload that drops an app drops its series. */
  private readonly written = new Map<string, Map<string, { metric: Counter<string> | Histogram<string>; labels: Record<string, string> }>>();

  constructor(private readonly source: MetricsSource) {
    const registers = [this.registry];
    // The event-loop lag histogram samples every 10 ms by default: ~7 ms of CPU a second in a
    // monitor that otherwise idles (bench:web). 100 ms still shows a stalled loop.
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX, eventLoopMonitoringPrecision: 100 });
    for (const name of MISNAMED_DEFAULTS) this.registry.removeSingleMetric(PREFIX + name);
    this.probeDuration = new Histogram({
      name: `${PREFIX}probe_duration_seconds`, help: 'How long each probe or rule took, by its result.',
      labelNames: ['app', 'probe', 'result'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers,
    });
    this.remedies = new Counter({ name: `${PREFIX}remedies_total`, help: 'Remedies run, by what asked for them and how they ended.', labelNames: ['app', 'reason', 'result'], registers });
    this.timeToHealthy = new Histogram({
      name: `${PREFIX}time_to_healthy_seconds`, help: 'From the start of a remedy to verified health.',
      labelNames: ['app', 'reason'], buckets: [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300], registers,
    });
    this.portKills = new Counter({ name: `${PREFIX}port_kills_total`, help: 'Holders of an app\'s ports killed, or refused by the safety scope.', labelNames: ['app', 'outcome'], registers });
    const views = (): readonly WorkerView[] => this.source.views();
    new Gauge({
      name: `${PREFIX}circuit_state`, help: 'The circuit breaker of each app: 1 for its current state, 0 for the others.', labelNames: ['app', 'state'], registers,
      collect() {
        this.reset();
        for (const v of views()) for (const state of CIRCUIT_STATES) this.set({ app: v.app, state }, v.state.circuit === state ? 1 : 0);
      },
    });
    new Gauge({
      name: `${PREFIX}app_healthy`, help: '1 when the app\'s last check passed, else 0.', labelNames: ['app'], registers,
      collect() {
        this.reset();
        for (const v of views()) this.set({ app: v.app }, v.state.phase === 'healthy' ? 1 : 0);
      },
    });
    new Gauge({
      name: `${PREFIX}consecutive_failures`, help: 'Failed checks in a row of each app.', labelNames: ['app'], registers,
      collect() {
        this.reset();
        for (const v of views()) this.set({ app: v.app }, v.state.consecutiveFailures);
      },
    });
    new Gauge({ name: `${PREFIX}build_info`, help: 'The running helpdesk-monitor: version and Node.js version (always 1).', labelNames: ['version', 'node'], registers })
      .set({ version: source.version, node: process.versions.node }, 1);
  }

  /** One check's probes: durations by probe and result (tcp, exec, log and memory rules too). */
  observe(app: string, obs: Observation): void {
    const h = obs.http;
    if (h) this.inc(app, this.probeDuration, { app, probe: 'http', result: h.ok ? 'ok' : h.failure }, h.latencyMs / 1000);
    for (const o of obs.others ?? []) {
      if (o.kind === 'alarm') continue; // raised from outside: nothing was probed
      this.inc(app, this.probeDuration, { app, probe: o.kind, result: o.ok ? 'ok' : 'fail' }, o.latencyMs / 1000);
    }
  }

  /** One finished remedy. */
  incident(i: Incident): void {
    const { app } = i;
    const reason = i.trigger.kind;
    this.inc(app, this.remedies, { app, reason, result: incidentResult(i) });
    if (i.report.ok && i.report.timeToHealthyMs !== undefined) this.inc(app, this.timeToHealthy, { app, reason }, i.report.timeToHealthyMs / 1000);
    const killed = i.report.ports?.killed.length ?? 0;
    const refused = i.report.ports?.refused.length ?? 0;
    if (killed > 0) this.inc(app, this.portKills, { app, outcome: 'killed' }, killed);
    if (refused > 0) this.inc(app, this.portKills, { app, outcome: 'refused' }, refused);
  }

  /** The configured apps now (a reload): series of apps no longer configured are dropped. */
  retain(apps: readonly string[]): void {
    const keep = new Set(apps);
    for (const [app, sets] of this.written) {
      if (keep.has(app)) continue;
      for (const { metric, labels } of sets.values()) metric.remove(labels);
      this.written.delete(app);
    }
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ readonly contentType: string; readonly body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private inc(app: string, metric: Counter<string> | Histogram<string>, labels: Record<string, string>, value = 1): void {
    let sets = this.written.get(app);
    if (!sets) this.written.set(app, (sets = new Map()));
    const key = `${(metric as unknown as { name: string }).name}\u0000${JSON.stringify(labels)}`;
    if (!sets.has(key)) sets.set(key, { metric, labels });
    if (metric instanceof Counter) metric.inc(labels, value);
    else metric.observe(labels, value);
  }
}
