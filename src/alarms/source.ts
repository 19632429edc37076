/**
 * The alarm table's database, through mysql2: a pool of at most two connections, prepared
 * statements only, and a hard deadline on every call (connect + query), past which the
 * connection is destroyed, not reused. Errors come out as a Fault: unreachable (retry with
 * backoff) or refused (a missing table, column or privilege: the message names the SQL code and
 * the GRANT that fixes it). The password is read here, at open, from its env var or private file,
 * remembered for redaction, and never part of a message.
 */
import { readFileSync } from 'node:fs';
import { createPool, type Pool, type PoolConnection, type PoolOptions, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import type { AlarmsConfig } from '../config/alarms.js';
import { AlarmSourceError } from '../errors.js';
import { rememberSecret } from '../redact.js';
import type { Fault } from './outage.js';
import type { AlarmRow } from './plan.js';
import { grantsFor, selectAlarms, sourceWhere, type Statement } from './sql.js';

export interface AlarmSource {
  /** The rows in alarm now. */
  poll(): Promise<AlarmRow[]>;
  /** An UPDATE; the number of rows it changed. */
  update(stmt: Statement): Promise<number>;
  /** Where it connects, for messages (`127.0.0.1:3306`, `/run/mysqld/mysqld.sock`). */
  readonly where: string;
  close(): Promise<void>;
}

/** Codes that mean the server is not there (or stopped answering): retry with backoff. */
const UNREACHABLE = new Set([
  'ECONNREFUSED', 'ENOENT', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND',
  'PROTOCOL_CONNECTION_LOST', 'ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN', 'DEADLINE', 'POOL_CLOSED',
]);

export function openAlarmSource(cfg: AlarmsConfig, env: NodeJS.ProcessEnv = process.env): AlarmSource {
  const where = sourceWhere(cfg);
  const password = readPassword(cfg, env);
  if (password) rememberSecret(password);
  const options: PoolOptions = {
    ...(cfg.socket ? { socketPath: cfg.socket } : { host: cfg.host, port: cfg.port }),
    user: cfg.user,
    ...(password ? { password } : {}),
    database: cfg.database,
    connectionLimit: 2,
    maxIdle: 1,
    // One connection outlives the gap between polls (5 min by default): a poll that has to connect
    // costs about 6x one that does not (bench:alarms).
    idleTimeout: Math.max(60_000, 2 * cfg.intervalMs + 10_000),
    queueLimit: 8,
    enableKeepAlive: true,
    connectTimeout: cfg.connectTimeoutMs,
    ...(cfg.ssl ? { ssl: { ...readSsl(cfg.ssl), rejectUnauthorized: true } } : {}),
  };
  const pool = createPool(options);
  pool.pool.on('connection', (c) => {
    // An idle connection the server dropped emits an error on the pool: the next call reconnects.
    c.on('error', () => undefined);
    // MariaDB ends a statement that outlives query_timeout on the server too (a client that gives
    // up does not stop it); MySQL has no such variable and reads the SELECT's hint instead.
    c.query(`SET SESSION max_statement_time = ${(cfg.queryTimeoutMs / 1000).toFixed(3)}`, () => undefined);
  });
  const select = selectAlarms(cfg);
  const deadlineMs = cfg.connectTimeoutMs + cfg.queryTimeoutMs + 1000;
  const fail = (err: unknown): never => {
    throw new AlarmSourceError(faultOf(err, cfg, where));
  };
  return {
    where,
    poll: async () => {
      const rows = await call(pool, select, cfg.queryTimeoutMs, deadlineMs).catch(fail);
      return (rows as RowDataPacket[]).flatMap((r) => toRow(r) ?? []);
    },
    update: async (stmt) => ((await call(pool, stmt, cfg.queryTimeoutMs, deadlineMs).catch(fail)) as ResultSetHeader).affectedRows,
    close: () => Promise.race([pool.end().catch(() => undefined), new Promise<void>((r) => setTimeout(r, 2000).unref())]),
  };
}

/** Passwords taken out of the environment, by variable name (see readPassword). */
const taken = new Map<string, string>();

/**
 * The password, from the file or the env var; undefined when the env var is unset or empty. The
 * variable is taken out of the environment once read: the commands and apps the monitor starts
 * (health checks, systemctl, a restarted process) inherit its environment, and must not inherit
 * the password. Later reads (a reconnect, a reload) find it here.
 */
function readPassword(cfg: AlarmsConfig, env: NodeJS.ProcessEnv): string | undefined {
  if (cfg.password.kind === 'env') {
    const name = cfg.password.name;
    const value = env[name];
    if (value !== undefined) {
      taken.set(name, value);
      delete env[name];
    }
    return taken.get(name) || undefined;
  }
  // One trailing newline is the editor's, not the password's.
  return readFileSync(cfg.password.path, 'utf8').replace(/\r?\n$/, '') || undefined;
}

function readSsl(ssl: NonNullable<AlarmsConfig['ssl']>): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  return {
    ...(ssl.ca ? { ca: readFileSync(ssl.ca) } : {}),
    ...(ssl.cert ? { cert: readFileSync(ssl.cert) } : {}),
    ...(ssl.key ? { key: readFileSync(ssl.key) } : {}),
  };
}

/**
 * One prepared statement on a pooled connection, within `deadlineMs` in all (waiting for a
 * connection included). A connection that missed its deadline is destroyed: its answer, if it
 * ever comes, must not be read by the next call.
 */
async function call(pool: Pool, stmt: Statement, queryMs: number, deadlineMs: number): Promise<unknown> {
  let conn: PoolConnection | undefined;
  let late = false;
  let timer: NodeJS.Timeout | undefined;
  const work = (async () => {
    const c = await pool.getConnection();
    if (late) return void c.destroy();
    conn = c;
    try {
      const [result] = await c.execute({ sql: stmt.sql, timeout: queryMs }, stmt.params as (string | number)[]);
      return result;
    } catch (err) {
      c.destroy();
      conn = undefined;
      throw err;
    } finally {
      if (conn) c.release();
    }
  })();
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      late = true;
      conn?.destroy();
      reject(Object.assign(new Error(`no answer within ${deadlineMs} ms`), { code: 'DEADLINE' }));
    }, deadlineMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    work.catch(() => undefined);
  }
}

/** A row as the plan reads it; undefined for one whose numbers are not integers (the SELECT casts them). */
function toRow(r: RowDataPacket): AlarmRow | undefined {
  const name = r['process_name'] as unknown;
  const processId = Number(r['process_id']);
  const value = Number(r['alarm']);
  if (!Number.isSafeInteger(processId) || !Number.isSafeInteger(value)) return undefined;
  return { processId, value, processName: typeof name === 'string' ? name : name === null || name === undefined ? null : String(name) };
}

interface SqlError {
  code?: string;
  errno?: number;
  sqlMessage?: string;
  message?: string;
}

/** What went wrong, for the log: code, where, the server's words, and what fixes it. Never the password. */
export function faultOf(err: unknown, cfg: AlarmsConfig, where: string): Fault {
  const e = (err ?? {}) as SqlError;
  const code = e.code ?? 'ERROR';
  const said = (e.sqlMessage ?? e.message ?? String(err)).split('\n')[0]!.slice(0, 200);
  const codeText = e.errno && e.sqlMessage ? `${code} (${e.errno})` : code;
  if (UNREACHABLE.has(code) || (e.errno === undefined && /^E[A-Z]+$/.test(code))) {
    return { kind: 'unreachable', key: code, text: `${codeText} at ${where}${said && !said.startsWith(code) ? `: ${said}` : ''}` };
  }
  return { kind: 'refused', key: code, text: `${codeText} at ${where}: ${said}${fixFor(code, cfg)}` };
}

function fixFor(code: string, cfg: AlarmsConfig): string {
  const account = `'${cfg.user}'@'<host>'`;
  switch (code) {
    case 'ER_TABLEACCESS_DENIED_ERROR':
    case 'ER_COLUMNACCESS_DENIED_ERROR':
    case 'ER_DBACCESS_DENIED_ERROR':
    case 'ER_SPECIFIC_ACCESS_DENIED_ERROR':
      return `; fix: ${grantsFor(cfg, account).join(' ')}`;
    case 'ER_ACCESS_DENIED_ERROR':
      return `; check alarms.user and the password (${cfg.password.kind === 'env' ? `env ${cfg.password.name}` : cfg.password.path})`;
    case 'ER_NO_SUCH_TABLE':
      return `; check alarms.database and alarms.tables (the names are case-sensitive), or create the tables`;
    case 'ER_BAD_FIELD_ERROR':
      return '; check alarms.columns';
    case 'ER_BAD_DB_ERROR':
      return '; check alarms.database';
    case 'PROTOCOL_SEQUENCE_TIMEOUT':
    case 'ER_STATEMENT_TIMEOUT':
      return `; the query took longer than alarms.query_timeout (${cfg.queryTimeoutMs} ms): check the server's load; read again at the next poll`;
    default:
      return '';
  }
}
