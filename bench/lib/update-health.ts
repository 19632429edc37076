/**
 * /health of the git fixture's app (test/helpers/git-deploy.ts), as the update bench reads it: the
 * status and the `version` in the JSON body, one fresh loopback connection per request (agent:
 * false, connection: close), so an answer always comes from whichever process listens right now.
 * The fixture's body has no pid: the version tells the commits apart.
 */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

export interface VersionAnswer {
  /** HTTP status, or 0 on refused / reset / timeout. */
  readonly status: number;
  readonly version?: string;
}

/** One GET /health on 127.0.0.1:port; never rejects. */
export function getVersion(port: number, timeoutMs = 300): Promise<VersionAnswer> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (a: VersionAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(a);
    };
    const req = http.get({ host: '127.0.0.1', port, path: '/health', agent: false, headers: { connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', () => done({ status: 0 }));
      res.on('end', () => {
        let version: string | undefined;
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { version?: unknown };
          if (typeof body.version === 'string') version = body.version;
        } catch {
          // not JSON: no version
        }
        done({ status: res.statusCode ?? 0, ...(version === undefined ? {} : { version }) });
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      done({ status: 0 });
    }, timeoutMs);
    req.on('error', () => done({ status: 0 }));
  });
}

/** One request of a watch: when it was sent and answered (ms after the watch's t0), and what came back. */
export interface Sample extends VersionAnswer {
  readonly startMs: number;
  readonly endMs: number;
}

/**
 * Polls /health from t0 until stopped: one request at a time, `pollMs` between them, every
 * answer kept (a 10 s watch is under 1,000 samples).
 */
export class HealthWatch {
  private readonly samples: Sample[] = [];
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(private readonly port: number, private readonly t0: number, private readonly pollMs = 10) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const startMs = performance.now() - this.t0;
      const a = await getVersion(this.port, 300);
      this.samples.push({ ...a, startMs, endMs: performance.now() - this.t0 });
      await sleep(this.pollMs);
    }
  }

  /** The samples so far; the watch goes on. */
  snapshot(): readonly Sample[] {
    return this.samples;
  }

  /** Stop after the request in flight; every sample. */
  async stop(): Promise<readonly Sample[]> {
    this.stopped = true;
    await this.loop;
    return this.samples;
  }
}

export const serves = (version: string) => (s: VersionAnswer): boolean => s.status === 200 && s.version === version;

/** The first sample sent at or after `fromMs` that passes `pred`. */
export function firstSample(samples: readonly Sample[], pred: (s: Sample) => boolean, fromMs = -Infinity): Sample | undefined {
  return samples.find((s) => s.startMs >= fromMs && pred(s));
}

/**
 * How the app went from serving `before` through an outage to serving `after`: the first request
 * that did not get `before`'s 200; the first one after it that got `after`'s; the start of the
 * last stretch of `after`'s 200s, which lasts to the end of the watch (a rollback can serve the
 * old version, lose it to its own reload, and get it back: healthy for good is the last stretch);
 * and the number of outages (runs of requests without a 200 of either version).
 */
export function outage(samples: readonly Sample[], before: string, after: string): { downMs?: number; backMs?: number; stableMs?: number; outages: number } {
  const ok = (s: Sample): boolean => serves(before)(s) || serves(after)(s);
  let outages = 0;
  for (let i = 0; i < samples.length; i++) if (!ok(samples[i]!) && (i === 0 || ok(samples[i - 1]!))) outages++;
  const down = samples.find((s) => !serves(before)(s));
  if (!down) return { outages };
  const back = firstSample(samples, serves(after), down.endMs);
  let stable: Sample | undefined;
  for (let i = samples.length - 1; i >= 0 && serves(after)(samples[i]!); i--) stable = samples[i];
  return {
    downMs: down.startMs, outages,
    ...(back ? { backMs: back.endMs } : {}),
    ...(stable && stable.startMs >= down.startMs ? { stableMs: stable.endMs } : {}),
  };
}

/** Every distinct answer in a watch, in order, with its first time: `200 v2 @12ms, 0 @230ms, ...`. */
export function answerChanges(samples: readonly Sample[]): string {
  const parts: string[] = [];
  let last = '';
  for (const s of samples) {
    const key = `${s.status}${s.version ? ` ${s.version}` : ''}`;
    if (key !== last) parts.push(`${key} @${Math.round(s.endMs)}ms`);
    last = key;
  }
  return parts.join(', ');
}
