/**
 * The timer fallback, generated purely: a systemd oneshot service + timer that run `check`, or one
 * marked crontab line. Exit code 3 (another live monitor holds the lock) counts as success in
 * both, so the fallback stays quiet while the module runs and takes over when it does not.
 */
import { UsageError } from '../errors.js';

export const UNIT_NAME = 'helpdesk-monitor-check';
export const CRON_MARKER = '# helpdesk-monitor-check';

export interface CheckCommand {
  readonly node: string;
  readonly cli: string;
  readonly config: string;
  readonly pm2Home: string;
}

/** Quote a word for systemd's ExecStart and for sh (paths with spaces). */
function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** systemd expands %-specifiers in ExecStart and Environment: a literal % is %%. */
const forSystemd = (word: string): string => quote(word).replace(/%/g, '%%');
/** cron turns an unescaped % into a newline: a literal % is \%. */
const forCron = (word: string): string => quote(word).replace(/%/g, '\\%');

/** The service and timer unit texts. */
export function systemdUnits(cmd: CheckCommand, everyMs: number, user?: string): { service: string; timer: string } {
  if (everyMs < 10_000) throw new UsageError('--every: at least 10s for a timer');
  const every = `${Math.round(everyMs / 1000)}s`;
  const service = `[Unit]
Description=helpdesk-monitor check: one pass over the PM2 apps (fallback when the module is not running)
After=network.target

[Service]
Type=oneshot
ExecStart=${[cmd.node, cmd.cli, 'check', '--config', cmd.config].map(forSystemd).join(' ')}
Environment=PM2_HOME=${forSystemd(cmd.pm2Home)}
Environment=PM2_DISCRETE_MODE=true
# 3: another live monitor (the PM2 module or \`run\`) holds the lock; nothing to do.
SuccessExitStatus=3
TimeoutStartSec=10min
Nice=5
${user ? `User=${user}\n` : ''}`;
  const timer = `[Unit]
Description=Run helpdesk-monitor check every ${every}

[Timer]
OnBootSec=1min
OnUnitActiveSec=${every}
AccuracySec=5s
Unit=${UNIT_NAME}.service

[Install]
WantedBy=timers.target
`;
  return { service, timer };
}

/** The cron schedule for an interval: whole minutes dividing 60, or whole hours dividing 24. */
export function cronSchedule(everyMs: number): string {
  const minutes = everyMs / 60_000;
  if (Number.isInteger(minutes) && minutes >= 1 && minutes < 60 && 60 % minutes === 0) return minutes === 1 ? '* * * * *' : `*/${minutes} * * * *`;
  const hours = everyMs / 3_600_000;
  if (Number.isInteger(hours) && hours >= 1 && hours <= 24 && 24 % hours === 0) return hours === 24 ? '0 0 * * *' : hours === 1 ? '0 * * * *' : `0 */${hours} * * *`;
  throw new UsageError('--every: cron can run every N minutes (N dividing 60) or N hours (N dividing 24); use --systemd for other intervals');
}

/** The marked crontab line; exit 3 is treated as success. */
export function cronLine(cmd: CheckCommand, everyMs: number, logFile: string): string {
  const run = [cmd.node, cmd.cli, 'check', '--config', cmd.config].map(forCron).join(' ');
  return `${cronSchedule(everyMs)} PM2_HOME=${forCron(cmd.pm2Home)} ${run} >> ${forCron(logFile)} 2>&1 || [ $? -eq 3 ] ${CRON_MARKER}`;
}

/** Replace our line in a crontab text (idempotent); `line` undefined removes it. */
export function editCrontab(current: string, line: string | undefined): string {
  // Only our marked line changes: the user's other lines, blank ones included, stay as they are.
  const lines = current.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const kept = lines.filter((l) => !l.endsWith(CRON_MARKER));
  if (line) kept.push(line);
  return kept.some((l) => l !== '') ? `${kept.join('\n')}\n` : '';
}
