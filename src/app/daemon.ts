/**
 * The daemon watchdog as the doors use it (supervisor/watchdog.ts decides and acts): `check`
 * looks once before it connects, `run` while it waits for PM2 and then whenever the bus loses
 * the daemon or a periodic ping goes unanswered. After a resurrect the apps are checked and one
 * story is told: in the log and as one notification (daemon_resurrected). A hung or lost daemon
 * is told once per incident (daemon_hung / daemon_down). The PM2 module never supervises: it
 * lives and dies with the daemon. Every door with a state dir keeps a copy of the last good dump.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { readOwnFile, writeFileAtomic } from '../fsx/safe-write.js';
import type { MonitorConfig } from '../config/schema.js';
import type { Logger } from '../log/logger.js';
import type { LockRole } from '../lock/lock.js';
import type { Notifier } from '../notify/types.js';
import { pingDaemon, type Pm2Port } from '../pm2/adapter.js';
import { DumpKeeper } from '../supervisor/dump.js';
import { superviseDaemon, type DaemonOutcome } from '../supervisor/watchdog.js';
import type { WorkerView } from '../engine/view.js';

export interface DaemonContext {
  readonly pm2Home: string;
  readonly stateDir: string;
  readonly config: MonitorConfig;
  readonly logger: Logger;
  readonly role: LockRole;
}

/** One look at the daemon (and a resurrect or a kill, as configured). Never throws. */
export function watchDaemon(ctx: DaemonContext): Promise<DaemonOutcome> {
  return superviseDaemon({
    pm2Home: ctx.pm2Home, stateDir: ctx.stateDir, config: ctx.config.supervisor, logger: ctx.logger, role: ctx.role,
    ping: (ms) => pingDaemon(ctx.pm2Home, ms),
  });
}

/** Keep the dump copy now; logs what it did. Never throws (a copy that fails is a warning). */
export function keepDump(keeper: DumpKeeper, logger: Logger): void {
  try {
    const done = keeper.keep();
    if (done) logger.info(done);
  } catch (err) {
    logger.warn(`could not keep a copy of dump.pm2: ${(err as Error).message}`);
  }
}

export const dumpKeeper = (ctx: Pick<DaemonContext, 'pm2Home' | 'stateDir'>): DumpKeeper => new DumpKeeper(ctx.pm2Home, ctx.stateDir);

/** The apps' health and the modules' status after a resurrect, as one phrase. */
export async function afterResurrect(pm2: Pm2Port, views: readonly WorkerView[]): Promise<string> {
  const ok = (v: WorkerView): boolean => v.state.phase === 'healthy' && v.state.consecutiveFailures === 0;
  const healthy = views.filter(ok).map((v) => v.app);
  const not = views.filter((v) => !ok(v)).map((v) => `${v.app} (${v.state.phase === 'healthy' ? `failing ${v.state.consecutiveFailures}x` : v.state.phase})`);
  let modules = 'modules: unknown (PM2 did not list)';
  try {
    const mods = (await pm2.list()).filter((p) => p.isModule);
    modules = mods.length === 0 ? 'no module installed' : `modules: ${mods.map((m) => `${m.name} ${m.status}`).join(', ')}`;
  } catch {
    // the story says what it knows
  }
  return [healthy.length > 0 ? `healthy: ${healthy.join(', ')}` : '', not.length > 0 ? `not healthy: ${not.join(', ')}` : '', modules].filter(Boolean).join('; ');
}

/** How often the same daemon incident is told again by a door that runs once per timer tick. */
const RETELL_MS = 3_600_000;

/**
 * Tell an outcome that needs a human: once per incident (the same hung pid, the same reason).
 * With `memoryDir` (check: a new process each tick) the last incident told is kept in a file
 * there, and told again after an hour at most, not at every tick.
 */
export class DaemonTeller {
  private last: string;

  constructor(
    private readonly logger: Logger,
    private readonly notifier: () => Notifier | undefined,
    private readonly memoryDir?: string,
  ) {
    this.last = memoryDir ? recall(memoryDir) : '';
  }

  tell(outcome: DaemonOutcome, detail?: string): void {
    const key = outcome.kind === 'hung' ? `hung:${outcome.god.pid}` : outcome.kind === 'down' ? `down:${outcome.why}` : outcome.kind;
    if (outcome.kind === 'answering' || outcome.kind === 'resurrected-elsewhere') {
      // Over: the next incident is news, even the same one.
      if (this.last !== '' && this.memoryDir) remember(this.memoryDir, '');
      this.last = '';
      return;
    }
    const known = outcome.kind !== 'resurrected' && key === this.last;
    this.last = outcome.kind === 'resurrected' ? '' : key;
    if (this.memoryDir) remember(this.memoryDir, this.last);
    if (known) {
      this.logger.error(outcome.kind === 'hung' || outcome.kind === 'down' ? outcome.why : key);
      return;
    }
    const base = { app: 'pm2', at: new Date(), host: hostname() };
    if (outcome.kind === 'resurrected') {
      this.logger.warn(`${outcome.story}${detail ? `; ${detail}` : ''}`, { daemon: 'resurrected', dump: outcome.dump.source, resurrect_ms: outcome.ms });
      this.notifier()?.notify({ ...base, type: 'daemon_resurrected', reason: outcome.story, ...(detail ? { detail } : {}) });
    } else if (outcome.kind === 'hung') {
      this.logger.error(outcome.why, { daemon: 'hung', pid: outcome.god.pid });
      this.notifier()?.notify({ ...base, type: 'daemon_hung', reason: outcome.why });
    } else if (outcome.stoppedCleanly) {
      // An operator's `pm2 kill`: said, not alerted.
      this.logger.warn(outcome.why, { daemon: 'stopped' });
    } else {
      this.logger.error(outcome.why, { daemon: 'down' });
      this.notifier()?.notify({ ...base, type: 'daemon_down', reason: outcome.why });
    }
  }
}

const memoryFile = (dir: string): string => join(dir, 'daemon-alert.json');

/** The incident last told, if told within the hour. */
function recall(dir: string): string {
  const r = readOwnFile(memoryFile(dir), 64 * 1024);
  if (r.kind !== 'ok') return '';
  try {
    const m = JSON.parse(r.bytes.toString('utf8')) as { key?: unknown; at?: unknown };
    return typeof m.key === 'string' && typeof m.at === 'number' && Date.now() - m.at < RETELL_MS ? m.key : '';
  } catch {
    return '';
  }
}

function remember(dir: string, key: string): void {
  try {
    const r = recall(dir);
    if (r === key && key !== '') return; // keep the first time told: the hour counts from there
    writeFileAtomic(memoryFile(dir), JSON.stringify({ key, at: Date.now() }));
  } catch {
    // a memory that cannot be written only means a repeat
  }
}
