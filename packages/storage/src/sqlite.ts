import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ExecuteResult, normaliseParam, SqlDatabase, SqlExecutor, SqlValue } from './db';
import { StorageError, toStorageError } from './errors';

export interface SqliteConfig {
  kind: 'sqlite';
  /** Database file; its directory is created if missing. ':memory:' works for throwaway stores. */
  file: string;
  /**
   * How long a statement or BEGIN IMMEDIATE keeps retrying (asynchronously) while another
   * connection/process holds the write lock. Default 5000 ms.
   */
  busyTimeoutMs?: number;
  /** PRAGMA synchronous. FULL (default) fsyncs every commit; NORMAL is faster and, with WAL, never corrupts. */
  synchronous?: 'FULL' | 'NORMAL';
  /**
   * Fail fast when code inside a transaction/withConnection callback uses the database object
   * instead of the executor it was given (that would wait for itself forever). The check needs
   * AsyncLocalStorage, whose promise hooks tax every promise of the process (~5% of a busy
   * standalone server's CPU), so it is on under tests (NODE_ENV=test) and off in production.
   */
  detectReentry?: boolean;
}

type Statement = Database.Statement<unknown[], unknown>;

const STATEMENT_CACHE_LIMIT = 256;
const INSERT_RE = /^\s*(insert|replace)\b/i;

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A FIFO async mutex: `run` calls execute one at a time, in call order. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** Marks "this async context currently holds the mutex of connection X". */
interface Hold {
  owner: SqliteDatabase;
  active: boolean;
}

const holdStorage = new AsyncLocalStorage<Hold>();

/** Executor bound to a mutex hold (a transaction or withConnection). Unusable once the hold ends. */
class HeldExecutor implements SqlExecutor {
  readonly dialect = 'sqlite' as const;

  constructor(
    private readonly owner: SqliteDatabase,
    private readonly hold: Hold,
  ) {}

  private check(): void {
    if (!this.hold.active) throw new StorageError('INTERNAL', 'SQLite executor used after its transaction/connection scope ended');
  }

  async query<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    this.check();
    return this.owner.runQuery<T>(sql, params);
  }

  async execute(sql: string, params: readonly SqlValue[] = []): Promise<ExecuteResult> {
    this.check();
    return this.owner.runExecute(sql, params);
  }
}

/**
 * better-sqlite3 is synchronous and a connection has a single transaction state, so every statement
 * and every transaction of this connection goes through one async mutex: awaits inside a transaction
 * callback can never let another caller's statement into it.
 *
 * Waiting for another connection's write lock is done asynchronously (PRAGMA busy_timeout is 0 and
 * we retry with backoff): SQLite's own busy handler sleeps synchronously, which would freeze the
 * event loop, and if the lock holder is another connection in this same process it could never
 * finish its transaction while we sleep.
 */
export class SqliteDatabase implements SqlDatabase {
  readonly dialect = 'sqlite' as const;
  private readonly mutex = new Mutex();
  private readonly statements = new Map<string, Statement>();
  private closed = false;

  private constructor(
    private readonly db: Database.Database,
    private readonly busyTimeoutMs: number,
    private readonly detectReentry: boolean,
  ) {}

  static async open(config: SqliteConfig): Promise<SqliteDatabase> {
    const file = config.file;
    const inMemory = file === ':memory:' || file === '';
    let raw: Database.Database;
    try {
      if (!inMemory && !file.startsWith('file:')) mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      raw = new Database(file, { timeout: 0 });
    } catch (err) {
      throw toStorageError(err, `cannot open SQLite database ${file}`);
    }
    const db = new SqliteDatabase(raw, config.busyTimeoutMs ?? 5000, config.detectReentry ?? process.env.NODE_ENV === 'test');
    try {
      raw.pragma('busy_timeout = 0');
      await db.retryBusy(() => raw.pragma('journal_mode = WAL'));
      raw.pragma(`synchronous = ${config.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
      raw.pragma('foreign_keys = ON');
    } catch (err) {
      raw.close();
      throw toStorageError(err, `cannot initialise SQLite database ${file}`);
    }
    return db;
  }

  // ---- statement execution (callers hold the mutex) ----

  private prepare(sql: string): Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      if (this.statements.size >= STATEMENT_CACHE_LIMIT) this.statements.clear();
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  /** @internal */
  runQuery<T>(sql: string, params: readonly SqlValue[]): T[] {
    try {
      const stmt = this.prepare(sql);
      const bound = params.map(normaliseParam);
      if (!stmt.reader) {
        stmt.run(...bound);
        return [];
      }
      return stmt.all(...bound) as T[];
    } catch (err) {
      throw toStorageError(err);
    }
  }

  /** @internal */
  runExecute(sql: string, params: readonly SqlValue[]): ExecuteResult {
    try {
      const stmt = this.prepare(sql);
      const bound = params.map(normaliseParam);
      if (stmt.reader) {
        const rows = stmt.all(...bound);
        return { affectedRows: rows.length, insertId: 0 };
      }
      const r = stmt.run(...bound);
      const insertId = r.changes > 0 && INSERT_RE.test(sql) ? Number(r.lastInsertRowid) : 0;
      return { affectedRows: r.changes, insertId };
    } catch (err) {
      throw toStorageError(err);
    }
  }

  /** Runs a synchronous operation, retrying asynchronously while the database is locked by someone else. */
  private async retryBusy<T>(op: () => T): Promise<T> {
    const deadline = Date.now() + this.busyTimeoutMs;
    let delay = 1;
    for (;;) {
      try {
        return op();
      } catch (err) {
        const cause = err instanceof StorageError ? err.cause : err;
        if (!isBusy(cause) || Date.now() >= deadline) throw toStorageError(err);
        await sleep(delay * (0.5 + Math.random()));
        delay = Math.min(delay * 2, 25);
      }
    }
  }

  // ---- mutex handling ----

  private ensureOpen(): void {
    if (this.closed) throw new StorageError('UNAVAILABLE', 'SQLite store is closed');
  }

  private checkReentry(): void {
    if (!this.detectReentry) return;
    const hold = holdStorage.getStore();
    if (hold && hold.active && hold.owner === this) {
      throw new StorageError(
        'INTERNAL',
        'statement issued on the database object inside its own transaction/withConnection callback; use the executor passed to the callback',
      );
    }
  }

  private locked<T>(fn: (hold: Hold) => Promise<T>): Promise<T> {
    this.ensureOpen();
    this.checkReentry();
    return this.mutex.run(async () => {
      this.ensureOpen();
      const hold: Hold = { owner: this, active: true };
      try {
        return await (this.detectReentry ? holdStorage.run(hold, () => fn(hold)) : fn(hold));
      } finally {
        hold.active = false;
      }
    });
  }

  // ---- SqlDatabase ----

  async query<T = Record<string, unknown>>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.locked(() => this.retryBusy(() => this.runQuery<T>(sql, params)));
  }

  async execute(sql: string, params: readonly SqlValue[] = []): Promise<ExecuteResult> {
    return this.locked(() => this.retryBusy(() => this.runExecute(sql, params)));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.locked(async (hold) => {
      await this.retryBusy(() => this.db.exec('BEGIN IMMEDIATE'));
      let result: T;
      try {
        result = await fn(new HeldExecutor(this, hold));
      } catch (err) {
        try {
          if (this.db.inTransaction) this.db.exec('ROLLBACK');
        } catch {
          /* the original error matters more */
        }
        throw err;
      }
      try {
        // In WAL mode COMMIT does not wait for readers, but a busy COMMIT leaves the transaction open and retryable.
        await this.retryBusy(() => this.db.exec('COMMIT'));
      } catch (err) {
        try {
          if (this.db.inTransaction) this.db.exec('ROLLBACK');
        } catch {
          /* ignore */
        }
        throw toStorageError(err, 'commit failed');
      }
      return result;
    });
  }

  withConnection<T>(fn: (conn: SqlExecutor) => Promise<T>): Promise<T> {
    return this.locked((hold) => fn(new HeldExecutor(this, hold)));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Let already queued work finish, then close.
    await this.mutex.run(async () => {
      if (this.closed) return;
      this.closed = true;
      this.statements.clear();
      this.db.close();
    });
  }
}
