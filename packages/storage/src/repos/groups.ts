import { SqlDatabase, SqlExecutor, SqlValue } from '../db';
import { StorageError } from '../errors';
import { GroupInfo, GroupMember, GroupMembersChange, GroupMemberStatus, GroupStatus, GroupType, NewGroup, SessionType } from '../model';
import { retryOnConflict } from '../retry';
import { chunks, flag, placeholders, text, u32, u32List, u8 } from '../validate';

interface GroupRow {
  id: number;
  name: string;
  avatar: string;
  creator_id: number;
  type: number;
  version: number;
  status: number;
  created: number;
  updated: number;
}

const GROUP_COLUMNS = 'id, name, avatar, creator_id, type, version, status, created, updated';
const ID_CHUNK = 500;
const INSERT_CHUNK = 200;

function toGroup(r: GroupRow, memberIds: number[]): GroupInfo {
  return {
    id: Number(r.id),
    name: r.name,
    avatar: r.avatar,
    creatorId: Number(r.creator_id),
    type: Number(r.type),
    version: Number(r.version),
    status: Number(r.status),
    created: Number(r.created),
    updated: Number(r.updated),
    memberIds,
  };
}

function groupType(value: unknown): number {
  if (value !== GroupType.NORMAL && value !== GroupType.TEMPORARY) {
    throw new StorageError('INVALID_ARGUMENT', 'group type must be 1 (normal) or 2 (temporary)');
  }
  return value;
}

/** Members added (or re-activated): active, not shielded, may see messages after joinMsgId. `rows` is "(?, ?, 0, 0, ?, ?, ?), ...". */
function upsertMembers(dialect: 'mysql' | 'sqlite', rows: string): string {
  const insert = `INSERT INTO im_group_member (group_id, user_id, status, shield_status, join_msg_id, created, updated) VALUES ${rows}`;
  const reset = `status = ${GroupMemberStatus.MEMBER}, shield_status = 0`;
  return dialect === 'mysql'
    ? `${insert} ON DUPLICATE KEY UPDATE ${reset}, join_msg_id = VALUES(join_msg_id), updated = VALUES(updated)`
    : `${insert} ON CONFLICT (group_id, user_id) DO UPDATE SET ${reset}, join_msg_id = excluded.join_msg_id, updated = excluded.updated`;
}

/**
 * Groups and their members (im_group, im_group_member).
 *
 * Every write that touches a group's members or version first locks the group row (MySQL
 * `SELECT ... FOR UPDATE`; SQLite transactions are `BEGIN IMMEDIATE`, i.e. already serialised), so
 * concurrent changes to one group are applied one after the other and each bumps the version.
 * Because the lock is taken by the transaction's first statement, the plain reads after it see
 * everything committed by the previous holder.
 */
export class GroupRepository {
  constructor(
    private readonly db: SqlDatabase,
    private readonly now: () => number,
  ) {}

  /**
   * Creates a group (version 1) with its members in one transaction. The creator is always a
   * member; member ids are de-duplicated. Members added here have join_msg_id 0.
   */
  async create(input: NewGroup): Promise<GroupInfo> {
    const type = groupType(input.type);
    const name = text('name', input.name, 255);
    const avatar = text('avatar', input.avatar ?? '', 255);
    const creatorId = u32('creatorId', input.creatorId);
    const memberIds = u32List('memberIds', [creatorId, ...u32List('memberIds', input.memberIds ?? [])]);
    return retryOnConflict(() =>
      this.db.transaction(async (tx) => {
        const now = this.now();
        const res = await tx.execute(
          'INSERT INTO im_group (name, avatar, creator_id, type, version, status, created, updated) VALUES (?, ?, ?, ?, 1, ?, ?, ?)',
          [name, avatar, creatorId, type, GroupStatus.ACTIVE, now, now],
        );
        const id = res.insertId;
        if (!id) throw new StorageError('INTERNAL', 'group insert returned no id');
        await this.addMemberRows(tx, id, memberIds, 0, now);
        return { id, name, avatar, creatorId, type, version: 1, status: GroupStatus.ACTIVE, created: now, updated: now, memberIds };
      }),
    );
  }

  /** The group (any status) with its active members, or null. */
  async findById(id: number): Promise<GroupInfo | null> {
    const rows = await this.db.query<GroupRow>(`SELECT ${GROUP_COLUMNS} FROM im_group WHERE id = ?`, [u32('id', id)]);
    if (!rows[0]) return null;
    return toGroup(rows[0], await activeMemberIds(this.db, id));
  }

  /**
   * Active groups with these ids (unknown and dissolved ones skipped), ascending by id, each with
   * its active members and the shield status of `forUserId` there (0 if not an active member or
   * no user given).
   */
  async findByIds(ids: readonly number[], forUserId?: number): Promise<Array<GroupInfo & { shieldStatus: number }>> {
    const wanted = u32List('ids', ids);
    const viewer = forUserId === undefined ? undefined : u32('forUserId', forUserId);
    const out: Array<GroupInfo & { shieldStatus: number }> = [];
    for (const chunk of chunks(wanted, ID_CHUNK)) {
      const groups = await this.db.query<GroupRow>(
        `SELECT ${GROUP_COLUMNS} FROM im_group WHERE status = ${GroupStatus.ACTIVE} AND id IN (${placeholders(chunk.length)}) ORDER BY id`,
        chunk,
      );
      if (groups.length === 0) continue;
      const found = groups.map((g) => Number(g.id));
      const members = new Map<number, number[]>(found.map((id) => [id, []]));
      const memberRows = await this.db.query<{ group_id: number; user_id: number }>(
        `SELECT group_id, user_id FROM im_group_member
         WHERE status = ${GroupMemberStatus.MEMBER} AND group_id IN (${placeholders(found.length)}) ORDER BY group_id, user_id`,
        found,
      );
      for (const r of memberRows) members.get(Number(r.group_id))?.push(Number(r.user_id));
      const shields = new Map<number, number>();
      if (viewer !== undefined) {
        const shieldRows = await this.db.query<{ group_id: number; shield_status: number }>(
          `SELECT group_id, shield_status FROM im_group_member
           WHERE user_id = ? AND status = ${GroupMemberStatus.MEMBER} AND group_id IN (${placeholders(found.length)})`,
          [viewer, ...found],
        );
        for (const r of shieldRows) shields.set(Number(r.group_id), Number(r.shield_status));
      }
      for (const g of groups) {
        const id = Number(g.id);
        out.push({ ...toGroup(g, members.get(id) ?? []), shieldStatus: shields.get(id) ?? 0 });
      }
    }
    return out;
  }

  /**
   * Active groups in which the user is an active member, ascending by group id. `types` limits the
   * group types (see GroupType); omitted = all types, empty = none.
   */
  async listForUser(userId: number, types?: readonly number[]): Promise<Array<{ groupId: number; version: number; type: number }>> {
    const user = u32('userId', userId);
    const params: SqlValue[] = [user];
    let typeFilter = '';
    if (types !== undefined) {
      const wanted = u32List('types', types).map((t) => u8('types[]', t));
      if (wanted.length === 0) return [];
      typeFilter = ` AND g.type IN (${placeholders(wanted.length)})`;
      params.push(...wanted);
    }
    const rows = await this.db.query<{ id: number; version: number; type: number }>(
      `SELECT g.id, g.version, g.type FROM im_group_member m JOIN im_group g ON g.id = m.group_id
       WHERE m.user_id = ? AND m.status = ${GroupMemberStatus.MEMBER} AND g.status = ${GroupStatus.ACTIVE}${typeFilter}
       ORDER BY g.id`,
      params,
    );
    return rows.map((r) => ({ groupId: Number(r.id), version: Number(r.version), type: Number(r.type) }));
  }

  /** Ids of all active groups, ascending (admin listing). */
  async listIds(): Promise<number[]> {
    const rows = await this.db.query<{ id: number }>(`SELECT id FROM im_group WHERE status = ${GroupStatus.ACTIVE} ORDER BY id`);
    return rows.map((r) => Number(r.id));
  }

  /**
   * Adds or removes members in one transaction. Adding re-activates removed members and sets their
   * join_msg_id to the group's current last msg_id (0 if it has no message), so they cannot read
   * what was said before they joined; removing sets status 1. The version goes up by one if (and
   * only if) someone was actually added or removed. Unknown or dissolved group -> 'NOT_FOUND'.
   */
  async changeMembers(groupId: number, kind: 'add' | 'remove', userIds: readonly number[]): Promise<GroupMembersChange> {
    const gid = u32('groupId', groupId);
    if (kind !== 'add' && kind !== 'remove') throw new StorageError('INVALID_ARGUMENT', "kind must be 'add' or 'remove'");
    const ids = u32List('userIds', userIds);
    return retryOnConflict(() =>
      this.db.transaction(async (tx) => {
        let version = await lockActiveGroup(tx, gid);
        const current = new Map<number, number>();
        for (const chunk of chunks(ids, ID_CHUNK)) {
          const rows = await tx.query<{ user_id: number; status: number }>(
            `SELECT user_id, status FROM im_group_member WHERE group_id = ? AND user_id IN (${placeholders(chunk.length)})`,
            [gid, ...chunk],
          );
          for (const r of rows) current.set(Number(r.user_id), Number(r.status));
        }
        const now = this.now();
        let changed: number[];
        if (kind === 'add') {
          changed = ids.filter((id) => current.get(id) !== GroupMemberStatus.MEMBER);
          if (changed.length > 0) await this.addMemberRows(tx, gid, changed, await lastGroupMsgId(tx, gid), now);
        } else {
          changed = ids.filter((id) => current.get(id) === GroupMemberStatus.MEMBER);
          for (const chunk of chunks(changed, ID_CHUNK)) {
            await tx.execute(
              `UPDATE im_group_member SET status = ${GroupMemberStatus.REMOVED}, updated = ? WHERE group_id = ? AND user_id IN (${placeholders(chunk.length)})`,
              [now, gid, ...chunk],
            );
          }
        }
        if (changed.length > 0) version = await bumpVersion(tx, gid, version, now);
        return { version, memberIds: await activeMemberIds(tx, gid), changed };
      }),
    );
  }

  /** The user's membership row in the group (also for removed members), or null if they never were one. */
  async member(groupId: number, userId: number): Promise<GroupMember | null> {
    const rows = await this.db.query<{ status: number; shield_status: number; join_msg_id: number }>(
      'SELECT status, shield_status, join_msg_id FROM im_group_member WHERE group_id = ? AND user_id = ?',
      [u32('groupId', groupId), u32('userId', userId)],
    );
    const r = rows[0];
    return r ? { status: Number(r.status), shieldStatus: Number(r.shield_status), joinMsgId: Number(r.join_msg_id) } : null;
  }

  /** True if the group is active and the user is an active member of it. */
  async isMember(groupId: number, userId: number): Promise<boolean> {
    const rows = await this.db.query(
      `SELECT m.user_id FROM im_group_member m JOIN im_group g ON g.id = m.group_id
       WHERE m.group_id = ? AND m.user_id = ? AND m.status = ${GroupMemberStatus.MEMBER} AND g.status = ${GroupStatus.ACTIVE}`,
      [u32('groupId', groupId), u32('userId', userId)],
    );
    return rows.length > 0;
  }

  /** Active members of an active group, ascending ([] for an unknown or dissolved group): who gets its messages. */
  async memberIds(groupId: number): Promise<number[]> {
    const rows = await this.db.query<{ user_id: number }>(
      `SELECT m.user_id FROM im_group_member m JOIN im_group g ON g.id = m.group_id
       WHERE m.group_id = ? AND m.status = ${GroupMemberStatus.MEMBER} AND g.status = ${GroupStatus.ACTIVE}
       ORDER BY m.user_id`,
      [u32('groupId', groupId)],
    );
    return rows.map((r) => Number(r.user_id));
  }

  /**
   * Sets the member's shield status (0/1) and bumps the group version (group info carries the
   * shield status). Returns the new version. Not an active member / no active group -> 'NOT_FOUND'.
   */
  async setShield(groupId: number, userId: number, status: number): Promise<number> {
    const gid = u32('groupId', groupId);
    const uid = u32('userId', userId);
    const shield = flag('status', status);
    return retryOnConflict(() =>
      this.db.transaction(async (tx) => {
        const version = await lockActiveGroup(tx, gid);
        const rows = await tx.query<{ status: number }>('SELECT status FROM im_group_member WHERE group_id = ? AND user_id = ?', [gid, uid]);
        if (!rows[0] || Number(rows[0].status) !== GroupMemberStatus.MEMBER) {
          throw new StorageError('NOT_FOUND', `user ${uid} is not a member of group ${gid}`);
        }
        const now = this.now();
        await tx.execute('UPDATE im_group_member SET shield_status = ?, updated = ? WHERE group_id = ? AND user_id = ?', [shield, now, gid, uid]);
        return bumpVersion(tx, gid, version, now);
      }),
    );
  }

  /** Shield status of each of `userIds` that is an active member of the group (others omitted), ascending by user id. */
  async shieldStatuses(groupId: number, userIds: readonly number[]): Promise<Array<{ userId: number; shieldStatus: number }>> {
    const gid = u32('groupId', groupId);
    const out: Array<{ userId: number; shieldStatus: number }> = [];
    for (const chunk of chunks(u32List('userIds', userIds), ID_CHUNK)) {
      const rows = await this.db.query<{ user_id: number; shield_status: number }>(
        `SELECT user_id, shield_status FROM im_group_member
         WHERE group_id = ? AND status = ${GroupMemberStatus.MEMBER} AND user_id IN (${placeholders(chunk.length)}) ORDER BY user_id`,
        [gid, ...chunk],
      );
      out.push(...rows.map((r) => ({ userId: Number(r.user_id), shieldStatus: Number(r.shield_status) })));
    }
    return out;
  }

  /**
   * Dissolves the group (status 1, version + 1); member rows are kept. Admin use. Unknown group ->
   * 'NOT_FOUND'; an already dissolved group is left as it is.
   */
  async dissolve(groupId: number): Promise<void> {
    const gid = u32('groupId', groupId);
    await retryOnConflict(() =>
      this.db.transaction(async (tx) => {
        const rows = await tx.query<{ status: number }>(`SELECT status FROM im_group WHERE id = ?${forUpdate(tx)}`, [gid]);
        if (!rows[0]) throw new StorageError('NOT_FOUND', `no group ${gid}`);
        if (Number(rows[0].status) !== GroupStatus.ACTIVE) return;
        await tx.execute('UPDATE im_group SET status = ?, version = version + 1, updated = ? WHERE id = ?', [GroupStatus.DISSOLVED, this.now(), gid]);
      }),
    );
  }

  private async addMemberRows(tx: SqlExecutor, groupId: number, userIds: readonly number[], joinMsgId: number, now: number): Promise<void> {
    for (const chunk of chunks(userIds, INSERT_CHUNK)) {
      const params: SqlValue[] = [];
      for (const userId of chunk) params.push(groupId, userId, joinMsgId, now, now);
      const rows = chunk.map(() => `(?, ?, ${GroupMemberStatus.MEMBER}, 0, ?, ?, ?)`).join(', ');
      await tx.execute(upsertMembers(tx.dialect, rows), params);
    }
  }
}

const forUpdate = (ex: SqlExecutor) => (ex.dialect === 'mysql' ? ' FOR UPDATE' : '');

/** Locks the group row for the rest of the transaction; returns its version. Unknown or dissolved -> 'NOT_FOUND'. */
async function lockActiveGroup(tx: SqlExecutor, groupId: number): Promise<number> {
  const rows = await tx.query<{ version: number; status: number }>(`SELECT version, status FROM im_group WHERE id = ?${forUpdate(tx)}`, [groupId]);
  const row = rows[0];
  if (!row || Number(row.status) !== GroupStatus.ACTIVE) throw new StorageError('NOT_FOUND', `no active group ${groupId}`);
  return Number(row.version);
}

async function bumpVersion(tx: SqlExecutor, groupId: number, version: number, now: number): Promise<number> {
  await tx.execute('UPDATE im_group SET version = version + 1, updated = ? WHERE id = ?', [now, groupId]);
  return version + 1;
}

/** The group conversation's last msg_id (0 if it has no message yet). */
async function lastGroupMsgId(ex: SqlExecutor, groupId: number): Promise<number> {
  const rows = await ex.query<{ last_msg_id: number }>(
    'SELECT last_msg_id FROM im_conversation WHERE session_type = ? AND id_a = ? AND id_b = 0',
    [SessionType.GROUP, groupId],
  );
  return rows[0] ? Number(rows[0].last_msg_id) : 0;
}

async function activeMemberIds(ex: SqlExecutor, groupId: number): Promise<number[]> {
  const rows = await ex.query<{ user_id: number }>(
    `SELECT user_id FROM im_group_member WHERE group_id = ? AND status = ${GroupMemberStatus.MEMBER} ORDER BY user_id`,
    [groupId],
  );
  return rows.map((r) => Number(r.user_id));
}
