/**
 * The TCP probe: can a connection be opened to host:port within the timeout? Connected is healthy;
 * the socket is destroyed at once (no bytes are sent). The timeout covers name lookup and connect.
 * Note that a SIGSTOPped app still completes handshakes (the kernel does them), so this probe says
 * "something listens", not "the app answers": use the HTTP probe for that.
 */
import net from 'node:net';
import type { TcpOutcome } from './types.js';

export interface TcpSpec {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
}

/** Connect once. Never throws. */
export async function probeTcp(spec: TcpSpec, signal?: AbortSignal): Promise<TcpOutcome> {
  const started = performance.now();
  const elapsed = (): number => performance.now() - started;
  if (signal?.aborted) return { ok: false, latencyMs: 0, failure: 'timeout', detail: 'aborted before it started' };

  return new Promise<TcpOutcome>((resolve) => {
    let socket: net.Socket | undefined;
    let done = false;
    const finish = (outcome: TcpOutcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket?.destroy();
      resolve(outcome);
    };
    const fail = (failure: 'refused' | 'timeout' | 'error', detail: string): void =>
      finish({ ok: false, latencyMs: elapsed(), failure, detail });

    const timer = setTimeout(() => fail('timeout', `no connection within ${spec.timeoutMs} ms`), timerMs(spec.timeoutMs));
    const onAbort = (): void => fail('timeout', 'aborted');
    signal?.addEventListener('abort', onAbort, { once: true });

    try {
      socket = net.connect({ host: spec.host, port: spec.port });
    } catch (err) {
      // A bad port or host is thrown synchronously (ERR_SOCKET_BAD_PORT, ...).
      fail('error', describe(err));
      return;
    }
    socket.on('error', (err) => {
      const codes = codesOf(err);
      if (codes.includes('ECONNREFUSED')) fail('refused', 'connection refused');
      else if (codes.includes('ETIMEDOUT')) fail('timeout', `connect timed out (${describe(err)})`);
      else fail('error', describe(err));
    });
    socket.once('connect', () => finish({ ok: true, latencyMs: elapsed() }));
  });
}

/** A delay setTimeout takes as given (it turns NaN or more than ~24.8 days into 1 ms). */
function timerMs(ms: number): number {
  return Number.isNaN(ms) ? 0 : Math.min(Math.max(0, ms), 2_147_483_647);
}

/** The error codes of an error, including those inside an AggregateError (happy-eyeballs tries). */
function codesOf(err: unknown): string[] {
  const e = err as { code?: string; errors?: unknown[] };
  const codes = e.code ? [e.code] : [];
  for (const inner of e.errors ?? []) {
    const c = (inner as { code?: string }).code;
    if (c) codes.push(c);
  }
  return codes;
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string; errors?: unknown[] };
  const inner = (e.errors ?? []).map((x) => (x as { message?: string }).message).filter(Boolean).join('; ');
  const text = `${e.code ?? 'error'}: ${e.message || inner || String(err)}`;
  return text.replace(/\s+/g, ' ').trim();
}
