/**
 * Errors thrown by @tt/storage. Every failure that leaves this package is a StorageError so callers
 * (db_proxy, the admin CLI) can map it to a protocol result without knowing the SQL driver.
 */
export type StorageErrorCode =
  /** A UNIQUE / PRIMARY KEY constraint was violated (e.g. a user name already taken). */
  | 'DUPLICATE'
  /** The row the operation needs does not exist. */
  | 'NOT_FOUND'
  /** The caller passed something unusable (bad MD5 hex, unknown session type, ...). */
  | 'INVALID_ARGUMENT'
  /** Lost a race with another writer (deadlock, lock wait timeout, SQLite busy); retrying may succeed. */
  | 'CONFLICT'
  /** The database cannot be reached / the store is closed. */
  | 'UNAVAILABLE'
  /** Anything else (SQL error, bug). */
  | 'INTERNAL';

export class StorageError extends Error {
  override readonly name = 'StorageError';
  readonly code: StorageErrorCode;

  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isStorageError(err: unknown, code?: StorageErrorCode): err is StorageError {
  return err instanceof StorageError && (code === undefined || err.code === code);
}

interface DriverError {
  code?: unknown;
  errno?: unknown;
  message?: unknown;
  fatal?: unknown;
}

const MYSQL_UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_NORMAL_SHUTDOWN',
  'ER_SHUTDOWN_COMPLETE',
  'ER_CONNECTION_KILLED',
  'ER_QUERY_INTERRUPTED',
  'POOL_CLOSED',
]);

const INVALID_VALUE_CODES = new Set([
  'ER_DATA_TOO_LONG',
  'ER_WARN_DATA_OUT_OF_RANGE',
  'ER_TRUNCATED_WRONG_VALUE',
  'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD',
  'ER_BAD_NULL_ERROR',
  'SQLITE_CONSTRAINT_DATATYPE',
  'SQLITE_CONSTRAINT_NOTNULL',
  'SQLITE_TOOBIG',
]);

/** Driver error (mysql2 or better-sqlite3) -> StorageError. Messages carry the driver text, never SQL parameters. */
export function toStorageError(err: unknown, context?: string): StorageError {
  if (err instanceof StorageError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as DriverError;
  const code = typeof e.code === 'string' ? e.code : '';
  const errno = typeof e.errno === 'number' ? e.errno : 0;
  const text = typeof e.message === 'string' ? e.message : String(err);
  const message = context ? `${context}: ${text}` : text;

  // mysql2 attaches the statement with its parameters interpolated (e.g. a password hash) as `.sql`:
  // drop it so logging the cause can never leak data.
  if (typeof err === 'object' && err !== null && 'sql' in err) {
    try {
      delete (err as { sql?: unknown }).sql;
    } catch {
      /* ignore */
    }
  }

  let mapped: StorageErrorCode = 'INTERNAL';
  if (code === 'ER_DUP_ENTRY' || errno === 1062) mapped = 'DUPLICATE';
  else if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') mapped = 'DUPLICATE';
  else if (code === 'ER_LOCK_DEADLOCK' || errno === 1213 || code === 'ER_LOCK_WAIT_TIMEOUT' || errno === 1205) mapped = 'CONFLICT';
  else if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) mapped = 'CONFLICT';
  else if (INVALID_VALUE_CODES.has(code)) mapped = 'INVALID_ARGUMENT';
  else if (MYSQL_UNAVAILABLE_CODES.has(code) || e.fatal === true) mapped = 'UNAVAILABLE';
  else if (code === 'SQLITE_CANTOPEN' || code === 'SQLITE_NOTADB' || code === 'SQLITE_IOERR' || code.startsWith('SQLITE_CANTOPEN')) mapped = 'UNAVAILABLE';
  else if (err instanceof TypeError && /database connection is not open/i.test(text)) mapped = 'UNAVAILABLE';

  return new StorageError(mapped, message, { cause: err });
}
