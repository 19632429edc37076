/**
 * The timer fallback, generated purely: a systemd oneshot service + timer that run `check`, or one
 * marked crontab line. Exit code 3 (another live monitor holds the lock) counts as success in
 * both, so the fallback stays quiet while the module runs and takes over when it does not.
 *
 * Every value is written by the quoting rules of the file it lands in, and a value with a control
 * character is refused before anything is written: a newline in a path would otherwise start a
 * new unit setting or a new crontab line that nobody asked for.
 */
import { UsageError } from '../errors.js';
import { pathWithNode } from '../paths.js';
import { printable } from '../text/printable.js';
import { PLAIN, envAssignment, execArg, execPath, refuseControls, userLine } from './systemd-text.js';

export { refuseControls } from './systemd-text.js';

export const UNIT_NAME = 'helpdesk-monitor-check';
export const CRON_MARKER = '# helpdesk-monitor-check';

export interface CheckCommand {
  readonly node: string;
  readonly cli: string;
  readonly config: string;
  readonly pm2Home: string;
}

/** Every value of the command, checked; what each is called in the error. */
export function refuseUnsafeCommand(cmd: CheckCommand): void {
  refuseControls('the node executable path', cmd.node);
  refuseControls('the helpdesk-monitor CLI path', cmd.cli);
  refuseControls('the config path', cmd.config);
  refuseControls('PM2_HOME', cmd.pm2Home);
}

/** The service and timer unit texts. */
export function systemdUnits(cmd: CheckCommand, everyMs: number, user?: string): { service: string; timer: string } {
  if (everyMs < 10_000) throw new UsageError('--every: at least 10s for a timer');
  refuseUnsafeCommand(cmd);
  const every = `${Math.round(everyMs / 1000)}s`;
  const exec = [execPath(cmd.node), ...[cmd.cli, 'check', '--config', cmd.config].map(execArg)].join(' ');
  const service = `[Unit]
Description=helpdesk-monitor check: one pass over the PM2 apps (fallback when the module is not running)
After=network.target

[Service]
Type=oneshot
ExecStart=${exec}
Environment=${envAssignment('PM2_HOME', cmd.pm2Home)}
# The node that runs check also runs a resurrected PM2 daemon and its apps: its directory first.
Environment=${envAssignment('PATH', pathWithNode(cmd.node))}
Environment=PM2_DISCRETE_MODE=true
# 3: another live monitor (the PM2 module or \`run\`) holds the lock; nothing to do.
SuccessExitStatus=3
TimeoutStartSec=10min
Nice=5
${userLine(user)}`;
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

/**
 * A word for the crontab line: sh's single quotes, with cron's rule on top. cron cuts the command
 * at a bare % (the rest becomes stdin) and turns \% into %. Inside the quotes every % is written
 * as '\%' (close, escaped %, reopen), so the character before the backslash is always a quote:
 * a value's own backslash can never pair up with it.
 */
function cronWord(word: string): string {
  if (PLAIN.test(word)) return word.replace(/%/g, '\\%');
  return `'${word.replace(/'/g, `'\\''`).replace(/%/g, `'\\%'`)}'`;
}

/** The end of every line install-timer writes. */
const CRON_TAIL = ` 2>&1 || [ $? -eq 3 ] ${CRON_MARKER}`;
/**
 * A line of ours, whichever version wrote it: five schedule fields, PM2_HOME=, and our exact tail.
 * A user's line that merely mentions the marker (or our line commented out) is not ours.
 */
const OUR_LINE = /^[0-9*/,-]+(?: [0-9*/,-]+){4} PM2_HOME=\S.* 2>&1 \|\| \[ \$\? -eq 3 \] # helpdesk-monitor-check$/;

export function isOurCronLine(line: string): boolean {
  return OUR_LINE.test(line);
}

/** The marked crontab line; exit 3 is treated as success. */
export function cronLine(cmd: CheckCommand, everyMs: number, logFile: string): string {
  const schedule = cronSchedule(everyMs);
  refuseUnsafeCommand(cmd);
  refuseControls('the cron log file (in state_dir)', logFile);
  const run = [cmd.node, cmd.cli, 'check', '--config', cmd.config].map(cronWord).join(' ');
  return `${schedule} PM2_HOME=${cronWord(cmd.pm2Home)} PATH=${cronWord(pathWithNode(cmd.node))} ${run} >> ${cronWord(logFile)}${CRON_TAIL}`;
}

/**
 * Replace our line in a crontab text (idempotent); `line` undefined removes it. Only our lines
 * change: every other byte (blank lines, a missing final newline, CRs) stays as it was, and a
 * text without a line of ours is returned as is.
 */
export function editCrontab(current: string, line: string | undefined): string {
  if (line !== undefined && !isOurCronLine(line)) throw new Error(`editCrontab: not a line of ours: ${printable(line)}`);
  // Each line with its own terminator, so that joining the kept ones changes nothing else.
  const lines = current.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const kept = lines.filter((l) => !isOurCronLine(l.endsWith('\n') ? l.slice(0, -1) : l));
  if (line === undefined) return kept.length === lines.length ? current : kept.join('');
  const before = kept.join('');
  return `${before}${before === '' || before.endsWith('\n') ? '' : '\n'}${line}\n`;
}
