/**
 * The monitor's own footprint at debug level every 5 minutes (node-schedule, wall-clock cron):
 * a module that grows without bound is PM2 modules' most reported bug, so make it visible.
 * Only the long-running doors load this file (and node-schedule with it).
 */
import schedule from 'node-schedule';
import type { Logger } from '../log/logger.js';

/** Start reporting; returns the cancel. */
export function scheduleSelfReport(logger: Logger): () => void {
  let last = process.cpuUsage();
  const job = schedule.scheduleJob('*/5 * * * *', () => {
    const m = process.memoryUsage();
    const cpu = process.cpuUsage(last);
    last = process.cpuUsage();
    const mib = (b: number): number => Math.round((b / 1048576) * 10) / 10;
    logger.debug('monitor footprint', { rss_mib: mib(m.rss), heap_used_mib: mib(m.heapUsed), cpu_ms_5m: Math.round((cpu.user + cpu.system) / 1000) });
  });
  return () => job.cancel();
}
