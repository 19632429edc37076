/**
 * Git auto-update as the doors use it: the parts of an update (update/run-update.ts) wired to a
 * monitor's engine, notifier and files. The long-running doors get the schedule and the webhook
 * (`MonitorUpdates`); the CLI gets the same deps for one update (`cliUpdateDeps`). Either way the
 * engine hears about updates only through updateHold (update/hold.ts), read from the files, so a
 * CLI update holds back the running module's remedies too.
 */
import { hostname } from 'node:os';
import type { MonitorConfig } from '../config/schema.js';
import type { Engine } from '../engine/engine.js';
import type { ActDeps } from '../engine/verify.js';
import type { Logger } from '../log/logger.js';
import type { Notifier } from '../notify/types.js';
import { readControl, controlFilePath } from '../state/control.js';
import { openStateFile, stateFilePath } from '../state/state-file.js';
import type { UpdateNotice } from '../update/record.js';
import type { UpdateDeps } from '../update/run-update.js';
import { UpdateScheduler } from '../update/scheduler.js';
import { readSecret } from '../fsx/secret.js';
import { startWebhook, type WebhookServer } from '../update/webhook.js';

const notifyWith = (notifier: Pick<Notifier, 'notify'>) => (n: UpdateNotice): void =>
  notifier.notify({ ...n, at: new Date(), host: hostname() });

const isPaused = (until: number | 'indefinite' | undefined): boolean => until === 'indefinite' || (until !== undefined && until > Date.now());

export interface MonitorParts {
  readonly config: MonitorConfig;
  readonly stateDir: string;
  readonly engine: Engine;
  readonly notifier: Pick<Notifier, 'notify'>;
  readonly logger: Logger;
  readonly act: ActDeps;
}

/** The schedule and the webhook of a running monitor. */
export class MonitorUpdates {
  private readonly scheduler: UpdateScheduler;
  private webhook: WebhookServer | undefined;
  private webhookKey = '';

  constructor(private readonly parts: MonitorParts) {
    const { engine, stateDir, logger, notifier, act } = parts;
    this.scheduler = new UpdateScheduler(parts.config.apps, {
      stateDir, logger, act, notify: notifyWith(notifier),
      gate: (app) => {
        const view = engine.views().find((v) => v.app === app);
        return {
          paused: isPaused(view?.control.pausedUntil),
          circuitOpen: view !== undefined && view.state.circuit !== 'closed',
          remedying: view?.state.phase === 'remedying',
        };
      },
      afterUpdate: (app) => engine.checkNow(app),
    });
  }

  async start(config: MonitorConfig = this.parts.config): Promise<void> {
    this.scheduler.start();
    await this.openWebhook(config);
  }

  async replace(config: MonitorConfig): Promise<void> {
    this.scheduler.replace(config.apps);
    await this.openWebhook(config);
  }

  async stop(): Promise<void> {
    await Promise.all([this.scheduler.stop(), this.closeWebhook()]);
  }

  /** The webhook's address (tests, status). */
  webhookUrl(): string | undefined {
    return this.webhook?.url;
  }

  /** (Re)open the webhook when its settings changed; a failure is logged and the rest goes on. */
  private async openWebhook(config: MonitorConfig): Promise<void> {
    const w = config.updateWebhook;
    const key = JSON.stringify(w ?? null);
    if (key === this.webhookKey) return;
    await this.closeWebhook();
    this.webhookKey = key;
    if (!w) return;
    const log = this.parts.logger;
    try {
      const secret = readSecret(w.secret.kind === 'env' ? { env: w.secret.name } : { file: w.secret.path });
      this.webhook = await startWebhook({
        host: w.host, port: w.port, secret, maxBodyBytes: w.maxBodyBytes,
        trigger: (app) => this.scheduler.trigger(app, 'webhook'),
        log: (level, message) => log.log(level, `update webhook: ${message}`),
      });
      log.info(`update webhook listening on ${this.webhook.url}/hooks/update/<app>`);
    } catch (err) {
      // Updates still run on their schedule; the webhook is one trigger of several.
      log.error(`update webhook not started: ${err instanceof Error ? err.message : String(err)}; scheduled updates go on`);
      this.webhookKey = '';
    }
  }

  private async closeWebhook(): Promise<void> {
    const w = this.webhook;
    this.webhook = undefined;
    await w?.close();
  }
}

/**
 * Deps for one update from the CLI: the pause from control.json and the circuit from state.json,
 * as the running monitor (if any) last wrote them.
 */
export function cliUpdateDeps(stateDir: string, logger: Logger, notifier: Pick<Notifier, 'notify'>, act: ActDeps): UpdateDeps {
  return {
    stateDir, logger, act, notify: notifyWith(notifier),
    gate: (app) => {
      const control = readControl(controlFilePath(stateDir)).get(app);
      const saved = openStateFile(stateFilePath(stateDir)).apps[app];
      // state.json's phase may be stale (a monitor killed mid-remedy): only the circuit is read.
      return { paused: isPaused(control?.pausedUntil), circuitOpen: saved?.circuit !== undefined && saved.circuit !== 'closed' };
    },
  };
}
