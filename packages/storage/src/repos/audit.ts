import { SqlDatabase, SqlValue } from '../db';
import { StorageError } from '../errors';
import { AdminPage, AuditRecord } from '../model';
import { text, u32 } from '../validate';

interface AuditRow {
  id: number;
  actor: string;
  action: string;
  target: string;
  detail: string;
  at_ms: number | string;
}

/** Largest detail kept (bytes of UTF-8): the request's relevant fields, not whole bodies. */
export const MAX_AUDIT_DETAIL_BYTES = 8 * 1024;
/** Largest page of the audit log. */
export const MAX_AUDIT_PAGE = 200;

function toRecord(r: AuditRow): AuditRecord {
  return { id: Number(r.id), actor: r.actor, action: r.action, target: r.target, detail: r.detail, atMs: Number(r.at_ms) };
}

/** The operator API's audit log (im_audit_log): who did what to what, when. Append-only. */
export class AuditLogRepository {
  constructor(
    private readonly db: SqlDatabase,
    /** Clock in unix milliseconds. */
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Appends one entry. Bad or too-long fields -> 'INVALID_ARGUMENT'. */
  async append(entry: { actor: string; action: string; target?: string; detail?: string }): Promise<AuditRecord> {
    const actor = text('actor', entry.actor, 128, false);
    const action = text('action', entry.action, 64, false);
    const target = text('target', entry.target ?? '', 128);
    const detail = typeof entry.detail === 'string' ? entry.detail : '';
    if (entry.detail !== undefined && typeof entry.detail !== 'string') throw new StorageError('INVALID_ARGUMENT', 'detail must be a string');
    if (Buffer.byteLength(detail, 'utf8') > MAX_AUDIT_DETAIL_BYTES) throw new StorageError('INVALID_ARGUMENT', `detail is longer than ${MAX_AUDIT_DETAIL_BYTES} bytes`);
    const atMs = this.nowMs();
    const res = await this.db.execute('INSERT INTO im_audit_log (actor, action, target, detail, at_ms) VALUES (?, ?, ?, ?, ?)', [actor, action, target, detail, atMs]);
    return { id: res.insertId, actor, action, target, detail, atMs };
  }

  /**
   * Entries newest first, optionally only one actor's and/or one action's; `beforeId` is the last
   * id of the previous page. `next` is the id to pass for the following page. total is not counted (-1).
   */
  async list(query: { actor?: string; action?: string; beforeId?: number; limit: number }): Promise<AdminPage<AuditRecord>> {
    const limit = u32('limit', query.limit);
    if (limit === 0 || limit > MAX_AUDIT_PAGE) throw new StorageError('INVALID_ARGUMENT', `limit must be 1 to ${MAX_AUDIT_PAGE}`);
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (query.actor !== undefined) {
      where.push('actor = ?');
      params.push(text('actor', query.actor, 128));
    }
    if (query.action !== undefined) {
      where.push('action = ?');
      params.push(text('action', query.action, 64));
    }
    if (query.beforeId !== undefined && query.beforeId !== 0) {
      where.push('id < ?');
      params.push(u32('beforeId', query.beforeId));
    }
    const rows = await this.db.query<AuditRow>(
      `SELECT id, actor, action, target, detail, at_ms FROM im_audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ${limit + 1}`,
      params,
    );
    const items = rows.slice(0, limit).map(toRecord);
    return { items, next: rows.length > limit ? items[items.length - 1]!.id : null, total: -1 };
  }
}
