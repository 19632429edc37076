/**
 * A real webhook receiver on 127.0.0.1 for the notification tests: records every POST (path,
 * parsed JSON body, arrival time). In `hang` mode it accepts requests and never answers, like a
 * chat service that is down behind a load balancer.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  readonly path: string;
  readonly body: unknown;
  readonly headers: http.IncomingHttpHeaders;
  /** Date.now() when the body was complete. */
  readonly at: number;
}

export interface Receiver {
  readonly port: number;
  /** `http://127.0.0.1:<port><path>`. */
  url(path: string): string;
  /** Every request received so far (hang mode: every request whose body arrived). */
  readonly received: Received[];
  /** Requests received and not answered yet (hang mode). */
  open(): number;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  /** Accept, read the body, never answer. */
  readonly hang?: boolean;
}

/** Start a receiver on 127.0.0.1:`port`. */
export async function startReceiver(port: number, options: ReceiverOptions = {}): Promise<Receiver> {
  const received: Received[] = [];
  let open = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // keep the raw text: a test asserting on the shape will say so
      }
      received.push({ path: req.url ?? '', body, headers: req.headers, at: Date.now() });
      if (options.hang) {
        open++;
        res.on('close', () => open--);
        return;
      }
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    port: actual,
    url: (path) => `http://127.0.0.1:${actual}${path}`,
    received,
    open: () => open,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The JSON bodies received on `path` (exact match). */
export function bodiesAt(r: Receiver, path: string): unknown[] {
  return r.received.filter((x) => x.path === path).map((x) => x.body);
}
