/**
 * The monitor's own footprint at debug level every 5 minutes (node-schedule, wall-clock cron):
 * a module that grows without bound is PM2 modules' most reported bug, so make it visible.
 * Scheduled only while the log shows debug lines: node-schedule brings luxon, whose first use of
 * Intl maps ICU's data (about 10 MiB of RSS) for a report nobody would see at info level. A
 * reload that turns debug on starts it (the lifetime calls `update()` after each reload).
 */
import type { Logger } from '../log/logger.js';

export interface SelfReport {
  /** Start or stop with the logger's current level. */
  update(): Promise<void>;
  cancel(): void;
}

export function selfReport(logger: Logger): SelfReport {
  let job: { cancel(): void } | undefined;
  let cancelled = false;
  let last = process.cpuUsage();
  const report = (): void => {
    const m = process.memoryUsage();
    const cpu = process.cpuUsage(last);
    last = process.cpuUsage();
    const mib = (b: number): number => Math.round((b / 1048576) * 10) / 10;
    logger.debug('monitor footprint', { rss_mib: mib(m.rss), heap_used_mib: mib(m.heapUsed), cpu_ms_5m: Math.round((cpu.user + cpu.system) / 1000) });
  };
  return {
    async update() {
      const wanted = !cancelled && logger.isDebugEnabled();
      if (wanted && !job) {
        const { default: schedule } = await import('node-schedule');
        if (cancelled || job) return;
        last = process.cpuUsage();
        job = schedule.scheduleJob('*/5 * * * *', report);
      } else if (!wanted && job) {
        job.cancel();
        job = undefined;
      }
    },
    cancel() {
      cancelled = true;
      job?.cancel();
      job = undefined;
    },
  };
}
