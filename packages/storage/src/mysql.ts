import mysql from 'mysql2/promise';
import type { Pool, PoolConnection, ResultSetHeader } from 'mysql2/promise';
import { BatchOptions, BatchStatement, ExecuteResult, normaliseParam, SqlDatabase, SqlExecutor, SqlValue } from './db';
import { StorageError, toStorageError } from './errors';

export interface MysqlConfig {
  kind: 'mysql';
  host: string;
  port: number;
  user: string;
  password: string;
  /** Created (utf8mb4) if missing. Letters, digits, '_' and '$' only. */
  database: string;
  /** Pool size. */
  connectionLimit: number;
  /** TCP connect timeout, default 10000 ms. */
  connectTimeoutMs?: number;
  /** Run CREATE DATABASE IF NOT EXISTS first (default true). */
  createDatabase?: boolean;
  /** TLS (MYSQL_TLS): on = encrypted only; verify = the certificate must chain to ca (absent: the system CAs) and name the host. Absent: cleartext. */
  tls?: { mode: 'on' | 'verify'; ca?: Buffer };
}

const DATABASE_NAME_RE = /^[A-Za-z0-9_$]{1,64}$/;

function toParams(params: readonly SqlValue[]): unknown[] {
  return params.map(normaliseParam);
}

function toExecuteResult(res: unknown): ExecuteResult {
  const h = res as Partial<ResultSetHeader> | undefined;
  return { affectedRows: Number(h?.affectedRows ?? 0), insertId: Number(h?.insertId ?? 0) };
}

/** Executor pinned to one pooled connection (a transaction or withConnection scope). */
class ConnectionExecutor implements SqlExecutor {
  readonly dialect = 'mysql' as const;
  active = true;
  /**
   * Set by transaction(): START TRANSACTION has not been sent yet and travels with the first
   * statement, in the same round trip (a batch of messages is then two round trips, not four).
   */
  beginPending = false;
  /** Inside transaction(): a batch may end it with COMMIT (BatchOptions.commit). */
  inTransaction = false;
  /** A batch committed the transaction. */
  committed = false;

  constructor(private readonly conn: PoolConnection) {}

  private check(): void {
    if (!this.active) throw new StorageError('INTERNAL', 'MySQL executor used after its transaction/connection scope ended');
  }

  /** Sends one statement, preceded by START TRANSACTION when it is the transaction's first. */
  private async run(sql: string, params: readonly SqlValue[]): Promise<unknown> {
    this.check();
    const begin = this.beginPending;
    this.beginPending = false;
    try {
      const [res] = await this.conn.query(begin ? `START TRANSACTION;\n${sql}` : sql, toParams(params));
      return begin ? (res as unknown[])[1] : res;
    } catch (err) {
      throw toStorageError(err);
    }
  }

  async query<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    const rows = await this.run(sql, params);
    return Array.isArray(rows) ? (rows as T[]) : [];
  }

  async execute(sql: string, params: readonly SqlValue[] = []): Promise<ExecuteResult> {
    return toExecuteResult(await this.run(sql, params));
  }

  /**
   * One multi-statement query: one round trip for the whole batch (statements run in order; the
   * first error stops it), with START TRANSACTION before it when the transaction has not begun and
   * COMMIT after it when asked.
   */
  async batch(statements: readonly BatchStatement[], options: BatchOptions = {}): Promise<unknown[][]> {
    this.check();
    const begin = this.beginPending;
    const commit = options.commit === true && this.inTransaction;
    this.beginPending = false;
    const sql = [...(begin ? ['START TRANSACTION'] : []), ...statements.map((s) => s.sql), ...(commit ? ['COMMIT'] : [])].join(';\n');
    const params = statements.flatMap((s) => toParams(s.params));
    try {
      const [results] = await this.conn.query(sql, params);
      const list = (results as unknown[]).slice(begin ? 1 : 0);
      if (commit) {
        this.committed = true;
        this.active = false;
      }
      return statements.map((s, i) => (s.rows && Array.isArray(list[i]) ? (list[i] as unknown[]) : []));
    } catch (err) {
      throw toStorageError(err);
    }
  }
}

/**
 * MySQL / MariaDB through a mysql2 pool. Statements use the text protocol with client-side `?`
 * escaping (Buffers become X'..' literals, byte-exact), which avoids server-side prepared statement
 * limits (e.g. `LIMIT ?`) and per-connection statement caches.
 */
export class MysqlDatabase implements SqlDatabase {
  readonly dialect = 'mysql' as const;
  private closed = false;

  private constructor(private readonly pool: Pool) {}

  static async open(config: MysqlConfig): Promise<MysqlDatabase> {
    if (!DATABASE_NAME_RE.test(config.database)) {
      throw new StorageError('INVALID_ARGUMENT', `invalid MySQL database name ${JSON.stringify(config.database)}`);
    }
    const base = {
      host: config.host,
      port: config.port,
      user: config.user,
      password: config.password,
      charset: 'utf8mb4',
      connectTimeout: config.connectTimeoutMs ?? 10_000,
      supportBigNumbers: true,
      bigNumberStrings: false,
      ssl: config.tls ? { ca: config.tls.ca, rejectUnauthorized: config.tls.mode === 'verify', verifyIdentity: config.tls.mode === 'verify' } : undefined,
    };
    if (config.createDatabase !== false) {
      let conn: mysql.Connection | undefined;
      try {
        conn = await mysql.createConnection(base);
        await conn.query(`CREATE DATABASE IF NOT EXISTS \`${config.database}\` CHARACTER SET utf8mb4`);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        // A user without CREATE privilege may still use an existing database: let the pool decide.
        if (code !== 'ER_DBACCESS_DENIED_ERROR') throw toStorageError(err, `cannot prepare MySQL database ${config.database}`);
      } finally {
        await conn?.end().catch(() => undefined);
      }
    }
    const pool = mysql.createPool({
      ...base,
      database: config.database,
      connectionLimit: config.connectionLimit,
      waitForConnections: true,
      queueLimit: 0,
      enableKeepAlive: true,
      // Batches of a transaction travel as one multi-statement query (SqlExecutor.batch); every
      // statement is built by this package with ? placeholders, never from input text.
      multipleStatements: true,
    });
    const db = new MysqlDatabase(pool);
    try {
      await db.query('SELECT 1');
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
    return db;
  }

  private ensureOpen(): void {
    if (this.closed) throw new StorageError('UNAVAILABLE', 'MySQL store is closed');
  }

  async query<T = Record<string, unknown>>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    this.ensureOpen();
    try {
      const [rows] = await this.pool.query(sql, toParams(params));
      return Array.isArray(rows) ? (rows as T[]) : [];
    } catch (err) {
      throw toStorageError(err);
    }
  }

  async execute(sql: string, params: readonly SqlValue[] = []): Promise<ExecuteResult> {
    this.ensureOpen();
    try {
      const [res] = await this.pool.query(sql, toParams(params));
      return toExecuteResult(res);
    } catch (err) {
      throw toStorageError(err);
    }
  }

  private async getConnection(): Promise<PoolConnection> {
    this.ensureOpen();
    try {
      return await this.pool.getConnection();
    } catch (err) {
      throw toStorageError(err, 'cannot get a MySQL connection');
    }
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const conn = await this.getConnection();
    const tx = new ConnectionExecutor(conn);
    tx.inTransaction = true;
    tx.beginPending = true;
    let reusable = true;
    try {
      let result: T;
      try {
        result = await fn(tx);
      } catch (err) {
        tx.active = false;
        if (!tx.beginPending) {
          try {
            await conn.rollback();
          } catch {
            reusable = false; // connection state unknown: do not hand it to someone else
          }
        }
        throw err;
      }
      tx.active = false;
      // Nothing to commit when a batch already did, or when no statement ran.
      if (tx.committed || tx.beginPending) return result;
      try {
        await conn.commit();
      } catch (err) {
        reusable = false;
        try {
          await conn.rollback();
        } catch {
          /* ignore */
        }
        throw toStorageError(err, 'COMMIT failed');
      }
      return result;
    } finally {
      tx.active = false;
      if (reusable) conn.release();
      else conn.destroy();
    }
  }

  async withConnection<T>(fn: (conn: SqlExecutor) => Promise<T>): Promise<T> {
    const conn = await this.getConnection();
    const ex = new ConnectionExecutor(conn);
    let ok = false;
    try {
      const result = await fn(ex);
      ok = true;
      return result;
    } finally {
      ex.active = false;
      // After a failure the session may hold state (locks, temp tables): drop the connection.
      if (ok) conn.release();
      else conn.destroy();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end().catch(() => undefined);
  }
}
