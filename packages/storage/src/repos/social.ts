import { SqlDatabase, SqlDialect, SqlValue } from '../db';
import { StorageError } from '../errors';
import { Friend, FriendStatus, SessionAttribute, SessionRef, SessionTypeValue, UserAttribute } from '../model';
import { retryOnConflict } from '../retry';
import { chunks, placeholders, sessionType, text, u32, u32List } from '../validate';

const ID_CHUNK = 500;
const MAX_NAME = 64;
const MAX_VALUE = 1024;
const MAX_REMARK = 255;

/** The session attribute that stops pushes for a conversation. */
export const MUTE_ATTRIBUTE = 'mute';

/** Whether a "mute" value mutes: anything but "", "0" and "false". */
export function isMuteOn(value: string): boolean {
  return value !== '' && value !== '0' && value !== 'false';
}

/** "INSERT … ON DUPLICATE KEY UPDATE" (MySQL) or "… ON CONFLICT (key) DO UPDATE" (SQLite); `set` uses `new.<column>` for the inserted value. */
function upsert(dialect: SqlDialect, insert: string, key: string, set: string): string {
  return dialect === 'mysql'
    ? `${insert} ON DUPLICATE KEY UPDATE ${set.replace(/\bnew\.(\w+)/g, 'VALUES($1)')}`
    : `${insert} ON CONFLICT (${key}) DO UPDATE SET ${set.replace(/\bnew\./g, 'excluded.')}`;
}

interface FriendRow {
  user_id: number;
  friend_id: number;
  remark: string;
  status: number;
  created: number;
  updated: number;
}

const FRIEND_COLUMNS = 'user_id, friend_id, remark, status, created, updated';

const toFriend = (r: FriendRow): Friend => ({
  userId: Number(r.user_id),
  friendId: Number(r.friend_id),
  remark: r.remark,
  status: Number(r.status),
  created: Number(r.created),
  updated: Number(r.updated),
});

/**
 * Friendships (im_friend). A friendship is mutual and stored as two rows, one per side, each
 * with that side's own remark; removing marks both rows removed (status 1) so an incremental
 * sync (`since`) sees the removal.
 */
export class FriendRepository {
  constructor(
    private readonly db: SqlDatabase,
    private readonly now: () => number,
  ) {}

  /**
   * Makes userId and friendId friends on both sides. userId's remark is set (adding again only
   * changes it); friendId's row keeps its own remark ('' when new) and is touched only when it
   * was not active. Returns true when the friendship is new (it was not active before).
   */
  async add(userId: number, friendId: number, remark: string): Promise<boolean> {
    const uid = u32('userId', userId);
    const fid = u32('friendId', friendId);
    const rem = text('remark', remark, MAX_REMARK);
    if (uid === fid) throw new StorageError('INVALID_ARGUMENT', 'a user cannot be their own friend');
    const insert = 'INSERT INTO im_friend (user_id, friend_id, remark, status, created, updated) VALUES (?, ?, ?, ?, ?, ?)';
    const key = 'user_id, friend_id';
    return retryOnConflict(() =>
      this.db.transaction(async (tx) => {
        const now = this.now();
        const before = await tx.query<{ status: number }>('SELECT status FROM im_friend WHERE user_id = ? AND friend_id = ?', [uid, fid]);
        const wasActive = before[0] !== undefined && Number(before[0].status) === FriendStatus.ACTIVE;
        await tx.execute(upsert(tx.dialect, insert, key, `remark = new.remark, status = ${FriendStatus.ACTIVE}, updated = new.updated`), [uid, fid, rem, FriendStatus.ACTIVE, now, now]);
        // `updated` first: MySQL evaluates SET assignments left to right, so status must still be the old one.
        await tx.execute(
          upsert(tx.dialect, insert, key, `updated = CASE WHEN status = ${FriendStatus.ACTIVE} THEN updated ELSE new.updated END, status = ${FriendStatus.ACTIVE}`),
          [fid, uid, '', FriendStatus.ACTIVE, now, now],
        );
        return !wasActive;
      }),
      ['DUPLICATE'],
    );
  }

  /** Ends the friendship on both sides. Returns true when it was active (on either side). */
  async remove(userId: number, friendId: number): Promise<boolean> {
    const uid = u32('userId', userId);
    const fid = u32('friendId', friendId);
    const res = await this.db.execute(
      `UPDATE im_friend SET status = ${FriendStatus.REMOVED}, updated = ?
       WHERE ((user_id = ? AND friend_id = ?) OR (user_id = ? AND friend_id = ?)) AND status = ${FriendStatus.ACTIVE}`,
      [this.now(), uid, fid, fid, uid],
    );
    return res.affectedRows > 0;
  }

  /**
   * userId's rows changed at or after `sinceSeconds` (removed ones included, status 1), oldest
   * change first; since 0: every current friend and nothing removed.
   */
  async since(userId: number, sinceSeconds: number): Promise<Friend[]> {
    const uid = u32('userId', userId);
    const since = u32('sinceSeconds', sinceSeconds);
    const rows =
      since === 0
        ? await this.db.query<FriendRow>(`SELECT ${FRIEND_COLUMNS} FROM im_friend WHERE user_id = ? AND status = ${FriendStatus.ACTIVE} ORDER BY updated, friend_id`, [uid])
        : await this.db.query<FriendRow>(`SELECT ${FRIEND_COLUMNS} FROM im_friend WHERE user_id = ? AND updated >= ? ORDER BY updated, friend_id`, [uid, since]);
    return rows.map(toFriend);
  }

  async isFriend(userId: number, friendId: number): Promise<boolean> {
    const rows = await this.db.query(`SELECT 1 AS x FROM im_friend WHERE user_id = ? AND friend_id = ? AND status = ${FriendStatus.ACTIVE}`, [
      u32('userId', userId),
      u32('friendId', friendId),
    ]);
    return rows.length > 0;
  }
}

interface UserAttributeRow {
  user_id: number;
  target_id: number;
  name: string;
  value: string;
  updated: number;
}

/** A user's named attributes about other users (im_user_attr). */
export class UserAttributeRepository {
  constructor(
    private readonly db: SqlDatabase,
    private readonly now: () => number,
  ) {}

  /** Sets userId's attribute `name` about targetId; an empty value removes it. */
  async set(userId: number, targetId: number, name: string, value: string): Promise<void> {
    const params: SqlValue[] = [u32('userId', userId), u32('targetId', targetId), text('name', name, MAX_NAME, false), text('value', value, MAX_VALUE)];
    if (value === '') {
      await this.remove(userId, targetId, name);
      return;
    }
    await this.db.execute(
      upsert(this.db.dialect, 'INSERT INTO im_user_attr (user_id, target_id, name, value, updated) VALUES (?, ?, ?, ?, ?)', 'user_id, target_id, name', 'value = new.value, updated = new.updated'),
      [...params, this.now()],
    );
  }

  /** Removes the attribute; true when it existed. */
  async remove(userId: number, targetId: number, name: string): Promise<boolean> {
    const res = await this.db.execute('DELETE FROM im_user_attr WHERE user_id = ? AND target_id = ? AND name = ?', [
      u32('userId', userId),
      u32('targetId', targetId),
      text('name', name, MAX_NAME, false),
    ]);
    return res.affectedRows > 0;
  }

  /** Every attribute of userId, by target then name. */
  async list(userId: number): Promise<UserAttribute[]> {
    const rows = await this.db.query<UserAttributeRow>('SELECT user_id, target_id, name, value, updated FROM im_user_attr WHERE user_id = ? ORDER BY target_id, name', [
      u32('userId', userId),
    ]);
    return rows.map((r) => ({ userId: Number(r.user_id), targetId: Number(r.target_id), name: r.name, value: r.value, updated: Number(r.updated) }));
  }
}

interface SessionAttributeRow {
  user_id: number;
  session_type: number;
  peer_id: number;
  name: string;
  value: string;
  updated: number;
}

const toSessionAttribute = (r: SessionAttributeRow): SessionAttribute => ({
  userId: Number(r.user_id),
  sessionType: Number(r.session_type) as SessionTypeValue,
  peerId: Number(r.peer_id),
  name: r.name,
  value: r.value,
  updated: Number(r.updated),
});

/**
 * A user's named attributes of their conversations (im_session_attr). peerId is as seen from the
 * user: the other user (single chat) or the group.
 */
export class SessionAttributeRepository {
  constructor(
    private readonly db: SqlDatabase,
    private readonly now: () => number,
  ) {}

  /** Sets userId's attribute `name` of the conversation; an empty value removes it. */
  async set(userId: number, session: SessionRef, name: string, value: string): Promise<void> {
    const params: SqlValue[] = [u32('userId', userId), sessionType(session.sessionType), u32('peerId', session.peerId), text('name', name, MAX_NAME, false), text('value', value, MAX_VALUE)];
    if (value === '') {
      await this.remove(userId, session, name);
      return;
    }
    await this.db.execute(
      upsert(
        this.db.dialect,
        'INSERT INTO im_session_attr (user_id, session_type, peer_id, name, value, updated) VALUES (?, ?, ?, ?, ?, ?)',
        'user_id, session_type, peer_id, name',
        'value = new.value, updated = new.updated',
      ),
      [...params, this.now()],
    );
  }

  /** Removes the attribute; true when it existed. */
  async remove(userId: number, session: SessionRef, name: string): Promise<boolean> {
    const res = await this.db.execute('DELETE FROM im_session_attr WHERE user_id = ? AND session_type = ? AND peer_id = ? AND name = ?', [
      u32('userId', userId),
      sessionType(session.sessionType),
      u32('peerId', session.peerId),
      text('name', name, MAX_NAME, false),
    ]);
    return res.affectedRows > 0;
  }

  /**
   * userId's attributes, ordered by session type, peer and name: of every conversation, or (with
   * `sessions`) of those conversations only.
   */
  async list(userId: number, sessions?: readonly SessionRef[]): Promise<SessionAttribute[]> {
    const uid = u32('userId', userId);
    const columns = 'user_id, session_type, peer_id, name, value, updated';
    if (sessions === undefined) {
      const rows = await this.db.query<SessionAttributeRow>(`SELECT ${columns} FROM im_session_attr WHERE user_id = ? ORDER BY session_type, peer_id, name`, [uid]);
      return rows.map(toSessionAttribute);
    }
    const peersByType = new Map<number, number[]>();
    for (const s of sessions) {
      const type = sessionType(s.sessionType);
      peersByType.set(type, [...(peersByType.get(type) ?? []), u32('peerId', s.peerId)]);
    }
    const out: SessionAttribute[] = [];
    for (const [type, peers] of [...peersByType].sort((a, b) => a[0] - b[0])) {
      for (const chunk of chunks(u32List('peerIds', peers), ID_CHUNK)) {
        const rows = await this.db.query<SessionAttributeRow>(
          `SELECT ${columns} FROM im_session_attr WHERE user_id = ? AND session_type = ? AND peer_id IN (${placeholders(chunk.length)}) ORDER BY peer_id, name`,
          [uid, type, ...chunk],
        );
        out.push(...rows.map(toSessionAttribute));
      }
    }
    return out;
  }

  /**
   * Which of `userIds` muted the conversation (attribute "mute" on): the conversation is
   * (sessionType, peerIdPerUser) from each user's side, a peer id for all of them (a group, or the
   * sender of a single chat as every recipient sees it) or one per user.
   */
  async mutedBy(userIds: readonly number[], type: SessionTypeValue, peerIdPerUser: number | ((userId: number) => number)): Promise<Set<number>> {
    const st = sessionType(type);
    const peerOf = typeof peerIdPerUser === 'number' ? () => peerIdPerUser : peerIdPerUser;
    const usersByPeer = new Map<number, number[]>();
    for (const userId of u32List('userIds', userIds)) {
      const peer = u32('peerId', peerOf(userId));
      usersByPeer.set(peer, [...(usersByPeer.get(peer) ?? []), userId]);
    }
    const muted = new Set<number>();
    for (const [peer, users] of usersByPeer) {
      for (const chunk of chunks(users, ID_CHUNK)) {
        const rows = await this.db.query<{ user_id: number; value: string }>(
          `SELECT user_id, value FROM im_session_attr WHERE session_type = ? AND peer_id = ? AND name = ? AND user_id IN (${placeholders(chunk.length)})`,
          [st, peer, MUTE_ATTRIBUTE, ...chunk],
        );
        for (const r of rows) if (isMuteOn(r.value)) muted.add(Number(r.user_id));
      }
    }
    return muted;
  }
}
