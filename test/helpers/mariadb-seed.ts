/**
 * The seed's alarm schema (issue 13) and the least-privilege accounts the README documents: the
 * monitor's `helpdesk` reads both tables and may write only `alarma` and `notes`; `reader` only
 * reads. Each account exists for 'localhost' (the unix socket) and '127.0.0.1' (TCP, which
 * --skip-name-resolve never maps to localhost).
 */
import { randomBytes } from 'node:crypto';
import type { Connection } from 'mysql2/promise';

export const SEED_DATABASE = 'v_process_monitor';

/** The seed's DDL, verbatim. */
export const SEED_DDL = `CREATE TABLE STATUS_PROCESS (
    process_id INT PRIMARY KEY,
    alarma TINYINT,
    sound TINYINT,
    notes TEXT
);
CREATE TABLE PROCESE (
    process_id INT PRIMARY KEY,
    process_name VARCHAR(255)
);`;

/** What the monitor's account needs: read both tables, write the alarm flag and the note, nothing else. */
export const HELPDESK_GRANTS: readonly string[] = [
  `GRANT SELECT ON ${SEED_DATABASE}.STATUS_PROCESS`,
  `GRANT SELECT ON ${SEED_DATABASE}.PROCESE`,
  `GRANT UPDATE (alarma, notes) ON ${SEED_DATABASE}.STATUS_PROCESS`,
];

/** A read-only account: the two SELECT grants. */
export const READER_GRANTS: readonly string[] = HELPDESK_GRANTS.slice(0, 2);

/** The hosts each account is created for: the socket and TCP on loopback. */
export const ACCOUNT_HOSTS: readonly string[] = ['localhost', '127.0.0.1'];

/** Full statements, e.g. `GRANT SELECT ON v_process_monitor.PROCESE TO 'helpdesk'@'localhost';`. */
export function grantStatements(grants: readonly string[], user: string, host: string): string[] {
  return grants.map((g) => `${g} TO '${user}'@'${host}';`);
}

export interface Account {
  readonly user: string;
  readonly password: string;
}

export interface SeedSchema {
  readonly database: typeof SEED_DATABASE;
  readonly helpdesk: Account;
  readonly reader: Account;
}

/** Anything that opens a root connection (the MariaDb handle does). */
export interface RootConnector {
  connect(opts?: { multipleStatements?: boolean }): Promise<Connection>;
}

/**
 * Create the database, the seed's tables and the two accounts (fresh random passwords, returned).
 * `opts.helpdeskUser` / `opts.readerUser` rename the accounts.
 */
export async function loadSeedSchema(db: RootConnector, opts: { helpdeskUser?: string; readerUser?: string } = {}): Promise<SeedSchema> {
  const helpdesk = { user: opts.helpdeskUser ?? 'helpdesk', password: randomBytes(18).toString('base64url') };
  const reader = { user: opts.readerUser ?? 'reader', password: randomBytes(18).toString('base64url') };
  const conn = await db.connect({ multipleStatements: true });
  try {
    await conn.query(`CREATE DATABASE ${SEED_DATABASE}`);
    await conn.query(`USE ${SEED_DATABASE}`);
    await conn.query(SEED_DDL);
    for (const [account, grants] of [[helpdesk, HELPDESK_GRANTS], [reader, READER_GRANTS]] as const) {
      for (const host of ACCOUNT_HOSTS) {
        // mysql2 escapes the placeholders client-side (CREATE USER cannot be a prepared statement).
        await conn.query(`CREATE USER ?@? IDENTIFIED BY ?`, [account.user, host, account.password]);
        for (const g of grants) await conn.query(`${g} TO ?@?`, [account.user, host]);
      }
    }
  } finally {
    await conn.end().catch(() => undefined);
  }
  return { database: SEED_DATABASE, helpdesk, reader };
}
