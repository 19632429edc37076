/**
 * Listening, bounded: the monitor's two small HTTP servers (the update webhook and the status
 * server) open and close through here. Every server gets the same limits (time to send the
 * headers and the request, idle keep-alive, connections, headers), a listen error that says what
 * to do, and a close() that ends within 2 s whatever the clients do.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { HelpdeskError, describeError } from '../errors.js';

export interface Listening {
  /** `http://127.0.0.1:PORT` (the bound port, also when 0 was asked). */
  readonly url: string;
  readonly port: number;
  /** Closes the listener and every open connection; resolves within 2 s. */
  close(): Promise<void>;
}

export interface ListenOptions {
  readonly host: string;
  /** 0: any free port (tests). */
  readonly port: number;
  /** Names the server in errors: `update webhook`, `status server`. */
  readonly what: string;
  readonly maxConnections: number;
  readonly onError?: (message: string) => void;
}

const CLOSE_BOUND_MS = 2000;

/** A server with the shared limits, listening; rejects with a HelpdeskError naming the address. */
export function listenBounded(options: ListenOptions, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Listening> {
  const where = `${bracketed(options.host)}:${options.port}`;
  const server: Server = createServer(
    {
      headersTimeout: 5_000,
      requestTimeout: 10_000,
      keepAliveTimeout: 2_000,
      // How often the two timeouts above are checked (default 30 s, which would stretch them).
      connectionsCheckingInterval: 1_000,
      maxHeaderSize: 8 * 1024,
    },
    handler,
  );
  server.maxConnections = options.maxConnections;
  server.maxHeadersCount = 32;
  server.keepAliveTimeout = 2_000;
  return new Promise((resolve, reject) => {
    const onListenError = (err: NodeJS.ErrnoException): void => {
      server.close();
      reject(new HelpdeskError(`${options.what} cannot listen on ${where}: ${listenProblem(err)}`, { cause: err }));
    };
    server.once('error', onListenError);
    server.listen({ host: options.host, port: options.port, exclusive: true }, () => {
      server.off('error', onListenError);
      server.on('error', (err) => options.onError?.(`${options.what} on ${where}: ${describeError(err)}`));
      const port = (server.address() as AddressInfo).port;
      let closing: Promise<void> | undefined;
      resolve({
        url: `http://${bracketed(options.host)}:${port}`,
        port,
        close: () =>
          (closing ??= new Promise<void>((done) => {
            const bound = setTimeout(done, CLOSE_BOUND_MS);
            bound.unref();
            server.close(() => {
              clearTimeout(bound);
              done();
            });
            // Idle keep-alive connections, and those still sending headers or a body.
            server.closeAllConnections();
          })),
      });
    });
  });
}

/** End our side once the answer is flushed, then drop the connection (the rest of the body unread). */
export function hangUp(socket: Socket): void {
  if (socket.destroyed) return;
  socket.end();
  if (socket.writableFinished) socket.destroy();
  else socket.once('finish', () => socket.destroy());
}

export function bracketed(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function listenProblem(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return 'the address is in use (EADDRINUSE): another process listens there; stop it or choose another port';
    case 'EACCES':
      return 'permission denied (EACCES): ports below 1024 need privileges; choose a higher port';
    case 'EADDRNOTAVAIL':
      return 'no such address on this machine (EADDRNOTAVAIL): check the host';
    default:
      return err.code ? `${err.code}: ${err.message}` : err.message;
  }
}
