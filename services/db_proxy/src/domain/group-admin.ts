import { IM } from '@tt/proto';
import { GroupStatus, isStorageError, type GroupInfo, type Store } from '@tt/storage';
import { MAX_GROUP_MEMBERS, MAX_GROUP_TEXT } from './groups';
import type { KnownUsers } from './users';

const { GroupAdminAction, GroupAdminResult } = IM.DbProxy;
const { GroupChange } = IM.Core;
const { GroupType } = IM.BaseDefine;

/** Longest group description accepted, in bytes. */
export const MAX_GROUP_DESCRIPTION = 1024;

type AdminRsp = IM.DbProxy.IGroupAdminRsp;

/** operator_id 0: the system itself (the operator API), which passes every permission check. */
export const SYSTEM_OPERATOR = 0;

/** What the owner asks to change; empty strings and a 0 limit leave a field as it is (OMTP's rule). */
export interface GroupInfoChange {
  name?: string | null;
  avatar?: string | null;
  description?: string | null;
  memberLimit?: number | null;
}

const refuse = (result: IM.DbProxy.GroupAdminResult, errorMessage: string): AdminRsp => ({ result, errorMessage });
const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const unique = (ids: readonly number[] | null | undefined) => [...new Set(ids ?? [])].sort((a, b) => a - b);

/** What CREATE takes. */
type GroupCreation = { name?: string | null; avatar?: string | null; description?: string | null; memberLimit?: number | null; type?: number | null; memberIds?: number[] | null };

/**
 * Groups managed by their owner (OMTP's group commands). Who may do what is the rule of
 * IM.DbProxy.GroupAdminReq: CREATE anyone; ADD_MEMBERS the owner (any member in a temporary
 * group); REMOVE_MEMBERS the owner removes others, a member removes only themselves, the owner
 * never themselves; DISMISS, TRANSFER, UPDATE_INFO the owner. Checks go: the group (NOT_FOUND),
 * the operator's permission (NO_PERMISSION), the arguments (INVALID), the users named (NOT_FOUND),
 * the member limit (FULL). Every success answers with the IM.Core.GroupChangedEvent to deliver.
 * The system (operator_id 0, SYSTEM_OPERATOR) may do everything an owner may; it creates a group
 * for an owner (new_owner_id, required) and is never a member itself.
 */
export class GroupAdmin {
  /**
   * @param defaultMemberLimit the limit of a group created without one (its stored member_limit is
   * 0), also the largest limit an owner may set.
   */
  constructor(
    private readonly store: Store,
    private readonly users: KnownUsers,
    private readonly defaultMemberLimit = MAX_GROUP_MEMBERS,
  ) {}

  /** Runs one action of a GroupAdminReq (operator_id, action and, but for CREATE, group_id already checked). */
  async run(req: IM.DbProxy.IGroupAdminReq): Promise<AdminRsp> {
    const operatorId = req.operatorId;
    const groupId = req.groupId ?? 0;
    switch (req.action) {
      case GroupAdminAction.GROUP_ACTION_CREATE:
        return operatorId === SYSTEM_OPERATOR ? this.createForOwner(req.newOwnerId ?? 0, req) : this.create(operatorId, req);
      case GroupAdminAction.GROUP_ACTION_ADD_MEMBERS:
        return this.addMembers(operatorId, groupId, req.memberIds ?? []);
      case GroupAdminAction.GROUP_ACTION_REMOVE_MEMBERS:
        return this.removeMembers(operatorId, groupId, req.memberIds ?? []);
      case GroupAdminAction.GROUP_ACTION_DISMISS:
        return this.dismiss(operatorId, groupId);
      case GroupAdminAction.GROUP_ACTION_TRANSFER:
        return this.transfer(operatorId, groupId, req.newOwnerId ?? 0);
      case GroupAdminAction.GROUP_ACTION_UPDATE_INFO:
        return this.updateInfo(operatorId, groupId, req);
      default:
        return refuse(GroupAdminResult.GROUP_ADMIN_INVALID, `unknown action ${req.action}`);
    }
  }

  /** The system creates a group owned by ownerId (who becomes a member); the event names the system as operator. */
  async createForOwner(ownerId: number, req: GroupCreation): Promise<AdminRsp> {
    if (!ownerId) return refuse(GroupAdminResult.GROUP_ADMIN_INVALID, 'new_owner_id (the owner) is required when the system creates a group');
    const rsp = await this.create(ownerId, req);
    if (rsp.event) rsp.event.operatorId = SYSTEM_OPERATOR;
    return rsp;
  }

  /** The operator creates a group and owns it; the initial members (and the operator) are its members. */
  async create(operatorId: number, req: GroupCreation): Promise<AdminRsp> {
    const type = req.type || GroupType.GROUP_TYPE_NORMAL;
    if (type !== GroupType.GROUP_TYPE_NORMAL && type !== GroupType.GROUP_TYPE_TMP) return refuse(GroupAdminResult.GROUP_ADMIN_INVALID, `unknown group type ${type}`);
    const name = req.name ?? '';
    const avatar = req.avatar ?? '';
    const description = req.description ?? '';
    const memberLimit = req.memberLimit ?? 0;
    const textProblem = this.textProblem({ name, avatar, description });
    if (!name) return refuse(GroupAdminResult.GROUP_ADMIN_INVALID, 'a group needs a name');
    if (textProblem) return refuse(GroupAdminResult.GROUP_ADMIN_INVALID, textProblem);
    if (memberLimit > this.defaultMemberLimit) return refuse(GroupAdminResult.GROUP_ADMIN_INVALID, `member limit above ${this.defaultMemberLimit}`);
    const memberIds = unique([operatorId, ...(req.memberIds ?? [])]);
    if (memberLimit > 0 && memberIds.length > memberLimit) return refuse(GroupAdminResult.GROUP_ADMIN_INVALID, `member limit ${memberLimit} is below the ${memberIds.length} members`);
    if (memberIds.length > this.defaultMemberLimit) return refuse(GroupAdminResult.GROUP_ADMIN_FULL, `more than ${this.defaultMemberLimit} members`);
    const unknown = await this.unknownUser(memberIds);
    if (unknown !== undefined) return refuse(GroupAdminResult.GROUP_ADMIN_NOT_FOUND, `no user ${unknown}`);
    const group = await this.store.groups.create({ type, name, avatar, description, memberLimit, creatorId: operatorId, memberIds });
    return this.changed(GroupChange.GROUP_CREATED, operatorId, group, group.memberIds, group.memberIds);
  }

  async addMembers(operatorId: number, groupId: number, ids: readonly number[]): Promise<AdminRsp> {
    const group = await this.activeGroup(groupId);
    if (!group) return refuse(GroupAdminResult.GROUP_ADMIN_NOT_FOUND, `no group ${groupId}`);
    const isOwner = group.creatorId === operatorId || operatorId === SYSTEM_OPERATOR;
    if (operatorId !== SYSTEM_OPERATOR && (!group.memberIds.includes(operatorId) || (!isOwner && group.type !== GroupType.GROUP_TYPE_TMP))) {
      return refuse(GroupAdminResult.GROUP_ADMIN_NO_PERMISSION, 'only the owner adds members');
    }
    const wanted = unique(ids);
    if (wanted.length === 0) return refuse(GroupAdminResult.GROUP_ADMIN_INVALID, 'nobody to add');
    const newcomers = wanted.filter((id) => !group.memberIds.includes(id));
    const limit = this.limitOf(group);
    // Hopeless requests are refused before looking anyone up; the store checks again under its lock.
    if (group.memberIds.length + newcomers.length > limit) return refuse(GroupAdminResult.GROUP_ADMIN_FULL, `the group allows ${limit} members`);
    const unknown = await this.unknownUser(newcomers);
    if (unknown !== undefined) return refuse(GroupAdminResult.GROUP_ADMIN_NOT_FOUND, `no user ${unknown}`);
    return this.lostRace(async () => {
      const change = await this.store.groups.changeMembers(groupId, 'add', wanted, { defaultLimit: this.defaultMemberLimit });
      if (change.full) return refuse(GroupAdminResult.GROUP_ADMIN_FULL, `the group allows ${limit} members`);
      if (change.changed.length === 0) return refuse(GroupAdminResult.GROUP_ADMIN_INVALID, 'all of them are members already');
      return this.changedNow(GroupChange.GROUP_MEMBERS_ADDED, operatorId, groupId, change);
    });
  }

  async removeMembers(operatorId: number, groupId: number, ids: readonly number[]): Promise<AdminRsp> {
    const group = await this.activeGroup(groupId);
    if (!group) return refuse(GroupAdminResult.GROUP_ADMIN_NOT_FOUND, `no group ${groupId}`);
    const system = operatorId === SYSTEM_OPERATOR;
    if (!system && !group.memberIds.includes(operatorId)) return refuse(GroupAdminResult.GROUP_ADMIN_NO_PERMISSION, 'not a member');
    const wanted = unique(ids);
    const isOwner = group.creatorId === operatorId || system;
    if (wanted.includes(group.creatorId) && (system || group.creatorId === operatorId)) return refuse(GroupAdminResult.GROUP_ADMIN_NO_PERMISSION, 'the owner is not removed: transfer or dismiss the group instead');
    if (!isOwner && wanted.some((id) => id !== operatorId)) return refuse(GroupAdminResult.GROUP_ADMIN_NO_PERMISSION, 'only the owner removes others');
    if (wanted.length === 0) return refuse(GroupAdminResult.GROUP_ADMIN_INVALID, 'nobody to remove');
    const unknown = await this.unknownUser(wanted);
    if (unknown !== undefined) return refuse(GroupAdminResult.GROUP_ADMIN_NOT_FOUND, `no user ${unknown}`);
    return this.lostRace(async () => {
      const change = await this.store.groups.changeMembers(groupId, 'remove', wanted);
      if (change.changed.length === 0) return refuse(GroupAdminResult.GROUP_ADMIN_INVALID, 'none of them is a member');
      return this.changedNow(GroupChange.GROUP_MEMBERS_REMOVED, operatorId, groupId, change);
    });
  }

  /** The owner dismisses the group: the event names every member it had, and none after. */
  async dismiss(operatorId: number, groupId: number): Promise<AdminRsp> {
    const group = await this.activeGroup(groupId);
    if (!group) return refuse(GroupAdminResult.GROUP_ADMIN_NOT_FOUND, `no group ${groupId}`);
    if (!this.actsAsOwner(group, operatorId)) return refuse(GroupAdminResult.GROUP_ADMIN_NO_PERMISSION, 'only the owner dismisses the group');
    return this.lostRace(async () => {
      const gone = await this.store.groups.dismiss(groupId);
      return this.changed(GroupChange.GROUP_DISMISSED, operatorId, gone, [], gone.memberIds);
    });
  }

  async transfer(operatorId: number, groupId: number, newOwnerId: number): Promise<AdminRsp> {
    const group = await this.activeGroup(groupId);
    if (!group) return refuse(GroupAdminResult.GROUP_ADMIN_NOT_FOUND, `no group ${groupId}`);
    if (!this.actsAsOwner(group, operatorId)) return refuse(GroupAdminResult.GROUP_ADMIN_NO_PERMISSION, 'only the owner hands the group over');
    if (!newOwnerId) return refuse(GroupAdminResult.GROUP_ADMIN_INVALID, 'new_owner_id is required');
    if (newOwnerId === group.creatorId) return refuse(GroupAdminResult.GROUP_ADMIN_INVALID, 'already the owner');
    if (!(await this.users.exists(newOwnerId))) return refuse(GroupAdminResult.GROUP_ADMIN_NOT_FOUND, `no user ${newOwnerId}`);
    if (!group.memberIds.includes(newOwnerId)) return refuse(GroupAdminResult.GROUP_ADMIN_INVALID, `user ${newOwnerId} is not a member`);
    return this.lostRace(async () => {
      const moved = await this.store.groups.transferOwner(groupId, newOwnerId);
      return this.changed(GroupChange.GROUP_OWNER_CHANGED, operatorId, moved, moved.memberIds, []);
    });
  }

  async updateInfo(operatorId: number, groupId: number, change: GroupInfoChange): Promise<AdminRsp> {
    const group = await this.activeGroup(groupId);
    if (!group) return refuse(GroupAdminResult.GROUP_ADMIN_NOT_FOUND, `no group ${groupId}`);
    if (!this.actsAsOwner(group, operatorId)) return refuse(GroupAdminResult.GROUP_ADMIN_NO_PERMISSION, 'only the owner changes the group');
    const patch: { name?: string; avatar?: string; description?: string; memberLimit?: number } = {};
    if (change.name) patch.name = change.name;
    if (change.avatar) patch.avatar = change.avatar;
    if (change.description) patch.description = change.description;
    if (change.memberLimit) patch.memberLimit = change.memberLimit;
    if (Object.keys(patch).length === 0) return refuse(GroupAdminResult.GROUP_ADMIN_INVALID, 'nothing to change');
    const textProblem = this.textProblem(patch);
    if (textProblem) return refuse(GroupAdminResult.GROUP_ADMIN_INVALID, textProblem);
    if (patch.memberLimit !== undefined) {
      if (patch.memberLimit > this.defaultMemberLimit) return refuse(GroupAdminResult.GROUP_ADMIN_INVALID, `member limit above ${this.defaultMemberLimit}`);
      if (patch.memberLimit < group.memberIds.length) return refuse(GroupAdminResult.GROUP_ADMIN_INVALID, `member limit ${patch.memberLimit} is below the ${group.memberIds.length} members`);
    }
    return this.lostRace(async () => {
      const updated = await this.store.groups.updateInfo(groupId, patch);
      return this.changed(GroupChange.GROUP_INFO_UPDATED, operatorId, updated, updated.memberIds, []);
    });
  }

  /** GroupSync: the user's groups changed at or after `since` (seconds) and those gone since; `now` for the next call. */
  async sync(userId: number, since: number): Promise<IM.DbProxy.IGroupSyncRsp> {
    // Taken first: a change made while this runs is at or after it, so the next sync repeats it rather than missing it.
    const now = Math.floor(Date.now() / 1000);
    const changes = await this.store.groups.changedSince(userId, since);
    const groups = await Promise.all(changes.groups.map((g) => this.detail(g)));
    return { groups, deletedGroupIds: changes.deletedIds, now };
  }

  /** GroupMembers: the group and its members, for its members only. */
  async members(userId: number, groupId: number): Promise<IM.DbProxy.IGroupMembersRsp> {
    const group = await this.activeGroup(groupId);
    if (!group) return { result: GroupAdminResult.GROUP_ADMIN_NOT_FOUND, memberIds: [] };
    // user_id 0: the system itself (an operator's notification to a group).
    if (userId !== 0 && !group.memberIds.includes(userId)) return { result: GroupAdminResult.GROUP_ADMIN_NO_PERMISSION, memberIds: [] };
    return { result: GroupAdminResult.GROUP_ADMIN_OK, group: await this.detail(group), memberIds: group.memberIds };
  }

  /** A group as every front sees it: the limit in force, and the owner's account name. */
  async detail(group: GroupInfo): Promise<IM.Core.IGroupDetail> {
    const detail: IM.Core.IGroupDetail = {
      groupId: group.id,
      name: group.name,
      avatar: group.avatar,
      creatorId: group.creatorId,
      description: group.description,
      memberLimit: this.limitOf(group),
      type: group.type,
      version: group.version,
      created: group.created,
      updated: group.updated,
    };
    const creatorName = await this.users.name(group.creatorId);
    if (creatorName !== undefined) detail.creatorName = creatorName;
    return detail;
  }

  /** The group's owner, or the system. */
  private actsAsOwner(group: GroupInfo, operatorId: number): boolean {
    return operatorId === SYSTEM_OPERATOR || group.creatorId === operatorId;
  }

  private limitOf(group: GroupInfo): number {
    return group.memberLimit > 0 ? group.memberLimit : this.defaultMemberLimit;
  }

  private async activeGroup(groupId: number): Promise<GroupInfo | null> {
    const group = groupId ? await this.store.groups.findById(groupId) : null;
    return group && group.status === GroupStatus.ACTIVE ? group : null;
  }

  private async unknownUser(ids: readonly number[]): Promise<number | undefined> {
    for (const id of ids) if (!id || !(await this.users.exists(id))) return id;
    return undefined;
  }

  private textProblem(fields: { name?: string; avatar?: string; description?: string }): string | undefined {
    if (fields.name !== undefined && bytes(fields.name) > MAX_GROUP_TEXT) return `name longer than ${MAX_GROUP_TEXT} bytes`;
    if (fields.avatar !== undefined && bytes(fields.avatar) > MAX_GROUP_TEXT) return `avatar longer than ${MAX_GROUP_TEXT} bytes`;
    if (fields.description !== undefined && bytes(fields.description) > MAX_GROUP_DESCRIPTION) return `description longer than ${MAX_GROUP_DESCRIPTION} bytes`;
    return undefined;
  }

  /** The event after a member change: its members and ids, and the group's details read afterwards. */
  private async changedNow(change: IM.Core.GroupChange, operatorId: number, groupId: number, members: { memberIds: number[]; changed: number[] }): Promise<AdminRsp> {
    const group = await this.store.groups.findById(groupId);
    if (!group) return refuse(GroupAdminResult.GROUP_ADMIN_NOT_FOUND, `no group ${groupId}`);
    return this.changed(change, operatorId, group, members.memberIds, members.changed);
  }

  private async changed(change: IM.Core.GroupChange, operatorId: number, group: GroupInfo, memberIds: number[], changedIds: number[]): Promise<AdminRsp> {
    return { result: GroupAdminResult.GROUP_ADMIN_OK, event: { change, operatorId, group: await this.detail(group), memberIds, changedIds } };
  }

  /**
   * The store re-checks under the group's lock; when another change got there first (the group
   * dismissed, the new owner gone, the limit now below the members) the answer says so.
   */
  private async lostRace(write: () => Promise<AdminRsp>): Promise<AdminRsp> {
    try {
      return await write();
    } catch (err) {
      if (isStorageError(err, 'NOT_FOUND')) return refuse(GroupAdminResult.GROUP_ADMIN_NOT_FOUND, err.message);
      if (isStorageError(err, 'INVALID_ARGUMENT')) return refuse(GroupAdminResult.GROUP_ADMIN_INVALID, err.message);
      throw err;
    }
  }
}
