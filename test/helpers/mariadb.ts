/**
 * A real, throwaway MariaDB server per test file (issue 13: the alarm table): Debian's mariadbd on
 * a fresh datadir in a temp dir, root over the unix socket, TCP on 127.0.0.1 only. The caller
 * calls destroy() in after(); an exit hook still ends the one mariadbd this helper started, so a
 * crashed test file does not leave a server behind. The seed schema and its accounts are in
 * mariadb-seed.ts (re-exported here).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { createConnection, type Connection, type QueryResult, type RowDataPacket } from 'mysql2/promise';

export * from './mariadb-seed.js';

export const MARIADB_MISSING = "mariadbd not found: install Debian's mariadb-server (apt-get install mariadb-server)";
const INSTALL_DEADLINE_MS = 60_000;
const READY_DEADLINE_MS = 30_000;
const STOP_DEADLINE_MS = 30_000;

export interface MariaDb {
  readonly port: number;
  /** The unix socket; a connection through it is 'user'@'localhost'. */
  readonly socket: string;
  /** The temp dir: data/, mysqld.sock, mariadbd.log, install-db.{out,err}. */
  readonly dir: string;
  /** The pid of the running mariadbd (a new one after start()); undefined while stopped. */
  readonly pid: number | undefined;
  /** mariadb-install-db's wall time, and spawn-to-`SELECT 1` of the latest start. */
  readonly timings: { readonly installMs: number; readonly readyMs: number };
  /** Run one statement as root over the socket; resolves with its rows (or result header). */
  sql<T extends QueryResult = RowDataPacket[]>(query: string, params?: unknown[]): Promise<T>;
  /** A connection the caller must end(): root over the socket unless a user is given; `tcp` uses 127.0.0.1:port. */
  connect(opts?: ConnectOptions): Promise<Connection>;
  /** The server's log (stdout and stderr of every start). */
  log(): string;
  /** SIGTERM, up to 30 s for a clean shutdown, then SIGKILL; idempotent. */
  stop(): Promise<void>;
  /**
   * Start the same datadir again on the same port and wait until it answers. `extraArgs` for this
   * start only (`--skip-networking`: down for TCP clients, still reachable by root on the socket).
   */
  start(opts?: { readonly extraArgs?: readonly string[] }): Promise<void>;
  /** stop() and remove the temp dir. */
  destroy(): Promise<void>;
}

export interface ConnectOptions {
  readonly user?: string;
  readonly password?: string;
  readonly database?: string;
  readonly tcp?: boolean;
  readonly multipleStatements?: boolean;
}

/** Create a datadir, start mariadbd on it and wait until root answers `SELECT 1`. */
export async function startMariaDb(opts: { port?: number } = {}): Promise<MariaDb> {
  const mariadbd = findBinary('mariadbd');
  const installDb = findBinary('mariadb-install-db');
  // Same message in CI and out: the tests must say what is missing, never skip.
  if (!mariadbd || !installDb) throw new Error(MARIADB_MISSING);

  const dir = mkdtempSync(join(tmpdir(), 'hdm-mariadb-'));
  const datadir = join(dir, 'data');
  const socket = join(dir, 'mysqld.sock');
  const logFile = join(dir, 'mariadbd.log');
  // sun_path holds 108 bytes: a long TMPDIR would otherwise fail later with a vague bind error.
  if (Buffer.byteLength(socket) > 107) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`socket path too long for a unix socket (${socket}); use a shorter TMPDIR`);
  }

  const t0 = Date.now();
  try {
    await runInstallDb(installDb, datadir, dir);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const port = opts.port ?? (await freePort());
  const timings = { installMs: Date.now() - t0, readyMs: 0 };
  const args = [
    '--no-defaults', `--datadir=${datadir}`, `--socket=${socket}`, `--port=${port}`,
    '--bind-address=127.0.0.1', '--skip-name-resolve', `--user=${userInfo().username}`,
  ];

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  // Only this pid, and only while it is ours (the exit event has not fired): never a reused pid.
  const onExit = (): void => void child?.kill('SIGKILL');
  const connect = (c: ConnectOptions = {}): Promise<Connection> => createConnection({
    user: c.user ?? 'root', password: c.password ?? '', ...(c.database ? { database: c.database } : {}),
    ...(c.tcp ? { host: '127.0.0.1', port } : { socketPath: socket }),
    multipleStatements: c.multipleStatements ?? false, connectTimeout: 2_000,
  });
  const log = (): string => readLog(logFile);

  const db: MariaDb = {
    port, socket, dir, timings, connect, log,
    get pid() {
      return child?.pid;
    },
    async sql<T extends QueryResult = RowDataPacket[]>(query: string, params: unknown[] = []): Promise<T> {
      const conn = await connect();
      try {
        const [rows] = await conn.query<T>(query, params);
        return rows;
      } finally {
        await conn.end().catch(() => undefined);
      }
    },
    async start(startOpts = {}) {
      if (child) return;
      const out = openSync(logFile, 'a');
      const started = Date.now();
      const c = spawn(mariadbd, [...args, ...(startOpts.extraArgs ?? [])], { detached: false, stdio: ['ignore', out, out] });
      closeSync(out);
      child = c;
      process.on('exit', onExit);
      exited = new Promise((resolve) => {
        const gone = (): void => {
          if (child === c) child = undefined;
          process.off('exit', onExit);
          resolve();
        };
        c.once('exit', gone);
        // A failed spawn may emit only 'error'; the wait below then reports the exit with the log.
        c.once('error', gone);
      });
      try {
        await waitReady(connect, () => child === c, log);
      } catch (err) {
        await db.stop();
        throw err;
      }
      timings.readyMs = Date.now() - started;
    },
    async stop() {
      const c = child;
      if (!c) return exited;
      c.kill('SIGTERM');
      const timer = setTimeout(() => c.kill('SIGKILL'), STOP_DEADLINE_MS);
      await exited;
      clearTimeout(timer);
    },
    async destroy() {
      await db.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    await db.start();
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return db;
}

/** An executable by name on PATH, or in the sbin dirs a non-root PATH often lacks. */
function findBinary(name: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/usr/bin', '/sbin'];
  for (const d of dirs) {
    try {
      accessSync(join(d, name), constants.X_OK);
      return join(d, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * mariadb-install-db with a hard deadline. It is a shell script that runs `mariadbd --bootstrap`:
 * it gets its own process group so a hung bootstrap is killed with it, not orphaned.
 */
function runInstallDb(bin: string, datadir: string, dir: string): Promise<void> {
  const args = ['--no-defaults', '--auth-root-authentication-method=normal', '--skip-test-db', `--datadir=${datadir}`];
  // Apart: stdout is 30 lines of boilerplate advice on failure; the cause is on stderr.
  const errFile = join(dir, 'install-db.err');
  const out = openSync(join(dir, 'install-db.out'), 'a');
  const err = openSync(errFile, 'a');
  const c = spawn(bin, args, { detached: true, stdio: ['ignore', out, err] });
  closeSync(out);
  closeSync(err);
  const killGroup = (): void => {
    try {
      if (c.pid) process.kill(-c.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.on('exit', killGroup);
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(killGroup, INSTALL_DEADLINE_MS);
    let spawnError: Error | undefined;
    c.once('error', (err) => void (spawnError = err));
    c.once('close', (code, signal) => {
      clearTimeout(timer);
      process.off('exit', killGroup);
      if (code === 0) return resolve();
      const why = spawnError ? String(spawnError) : signal === 'SIGKILL' ? `killed after ${INSTALL_DEADLINE_MS} ms` : `exit ${code ?? signal}`;
      reject(new Error(`mariadb-install-db failed (${why}):\n${tail(readLog(errFile))}`));
    });
  });
}

/** Poll a root `SELECT 1` over the socket until it answers, the server exits, or the deadline. */
async function waitReady(connect: () => Promise<Connection>, alive: () => boolean, log: () => string): Promise<void> {
  const until = Date.now() + READY_DEADLINE_MS;
  let last: unknown;
  while (Date.now() < until) {
    if (!alive()) throw new Error(`mariadbd exited before it was ready:\n${tail(log())}`);
    try {
      const conn = await connect();
      try {
        await conn.query('SELECT 1');
        return;
      } finally {
        await conn.end().catch(() => undefined);
      }
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`mariadbd not ready after ${READY_DEADLINE_MS} ms (${String(last)}):\n${tail(log())}`);
}

/** A port nobody listens on now: bind 127.0.0.1:0 and let it go. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
