/**
 * Who holds a lock, said by role: "the PM2 module (pid 4242)" or "`run` (pid 4242)" tells an
 * operator what to stop; a path like …/pm2/lib/ProcessContainerFork.js does not. The writer
 * records its role; a record written before the field existed is read from its command line.
 */
import { printable } from '../text/printable.js';

/** The doors that take a lock: the PM2 module, `run` and `check` (monitor.lock), `watch` (one per app). */
export type LockRole = 'module' | 'run' | 'check' | 'watch' | 'update';

/** What a lock record tells about its writer (the fields of holder.ts's LockRecord read here). */
export interface HolderIdentity {
  readonly pid: number;
  readonly role?: LockRole;
  /** The writer's arguments after node (`process.argv.slice(1)`), joined by spaces. */
  readonly command: string;
  /** Its /proc cmdline, node first. */
  readonly cmdline?: string;
}

const ROLES: readonly LockRole[] = ['module', 'run', 'check', 'watch', 'update'];
const COMMANDS: ReadonlySet<string> = new Set(['run', 'check', 'watch']);

export function isLockRole(value: unknown): value is LockRole {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

const base = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/**
 * The role of a process from its arguments (the script first: `process.argv.slice(1)`) and, under
 * PM2, the script PM2 loaded (`pm_exec_path`). Under PM2 the script is PM2's ProcessContainer and
 * the arguments follow it: none for the module, `run …` for `run` started as a plain PM2 app.
 * undefined when the script is not ours (a test runner, a hand-made record).
 */
export function roleOfArgs(args: readonly string[], pmExecPath?: string): LockRole | undefined {
  const [script = '', first = ''] = args;
  const underPm2 = base(script).startsWith('ProcessContainer');
  const ours = underPm2 || base(script) === 'helpdesk-monitor' || script.endsWith('cli/index.js');
  if (ours && COMMANDS.has(first)) return first as LockRole;
  if (underPm2 && (pmExecPath === undefined || isModuleScript(pmExecPath))) return 'module';
  if (isModuleScript(script)) return 'module';
  return undefined;
}

/** dist/src/module.js: the PM2 module's entry (package.json `apps.script`). */
function isModuleScript(path: string): boolean {
  return path.endsWith('src/module.js');
}

/**
 * A record's role: its own field, else from the command it recorded (argv after node), else from
 * its /proc cmdline (node first; PM2 retitles its apps `node <script>`, so the module's reads
 * `node …/dist/src/module.js`).
 */
export function roleOf(rec: HolderIdentity): LockRole | undefined {
  if (rec.role !== undefined) return rec.role;
  return roleOfArgs(rec.command.split(' ')) ?? (rec.cmdline ? roleOfArgs(rec.cmdline.split(' ').slice(1)) : undefined);
}

/**
 * The holder for a message: "the PM2 module (pid 4242)", "`run` (pid 4242)", "`check` (pid 4242)",
 * "`watch` (pid 4242)"; a record of unknown role by its pid and command: "pid 4242 (node x.js)".
 */
export function describeHolder(rec: HolderIdentity): string {
  const role = roleOf(rec);
  if (role === 'module') return `the PM2 module (pid ${rec.pid})`;
  if (role !== undefined) return `\`${role}\` (pid ${rec.pid})`;
  const what = rec.command || rec.cmdline;
  return what ? `pid ${rec.pid} (${printable(what)})` : `pid ${rec.pid}`;
}
