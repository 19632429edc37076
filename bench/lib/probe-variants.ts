/**
 * The HTTP clients `bench:probe` compares, each behind the HttpProber interface with the same
 * duties: keep-alive, a whole-answer deadline of our own (timer + abort), expect_status and a
 * max_body cap on the bytes read.
 *
 * (a) is the axios prober that shipped before issue 11 (src/probes/http.ts at that time), kept
 * here word for word as the baseline so the comparison survives the switch to node:http.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import axios, { type AxiosInstance, type AxiosRequestConfig } from 'axios';
import type { HealthConfig } from '../../src/config/schema.js';
import { createHttpProber, type HttpProber } from '../../src/probes/http.js';
import type { HttpOutcome } from '../../src/probes/types.js';
import { ROOT } from '../../test/helpers/sandbox.js';

export interface Variant {
  readonly key: string;
  readonly label: string;
  readonly create: () => HttpProber;
}

const agentOptions = { keepAlive: true, maxSockets: 4, maxFreeSockets: 2, timeout: 30_000 };
const HEADERS = { 'User-Agent': 'helpdesk-monitor', Accept: '*/*' };

/** The deadline or a failure, in the probe's words (the bench only probes healthy apps). */
const fail = (failure: 'timeout' | 'error' | 'body-too-large' | 'status', detail: string, latencyMs: number): HttpOutcome => ({ ok: false, failure, latencyMs, detail });
const judged = (health: HealthConfig, status: number, latencyMs: number): HttpOutcome =>
  health.expectStatus.includes(status) ? { ok: true, status, latencyMs } : fail('status', `HTTP ${status}`, latencyMs);

// ---- (a) axios as it shipped: the old createHttpProber, unchanged ----

export function createAxiosProber(now: () => number = () => performance.now()): HttpProber {
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

// ---- (b) axios tuned: one instance, the http adapter, one prebuilt config per URL ----

function createAxiosTunedProber(now: () => number = () => performance.now()): HttpProber {
  const httpAgent = new http.Agent(agentOptions);
  const client = axios.create({
    adapter: 'http', httpAgent, proxy: false, responseType: 'arraybuffer', validateStatus: null,
    transformResponse: [], headers: HEADERS, maxRedirects: 0,
  });
  // axios still merges each call's config with its defaults inside request(); we at least build
  // none per call: `signal` is set on the URL's own config right before the (synchronous) merge.
  const configs = new Map<string, AxiosRequestConfig>();
  return {
    async probe(health) {
      const started = now();
      let config = configs.get(health.url!);
      if (!config) configs.set(health.url!, (config = { url: health.url!, maxContentLength: health.maxBodyBytes }));
      const ac = new AbortController();
      config.signal = ac.signal;
      let timer: NodeJS.Timeout | undefined;
      const request = client.request(config);
      config.signal = undefined;
      const deadline = new Promise<HttpOutcome>((resolve) => {
        timer = setTimeout(() => resolve(fail('timeout', 'deadline', now() - started)), health.timeoutMs);
      });
      try {
        return await Promise.race([
          request.then((res) => judged(health, res.status, now() - started), (err: Error) => fail('error', err.message, now() - started)),
          deadline,
        ]);
      } finally {
        clearTimeout(timer);
        ac.abort();
      }
    },
    close: () => httpAgent.destroy(),
  };
}

// ---- (c) undici's request() (a devDependency for this bench only) ----

type Undici = typeof import('undici');

function createUndiciProber(undici: Undici, now: () => number = () => performance.now()): HttpProber {
  // One pool per origin with up to 4 connections, like maxSockets: 4.
  const dispatcher = new undici.Agent({ connections: 4, keepAliveTimeout: 30_000, pipelining: 1 });
  return {
    probe(health) {
      const started = now();
      const ac = new AbortController();
      return new Promise<HttpOutcome>((resolve) => {
        let done = false;
        const finish = (o: HttpOutcome): void => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          ac.abort();
          resolve(o);
        };
        const timer = setTimeout(() => finish(fail('timeout', 'deadline', now() - started)), health.timeoutMs);
        undici.request(health.url!, { dispatcher, headers: HEADERS, signal: ac.signal }).then(({ statusCode, body }) => {
          let bytes = 0;
          body.on('error', (err: Error) => finish(fail('error', err.message, now() - started)));
          body.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            if (bytes > health.maxBodyBytes) {
              body.destroy();
              finish(fail('body-too-large', 'max_body', now() - started));
            }
          });
          body.on('end', () => finish(judged(health, statusCode, now() - started)));
        }, (err: Error) => finish(fail('error', err.message, now() - started)));
      });
    },
    close: () => void dispatcher.destroy().catch(() => {}),
  };
}

// ---- (d) plain node:http with a keep-alive Agent: the floor ----

function createNodeHttpProber(now: () => number = () => performance.now()): HttpProber {
  const agent = new http.Agent(agentOptions);
  const targets = new Map<string, http.RequestOptions>();
  return {
    probe(health) {
      const started = now();
      let options = targets.get(health.url!);
      if (!options) {
        const u = new URL(health.url!);
        targets.set(health.url!, (options = { hostname: u.hostname, port: u.port, path: u.pathname + u.search, agent, headers: HEADERS }));
      }
      return new Promise<HttpOutcome>((resolve) => {
        let done = false;
        const finish = (o: HttpOutcome, destroy: boolean): void => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          if (destroy) req.destroy();
          resolve(o);
        };
        const timer = setTimeout(() => finish(fail('timeout', 'deadline', now() - started), true), health.timeoutMs);
        const req = http.get(options, (res) => {
          let bytes = 0;
          res.on('error', (err) => finish(fail('error', err.message, now() - started), true));
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            if (bytes > health.maxBodyBytes) finish(fail('body-too-large', 'max_body', now() - started), true);
          });
          res.on('end', () => finish(judged(health, res.statusCode ?? 0, now() - started), false));
        });
        req.on('error', (err) => finish(fail('error', err.message, now() - started), true));
      });
    },
    close: () => agent.destroy(),
  };
}

/** The variants in table order; undici is left out (with the reason) when it cannot be loaded. */
export async function loadVariants(): Promise<{ variants: Variant[]; skipped: { key: string; label: string; why: string }[] }> {
  const variants: Variant[] = [
    { key: 'axios', label: '(a) axios as shipped (old prober)', create: () => createAxiosProber() },
    { key: 'axios-tuned', label: '(b) axios tuned', create: () => createAxiosTunedProber() },
  ];
  const skipped: { key: string; label: string; why: string }[] = [];
  try {
    const undici = await import('undici');
    variants.push({ key: 'undici', label: `(c) undici ${undiciVersion()} request()`, create: () => createUndiciProber(undici) });
  } catch (err) {
    // Node bundles undici only behind fetch(); its request() is reachable only through the package.
    skipped.push({ key: 'undici', label: '(c) undici request()', why: `the undici devDependency cannot be loaded (${(err as Error).message}); run npm install` });
  }
  variants.push(
    { key: 'node-http', label: '(d) node:http + keep-alive Agent', create: () => createNodeHttpProber() },
    { key: 'shipped', label: '(e) src/probes/http.ts (shipped)', create: () => createHttpProber() },
  );
  return { variants, skipped };
}

function undiciVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'undici', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}
