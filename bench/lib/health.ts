/**
 * Loopback /health polling for the demo and the benchmark. One fresh connection per request
 * (agent: false, connection: close), so a request never rides a kept-alive socket to an old or
 * frozen process, and the pid in the example app's JSON tells which process answered.
 */
import http from 'node:http';

export interface HealthAnswer {
  /** HTTP status, or 0 on refused / reset / timeout. */
  readonly status: number;
  /** The pid the app reported in its JSON body, when it did. */
  readonly pid?: number;
}

/** One GET /health on 127.0.0.1:port; never rejects. */
export function getHealth(port: number, timeoutMs = 300): Promise<HealthAnswer> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (a: HealthAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(a);
    };
    const req = http.get(
      { host: '127.0.0.1', port, path: '/health', agent: false, headers: { connection: 'close' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', () => done({ status: 0 }));
        res.on('end', () => {
          let pid: number | undefined;
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { pid?: unknown };
            if (typeof body.pid === 'number') pid = body.pid;
          } catch {
            // not JSON: no pid
          }
          done({ status: res.statusCode ?? 0, ...(pid === undefined ? {} : { pid }) });
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      done({ status: 0 });
    }, timeoutMs);
    req.on('error', () => done({ status: 0 }));
  });
}

export interface WaitNewPidOptions {
  /** Measured from this performance.now() value. */
  readonly t0: number;
  /** Give up this long after t0. */
  readonly capMs: number;
  /** Pause between requests (requests are sequential). */
  readonly pollMs?: number;
  readonly requestTimeoutMs?: number;
  /** Called about every 250 ms with the elapsed ms (progress display). */
  readonly onTick?: (elapsedMs: number) => void;
  /** Stop early (e.g. on Ctrl-C). */
  readonly signal?: AbortSignal;
}

export interface Recovery {
  /** ms from t0 to the first 200 served by a pid other than `oldPid`. */
  readonly ms: number;
  readonly pid: number;
}

/**
 * Poll /health until a 200 comes from a process other than `oldPid` (undefined when the cap
 * passes first). A frozen process's pending request ends as soon as it is killed (RST), so
 * sequential requests lose no resolution.
 */
export async function waitForNewPid(port: number, oldPid: number | undefined, o: WaitNewPidOptions): Promise<Recovery | undefined> {
  const pollMs = o.pollMs ?? 10;
  let lastTick = 0;
  for (;;) {
    if (o.signal?.aborted) return undefined;
    const left = o.t0 + o.capMs - performance.now();
    if (left <= 0) return undefined;
    const a = await getHealth(port, Math.max(20, Math.min(o.requestTimeoutMs ?? 300, left)));
    const now = performance.now();
    if (a.status === 200 && a.pid !== undefined && a.pid !== oldPid) return { ms: now - o.t0, pid: a.pid };
    if (o.onTick && now - lastTick >= 250) {
      lastTick = now;
      o.onTick(now - o.t0);
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Wait for any 200 (the app's pid in it), or throw after `timeoutMs`. */
export async function waitHealthy(port: number, timeoutMs = 20_000, pollMs = 25): Promise<number> {
  const until = performance.now() + timeoutMs;
  for (;;) {
    const a = await getHealth(port, 500);
    if (a.status === 200 && a.pid !== undefined) return a.pid;
    if (performance.now() > until) throw new Error(`http://127.0.0.1:${port}/health did not answer 200 within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** POST a fault to the example app (FAULTS=1); resolves once the request is sent or failed. */
export function injectFault(port: number, kind: 'crash' | 'hang' | 'hang-health' | 'squat' | 'trickle'): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: `/__fault/${kind}`, method: 'POST', agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}
