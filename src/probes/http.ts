/**
 * The HTTP probe: one GET with a hard deadline over the whole answer, body included (a SIGSTOPped
 * app still accepts TCP, so only a response deadline notices it), an expected status, a body cap
 * and no redirects unless allowed. Connections are kept alive: a probe every second should not
 * cost a handshake each time.
 *
 * axios's own `timeout` is a socket idle timeout that restarts on every byte, so a /health that
 * trickles one byte every 500 ms would never time out and would hold its concurrency slot for
 * ever. The deadline is therefore our own timer: it aborts the request and resolves the probe at
 * the deadline itself, whether or not axios has noticed the abort yet.
 */
import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance } from 'axios';
import type { HealthConfig } from '../config/schema.js';
import type { HttpOutcome } from './types.js';

export interface HttpProber {
  probe(health: HealthConfig, signal?: AbortSignal): Promise<HttpOutcome>;
  close(): void;
}

/** Make a prober that shares keep-alive agents across all apps. */
export function createHttpProber(now: () => number = () => performance.now()): HttpProber {
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 4, maxFreeSockets: 2, timeout: 30_000 });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 4, maxFreeSockets: 2, timeout: 30_000 });
  const client: AxiosInstance = axios.create({
    httpAgent,
    httpsAgent,
    proxy: false,
    responseType: 'arraybuffer',
    validateStatus: () => true,
    headers: { 'User-Agent': 'helpdesk-monitor', Accept: '*/*' },
  });
  return {
    async probe(health, signal) {
      if (!health.url) return { ok: true, status: 0, latencyMs: 0 };
      const started = now();
      const timedOut = (detail: string): HttpOutcome => ({ ok: false, failure: 'timeout', latencyMs: now() - started, detail });
      if (signal?.aborted) return timedOut('aborted before it started');
      const ac = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      const deadline = new Promise<HttpOutcome>((resolve) => {
        timer = setTimeout(() => resolve(timedOut(`no answer within ${Math.round(health.timeoutMs)} ms`)), timerMs(health.timeoutMs));
        onAbort = () => resolve(timedOut('aborted'));
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      const request = client
        .get(health.url, {
          signal: ac.signal,
          maxRedirects: health.followRedirects ? 5 : 0,
          maxContentLength: health.maxBodyBytes,
        })
        .then(
          (res): HttpOutcome => {
            const latencyMs = now() - started;
            if (health.expectStatus.includes(res.status)) return { ok: true, status: res.status, latencyMs };
            return {
              ok: false, failure: 'status', status: res.status, latencyMs,
              detail: `HTTP ${res.status}, expected ${health.expectStatus.join(' or ')}`,
            };
          },
          (err: unknown): HttpOutcome => ({ ok: false, latencyMs: now() - started, ...classify(err, health) }),
        );
      try {
        return await Promise.race([request, deadline]);
      } finally {
        clearTimeout(timer);
        if (onAbort) signal?.removeEventListener('abort', onAbort);
        // Past the deadline (or aborted) the request goes: axios destroys its socket, so a
        // trickling server cannot keep a pooled connection busy. A finished request ignores this.
        ac.abort();
      }
    },
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

/** A delay setTimeout takes as given (it turns NaN or more than ~24.8 days into 1 ms). */
function timerMs(ms: number): number {
  return Number.isNaN(ms) ? 0 : Math.min(Math.max(0, ms), 2_147_483_647);
}

function classify(err: unknown, health: HealthConfig): { failure: 'timeout' | 'refused' | 'body-too-large' | 'error'; detail: string } {
  const e = err as { code?: string; message?: string };
  if (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT' || e.code === 'ERR_CANCELED') {
    return { failure: 'timeout', detail: `no answer within ${Math.round(health.timeoutMs)} ms` };
  }
  if (e.code === 'ECONNREFUSED') return { failure: 'refused', detail: 'connection refused' };
  if (e.code === 'ERR_BAD_RESPONSE' && /maxContentLength/.test(e.message ?? '')) {
    return { failure: 'body-too-large', detail: `body larger than max_body (${health.maxBodyBytes} bytes)` };
  }
  return { failure: 'error', detail: `${e.code ?? 'error'}: ${e.message ?? String(err)}` };
}
