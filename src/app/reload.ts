/**
 * Config reload of a running monitor: when the file changes, or when the door asks (`run` and
 * the module on SIGHUP: signals are the door's business). A reload applies everything a running
 * monitor can change in place: apps, concurrency, the notifier (new targets; the old one
 * delivers what it queued, then closes) and the log (level, format, file: the same Logger object
 * is reconfigured). state_dir holds the lock, state and control files: moving it needs a
 * restart, so a new value is refused with a warning and the rest of the new config applies under
 * the old state_dir. An invalid new config is reported and the last good one keeps running.
 */
import { unwatchFile, watchFile } from 'node:fs';
import { loadConfig } from '../config/load.js';
import type { MonitorConfig } from '../config/schema.js';
import { describeError } from '../errors.js';
import { reconfigureLogger } from '../log/logger.js';
import { stateDir } from '../paths.js';
import { redactUrl } from '../redact.js';
import { controlFilePath, readControl } from '../state/control.js';
import { logFileOf, logOptionsFor, type LogHooks } from './log.js';
import { notifierFor } from './notifier.js';
import type { Monitor } from './open.js';

/** What a reload came to, in words for the one who asked (`pm2 trigger ... reload-config`). */
export interface ReloadOutcome {
  readonly ok: boolean;
  readonly message: string;
}

export interface Reloader {
  /** Re-read the config file now; ok false (the old config kept) when it is invalid. */
  reload(): Promise<ReloadOutcome>;
  /** Stop watching the file. */
  stop(): void;
}

/** Watch `configPath` and reload `monitor` (built and started) from it. */
export function watchConfig(
  configPath: string, monitor: Monitor, logHooks: LogHooks, afterEach?: () => Promise<void>,
  /** The door's own parts that follow the config (the status server); they report their own errors. */
  alsoApply?: (next: MonitorConfig) => Promise<void>,
): Reloader {
  const { logger, clock, engine, notifier } = monitor;
  if (!engine || !notifier) throw new Error('watchConfig() before build()');
  const kept = monitor.stateDir;
  let applied = monitor.config;
  let refusedDir: string | undefined;

  const apply = async (): Promise<ReloadOutcome> => {
    try {
      const loaded = loadConfig(configPath);
      const wanted = stateDir(loaded.stateDir);
      if (wanted !== kept) {
        // Once per new value: every later reload would repeat it otherwise.
        if (refusedDir !== wanted) {
          logger.warn(
            `config reload: state_dir cannot change while the monitor runs (its lock, state and control files live there); ` +
              `keeping ${kept}, the new value ${wanted} takes effect at the next start; the rest of the config applies`,
            { key: 'state_dir', kept, refused: wanted },
          );
        }
        refusedDir = wanted;
      } else refusedDir = undefined;
      const { stateDir: _refused, ...rest } = loaded;
      const next: MonitorConfig = applied.stateDir === undefined ? rest : { ...rest, stateDir: applied.stateDir };
      // Reloads are rare (a file change, a SIGHUP): comparing whole configs costs nothing per check.
      if (JSON.stringify(next) === JSON.stringify(applied)) return { ok: true, message: `config ${configPath} unchanged` };
      if (JSON.stringify(next.log) !== JSON.stringify(applied.log)) {
        reconfigureLogger(logger, logOptionsFor(next, logHooks));
        logger.info('config reload: log settings applied', { level: logHooks.logLevel ?? next.log.level, format: next.log.format, file: logFileOf(next) });
      }
      if (JSON.stringify(next.notify) !== JSON.stringify(applied.notify)) {
        notifier.replace(await notifierFor(next.notify, logger, clock));
        logger.info(`config reload: notifying ${next.notify.length} target(s)${next.notify.length ? `: ${next.notify.map((t) => ('url' in t ? redactUrl(t.url) : `email to ${t.to.join(', ')}`)).join(', ')}` : ''}`);
      }
      await engine.reload(next);
      if (JSON.stringify(next.alarms) !== JSON.stringify(applied.alarms)) {
        await monitor.replaceAlarms(next.alarms);
        logger.info(`config reload: ${next.alarms ? 'alarm table settings applied' : 'alarm table polling stopped'}`);
      }
      // Always: an update verifies with the app's probes, so a changed health block must reach it.
      await monitor.replaceUpdates(next);
      if (JSON.stringify(next.apps.map((a) => a.update)) !== JSON.stringify(applied.apps.map((a) => a.update)) || JSON.stringify(next.updateWebhook) !== JSON.stringify(applied.updateWebhook)) {
        logger.info('config reload: update settings applied');
      }
      await monitor.replaceSchedules(next);
      await alsoApply?.(next);
      engine.applyControl(readControl(controlFilePath(kept)));
      applied = next;
      return { ok: true, message: `config reloaded from ${configPath}: ${next.apps.length} app(s): ${next.apps.map((a) => a.name).join(', ')}` };
    } catch (err) {
      const message = `config reload rejected, keeping the last good config: ${describeError(err)}`;
      logger.error(message);
      return { ok: false, message };
    }
  };

  // One reload at a time: a file change and a SIGHUP together must not interleave their swaps.
  let reloading: Promise<ReloadOutcome> = Promise.resolve({ ok: true, message: '' });
  const applyThen = async (): Promise<ReloadOutcome> => {
    const ok = await apply();
    await afterEach?.().catch(() => undefined);
    return ok;
  };
  const reload = (): Promise<ReloadOutcome> => (reloading = reloading.then(applyThen, applyThen));
  watchFile(configPath, { interval: 1000 }, (cur, prev) => {
    if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size) void reload();
  });
  return { reload, stop: () => unwatchFile(configPath) };
}
