/**
 * The webhook channel: a JSON POST (generic JSON, Slack or Discord shapes, format.ts) through an
 * injectable PostFn, by default axios with keep-alive agents. 2xx = sent; 429, 5xx, network
 * errors and timeouts are retried (honouring Retry-After); any other status is final. The URL is
 * logged redacted only, header values never, and error messages are scrubbed of the URL's secrets.
 */
import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance } from 'axios';
import { describeError } from '../errors.js';
import { redactDeep, redactText, redactUrl, scrub, secretsOf } from '../redact.js';
import { eventSet, type Channel, type Outcome } from './channel.js';
import { formatPayload } from './format.js';
import type { PostFn, PostResult, WebhookTarget } from './types.js';

export function webhookChannel(target: WebhookTarget, post: PostFn): Channel {
  const secrets = secretsOf(target.url, target.headers);
  const headers = { 'Content-Type': 'application/json', 'User-Agent': 'helpdesk-monitor', ...target.headers };
  const timeoutMs = target.timeoutMs;
  return {
    label: redactUrl(target.url),
    events: eventSet(target.events),
    timeoutMs,
    bodyKey: target.format,
    // A reason or detail may quote a health URL: the chat channel gets the redacted form.
    render: (event) => JSON.stringify(redactDeep(formatPayload(target.format, event))),
    deliver: async (body, signal) => classifyResult(await post(target.url, body, headers, timeoutMs, signal)),
    classifyError: (err) => classifyError(err, secrets, timeoutMs),
  };
}

export function classifyResult(result: PostResult): Outcome {
  const status = typeof result === 'number' ? result : result.status;
  if (status >= 200 && status < 300) return { kind: 'ok', meta: { status } };
  if (status === 429 || (status >= 500 && status < 600)) {
    const raw = typeof result === 'number' ? undefined : result.retryAfter;
    const retryAfterMs = parseRetryAfter(raw);
    return { kind: 'retry', why: `HTTP ${status}`, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
  return { kind: 'final', why: `HTTP ${status}` };
}

function classifyError(err: unknown, secrets: readonly string[], timeoutMs: number): Outcome {
  const e = err as { code?: string } | null;
  const code = e?.code;
  // axios' own timeout may fire a hair before ours: same outcome, same words.
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT' || code === 'ERR_CANCELED') {
    return { kind: 'retry', why: `no answer within ${timeoutMs} ms` };
  }
  const why = redactText(scrub(code ? `${code}: ${describeError(err)}` : describeError(err), secrets));
  if (code === 'ERR_INVALID_URL' || code === 'ERR_BAD_OPTION' || code === 'ERR_BAD_OPTION_VALUE') return { kind: 'final', why };
  return { kind: 'retry', why };
}

/** Retry-After as milliseconds: delay-seconds (`120`) or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(raw: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (raw === undefined) return undefined;
  const v = raw.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

export interface WebhookTransport {
  post: PostFn;
  close(): void;
}

/** axios with keep-alive agents, no proxy (HTTP(S)_PROXY ignored), no redirects, any status resolved. */
export function createWebhookTransport(maxSockets: number): WebhookTransport {
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: 2, timeout: 60_000 });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets, maxFreeSockets: 2, timeout: 60_000 });
  const client: AxiosInstance = axios.create({
    httpAgent,
    httpsAgent,
    proxy: false,
    maxRedirects: 0,
    responseType: 'arraybuffer',
    maxContentLength: 1024 * 1024,
    validateStatus: () => true,
    // The body is already a JSON string: send it as is.
    transformRequest: [(data: unknown) => data],
  });
  return {
    async post(url, body, headers, timeoutMs, signal) {
      const res = await client.post(url, body, {
        headers: { ...headers },
        timeout: timeoutMs,
        ...(signal ? { signal } : {}),
      });
      const ra: unknown = res.headers['retry-after'];
      return { status: res.status, retryAfter: typeof ra === 'string' ? ra : undefined };
    },
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
