import { SqlDatabase, SqlExecutor } from '../db';
import { StorageError } from '../errors';
import { NewRoom, RoomInfo, RoomJoinResult, RoomStatus } from '../model';
import { retryOnConflict } from '../retry';
import { text, u32 } from '../validate';

interface RoomRow {
  id: number;
  name: string;
  creator_id: number;
  max_members: number;
  status: number;
  created: number;
  updated: number;
  member_count: number;
}

const ROOM_SELECT = `SELECT r.id, r.name, r.creator_id, r.max_members, r.status, r.created, r.updated,
  (SELECT COUNT(*) FROM im_room_member m WHERE m.room_id = r.id) AS member_count FROM im_room r`;

function toRoom(r: RoomRow): RoomInfo {
  return {
    id: Number(r.id),
    name: r.name,
    creatorId: Number(r.creator_id),
    maxMembers: Number(r.max_members),
    status: Number(r.status),
    memberCount: Number(r.member_count),
    created: Number(r.created),
    updated: Number(r.updated),
  };
}

const forUpdate = (ex: SqlExecutor) => (ex.dialect === 'mysql' ? ' FOR UPDATE' : '');

/**
 * Chat rooms (im_room) and their current members (im_room_member). Joins lock the room row first
 * (MySQL FOR UPDATE; SQLite transactions are serialised), so the member limit holds under
 * concurrent joins across processes. Membership is explicit: it lasts until the user leaves or the
 * room is dissolved.
 */
export class RoomRepository {
  constructor(
    private readonly db: SqlDatabase,
    private readonly now: () => number,
  ) {}

  async create(input: NewRoom): Promise<RoomInfo> {
    const name = text('name', input.name, 255, false);
    const creatorId = u32('creatorId', input.creatorId ?? 0);
    const maxMembers = u32('maxMembers', input.maxMembers);
    if (maxMembers < 1) throw new StorageError('INVALID_ARGUMENT', 'maxMembers must be at least 1');
    const now = this.now();
    const res = await this.db.execute('INSERT INTO im_room (name, creator_id, max_members, status, created, updated) VALUES (?, ?, ?, ?, ?, ?)', [
      name,
      creatorId,
      maxMembers,
      RoomStatus.ACTIVE,
      now,
      now,
    ]);
    if (!res.insertId) throw new StorageError('INTERNAL', 'room insert returned no id');
    return { id: res.insertId, name, creatorId, maxMembers, status: RoomStatus.ACTIVE, memberCount: 0, created: now, updated: now };
  }

  /** The room (any status) with its member count, or null. */
  async findById(id: number): Promise<RoomInfo | null> {
    const rows = await this.db.query<RoomRow>(`${ROOM_SELECT} WHERE r.id = ?`, [u32('id', id)]);
    return rows[0] ? toRoom(rows[0]) : null;
  }

  /** Active rooms, by id. */
  async list(): Promise<RoomInfo[]> {
    return (await this.db.query<RoomRow>(`${ROOM_SELECT} WHERE r.status = ? ORDER BY r.id`, [RoomStatus.ACTIVE])).map(toRoom);
  }

  /** Active rooms the user is in, by id. */
  async roomsOf(userId: number): Promise<RoomInfo[]> {
    return (
      await this.db.query<RoomRow>(`${ROOM_SELECT} WHERE r.status = ? AND r.id IN (SELECT room_id FROM im_room_member WHERE user_id = ?) ORDER BY r.id`, [
        RoomStatus.ACTIVE,
        u32('userId', userId),
      ])
    ).map(toRoom);
  }

  /** Joins an active room unless it is full; joining twice changes nothing. */
  async join(roomId: number, userId: number): Promise<{ result: RoomJoinResult; room: RoomInfo | null }> {
    const room = u32('roomId', roomId);
    const user = u32('userId', userId);
    return retryOnConflict(() =>
      this.db.transaction(async (tx) => {
        const [row] = await tx.query<{ max_members: number; status: number }>(`SELECT max_members, status FROM im_room WHERE id = ?${forUpdate(tx)}`, [room]);
        if (!row || Number(row.status) !== RoomStatus.ACTIVE) return { result: 'not_found' as const, room: null };
        const [member] = await tx.query('SELECT user_id FROM im_room_member WHERE room_id = ? AND user_id = ?', [room, user]);
        let result: RoomJoinResult = 'already_member';
        if (!member) {
          const [{ n }] = await tx.query<{ n: number }>('SELECT COUNT(*) AS n FROM im_room_member WHERE room_id = ?', [room]);
          if (Number(n) >= Number(row.max_members)) result = 'full';
          else {
            await tx.execute('INSERT INTO im_room_member (room_id, user_id, joined) VALUES (?, ?, ?)', [room, user, this.now()]);
            result = 'joined';
          }
        }
        const [info] = await tx.query<RoomRow>(`${ROOM_SELECT} WHERE r.id = ?`, [room]);
        return { result, room: toRoom(info) };
      }),
    );
  }

  /** Leaves the room; false when the user was not in it. */
  async leave(roomId: number, userId: number): Promise<boolean> {
    const res = await this.db.execute('DELETE FROM im_room_member WHERE room_id = ? AND user_id = ?', [u32('roomId', roomId), u32('userId', userId)]);
    return res.affectedRows > 0;
  }

  /** Current members of an active room (empty for an unknown or dissolved one), ascending. */
  async memberIds(roomId: number): Promise<number[]> {
    const rows = await this.db.query<{ user_id: number }>(
      `SELECT m.user_id FROM im_room_member m JOIN im_room r ON r.id = m.room_id WHERE m.room_id = ? AND r.status = ? ORDER BY m.user_id`,
      [u32('roomId', roomId), RoomStatus.ACTIVE],
    );
    return rows.map((r) => Number(r.user_id));
  }

  async isMember(roomId: number, userId: number): Promise<boolean> {
    const rows = await this.db.query('SELECT user_id FROM im_room_member WHERE room_id = ? AND user_id = ?', [u32('roomId', roomId), u32('userId', userId)]);
    return rows.length > 0;
  }

  /** Dissolves the room: nobody is in it any more and nobody can join. False when it was not active. */
  async dissolve(roomId: number): Promise<boolean> {
    const room = u32('roomId', roomId);
    return this.db.transaction(async (tx) => {
      const res = await tx.execute('UPDATE im_room SET status = ?, updated = ? WHERE id = ? AND status = ?', [RoomStatus.DISSOLVED, this.now(), room, RoomStatus.ACTIVE]);
      if (res.affectedRows === 0) return false;
      await tx.execute('DELETE FROM im_room_member WHERE room_id = ?', [room]);
      return true;
    });
  }
}
