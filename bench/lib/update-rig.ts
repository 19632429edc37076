/**
 * The update bench's rig: one isolated PM2 daemon (test/helpers/sandbox.ts), the git fixture
 * (test/helpers/git-deploy.ts: bare remote, the deploy clone PM2 runs, a pusher clone) with its app
 * on one loopback port, the app's config loaded through the real loader, and the deps of an
 * in-process `runUpdate` built as src/app/update-once.ts builds them (PM2 adapter, HTTP prober, a
 * notifier with no targets, a winston logger to a file only). `close()` undoes all of it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import YAML from 'yaml';
import { systemClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config/load.js';
import type { AppConfig } from '../../src/config/schema.js';
import { openNotifier } from '../../src/app/notifier.js';
import { cliUpdateDeps } from '../../src/app/updates.js';
import { createLogger, type Logger } from '../../src/log/logger.js';
import type { Notifier } from '../../src/notify/types.js';
import type { ProcessInfo } from '../../src/pm2/adapter.js';
import { createHttpProber, type HttpProber } from '../../src/probes/http.js';
import type { UpdateDeps } from '../../src/update/run-update.js';
import { createGitDeploy, type FixtureKind, type GitDeploy } from '../../test/helpers/git-deploy.js';
import { createSandbox, type Sandbox } from '../../test/helpers/sandbox.js';
import { getVersion } from './update-health.js';
import { killPortHolders } from './ports.js';

/** The app's monitor settings (the brief's): probes every 1 s, 1 s timeout, 2 failures, 1 s grace. */
export const SETTINGS = {
  interval: '1s', timeout: '1s', failureThreshold: 2, startupGrace: '1s',
  commands: ['node build.js'], verifyTimeout: '3s',
} as const;
export const VERIFY_TIMEOUT_MS = 3000;
/** Before each trial the app has been up this long (past its startup_grace) and serves its version. */
export const SETTLED_UPTIME_MS = 1200;

export const APP_NAME = 'hd-update';

export class UpdateRig {
  sb: Sandbox | undefined;
  repo: GitDeploy | undefined;
  private opening: Promise<Sandbox> | undefined;
  private app_: AppConfig | undefined;
  private deps_: UpdateDeps | undefined;
  private logger: Logger | undefined;
  private prober: HttpProber | undefined;
  private notifier: Notifier | undefined;
  /** The version /health serves between trials. */
  served = 'v1';
  private versions = 1;

  constructor(readonly port: number) {}

  get app(): AppConfig {
    if (!this.app_) throw new Error('the rig is not open');
    return this.app_;
  }

  get deps(): UpdateDeps {
    if (!this.deps_) throw new Error('the rig is not open');
    return this.deps_;
  }

  get logFile(): string {
    return join(this.stateDir, 'bench-update.log');
  }

  private get stateDir(): string {
    if (!this.sb) throw new Error('the rig is not open');
    return join(this.sb.home, 'hdm-state');
  }

  /** Sandbox, fixture (everything under the sandbox home, removed at teardown), app started and serving v1. */
  async open(): Promise<void> {
    this.opening = createSandbox('bench-update');
    const sb = (this.sb = await this.opening);
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    const gitDir = join(sb.home, 'git');
    mkdirSync(gitDir);
    this.repo = createGitDeploy(gitDir, this.port);
    const configFile = join(this.stateDir, 'monitor.yaml');
    writeFileSync(configFile, YAML.stringify({
      state_dir: this.stateDir,
      apps: [{
        name: APP_NAME,
        health: { url: `http://127.0.0.1:${this.port}/health`, interval: SETTINGS.interval, timeout: SETTINGS.timeout, failure_threshold: SETTINGS.failureThreshold },
        startup_grace: SETTINGS.startupGrace,
        // interval: never reached (no scheduler runs; the bench calls runUpdate itself).
        update: { interval: '1h', commands: [...SETTINGS.commands], verify_timeout: SETTINGS.verifyTimeout },
      }],
    }));
    const app = loadConfig(configFile).apps[0];
    if (!app?.update) throw new Error('the bench config lost its update: block');
    this.app_ = app;
    // Silent on the console; the stories go to a file in the sandbox (removed at teardown).
    this.logger = createLogger({ level: 'info', format: 'text', file: this.logFile, console: 'none' });
    this.notifier = await openNotifier([], this.logger, systemClock);
    this.prober = createHttpProber(() => systemClock.now());
    // sb.pm2 is connectPm2({ pm2Home: sb.home }) on the sandbox's pm2 API; a second connect on
    // the same pm2 singleton would share (and on close, cut) its one client connection.
    this.deps_ = cliUpdateDeps(this.stateDir, this.logger, this.notifier, { pm2: sb.pm2, prober: this.prober, clock: systemClock });
    await sb.start({
      ...this.repo.appOptions(APP_NAME),
      out_file: join(sb.home, 'logs', `${APP_NAME}-out.log`),
      error_file: join(sb.home, 'logs', `${APP_NAME}-error.log`),
    });
    await this.settle('v1');
  }

  /** Push a commit of `kind` with a version never used before; returns the version. */
  push(kind: FixtureKind): string {
    if (!this.repo) throw new Error('the rig is not open');
    const version = `v${++this.versions}`;
    this.repo.push(kind, version);
    return version;
  }

  async info(): Promise<ProcessInfo> {
    const p = await this.sb?.info(APP_NAME);
    if (!p) throw new Error(`PM2 does not know ${APP_NAME}`);
    return p;
  }

  /** Wait until the app is online, up SETTLED_UPTIME_MS, and serves `version` with a 200. */
  async settle(version: string, timeoutMs = 30_000, signal?: AbortSignal): Promise<ProcessInfo> {
    const until = performance.now() + timeoutMs;
    for (;;) {
      if (signal?.aborted) throw new Error('interrupted');
      const info = await this.info();
      const up = Date.now() - info.startedAt;
      const h = info.status === 'online' ? await getVersion(this.port, 1000) : { status: 0 };
      if (info.status === 'online' && up >= SETTLED_UPTIME_MS && h.status === 200 && h.version === version) {
        this.served = version;
        return info;
      }
      if (performance.now() > until) throw new Error(`${APP_NAME} did not settle on ${version}: PM2 ${info.status}, up ${up} ms, /health ${h.status} ${h.version ?? ''}`);
      await sleep(50);
    }
  }

  /** Close the deps, then the sandbox (disconnect, `pm2 kill`, rm -rf its home), then whatever still holds our port. Never throws. */
  async close(): Promise<string[]> {
    const notes: string[] = [];
    const step = async (what: string, run: () => Promise<unknown> | unknown): Promise<void> => {
      try {
        await run();
      } catch (err) {
        notes.push(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    await step('closing the notifier', () => this.notifier?.close(1000));
    this.prober?.close();
    const logger = this.logger;
    if (logger) await step('closing the log', () => new Promise<void>((r) => {
      const t = setTimeout(r, 2000);
      logger.on('finish', () => (clearTimeout(t), r()));
      logger.end();
    }));
    if (!this.sb && this.opening) this.sb = await this.opening.catch(() => undefined);
    const sb = this.sb;
    this.sb = undefined;
    if (sb) {
      await step('sandbox teardown', () => sb.teardown());
      notes.push(`PM2 daemon killed, ${sb.home} removed (git fixture, state dir and logs with it)`);
    }
    await step('port holders', async () => {
      for (const h of await killPortHolders([this.port])) notes.push(`ended pid ${h.pid} (${h.command}) still holding port ${h.port}`);
    });
    return notes;
  }
}
