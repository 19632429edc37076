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
import type { RestartStrategy, StrategyName } from '../strategies/types.js';
import type { Observation } from './decide.js';
import type { Limiter } from './limiter.js';
import { observe } from './observe.js';
import { resetRules, type AppRules } from './rule-outcomes.js';
import { PortWatch } from './port-watch.js';
import { procAvailable } from '../proc/read.js';
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
  /** Polls the app's ports after a crash (squat-policy.ts); made at the first crash. */
  private watch: PortWatch | undefined;
  /** When the bus last reported a crash (monotonic ms), until the app is restarted by a remedy. */
  private crashedAt: number | undefined;

  constructor(
    private readonly app: AppConfig,
    private readonly deps: LensDeps,
    private readonly log: Logger,
  ) {}

  /** One observation of the app, with the strategy that made it. */
  async look(input: LookInput): Promise<{ observation: Observation; strategy: RestartStrategy }> {
    const { deps } = this;
    const peeked = deps.table.peek(input.maxListAgeMs);
    const list = peeked ?? (await deps.table.current(input.maxListAgeMs));
    // Not peeked: PM2 was listed for this look (as after a crash), fresh enough for the squatter search.
    const freshList = peeked ? () => this.freshList(list) : () => Promise.resolve(list);
    const strategy = this.chosen && !choiceOutdated(this.app, this.chosen, list) ? this.chosen : await this.strategyFor(list);
    const observation = await observe({
      app: this.app, list, freshList, strategy, prober: deps.prober, limit: (t) => deps.limiter.run(t), now: () => deps.clock.now(),
      crashes: input.crashes, paused: input.paused, leftStopped: input.leftStopped, daemonPid: () => deps.pm2.daemonPid(), rules: input.freshRules ? {} : this.rules,
      // An inspection leaves the watch's news to the check it asked for.
      watchHit: !input.freshRules && this.watch?.take() === true,
      ...(this.crashedAt === undefined ? {} : { sinceCrashMs: deps.clock.now() - this.crashedAt }),
    });
    return { observation, strategy };
  }

  /** The strategy to restart with (chosen at the first look; chosen now if there was none). */
  async strategy(): Promise<RestartStrategy> {
    return this.chosen ?? this.strategyFor(await this.deps.table.current());
  }

  /**
   * PM2 reported a crash: watch the app's ports through PM2's restart window, and call `onListen`
   * (ask for a check) as soon as something listens on one; that check searches for squatters.
   */
  crashed(onListen: () => void): void {
    if (this.app.ports.length === 0 || !procAvailable) return;
    this.crashedAt = this.deps.clock.now();
    this.watch ??= new PortWatch(this.app.ports, () => this.deps.clock.now(), onListen);
    this.watch.arm();
  }

  /**
   * Right before a remedy: PM2's status afresh. The check read PM2's table before it probed, so an
   * operator's `pm2 stop` landing between the two looks like an online app refusing connections;
   * a fresh list that no longer says online turns the observation into what PM2 says now.
   */
  async confirm(obs: Observation): Promise<Observation> {
    if (obs.pm2.state !== 'online' || !this.chosen) return obs;
    let list: readonly ProcessInfo[];
    try {
      list = await this.deps.table.refresh('before a remedy');
    } catch {
      return obs; // PM2 did not answer: act on what was seen
    }
    const now = this.chosen.status(this.app, list);
    return now.state === 'online' ? obs : { ...obs, pm2: now };
  }

  /** The strategy chosen so far (absent before the first look). */
  strategyName(): StrategyName | undefined {
    return this.chosen?.name;
  }

  /** Stop the port watch (the worker stops). */
  close(): void {
    this.watch?.disarm();
  }

  /** The app was restarted: PM2's table changed, and the rules start afresh. */
  restarted(now: number): void {
    // The remedy freed the ports and started the app: nothing left for the watch to catch.
    this.watch?.disarm();
    this.crashedAt = undefined;
    this.deps.table.invalidate();
    resetRules(this.rules, now);
  }

  private async strategyFor(list: readonly ProcessInfo[]): Promise<RestartStrategy> {
    if (this.chosen && !choiceOutdated(this.app, this.chosen, list)) return this.chosen;
    const { pm2, clock, seen, pm2Home, env, killLog } = this.deps;
    const next = await chooseStrategy(this.app, list, { pm2, clock, ...(seen ? { seen } : {}), ...(pm2Home ? { pm2Home } : {}), ...(env ? { env } : {}), ...(killLog ? { killLog } : {}) });
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
