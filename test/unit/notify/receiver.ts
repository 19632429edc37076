/**
 * Test helpers for the notifier: a real webhook receiver on 127.0.0.1 (port 0), a fake clock and
 * a winston logger whose output is captured as lines.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { Writable } from 'node:stream';
import winston from 'winston';
import type { Clock } from '../../../src/clock.js';
import type { Logger } from '../../../src/log/logger.js';

export interface Received {
  readonly path: string;
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** performance.now() when the body was complete. */
  readonly at: number;
}

/** What to answer: a status (and headers), or 'hang' to accept the request and never answer. */
export type Reply = { status: number; headers?: Record<string, string> } | 'hang';

export interface Receiver {
  readonly base: string;
  readonly received: Received[];
  /** Answers by request number (0-based) for a path; default 200. */
  reply: (path: string, n: number) => Reply;
  /** Resolve when `count` requests have arrived (rejects after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiver(reply: Receiver['reply'] = () => ({ status: 200 })): Promise<Receiver> {
  const received: Received[] = [];
  const perPath = new Map<string, number>();
  const listeners = new Set<() => void>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const n = perPath.get(path) ?? 0;
      perPath.set(path, n + 1);
      received.push({
        path,
        method: req.method ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: performance.now(),
      });
      for (const l of [...listeners]) l();
      const r = self.reply(path, n);
      if (r === 'hang') return; // keep the socket open, never answer
      res.writeHead(r.status, r.headers ?? {});
      res.end(r.status >= 200 && r.status < 300 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const self: Receiver = {
    base: `http://127.0.0.1:${port}`,
    received,
    reply,
    waitFor(count, timeoutMs = 5000) {
      if (received.length >= count) return Promise.resolve(received);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`receiver got ${received.length} of ${count} requests within ${timeoutMs} ms`));
        }, timeoutMs);
        function check(): void {
          if (received.length < count) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve(received);
        }
        listeners.add(check);
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
  return self;
}

export class FakeClock implements Clock {
  t = 1000;
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export interface CapturedLogger {
  readonly logger: Logger;
  /** Every formatted line written so far (JSON lines). */
  readonly lines: string[];
  readonly text: () => string;
}

/** A debug-level winston logger writing JSON lines into memory through a Stream transport. */
export function captureLogger(): CapturedLogger {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) lines.push(line);
      cb();
    },
  });
  const logger = winston.createLogger({
    level: 'debug',
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    transports: [new winston.transports.Stream({ stream })],
  });
  return { logger, lines, text: () => lines.join('\n') };
}

/** Poll until `cond()` holds (rejects after `timeoutMs`). */
export async function until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
