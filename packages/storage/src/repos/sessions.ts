import { SqlDatabase } from '../db';
import { RecentSession, SessionStatus, SessionType, UnreadSession } from '../model';
import { asBuffer, sessionType, u32 } from '../validate';

interface SessionRow {
  session_type: number;
  peer_id: number;
  status: number;
  unread_cnt: number;
  read_msg_id: number;
  created: number;
  updated: number;
  last_msg_id: number | null;
  last_from_id: number | null;
  last_msg_type: number | null;
  last_msg_data: unknown;
  last_updated: number | null;
}

/*
 * im_recent_session r joined with its conversation: single chat (1, min(user, peer), max(user, peer)),
 * group chat (2, peer, 0). Portable CASE expressions instead of LEAST/min().
 */
const SELECT_WITH_SUMMARY = `
  SELECT r.session_type, r.peer_id, r.status, r.unread_cnt, r.read_msg_id, r.created, r.updated,
         c.last_msg_id, c.last_from_id, c.last_msg_type, c.last_msg_data, c.updated AS last_updated
  FROM im_recent_session r
  LEFT JOIN im_conversation c
    ON c.session_type = r.session_type
   AND c.id_a = CASE WHEN r.session_type = ${SessionType.SINGLE} AND r.user_id < r.peer_id THEN r.user_id ELSE r.peer_id END
   AND c.id_b = CASE WHEN r.session_type <> ${SessionType.SINGLE} THEN 0 WHEN r.user_id < r.peer_id THEN r.peer_id ELSE r.user_id END`;

function summary(r: SessionRow) {
  return {
    latestMsgId: Number(r.last_msg_id ?? 0),
    latestMsgData: asBuffer(r.last_msg_data),
    latestMsgType: Number(r.last_msg_type ?? 0),
    latestFromId: Number(r.last_from_id ?? 0),
    latestMsgTime: Number(r.last_updated ?? 0),
  };
}

function toUnread(r: SessionRow): UnreadSession {
  return { sessionType: Number(r.session_type), peerId: Number(r.peer_id), unreadCnt: Number(r.unread_cnt), ...summary(r) };
}

function toRecent(r: SessionRow): RecentSession {
  return {
    sessionType: Number(r.session_type),
    peerId: Number(r.peer_id),
    status: Number(r.status),
    unreadCnt: Number(r.unread_cnt),
    readMsgId: Number(r.read_msg_id),
    created: Number(r.created),
    updated: Number(r.updated),
    ...summary(r),
  };
}

export interface RecentSinceOptions {
  /** Also return sessions the user deleted (status 1), so an incremental sync can drop them. Default false. */
  includeDeleted?: boolean;
}

export class SessionRepository {
  constructor(
    private readonly db: SqlDatabase,
    private readonly now: () => number,
  ) {}

  /** Sessions with unread messages (unread_cnt > 0), most recently updated first. */
  async unreadList(userId: number): Promise<UnreadSession[]> {
    const rows = await this.db.query<SessionRow>(
      `${SELECT_WITH_SUMMARY} WHERE r.user_id = ? AND r.unread_cnt > 0 ORDER BY r.updated DESC, r.session_type, r.peer_id`,
      [u32('userId', userId)],
    );
    return rows.map(toUnread);
  }

  /** unread_cnt = 0 and read_msg_id = max(read_msg_id, msgId). Returns false if the session does not exist. */
  async markRead(userId: number, type: number, peerId: number, msgId: number): Promise<boolean> {
    const id = u32('msgId', msgId);
    const res = await this.db.execute(
      `UPDATE im_recent_session SET unread_cnt = 0, read_msg_id = CASE WHEN read_msg_id < ? THEN ? ELSE read_msg_id END
       WHERE user_id = ? AND session_type = ? AND peer_id = ?`,
      [id, id, u32('userId', userId), sessionType(type), u32('peerId', peerId)],
    );
    return res.affectedRows > 0;
  }

  /**
   * Like markRead, and returns the read position now stored (never moved backwards; 0 if the user
   * has no such session).
   */
  async markReadUpTo(userId: number, type: number, peerId: number, msgId: number): Promise<number> {
    await this.markRead(userId, type, peerId, msgId);
    const rows = await this.db.query<{ read_msg_id: number }>(
      'SELECT read_msg_id FROM im_recent_session WHERE user_id = ? AND session_type = ? AND peer_id = ?',
      [u32('userId', userId), sessionType(type), u32('peerId', peerId)],
    );
    return rows[0] ? Number(rows[0].read_msg_id) : 0;
  }

  /**
   * Recent sessions with updated > updatedAfter, newest first, each with its conversation's
   * latest-message summary (zeros / empty data if it has no message yet).
   */
  async recentSince(userId: number, updatedAfter: number, limit = 100, opts: RecentSinceOptions = {}): Promise<RecentSession[]> {
    const statusFilter = opts.includeDeleted ? '' : ` AND r.status = ${SessionStatus.OK}`;
    const rows = await this.db.query<SessionRow>(
      `${SELECT_WITH_SUMMARY} WHERE r.user_id = ? AND r.updated > ?${statusFilter}
       ORDER BY r.updated DESC, r.session_type, r.peer_id LIMIT ?`,
      [u32('userId', userId), u32('updatedAfter', updatedAfter), u32('limit', limit)],
    );
    return rows.map(toRecent);
  }

  /**
   * The user's sessions (not deleted) changed at or after `sinceSeconds` (0: all), newest first, at
   * most `limit`, each with its latest-message summary: what a hot-session sync sends.
   */
  async changedSince(userId: number, sinceSeconds: number, limit: number): Promise<RecentSession[]> {
    const rows = await this.db.query<SessionRow>(
      `${SELECT_WITH_SUMMARY} WHERE r.user_id = ? AND r.updated >= ? AND r.status = ${SessionStatus.OK}
       ORDER BY r.updated DESC, r.session_type, r.peer_id LIMIT ?`,
      [u32('userId', userId), u32('sinceSeconds', sinceSeconds), u32('limit', limit)],
    );
    return rows.map(toRecent);
  }

  /**
   * Creates the session (or revives a deleted one) without a message, e.g. when a user opens a chat
   * or joins a group. `updated` = now.
   */
  async touch(userId: number, type: number, peerId: number): Promise<void> {
    const now = this.now();
    const params = [u32('userId', userId), sessionType(type), u32('peerId', peerId), now, now];
    const insert = `INSERT INTO im_recent_session (user_id, session_type, peer_id, status, unread_cnt, read_msg_id, created, updated)
                    VALUES (?, ?, ?, ${SessionStatus.OK}, 0, 0, ?, ?)`;
    await this.db.execute(
      this.db.dialect === 'mysql'
        ? `${insert} ON DUPLICATE KEY UPDATE status = ${SessionStatus.OK}, updated = VALUES(updated)`
        : `${insert} ON CONFLICT (user_id, session_type, peer_id) DO UPDATE SET status = ${SessionStatus.OK}, updated = excluded.updated`,
      params,
    );
  }

  /**
   * Deletes the session from the user's list: status = deleted, unread cleared, updated = now.
   * A later message revives it. Returns false if it did not exist.
   */
  async remove(userId: number, type: number, peerId: number): Promise<boolean> {
    const res = await this.db.execute(
      `UPDATE im_recent_session SET status = ?, unread_cnt = 0, updated = ? WHERE user_id = ? AND session_type = ? AND peer_id = ?`,
      [SessionStatus.DELETED, this.now(), u32('userId', userId), sessionType(type), u32('peerId', peerId)],
    );
    return res.affectedRows > 0;
  }
}
