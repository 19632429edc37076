/**
 * The `alarms:` block: a MySQL/MariaDB alarm table (the original monitor_service's STATUS_PROCESS
 * joined with PROCESE) read as one more trigger. Identifiers are checked here, once, so the SQL
 * built from them (alarms/sql.ts) never needs escaping beyond backticks; the password never lives
 * in the config (an env var or a private file names it), and a readable password file is refused.
 */
import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { durationIn } from './duration-schema.js';

/** MariaDB/MySQL identifiers we accept: plain words, so a backtick-quoted name cannot break out. */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
export const DEFAULT_PASSWORD_ENV = 'HELPDESK_MONITOR_DB_PASSWORD';

export interface AlarmTables {
  readonly status: string;
  readonly processes: string;
}

export interface AlarmColumns {
  readonly processId: string;
  readonly alarm: string;
  readonly sound: string;
  readonly notes: string;
  readonly processName: string;
}

export interface AlarmsConfig {
  /** TCP host and port, or a unix socket (then host/port are unused). */
  readonly host: string;
  readonly port: number;
  readonly socket?: string;
  readonly database: string;
  readonly user: string;
  /** Where the password comes from: an env var (default HELPDESK_MONITOR_DB_PASSWORD) or a file. */
  readonly password: { readonly kind: 'env'; readonly name: string } | { readonly kind: 'file'; readonly path: string };
  readonly intervalMs: number;
  readonly connectTimeoutMs: number;
  readonly queryTimeoutMs: number;
  /** The longest wait between reconnect attempts while the database is down. */
  readonly reconnectMaxMs: number;
  readonly ssl?: { readonly ca?: string; readonly cert?: string; readonly key?: string };
  readonly tables: AlarmTables;
  readonly columns: AlarmColumns;
  /** Values of the alarm column that mean "in alarm"; empty: any non-zero value. */
  readonly alarmValues: readonly number[];
  /** process_name -> app name (absent: the same name). */
  readonly map: Readonly<Record<string, string>>;
  /** After a verified remedy: `clear` sets the alarm column back to 0 (only if unchanged meanwhile). */
  readonly onSuccess: 'keep' | 'clear';
  /** Append one line per handled alarm to the notes column. */
  readonly note: boolean;
  /** `clear` also sets the sound column to 0. */
  readonly clearSound: boolean;
  /** A still-raised, already handled alarm is acted on again after this long (absent: never). */
  readonly realarmAfterMs?: number;
}

const ident = (what: string) =>
  z.string({ error: `expected a ${what} name` }).regex(IDENTIFIER, `expected a plain ${what} name (letters, digits, _; not starting with a digit; at most 64): it is quoted with backticks in SQL, so a backtick, quote, dot or space is not accepted`);


const interval = durationIn(1000, 24 * 3_600_000, 'a poll interval');
const filePath = (what: string) => z.string({ error: `expected the path of the ${what}` }).min(1).refine(isAbsolute, { message: `expected an absolute path to the ${what}`, abort: true });

/** The password file must exist, be a regular file, and be readable by its owner only. */
/**
 * `password:` is always refused, on its own (not in a block's superRefine, which zod skips when
 * another key fails): a password in the config ends up in backups and diffs.
 */
export function refusedPassword(defaultEnv: string) {
  return z.unknown().superRefine((_v, ctx) => {
    ctx.addIssue({
      code: 'custom', input: '***',
      message: `a password in the config file is not accepted: put it in the environment variable named by password_env (default ${defaultEnv}) or in a chmod 600 file named by password_file`,
    });
  });
}

export const passwordFile = filePath('password file').superRefine((path, ctx) => {
  let mode: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) return void ctx.addIssue({ code: 'custom', message: 'expected a regular file holding the password' });
    mode = st.mode & 0o777;
  } catch (err) {
    // Another account (an operator's `status`) may not see into the monitor's private dir: the
    // monitor itself reads the file when it connects, and says so there if it cannot.
    if ((err as NodeJS.ErrnoException).code === 'EACCES') return;
    return void ctx.addIssue({ code: 'custom', message: `cannot read the password file: ${(err as NodeJS.ErrnoException).code ?? String(err)}` });
  }
  if ((mode & 0o077) !== 0) {
    ctx.addIssue({ code: 'custom', message: `the password file is readable by others (mode ${mode.toString(8).padStart(3, '0')}): run chmod 600 on it` });
  }
});

const tablesSchema = z.strictObject({
  status: ident('table').default('STATUS_PROCESS'),
  processes: ident('table').default('PROCESE'),
});

const columnsSchema = z.strictObject({
  process_id: ident('column').default('process_id'),
  alarma: ident('column').default('alarma'),
  sound: ident('column').default('sound'),
  notes: ident('column').default('notes'),
  process_name: ident('column').default('process_name'),
});

export const alarmsSchema = z
  .strictObject({
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    socket: filePath('server socket').optional(),
    database: ident('database').default('v_process_monitor'),
    user: z.string({ error: 'expected the database user (a least-privilege account, not root)' }).min(1).max(80),
    password_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name').optional(),
    password_file: passwordFile.optional(),
    password: refusedPassword(DEFAULT_PASSWORD_ENV).optional(),
    interval: interval.optional(),
    /** The original monitor's name for interval. */
    check_interval: interval.optional(),
    connect_timeout: durationIn(100, 120_000, 'a connect timeout').default(10_000),
    query_timeout: durationIn(100, 300_000, 'a query timeout').default(10_000),
    reconnect_max: durationIn(1000, 3_600_000, 'a reconnect cap').default(300_000),
    ssl: z.strictObject({ ca: filePath('CA certificate').optional(), cert: filePath('client certificate').optional(), key: filePath('client key').optional() }).optional(),
    tables: tablesSchema.prefault({}),
    columns: columnsSchema.prefault({}),
    alarm_values: z.array(z.number().int().min(-128).max(65535).refine((n) => n !== 0, '0 means "not in alarm"')).min(1).optional(),
    map: z.record(z.string().min(1), z.string().min(1, 'expected the app name')).default({}),
    on_success: z.enum(['keep', 'clear']).default('keep'),
    note: z.boolean().default(false),
    clear_sound: z.boolean().default(false),
    realarm_after: durationIn(1000, 30 * 86_400_000, 'a re-alarm time').optional(),
  })
  .superRefine((a, ctx) => {
    if (a.password_env !== undefined && a.password_file !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['password_file'], input: a.password_file, message: 'give password_env or password_file, not both' });
    }
    if (a.socket !== undefined && (a.host !== undefined || a.port !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['socket'], input: a.socket, message: 'give host/port or socket, not both' });
    }
    if (a.interval !== undefined && a.check_interval !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['check_interval'], input: a.check_interval, message: 'check_interval is the old name of interval: give one of them' });
    }
    if (a.clear_sound && a.on_success !== 'clear') {
      ctx.addIssue({ code: 'custom', path: ['clear_sound'], input: true, message: 'clear_sound needs on_success: clear' });
    }
  });

export type RawAlarms = z.output<typeof alarmsSchema>;

/** Keys of the block, for "did you mean". */
export const ALARM_KEYS: readonly string[] = [...Object.keys(alarmsSchema.shape), ...Object.keys(tablesSchema.shape), ...Object.keys(columnsSchema.shape), 'tables', 'columns'];

export function toAlarmsConfig(a: RawAlarms): AlarmsConfig {
  return {
    host: a.host ?? '127.0.0.1',
    port: a.port ?? 3306,
    ...(a.socket ? { socket: a.socket } : {}),
    database: a.database,
    user: a.user,
    password: a.password_file ? { kind: 'file', path: a.password_file } : { kind: 'env', name: a.password_env ?? DEFAULT_PASSWORD_ENV },
    intervalMs: a.interval ?? a.check_interval ?? 300_000,
    connectTimeoutMs: a.connect_timeout,
    queryTimeoutMs: a.query_timeout,
    reconnectMaxMs: a.reconnect_max,
    ...(a.ssl ? { ssl: a.ssl } : {}),
    tables: a.tables,
    columns: {
      processId: a.columns.process_id, alarm: a.columns.alarma, sound: a.columns.sound, notes: a.columns.notes, processName: a.columns.process_name,
    },
    alarmValues: a.alarm_values ?? [],
    map: a.map,
    onSuccess: a.on_success,
    note: a.note,
    clearSound: a.clear_sound,
    ...(a.realarm_after === undefined ? {} : { realarmAfterMs: a.realarm_after }),
  };
}
