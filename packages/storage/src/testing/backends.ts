/**
 * The storage tests' two backends, for `describe.each(testBackends('label'))`: SQLite in a fresh
 * temp dir, and MariaDB/MySQL in a fresh database tt_<label>_<random> (dropped by cleanup()).
 * MySQL connection: TT_TEST_MYSQL_HOST/PORT/USER/PASSWORD (default 127.0.0.1:3306 root, empty
 * password); TT_TEST_SKIP_MYSQL=1 leaves that backend out.
 * For tests only: not exported from the package index; tests import it by relative path.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mysql from 'mysql2/promise';
import type { StoreConfig } from '../store';

/** The MySQL server the tests use (the database is each backend's own). */
export const testMysqlServer = {
  host: process.env.TT_TEST_MYSQL_HOST ?? '127.0.0.1',
  port: Number(process.env.TT_TEST_MYSQL_PORT ?? 3306),
  user: process.env.TT_TEST_MYSQL_USER ?? 'root',
  password: process.env.TT_TEST_MYSQL_PASSWORD ?? '',
};

/** A fresh, empty database and how to throw it away. */
export interface TestBackend {
  /** A new, empty database (nothing is created until a store opens it). */
  config: StoreConfig;
  /** Another new, empty database, for tests that need more than one; cleanup() removes it too. */
  fresh(): StoreConfig;
  /** Removes every database this backend handed out. */
  cleanup(): Promise<void>;
}

/** SQLite files in a temp dir `tt-<label>-…`; each in a directory that does not exist yet (openStore creates it). */
export function sqliteTestBackend(label: string): TestBackend {
  const dir = mkdtempSync(path.join(tmpdir(), `tt-${label}-`));
  let n = 0;
  const fresh = (): StoreConfig => ({ kind: 'sqlite', file: path.join(dir, `db${n++}`, 'tt.sqlite') });
  return { config: fresh(), fresh, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
}

/** MySQL databases `tt_<label>_<random>` on testMysqlServer. */
export function mysqlTestBackend(label: string): TestBackend {
  // A database name takes letters, digits and _ only, at most 64 characters.
  const prefix = `tt_${label.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 40)}_`;
  const created: string[] = [];
  const fresh = (): StoreConfig => {
    const database = prefix + randomBytes(6).toString('hex');
    created.push(database);
    return { kind: 'mysql', ...testMysqlServer, database, connectionLimit: 8 };
  };
  return {
    config: fresh(),
    fresh,
    cleanup: async () => {
      const conn = await mysql.createConnection(testMysqlServer);
      try {
        for (const database of created) await conn.query(`DROP DATABASE IF EXISTS \`${database}\``);
      } finally {
        await conn.end();
      }
    },
  };
}

/**
 * The describe.each table: [name, make] for SQLite and (unless TT_TEST_SKIP_MYSQL=1) MySQL; make()
 * gives a fresh backend. `label` names the temp dir and the databases, so leftovers say whose they are.
 */
export function testBackends(label: string): Array<[string, () => TestBackend]> {
  const backends: Array<[string, () => TestBackend]> = [['sqlite', () => sqliteTestBackend(label)]];
  if (process.env.TT_TEST_SKIP_MYSQL !== '1') backends.push(['mysql', () => mysqlTestBackend(label)]);
  return backends;
}
