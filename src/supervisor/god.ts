/**
 * Finding the PM2 daemon ("God") of one PM2_HOME in /proc, without asking it: a daemon that does
 * not answer (SIGSTOPped, wedged) must still be seen, or a resurrect would start a second one
 * beside it. Two witnesses: `$PM2_HOME/pm2.pid`, and any process whose title is PM2's
 * `PM2 vX: God Daemon (<PM2_HOME>)` (the pid file may be stale or gone). A zombie is gone.
 */
import { daemonPidOf } from '../proc/guard.js';
import { isGoneState, listPids, readFullCommand, readPm2Marks, readStat } from '../proc/read.js';

export interface GodProcess {
  readonly pid: number;
  readonly startTicks: number;
  /** stopped: SIGSTOPped or traced (state T/t): it cannot answer until continued. */
  readonly state: 'running' | 'stopped';
  readonly command: string;
  /** How it was recognised. */
  readonly seenBy: 'pid file' | 'title' | 'pid file and title';
}

/** PM2's daemon title, `PM2 v7.0.4: God Daemon (/home/app/.pm2)` (lib/Daemon.js). */
const TITLE = /^PM2 v[^:]*: God Daemon \((.*)\)$/;
/** The same title cut short: Linux keeps a process title within its original argv's length. */
const CUT_TITLE = /^PM2 v[^:]*: God Daemon \((.*)$/;

/**
 * Does this command line name the daemon of `home`? 'yes', 'no', or 'cut' when the title was cut
 * before the end of a PM2_HOME that starts the same (a long path): the environment must tell. Pure.
 */
export function godTitleOf(command: string, home: string): 'yes' | 'no' | 'cut' {
  const t = command.trim();
  const full = TITLE.exec(t)?.[1];
  if (full === home) return 'yes';
  const part = CUT_TITLE.exec(t)?.[1];
  return part !== undefined && part.length < home.length + 1 && `${home})`.startsWith(part) && part !== `${home})` ? 'cut' : 'no';
}

export function isGodTitleOf(command: string, home: string): boolean {
  return godTitleOf(command, home) === 'yes';
}

/** Every live daemon of `home` (normally one; none when it is dead). */
export function findGods(home: string): GodProcess[] {
  const out = new Map<number, GodProcess>();
  const filePid = daemonPidOf(home);
  const look = (pid: number, byFile: boolean): void => {
    const stat = readStat(pid);
    if (!stat || isGoneState(stat.state)) return;
    const command = readFullCommand(pid) ?? '';
    const title = godTitleOf(command, home);
    // A cut title is this home's when the environment says so; unreadable (another user's), it
    // counts: better no resurrect than a second daemon.
    const titled = title === 'yes' || (title === 'cut' && ((): boolean => {
      const marks = readPm2Marks(pid);
      return marks === undefined || marks.pm2Home === home;
    })());
    // A custom PM2_DAEMON_TITLE hides the title: the pid file's process still counts when its
    // environment names this PM2_HOME and no app (apps carry pm_id; our own doors are not in it).
    const byEnv = byFile && !titled && ((): boolean => {
      const marks = readPm2Marks(pid);
      return marks?.pm2Home === home && marks.pmId === undefined && pid !== process.pid && /PM2|God/i.test(command);
    })();
    if (!titled && !byEnv) return;
    out.set(pid, {
      pid, startTicks: stat.startTicks, command: command.slice(0, 200),
      state: stat.state === 'T' || stat.state === 't' ? 'stopped' : 'running',
      seenBy: byFile ? (titled ? 'pid file and title' : 'pid file') : 'title',
    });
  };
  if (filePid !== undefined) look(filePid, true);
  for (const pid of listPids()) if (pid !== filePid && pid !== process.pid) look(pid, false);
  return [...out.values()];
}
