/**
 * The HTTP probe: one GET with a response timeout (a SIGSTOPped app still accepts TCP, so only a
 * response deadline notices it), an expected status, a body cap and no redirects unless allowed.
 * Connections are kept alive: a probe every second should not cost a handshake each time.
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
      try {
        const res = await client.get(health.url, {
          timeout: health.timeoutMs,
          maxRedirects: health.followRedirects ? 5 : 0,
          maxContentLength: health.maxBodyBytes,
          ...(signal ? { signal } : {}),
        });
        const latencyMs = now() - started;
        if (health.expectStatus.includes(res.status)) return { ok: true, status: res.status, latencyMs };
        return {
          ok: false, failure: 'status', status: res.status, latencyMs,
          detail: `HTTP ${res.status}, expected ${health.expectStatus.join(' or ')}`,
        };
      } catch (err) {
        return { ok: false, latencyMs: now() - started, ...classify(err, health) };
      }
    },
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

function classify(err: unknown, health: HealthConfig): { failure: 'timeout' | 'refused' | 'body-too-large' | 'error'; detail: string } {
  const e = err as { code?: string; message?: string };
  if (e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT' || e.code === 'ERR_CANCELED') {
    return { failure: 'timeout', detail: `no answer within ${health.timeoutMs} ms` };
  }
  if (e.code === 'ECONNREFUSED') return { failure: 'refused', detail: 'connection refused' };
  if (e.code === 'ERR_BAD_RESPONSE' && /maxContentLength/.test(e.message ?? '')) {
    return { failure: 'body-too-large', detail: `body larger than max_body (${health.maxBodyBytes} bytes)` };
  }
  return { failure: 'error', detail: `${e.code ?? 'error'}: ${e.message ?? String(err)}` };
}
