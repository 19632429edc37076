// The MariaDB test helper against Debian's real mariadbd: the seed schema and its grants hold
// (helpdesk writes alarma and notes but not sound, reader writes nothing), the data survives a
// stop/start on the same port, and a test process that exits without destroy() takes its server
// with it. Prints the install, start and memory cost.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { HELPDESK_GRANTS, grantStatements, loadSeedSchema, startMariaDb, type MariaDb, type SeedSchema } from '../helpers/mariadb.js';
import { ROOT } from '../helpers/sandbox.js';
import { waitFor } from '../helpers/wait.js';

const T = { timeout: 150_000 };
let db: MariaDb;
let seed: SeedSchema;

before(async () => {
  db = await startMariaDb();
  seed = await loadSeedSchema(db);
  await db.sql('INSERT INTO v_process_monitor.PROCESE VALUES (1, ?), (2, ?)', ['api', 'worker']);
  await db.sql('INSERT INTO v_process_monitor.STATUS_PROCESS VALUES (1, 0, 0, NULL), (2, 1, 1, ?)', ['seeded']);
});
after(async () => {
  await db?.destroy();
});

/** VmRSS of a pid in kB, from /proc. */
function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, `no VmRSS for ${pid}`);
  return Number(m[1]);
}

/** The error code a statement fails with ('' when it succeeds). */
async function failure(conn: Connection, query: string): Promise<string> {
  try {
    await conn.query(query);
    return '';
  } catch (err) {
    return String((err as { code?: unknown }).code);
  }
}

const JOIN = 'SELECT p.process_name, s.alarma, s.notes FROM STATUS_PROCESS s JOIN PROCESE p USING (process_id) ORDER BY process_id';
const DENIED = ['ER_COLUMNACCESS_DENIED_ERROR', 'ER_TABLEACCESS_DENIED_ERROR'];

test('a fresh server answers and costs this much', T, (t) => {
  assert.ok(db.pid, 'a running pid');
  const rss = rssKb(db.pid);
  t.diagnostic(`mariadb-install-db ${db.timings.installMs} ms, spawn to SELECT 1 ${db.timings.readyMs} ms, mariadbd VmRSS ${rss} kB`);
  assert.ok(db.timings.installMs > 0 && db.timings.readyMs > 0);
});

test('helpdesk (TCP) reads the join and writes alarma and notes, but not sound', T, async () => {
  const conn = await db.connect({ ...seed.helpdesk, database: seed.database, tcp: true });
  try {
    const [who] = await conn.query<RowDataPacket[]>('SELECT CURRENT_USER() AS u');
    assert.equal(who[0]?.['u'], 'helpdesk@127.0.0.1');
    const [rows] = await conn.query<RowDataPacket[]>(JOIN);
    assert.deepEqual(rows.map((r) => [r['process_name'], r['alarma'], r['notes']]), [['api', 0, null], ['worker', 1, 'seeded']]);
    await conn.query('UPDATE STATUS_PROCESS SET alarma = 0, notes = ? WHERE process_id = 2', ['restarted by helpdesk-monitor']);
    assert.ok(DENIED.includes(await failure(conn, 'UPDATE STATUS_PROCESS SET sound = 0 WHERE process_id = 2')), 'sound is not writable');
    assert.ok(DENIED.includes(await failure(conn, 'INSERT INTO STATUS_PROCESS (process_id) VALUES (3)')), 'no INSERT');
    assert.ok(DENIED.includes(await failure(conn, 'UPDATE PROCESE SET process_name = 1')), 'PROCESE is read-only');
  } finally {
    await conn.end();
  }
  const [row] = await db.sql('SELECT alarma, sound, notes FROM v_process_monitor.STATUS_PROCESS WHERE process_id = 2');
  assert.deepEqual({ ...row }, { alarma: 0, sound: 1, notes: 'restarted by helpdesk-monitor' });
});

test('reader (socket) reads but every UPDATE is denied', T, async () => {
  const conn = await db.connect({ ...seed.reader, database: seed.database });
  try {
    const [who] = await conn.query<RowDataPacket[]>('SELECT CURRENT_USER() AS u');
    assert.equal(who[0]?.['u'], 'reader@localhost');
    const [rows] = await conn.query<RowDataPacket[]>(JOIN);
    assert.equal(rows.length, 2);
    assert.ok(DENIED.includes(await failure(conn, 'UPDATE STATUS_PROCESS SET alarma = 1')), 'alarma is not writable');
    assert.ok(DENIED.includes(await failure(conn, 'UPDATE STATUS_PROCESS SET notes = NULL')), 'notes is not writable');
  } finally {
    await conn.end();
  }
});

test('the accounts hold exactly the documented privileges, on both hosts', T, async () => {
  const privileges = async (user: string, host: string): Promise<string[]> => {
    const grantee = `'${user}'@'${host}'`;
    const global = await db.sql('SELECT PRIVILEGE_TYPE AS p FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ?', [grantee]);
    const schema = await db.sql('SELECT PRIVILEGE_TYPE AS p FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ?', [grantee]);
    const table = await db.sql("SELECT CONCAT(PRIVILEGE_TYPE, ' ', TABLE_SCHEMA, '.', TABLE_NAME) AS p FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = ?", [grantee]);
    const column = await db.sql("SELECT CONCAT(PRIVILEGE_TYPE, ' ', TABLE_SCHEMA, '.', TABLE_NAME, '.', COLUMN_NAME) AS p FROM information_schema.COLUMN_PRIVILEGES WHERE GRANTEE = ?", [grantee]);
    return [...global, ...schema, ...table, ...column].map((r) => String(r['p'])).sort();
  };
  for (const host of ['localhost', '127.0.0.1']) {
    assert.deepEqual(await privileges('helpdesk', host), [
      'SELECT v_process_monitor.PROCESE', 'SELECT v_process_monitor.STATUS_PROCESS',
      'UPDATE v_process_monitor.STATUS_PROCESS.alarma', 'UPDATE v_process_monitor.STATUS_PROCESS.notes', 'USAGE',
    ], `helpdesk@${host}`);
    assert.deepEqual(await privileges('reader', host), ['SELECT v_process_monitor.PROCESE', 'SELECT v_process_monitor.STATUS_PROCESS', 'USAGE'], `reader@${host}`);
  }
  assert.deepEqual(grantStatements(HELPDESK_GRANTS, 'helpdesk', 'localhost'), [
    "GRANT SELECT ON v_process_monitor.STATUS_PROCESS TO 'helpdesk'@'localhost';",
    "GRANT SELECT ON v_process_monitor.PROCESE TO 'helpdesk'@'localhost';",
    "GRANT UPDATE (alarma, notes) ON v_process_monitor.STATUS_PROCESS TO 'helpdesk'@'localhost';",
  ]);
});

test('stop() ends the server, start() brings the same data back on the same port', T, async (t) => {
  const oldPid = db.pid;
  assert.ok(oldPid);
  const t0 = Date.now();
  await db.stop();
  const stopMs = Date.now() - t0;
  assert.equal(db.pid, undefined);
  assert.equal(existsSync(`/proc/${oldPid}`), false, 'the old mariadbd is gone');
  await assert.rejects(db.connect({ ...seed.helpdesk, tcp: true }), /ECONNREFUSED/);
  await db.stop(); // idempotent

  await db.start();
  assert.ok(db.pid && db.pid !== oldPid);
  const conn = await db.connect({ ...seed.helpdesk, database: seed.database, tcp: true });
  try {
    const [rows] = await conn.query<RowDataPacket[]>(JOIN);
    assert.deepEqual(rows.map((r) => r['notes']), [null, 'restarted by helpdesk-monitor']);
  } finally {
    await conn.end();
  }
  t.diagnostic(`mariadbd stop (SIGTERM to exit) ${stopMs} ms, restart to SELECT 1 ${db.timings.readyMs} ms`);
});

test('a test process that exits without destroy() takes its mariadbd with it', T, async () => {
  const helper = join(ROOT, 'dist', 'test', 'helpers', 'mariadb.js');
  const script = `const { startMariaDb } = await import(${JSON.stringify(helper)});
const db = await startMariaDb();
console.log(JSON.stringify({ pid: db.pid, dir: db.dir }));
process.exit(0);`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { timeout: 120_000 });
  const { pid, dir } = JSON.parse(stdout.trim()) as { pid: number; dir: string };
  try {
    await waitFor(`mariadbd ${pid} to end with its parent`, () => {
      const status = readProc(pid, 'status');
      return status === '' || /^State:\s+Z/m.test(status);
    }, 10_000);
  } finally {
    // If the hook failed, end that server here (checked by name first: only the one it started).
    if (/mariadbd/.test(readProc(pid, 'cmdline'))) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

function readProc(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}
