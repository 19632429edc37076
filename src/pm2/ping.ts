/**
 * Does the PM2 daemon of a PM2_HOME answer? A real round trip: PM2's own `Client.pingDaemon`
 * only checks that its RPC socket accepts a connection, which the kernel does for a daemon that
 * is SIGSTOPped or wedged (the socket's backlog), and it calls `process.exit(1)` in the caller
 * when the socket is not ours to open. Here the daemon's `ping` method is called over PM2's own
 * RPC modules (the copy vendored in the pm2 package), with a deadline; the socket is closed on
 * every path. Never spawns a daemon, never throws.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

interface AxonSocket {
  connect(path: string): void;
  close(): void;
  on(event: string, f: (...args: unknown[]) => void): void;
  once(event: string, f: (...args: unknown[]) => void): void;
  set?(key: string, value: unknown): void;
}
interface RpcClient {
  call(method: string, arg: unknown, cb: (err: Error | null, res: unknown) => void): void;
}
interface AxonModules {
  axon: { socket(kind: 'req'): AxonSocket };
  rpc: { Client: new (sock: AxonSocket) => RpcClient };
}

let modules: AxonModules | undefined;

/** PM2's vendored axon and axon-rpc, from the pm2 package we talk to. */
function axonModules(pm2Entry: string): AxonModules {
  if (modules) return modules;
  const req = createRequire(pm2Entry);
  const root = dirname(req.resolve('pm2/package.json'));
  modules = { axon: req(join(root, 'modules', 'pm2-axon')) as AxonModules['axon'], rpc: req(join(root, 'modules', 'pm2-axon-rpc')) as AxonModules['rpc'] };
  return modules;
}

export type PingResult = 'answered' | 'no socket' | 'no answer';

/** Call the daemon's `ping` within `timeoutMs`. */
export function pingRpc(pm2Home: string, timeoutMs: number, pm2Entry: string = import.meta.url): Promise<PingResult> {
  let m: AxonModules;
  try {
    m = axonModules(pm2Entry);
  } catch {
    return Promise.resolve('no answer');
  }
  return new Promise((resolve) => {
    const sock = m.axon.socket('req');
    let settled = false;
    const done = (r: PingResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        sock.close();
      } catch {
        // closing a socket that never connected
      }
      resolve(r);
    };
    const timer = setTimeout(() => done('no answer'), timeoutMs);
    // No daemon: axon retries the connection forever; its first retry means nothing listens.
    sock.once('reconnect attempt', () => done('no socket'));
    sock.on('error', () => done('no socket'));
    try {
      const client = new m.rpc.Client(sock);
      sock.connect(join(pm2Home, 'rpc.sock'));
      client.call('ping', {}, (err) => done(err ? 'no answer' : 'answered'));
    } catch {
      done('no socket');
    }
  });
}
