/** The dialect-neutral SQL surface shared by the MySQL/MariaDB and SQLite backends. */

export type SqlDialect = 'mysql' | 'sqlite';

/**
 * A value bound to a `?` placeholder. Uint8Array/Buffer are stored as BLOBs byte-exact;
 * booleans become 1/0 and undefined becomes NULL.
 */
export type SqlValue = string | number | bigint | boolean | null | undefined | Uint8Array;

export interface ExecuteResult {
  /** Rows changed by the statement (MySQL: "affected rows", an upsert that updates counts 2). */
  affectedRows: number;
  /** AUTO_INCREMENT / rowid of the last inserted row (MySQL: also LAST_INSERT_ID(expr)); 0 when none. */
  insertId: number;
}

/** One statement of a batch; `rows`: it returns rows (a SELECT, or RETURNING) that the caller reads. */
export interface BatchStatement {
  sql: string;
  params: readonly SqlValue[];
  rows?: boolean;
}

/** Runs statements. Both backends use `?` positional placeholders. */
export interface SqlExecutor {
  readonly dialect: SqlDialect;
  /**
   * Runs statements in order, in one round trip where the backend has round trips (MySQL: one
   * multi-statement query); the rows of each `rows` statement, [] for the others. Optional: see
   * runBatch().
   */
  batch?(statements: readonly BatchStatement[], options?: BatchOptions): Promise<unknown[][]>;
  /** Runs a statement that returns rows. BLOB columns come back as Buffer, integers as number. */
  query<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs a statement that changes data. */
  execute(sql: string, params?: readonly SqlValue[]): Promise<ExecuteResult>;
}

export interface SqlDatabase extends SqlExecutor {
  /**
   * Runs `fn` inside one transaction: committed when the promise it returns resolves, rolled back
   * when it rejects (the rejection is re-thrown). Statements inside must go through `tx`;
   * `tx` is unusable after the transaction ends.
   * MySQL: one pooled connection for the whole callback. SQLite: `BEGIN IMMEDIATE`, and the whole
   * callback holds the connection's mutex so no other caller's statement can run inside it.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` with every statement on one connection but without a transaction (MySQL: needed for
   * session state such as GET_LOCK; SQLite: holds the mutex, so use it for short work only).
   */
  withConnection<T>(fn: (conn: SqlExecutor) => Promise<T>): Promise<T>;
  /** Closes the pool / file. Later calls fail with StorageError 'UNAVAILABLE'. Idempotent. */
  close(): Promise<void>;
}

/** Normalises a parameter value for the drivers (both want Buffer for blobs). */
export function normaliseParam(v: SqlValue): string | number | bigint | null | Buffer {
  if (v === undefined || v === null) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Uint8Array) return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return v;
}

export interface BatchOptions {
  /**
   * The batch is the last work of its transaction: MySQL sends COMMIT in the same round trip, and
   * the executor is unusable afterwards. Ignored outside a transaction and by executors without
   * batch() (SQLite), whose transaction() commits as usual.
   */
  commit?: boolean;
}

/** Runs a batch with the executor's own batch() when it has one, else statement by statement. */
export async function runBatch(ex: SqlExecutor, statements: readonly BatchStatement[], options: BatchOptions = {}): Promise<unknown[][]> {
  if (statements.length === 0) return [];
  if (ex.batch && (statements.length > 1 || options.commit)) return ex.batch(statements, options);
  const out: unknown[][] = [];
  for (const s of statements) {
    if (s.rows) out.push(await ex.query(s.sql, s.params));
    else {
      await ex.execute(s.sql, s.params);
      out.push([]);
    }
  }
  return out;
}
