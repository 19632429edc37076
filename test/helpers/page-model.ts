/**
 * A status page model with the cases the page must get right: a healthy app, an unhealthy one
 * (circuit open, last remedy failed, a stranger on its port), and one whose name, reason and
 * command are markup. Shared by the page's unit test and its browser test.
 */
import type { StatusRow } from '../../src/status/rows.js';
import type { RemedyEntry } from '../../src/engine/view.js';
import type { PageIncident, PageModel } from '../../src/web/page.js';

export const XSS_NAME = '<img src=x onerror=alert(1)>';
export const XSS_REASON = `probe "http" said <b>503</b> & 'retry'`;
export const XSS_COMMAND = `node -e "<script>alert('x')</script>" && echo <svg onload=alert(2)>`;
export const NOW = Date.parse('2025-06-02T10:00:00.000Z');

const iso = (msAgo: number, now: number): string => new Date(now - msAgo).toISOString();

export function remedy(patch: Partial<RemedyEntry> & { at: string }): RemedyEntry {
  return { ok: true, reason: 'health: timeout (3 in a row)', strategy: 'restart', attempts: 1, duration_ms: 4200, steps: [], killed: [], refused: [], ...patch };
}

export function healthyRow(name = 'api', now = NOW): StatusRow {
  return {
    name,
    healthy: true,
    strategy: 'restart',
    pm2: { status: 'online', pids: [4101], uptime_ms: 3_600_000, restarts: 2 },
    health: { ok: true, status: 200, latency_ms: 12 },
    ports: [{ port: 3000, holders: [{ pid: 4101, command: 'node /srv/api/server.js', uid: 1000 }] }],
    monitor: { phase: 'healthy', consecutive_failures: 0, failed_remedies: 0, circuit: 'closed', last_remedy: remedy({ at: iso(3_000_000, now), killed: [4077], time_to_healthy_ms: 5310 }) },
  };
}

export function unhealthyRow(name = 'billing', now = NOW): StatusRow {
  return {
    name,
    healthy: false,
    reason: 'port 3100 is held by pid 5120 (python3 -m http.server 3100), not by the app',
    strategy: 'restart',
    pm2: { status: 'errored', pids: [], uptime_ms: 0, restarts: 15 },
    health: { ok: false, latency_ms: 2001, failure: 'connect', detail: 'ECONNREFUSED 127.0.0.1:3100' },
    ports: [{ port: 3100, holders: [{ pid: 5120, command: 'python3 -m http.server 3100', uid: 0 }, { pid: 5121, command: 'sh -c python3 -m http.server 3100', uid: 0 }] }],
    monitor: {
      phase: 'unhealthy', consecutive_failures: 9, failed_remedies: 3, circuit: 'open', circuit_since: iso(120_000, now), backoff_until: iso(-60_000, now),
      last_remedy: remedy({ at: iso(125_000, now), ok: false, reason: 'errored (PM2 gave up)', failure: 'port 3100 still held by pid 5120 (outside the scope)', duration_ms: 12_800, refused: [5120, 5121] }),
    },
  };
}

export function xssRow(now = NOW): StatusRow {
  return {
    name: XSS_NAME,
    healthy: false,
    reason: XSS_REASON,
    strategy: 'reload',
    pm2: { status: 'online', pids: [6200, 6201], uptime_ms: 60_000, restarts: 0 },
    health: { ok: false, status: 503, latency_ms: 340, failure: 'status' },
    ports: [{ port: 3200, holders: [{ pid: 6300, command: XSS_COMMAND, uid: 1000 }] }, { port: 3201, holders: [] }],
    monitor: { phase: 'failing', consecutive_failures: 2, failed_remedies: 0, circuit: 'half-open', circuit_since: iso(30_000, now), paused_until: iso(-1_800_000, now) },
  };
}

/** `n` remedies, newest first, one a minute, cycling through the three apps and the outcomes. */
export function incidents(n: number, now = NOW): PageIncident[] {
  const apps = ['api', 'billing', XSS_NAME];
  return Array.from({ length: n }, (_, i) => ({
    app: apps[i % 3]!,
    entry: remedy({
      at: iso(60_000 * (i + 1), now),
      ok: i % 3 !== 1,
      reason: i % 3 === 2 ? XSS_REASON : `incident ${i + 1}: health: timeout (3 in a row)`,
      ...(i % 3 === 1 ? { failure: `verify: not healthy within 30s (incident ${i + 1})`, refused: [5120] } : { time_to_healthy_ms: 3000 + i * 10, killed: [7000 + i] }),
      duration_ms: 4000 + i * 100,
    }),
  }));
}

export function sampleModel(patch: Partial<PageModel> = {}, now = NOW): PageModel {
  return {
    version: '0.1.0',
    host: 'helpdesk-01',
    pid: 31337,
    startedAt: iso(97_200_000, now),
    uptimeS: 97_200,
    rssBytes: 58_720_256,
    generatedAt: new Date(now).toISOString(),
    refreshS: 10,
    rows: [healthyRow('api', now), unhealthyRow('billing', now), xssRow(now)],
    incidents: incidents(25, now),
    ...patch,
  };
}
