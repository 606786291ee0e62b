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
  description: string;
  member_limit: number;
}

const GROUP_COLUMNS = 'id, name, avatar, creator_id, type, version, status, created, updated, description, member_limit';
/** GROUP_COLUMNS of im_group aliased g. */
const G_COLUMNS = GROUP_COLUMNS.split(', ')
  .map((c) => `g.${c}`)
  .join(', ');
const MAX_NAME_CHARS = 255;
const MAX_DESCRIPTION_CHARS = 1024;
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
    description: r.description,
    memberLimit: Number(r.member_limit),
  };
}

/** Fields of a group its owner may change (absent: unchanged). */
export interface GroupInfoPatch {
  name?: string;
  avatar?: string;
  description?: string;
  /** 0 = back to the server's default. */
  memberLimit?: number;
}

/** What a user's client must learn about their groups since its last sync. */
export interface GroupsChangedSince {
  /** Active groups the user belongs to that changed at or after `since`, ascending by id. */
  groups: GroupInfo[];
  /** Groups dismissed while the user was a member, or the user was removed from, at or after `since`; ascending. */
  deletedIds: number[];
}

/** A member change; `full` is set (and nothing changed) when the additions would pass the member limit. */
export type GroupMembersOutcome = GroupMembersChange & { full?: true };

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
 * everything committed by the previous holder (member counts against the member limit, the owner).
 * Every change bumps the version and sets `updated`, which is what changedSince() goes by.
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
    const description = text('description', input.description ?? '', MAX_DESCRIPTION_CHARS);
    const memberLimit = u32('memberLimit', input.memberLimit ?? 0);
    if (memberLimit > 0 && memberIds.length > memberLimit) {
      throw new StorageError('INVALID_ARGUMENT', `${memberIds.length} members do not fit a member limit of ${memberLimit}`);
    }
    return retryOnConflict(() =>
      this.db.transaction(async (tx) => {
        const now = this.now();
        const res = await tx.execute(
          'INSERT INTO im_group (name, avatar, creator_id, type, version, status, created, updated, description, member_limit) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?)',
          [name, avatar, creatorId, type, GroupStatus.ACTIVE, now, now, description, memberLimit],
        );
        const id = res.insertId;
        if (!id) throw new StorageError('INTERNAL', 'group insert returned no id');
        await this.addMemberRows(tx, id, memberIds, 0, now);
        return { id, name, avatar, creatorId, type, version: 1, status: GroupStatus.ACTIVE, created: now, updated: now, memberIds, description, memberLimit };
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
      const members = await activeMembersOf(this.db, found);
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
   *
   * Additions respect the member limit: the group's own (member_limit), or `defaultLimit` when it
   * has none (0 or absent: no limit). The count is taken under the group lock, so concurrent adds
   * cannot pass it; additions that would are refused as a whole (`full`, nothing changed).
   */
  async changeMembers(groupId: number, kind: 'add' | 'remove', userIds: readonly number[], options: { defaultLimit?: number } = {}): Promise<GroupMembersOutcome> {
    const gid = u32('groupId', groupId);
    if (kind !== 'add' && kind !== 'remove') throw new StorageError('INVALID_ARGUMENT', "kind must be 'add' or 'remove'");
    const ids = u32List('userIds', userIds);
    const defaultLimit = u32('defaultLimit', options.defaultLimit ?? 0);
    return retryOnConflict(() =>
      this.db.transaction(async (tx) => {
        const locked = await lockActiveGroup(tx, gid);
        let version = locked.version;
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
          const limit = locked.memberLimit > 0 ? locked.memberLimit : defaultLimit;
          if (changed.length > 0 && limit > 0) {
            const memberIds = await activeMemberIds(tx, gid);
            if (memberIds.length + changed.length > limit) return { version, memberIds, changed: [], full: true as const };
          }
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
        const { version } = await lockActiveGroup(tx, gid);
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

  /**
   * Changes the given fields of an active group (name non-empty, at most 255 characters; avatar 255;
   * description 1024; memberLimit 0 = the default, else at least the current member count, checked
   * under the group lock), version + 1. Returns the group after the change. No field given, or a
   * limit below the member count -> 'INVALID_ARGUMENT'; unknown or dissolved group -> 'NOT_FOUND'.
   */
  async updateInfo(groupId: number, patch: GroupInfoPatch): Promise<GroupInfo> {
    const gid = u32('groupId', groupId);
    const sets: string[] = [];
    const params: SqlValue[] = [];
    if (patch.name !== undefined) {
      sets.push('name = ?');
      params.push(text('name', patch.name, MAX_NAME_CHARS, false));
    }
    if (patch.avatar !== undefined) {
      sets.push('avatar = ?');
      params.push(text('avatar', patch.avatar, MAX_NAME_CHARS));
    }
    if (patch.description !== undefined) {
      sets.push('description = ?');
      params.push(text('description', patch.description, MAX_DESCRIPTION_CHARS));
    }
    const memberLimit = patch.memberLimit === undefined ? undefined : u32('memberLimit', patch.memberLimit);
    if (memberLimit !== undefined) {
      sets.push('member_limit = ?');
      params.push(memberLimit);
    }
    if (sets.length === 0) throw new StorageError('INVALID_ARGUMENT', 'nothing to change');
    return retryOnConflict(() =>
      this.db.transaction(async (tx) => {
        await lockActiveGroup(tx, gid);
        if (memberLimit) {
          const count = (await activeMemberIds(tx, gid)).length;
          if (count > memberLimit) throw new StorageError('INVALID_ARGUMENT', `member limit ${memberLimit} is below the group's ${count} members`);
        }
        await tx.execute(`UPDATE im_group SET ${sets.join(', ')}, version = version + 1, updated = ? WHERE id = ?`, [...params, this.now(), gid]);
        return readGroup(tx, gid);
      }),
    );
  }

  /**
   * Makes an active member the owner (creator_id), version + 1; returns the group after. Not an
   * active member, or already the owner -> 'INVALID_ARGUMENT'; unknown or dissolved group -> 'NOT_FOUND'.
   */
  async transferOwner(groupId: number, newOwnerId: number): Promise<GroupInfo> {
    const gid = u32('groupId', groupId);
    const owner = u32('newOwnerId', newOwnerId);
    return retryOnConflict(() =>
      this.db.transaction(async (tx) => {
        const locked = await lockActiveGroup(tx, gid);
        if (locked.creatorId === owner) throw new StorageError('INVALID_ARGUMENT', `user ${owner} already owns group ${gid}`);
        const rows = await tx.query<{ status: number }>('SELECT status FROM im_group_member WHERE group_id = ? AND user_id = ?', [gid, owner]);
        if (!rows[0] || Number(rows[0].status) !== GroupMemberStatus.MEMBER) {
          throw new StorageError('INVALID_ARGUMENT', `user ${owner} is not a member of group ${gid}`);
        }
        await tx.execute('UPDATE im_group SET creator_id = ?, version = version + 1, updated = ? WHERE id = ?', [owner, this.now(), gid]);
        return readGroup(tx, gid);
      }),
    );
  }

  /**
   * Dismisses an active group: status dissolved, version + 1, updated now. Member rows are kept as
   * they were, so a later sync can tell each member the group is gone. Returns the group after,
   * with the members it had. Unknown or already dissolved -> 'NOT_FOUND'.
   */
  async dismiss(groupId: number): Promise<GroupInfo> {
    const gid = u32('groupId', groupId);
    return retryOnConflict(() =>
      this.db.transaction(async (tx) => {
        await lockActiveGroup(tx, gid);
        await tx.execute('UPDATE im_group SET status = ?, version = version + 1, updated = ? WHERE id = ?', [GroupStatus.DISSOLVED, this.now(), gid]);
        return readGroup(tx, gid);
      }),
    );
  }

  /**
   * The user's groups that changed at or after `since` (unix seconds) and those they lost since
   * then (see GroupsChangedSince). `since` 0 is a first sync: every current group, nothing deleted.
   */
  async changedSince(userId: number, since: number): Promise<GroupsChangedSince> {
    const user = u32('userId', userId);
    const from = u32('since', since);
    const rows = await this.db.query<GroupRow>(
      `SELECT ${G_COLUMNS} FROM im_group_member m JOIN im_group g ON g.id = m.group_id
       WHERE m.user_id = ? AND m.status = ${GroupMemberStatus.MEMBER} AND g.status = ${GroupStatus.ACTIVE} AND g.updated >= ?
       ORDER BY g.id`,
      [user, from],
    );
    const groups: GroupInfo[] = [];
    for (const chunk of chunks(rows, ID_CHUNK)) {
      const members = await activeMembersOf(this.db, chunk.map((g) => Number(g.id)));
      for (const g of chunk) groups.push(toGroup(g, members.get(Number(g.id)) ?? []));
    }
    if (from === 0) return { groups, deletedIds: [] };
    // A dismissal keeps member rows as they were: an active row of a dissolved group is a member at dismissal.
    const gone = await this.db.query<{ id: number }>(
      `SELECT g.id FROM im_group_member m JOIN im_group g ON g.id = m.group_id
       WHERE m.user_id = ?
         AND ((m.status = ${GroupMemberStatus.MEMBER} AND g.status = ${GroupStatus.DISSOLVED} AND g.updated >= ?)
           OR (m.status = ${GroupMemberStatus.REMOVED} AND m.updated >= ?))
       ORDER BY g.id`,
      [user, from, from],
    );
    return { groups, deletedIds: gone.map((r) => Number(r.id)) };
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

/** Locks the group row for the rest of the transaction; returns what the caller checks. Unknown or dissolved -> 'NOT_FOUND'. */
async function lockActiveGroup(tx: SqlExecutor, groupId: number): Promise<{ version: number; creatorId: number; memberLimit: number }> {
  const rows = await tx.query<{ version: number; status: number; creator_id: number; member_limit: number }>(
    `SELECT version, status, creator_id, member_limit FROM im_group WHERE id = ?${forUpdate(tx)}`,
    [groupId],
  );
  const row = rows[0];
  if (!row || Number(row.status) !== GroupStatus.ACTIVE) throw new StorageError('NOT_FOUND', `no active group ${groupId}`);
  return { version: Number(row.version), creatorId: Number(row.creator_id), memberLimit: Number(row.member_limit) };
}

/** The group (known to exist) with its member rows that are active. */
async function readGroup(ex: SqlExecutor, groupId: number): Promise<GroupInfo> {
  const rows = await ex.query<GroupRow>(`SELECT ${GROUP_COLUMNS} FROM im_group WHERE id = ?`, [groupId]);
  if (!rows[0]) throw new StorageError('INTERNAL', `group ${groupId} vanished`);
  return toGroup(rows[0], await activeMemberIds(ex, groupId));
}

/** Active member rows of each of the groups (at most ID_CHUNK ids), ascending; every group has an entry. */
async function activeMembersOf(ex: SqlExecutor, groupIds: readonly number[]): Promise<Map<number, number[]>> {
  const members = new Map<number, number[]>(groupIds.map((id) => [id, []]));
  if (groupIds.length === 0) return members;
  const rows = await ex.query<{ group_id: number; user_id: number }>(
    `SELECT group_id, user_id FROM im_group_member
     WHERE status = ${GroupMemberStatus.MEMBER} AND group_id IN (${placeholders(groupIds.length)}) ORDER BY group_id, user_id`,
    groupIds,
  );
  for (const r of rows) members.get(Number(r.group_id))?.push(Number(r.user_id));
  return members;
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
