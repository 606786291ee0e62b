import { SqlDatabase, SqlExecutor, SqlValue } from '../db';
import { USER_COLUMNS, toUser, type UserRow } from './users';
import { StorageError } from '../errors';
import {
  AdminPage,
  ConversationKey,
  Department,
  DepartStatus,
  FoundMessage,
  GroupListing,
  GroupMemberStatus,
  GroupStatus,
  MessagePosition,
  SessionType,
  SessionTypeValue,
  User,
} from '../model';
import { retryOnConflict } from '../retry';
import { asBuffer, sessionType, text, u32 } from '../validate';

/** Largest page of users, groups or messages an operator query returns. */
export const MAX_ADMIN_PAGE = 200;
/** Longest search text (characters). */
const MAX_SEARCH_CHARS = 64;

const DEPART_COLUMNS = 'id, name, priority, parent_id, status, created, updated';

interface DepartRow {
  id: number;
  name: string;
  priority: number;
  parent_id: number;
  status: number;
  created: number;
  updated: number;
}

interface GroupRow {
  id: number;
  name: string;
  avatar: string;
  creator_id: number;
  type: number;
  version: number;
  created: number;
  updated: number;
  description: string;
  member_limit: number;
  member_count: number | string;
}

interface MessageRow {
  session_type: number;
  id_a: number;
  id_b: number;
  msg_id: number;
  from_id: number;
  to_id: number;
  msg_type: number;
  content: unknown;
  created: number;
  extra: unknown;
  status: number;
  recalled_by: number;
  recalled_at_ms: number | string;
}

const toDepartment = (r: DepartRow): Department => ({
  id: Number(r.id),
  name: r.name,
  priority: Number(r.priority),
  parentId: Number(r.parent_id),
  status: Number(r.status),
  created: Number(r.created),
  updated: Number(r.updated),
});

const toGroupListing = (r: GroupRow): GroupListing => ({
  id: Number(r.id),
  name: r.name,
  avatar: r.avatar,
  creatorId: Number(r.creator_id),
  type: Number(r.type),
  memberCount: Number(r.member_count),
  memberLimit: Number(r.member_limit),
  version: Number(r.version),
  description: r.description,
  created: Number(r.created),
  updated: Number(r.updated),
});

function toFound(r: MessageRow): FoundMessage {
  const m: FoundMessage = {
    key: { sessionType: Number(r.session_type) as SessionTypeValue, idA: Number(r.id_a), idB: Number(r.id_b) },
    msgId: Number(r.msg_id),
    fromId: Number(r.from_id),
    toId: Number(r.to_id),
    msgType: Number(r.msg_type),
    data: asBuffer(r.content),
    createTime: Number(r.created),
  };
  if (r.extra !== null && r.extra !== undefined) m.extra = asBuffer(r.extra);
  if (Number(r.status) === 1) m.recalled = { by: Number(r.recalled_by), atMs: Number(r.recalled_at_ms) };
  return m;
}

function pageLimit(value: unknown): number {
  const limit = u32('limit', value);
  if (limit === 0 || limit > MAX_ADMIN_PAGE) throw new StorageError('INVALID_ARGUMENT', `limit must be 1 to ${MAX_ADMIN_PAGE}`);
  return limit;
}

/** `LIKE ? ESCAPE '!'` pattern for "contains", lower-cased (columns are compared with LOWER()). */
function containsPattern(search: unknown): string {
  const s = text('search', search, MAX_SEARCH_CHARS);
  return `%${s.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

const whereClause = (where: readonly string[]) => (where.length ? `WHERE ${where.join(' AND ')}` : '');

/**
 * What the operator API reads and changes beyond the clients' own paths: paged user and group
 * listings with search, department edits, and history search across conversations. Every page is
 * keyset-paged (the last row's key is the cursor) so deep pages cost what the first one does.
 */
export class AdminRepository {
  constructor(
    private readonly db: SqlDatabase,
    private readonly now: () => number,
  ) {}

  /**
   * Users by id, `search` contained (any case) in name, nick, real name, phone or email, and/or in
   * one department; `afterId` is the previous page's last id. total counts every match.
   */
  async searchUsers(query: { search?: string; departId?: number; afterId?: number; limit: number }): Promise<AdminPage<User>> {
    const limit = pageLimit(query.limit);
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (query.search !== undefined && query.search !== '') {
      const pattern = containsPattern(query.search);
      where.push(`(${['name', 'nick', 'real_name', 'phone', 'email'].map((c) => `LOWER(${c}) LIKE ? ESCAPE '!'`).join(' OR ')})`);
      params.push(pattern, pattern, pattern, pattern, pattern);
    }
    if (query.departId !== undefined) {
      where.push('depart_id = ?');
      params.push(u32('departId', query.departId));
    }
    const [{ n }] = (await this.db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM im_user ${whereClause(where)}`, params)) as [{ n: number | string }];
    const afterId = u32('afterId', query.afterId ?? 0);
    const rows = await this.db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM im_user ${whereClause([...where, 'id > ?'])} ORDER BY id LIMIT ${limit + 1}`, [...params, afterId]);
    const items = rows.slice(0, limit).map(toUser);
    return { items, next: rows.length > limit ? items[items.length - 1]!.id : null, total: Number(n) };
  }

  /** Departments that are not deleted, by priority then id. */
  async listDepartments(): Promise<Department[]> {
    const rows = await this.db.query<DepartRow>(`SELECT ${DEPART_COLUMNS} FROM im_depart WHERE status = ? ORDER BY priority, id`, [DepartStatus.OK]);
    return rows.map(toDepartment);
  }

  /**
   * Renames, moves or re-orders a department; `updated` moves forward so clients' incremental sync
   * sees it. Unknown or deleted id -> 'NOT_FOUND'; taken name -> 'DUPLICATE'; a parent that is
   * missing, itself or one of its own sub-departments -> 'INVALID_ARGUMENT'.
   */
  async updateDepartment(id: number, patch: { name?: string; parentId?: number; priority?: number }): Promise<Department> {
    u32('id', id);
    const sets: string[] = [];
    const params: SqlValue[] = [];
    if (patch.name !== undefined) {
      sets.push('name = ?');
      params.push(text('name', patch.name, 64, false));
    }
    if (patch.priority !== undefined) {
      sets.push('priority = ?');
      params.push(u32('priority', patch.priority));
    }
    const parentId = patch.parentId === undefined ? undefined : u32('parentId', patch.parentId);
    if (parentId !== undefined) {
      sets.push('parent_id = ?');
      params.push(parentId);
    }
    if (sets.length === 0) throw new StorageError('INVALID_ARGUMENT', 'nothing to change');
    return retryOnConflict(() =>
      this.db.transaction(async (tx) => {
        const current = await activeDepartment(tx, id);
        if (parentId !== undefined && parentId !== 0) await checkParent(tx, id, parentId);
        const now = this.now();
        try {
          await tx.execute(`UPDATE im_depart SET ${sets.join(', ')}, updated = ? WHERE id = ?`, [...params, Math.max(now, current.updated + 1), id]);
        } catch (err) {
          if (err instanceof StorageError && err.code === 'DUPLICATE') throw new StorageError('DUPLICATE', `department name ${JSON.stringify(patch.name)} is taken`, { cause: err });
          throw err;
        }
        return activeDepartment(tx, id);
      }),
    );
  }

  /**
   * Deletes a department (marked deleted, so clients learn of it) unless users or sub-departments
   * are still in it: then nothing changes and the answer says what is in the way.
   * Unknown or already deleted id -> 'NOT_FOUND'.
   */
  async deleteDepartment(id: number): Promise<{ deleted: true } | { deleted: false; users: number; subDepartments: number }> {
    u32('id', id);
    return retryOnConflict(() =>
      this.db.transaction(async (tx) => {
        const current = await activeDepartment(tx, id);
        const [u] = await tx.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM im_user WHERE depart_id = ?', [id]);
        const [d] = await tx.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM im_depart WHERE parent_id = ? AND status = ?', [id, DepartStatus.OK]);
        const users = Number(u?.n ?? 0);
        const subDepartments = Number(d?.n ?? 0);
        if (users > 0 || subDepartments > 0) return { deleted: false as const, users, subDepartments };
        await tx.execute('UPDATE im_depart SET status = ?, updated = ? WHERE id = ?', [DepartStatus.DELETED, Math.max(this.now(), current.updated + 1), id]);
        return { deleted: true as const };
      }),
    );
  }

  /**
   * Active groups by id: `search` contained (any case) in the name, `userId` one of the members;
   * `afterId` is the previous page's last id. total counts every match.
   */
  async listGroups(query: { search?: string; userId?: number; afterId?: number; limit: number }): Promise<AdminPage<GroupListing>> {
    const limit = pageLimit(query.limit);
    const where = ['g.status = ?'];
    const params: SqlValue[] = [GroupStatus.ACTIVE];
    if (query.search !== undefined && query.search !== '') {
      where.push(`LOWER(g.name) LIKE ? ESCAPE '!'`);
      params.push(containsPattern(query.search));
    }
    if (query.userId !== undefined) {
      // idx_group_member_user (user_id, status) finds the user's groups.
      where.push('g.id IN (SELECT group_id FROM im_group_member WHERE user_id = ? AND status = ?)');
      params.push(u32('userId', query.userId), GroupMemberStatus.MEMBER);
    }
    const [{ n }] = (await this.db.query<{ n: number | string }>(`SELECT COUNT(*) AS n FROM im_group g ${whereClause(where)}`, params)) as [{ n: number | string }];
    const afterId = u32('afterId', query.afterId ?? 0);
    const rows = await this.db.query<GroupRow>(
      `SELECT g.id, g.name, g.avatar, g.creator_id, g.type, g.version, g.created, g.updated, g.description, g.member_limit,
         (SELECT COUNT(*) FROM im_group_member m WHERE m.group_id = g.id AND m.status = ?) AS member_count
       FROM im_group g ${whereClause([...where, 'g.id > ?'])} ORDER BY g.id LIMIT ${limit + 1}`,
      [GroupMemberStatus.MEMBER, ...params, afterId],
    );
    const items = rows.slice(0, limit).map(toGroupListing);
    return { items, next: rows.length > limit ? items[items.length - 1]!.id : null, total: Number(n) };
  }

  /**
   * Stored messages newest first, of one conversation (its primary key) and/or from one sender
   * (idx_message_from), optionally within [sinceSec, untilSec] (create time, inclusive). One of
   * conversation and fromId is required (a search of everything would scan the whole table).
   * `after` is the previous page's `next`. Chat rooms are not searched. total is not counted (-1).
   */
  async searchMessages(query: {
    conversation?: ConversationKey;
    fromId?: number;
    sinceSec?: number;
    untilSec?: number;
    after?: MessagePosition;
    limit: number;
  }): Promise<AdminPage<FoundMessage, MessagePosition>> {
    const limit = pageLimit(query.limit);
    const where: string[] = [];
    const params: SqlValue[] = [];
    const conversation = query.conversation;
    if (conversation) {
      sessionType(conversation.sessionType);
      where.push('session_type = ? AND id_a = ? AND id_b = ?');
      params.push(conversation.sessionType, u32('conversation.idA', conversation.idA), u32('conversation.idB', conversation.idB));
    }
    if (query.fromId !== undefined) {
      where.push('from_id = ?');
      params.push(u32('fromId', query.fromId));
    }
    if (!conversation && query.fromId === undefined) throw new StorageError('INVALID_ARGUMENT', 'a conversation or a sender (fromId) is required');
    if (!conversation) {
      where.push('session_type IN (?, ?)');
      params.push(SessionType.SINGLE, SessionType.GROUP);
    }
    if (query.sinceSec !== undefined) {
      where.push('created >= ?');
      params.push(u32('since', query.sinceSec));
    }
    if (query.untilSec !== undefined) {
      where.push('created <= ?');
      params.push(u32('until', query.untilSec));
    }
    const after = query.after;
    let order: string;
    if (conversation) {
      // Within one conversation msg_id is the order (the primary key's last column).
      if (after) {
        where.push('msg_id < ?');
        params.push(u32('cursor', after.msgId));
      }
      order = 'msg_id DESC';
    } else {
      // Across conversations: by create time, then the message's key, so the order is total.
      if (after) {
        where.push('(created < ? OR (created = ? AND (session_type < ? OR (session_type = ? AND (id_a < ? OR (id_a = ? AND (id_b < ? OR (id_b = ? AND msg_id < ?))))))))');
        const [c, s, a, b, m] = [after.created, after.sessionType, after.idA, after.idB, after.msgId].map((v) => u32('cursor', v)) as [number, number, number, number, number];
        params.push(c, c, s, s, a, a, b, b, m);
      }
      order = 'created DESC, session_type DESC, id_a DESC, id_b DESC, msg_id DESC';
    }
    const rows = await this.db.query<MessageRow>(
      `SELECT session_type, id_a, id_b, msg_id, from_id, to_id, msg_type, content, created, extra, status, recalled_by, recalled_at_ms
       FROM im_message ${whereClause(where)} ORDER BY ${order} LIMIT ${limit + 1}`,
      params,
    );
    const items = rows.slice(0, limit).map(toFound);
    const last = items[items.length - 1];
    const next = rows.length > limit && last ? { created: last.createTime, sessionType: last.key.sessionType, idA: last.key.idA, idB: last.key.idB, msgId: last.msgId } : null;
    return { items, next, total: -1 };
  }
}

/** The department's row, which must exist and not be deleted (MySQL: locked until the transaction ends). */
async function activeDepartment(tx: SqlExecutor, id: number): Promise<Department> {
  const rows = await tx.query<DepartRow>(`SELECT ${DEPART_COLUMNS} FROM im_depart WHERE id = ?${tx.dialect === 'mysql' ? ' FOR UPDATE' : ''}`, [id]);
  const row = rows[0];
  if (!row || Number(row.status) !== DepartStatus.OK) throw new StorageError('NOT_FOUND', `no department ${id}`);
  return toDepartment(row);
}

/** A new parent must be an active department that is neither the department nor below it. */
async function checkParent(tx: SqlExecutor, id: number, parentId: number): Promise<void> {
  // Walk up from the new parent; departments are shallow, and the walk stops at a cycle anyway.
  const seen = new Set<number>();
  for (let at = parentId; at !== 0; ) {
    if (at === id) throw new StorageError('INVALID_ARGUMENT', 'parentId would put the department inside itself');
    if (seen.has(at)) break;
    seen.add(at);
    const rows = await tx.query<{ parent_id: number; status: number }>('SELECT parent_id, status FROM im_depart WHERE id = ?', [at]);
    const row = rows[0];
    if (!row || (at === parentId && Number(row.status) !== DepartStatus.OK)) throw new StorageError('INVALID_ARGUMENT', `parentId ${parentId} is not a department`);
    at = Number(row.parent_id);
  }
}
