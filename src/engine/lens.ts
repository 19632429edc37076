/**
 * How a worker looks at its app: PM2's table, the app's strategy (chosen once; an `auto` app seen
 * outside PM2 moves to PM2 once PM2 lists it), the rule trackers that remember across checks, and
 * one observation built from them. The worker owns the timer and the policy; this owns the eyes.
 */
import type { AppConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { ProcessInfo } from '../pm2/adapter.js';
import type { ProcessTable } from '../pm2/table.js';
import { chooseStrategy, choiceOutdated } from '../strategies/choose.js';
import type { RestartStrategy } from '../strategies/types.js';
import type { Observation } from './decide.js';
import type { Limiter } from './limiter.js';
import { observe, type AppRules } from './observe.js';
import type { ActDeps } from './verify.js';

export interface LensDeps extends ActDeps {
  /** PM2's process table, kept from the bus. */
  readonly table: ProcessTable;
  readonly limiter: Pick<Limiter, 'run'>;
  /** Environment for strategy commands (systemctl, the app's command); default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface LookInput {
  /** 0 when no bus keeps the table fresh (the one-pass check). */
  readonly maxListAgeMs: number;
  readonly crashes: number;
  readonly paused: boolean;
  readonly leftStopped: boolean;
  /** Start the rules afresh for this look only (an inspection must not move their counts). */
  readonly freshRules?: boolean;
}

export class AppLens {
  private readonly rules: AppRules = {};
  private chosen: RestartStrategy | undefined;

  constructor(
    private readonly app: AppConfig,
    private readonly deps: LensDeps,
    private readonly log: Logger,
  ) {}

  /** One observation of the app, with the strategy that made it. */
  async look(input: LookInput): Promise<{ observation: Observation; strategy: RestartStrategy }> {
    const { deps } = this;
    const list = deps.table.peek(input.maxListAgeMs) ?? (await deps.table.current(input.maxListAgeMs));
    const strategy = this.chosen && !choiceOutdated(this.app, this.chosen, list) ? this.chosen : await this.strategyFor(list);
    const observation = await observe({
      app: this.app, list, freshList: () => this.freshList(list), strategy, prober: deps.prober, limit: (t) => deps.limiter.run(t), now: () => deps.clock.now(),
      crashes: input.crashes, paused: input.paused, leftStopped: input.leftStopped, daemonPid: () => deps.pm2.daemonPid(), rules: input.freshRules ? {} : this.rules,
    });
    return { observation, strategy };
  }

  /** The strategy to restart with (chosen at the first look; chosen now if there was none). */
  async strategy(): Promise<RestartStrategy> {
    return this.chosen ?? this.strategyFor(await this.deps.table.current());
  }

  /** The app was restarted: PM2's table changed, and the log and memory rules start afresh. */
  restarted(now: number): void {
    this.deps.table.invalidate();
    this.rules.log?.reset(now);
    this.rules.memory?.reset();
  }

  private async strategyFor(list: readonly ProcessInfo[]): Promise<RestartStrategy> {
    if (this.chosen && !choiceOutdated(this.app, this.chosen, list)) return this.chosen;
    const { pm2, clock, seen, pm2Home, env } = this.deps;
    const next = await chooseStrategy(this.app, list, { pm2, clock, ...(seen ? { seen } : {}), ...(pm2Home ? { pm2Home } : {}), ...(env ? { env } : {}) });
    if (this.app.strategy === 'auto') this.log.info(`restart_strategy auto: ${next.name}${this.chosen ? ` (was ${this.chosen.name})` : ''}`);
    this.chosen = next;
    return next;
  }

  /** A full list from PM2 for the squatter search; the table when PM2 does not answer. */
  private async freshList(table: readonly ProcessInfo[]): Promise<readonly ProcessInfo[]> {
    try {
      return await this.deps.table.refresh('squatter search');
    } catch {
      return table;
    }
  }
}
