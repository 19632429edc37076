/**
 * The top-level `http:` block: the monitor's own small HTTP server (metrics, the status page,
 * /api/status, /healthz). Off unless asked for (`http: {}` or `http: true` takes every default):
 * a watchdog on a shared server opens no socket nobody asked for. It listens on loopback by
 * default; any other address needs a token, or the config is refused.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { durationIn } from './duration-schema.js';
import { HOST_HINT, PORT_HINT, envName, secretFile } from './update.js';

/** Not PM2's old `pm2 web` port (9615): this one is ours, and documented. */
export const DEFAULT_HTTP_PORT = 9617;

export interface HttpConfig {
  readonly host: string;
  readonly port: number;
  /** Where the bearer token is read from; absent: no token (loopback only). */
  readonly token?: { readonly kind: 'env'; readonly name: string } | { readonly kind: 'file'; readonly path: string };
  /** The status page reloads itself this often. */
  readonly refreshMs: number;
  /** Open connections at once; more are closed at once. */
  readonly maxConnections: number;
}

const httpObject = z
  .strictObject({
    host: z.string({ error: HOST_HINT }).min(1, HOST_HINT).default('127.0.0.1'),
    port: z.number({ error: PORT_HINT }).int(PORT_HINT).min(0, PORT_HINT).max(65535, PORT_HINT).default(DEFAULT_HTTP_PORT),
    token_env: envName.optional(),
    token_file: secretFile.optional(),
    token: z.unknown().superRefine((_v, ctx) => {
      ctx.addIssue({ code: 'custom', input: '***', message: 'a token in the config file is not accepted: put it in the environment variable named by token_env or in a chmod 600 file named by token_file' });
    }).optional(),
    refresh: durationIn(1000, 3_600_000, 'a page refresh').default(10_000),
    max_connections: z.number({ error: 'expected a number of connections' }).int().min(1).max(1024).default(64),
  }, { error: 'expected an http: block (a mapping; http: {} or http: true takes every default)' })
  .superRefine((h, ctx) => {
    if (h.token_env !== undefined && h.token_file !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['token_file'], input: h.token_file, message: 'give token_env or token_file, not both' });
    }
    if (!isLoopback(h.host) && h.token_env === undefined && h.token_file === undefined) {
      ctx.addIssue({
        code: 'custom', path: ['host'], input: h.host,
        message: `expected a loopback address (127.0.0.1, ::1, localhost): listening on ${h.host} without a token would show every app's state to the network; set token_env or token_file to allow it`,
      });
    }
  });

/** `http: true` is `http: {}`; `http: false` is no block. */
export const httpSchema = z.preprocess((v) => (v === true ? {} : v === false ? undefined : v), httpObject.optional());

export const HTTP_KEYS: readonly string[] = [...Object.keys(httpObject.shape), 'http'];

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

export function toHttpConfig(h: z.output<typeof httpObject>): HttpConfig {
  return {
    host: h.host,
    port: h.port,
    ...(h.token_env ? { token: { kind: 'env', name: h.token_env } as const } : h.token_file ? { token: { kind: 'file', path: h.token_file } as const } : {}),
    refreshMs: h.refresh,
    maxConnections: h.max_connections,
  };
}
