import { IM } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import { isStorageError, type Store } from '@tt/storage';
import type { KnownUsers } from './users';
import type { CheckedMessage } from './messages';

const { GroupType, GroupModifyType, SessionType, MsgType } = IM.BaseDefine;

/** Largest group; TeamTalk's clients were built around a few hundred members. */
export const MAX_GROUP_MEMBERS = 2000;
/** Longest group name and avatar URL accepted. */
export const MAX_GROUP_TEXT = 255;

export const GROUP_RESULT = { OK: 0, FAILED: 1, NO_PERMISSION: 2, NOT_FOUND: 3, TOO_MANY: 4 } as const;

function cleanIds(ids: readonly number[] | null | undefined, limit: number): number[] {
  return [...new Set((ids ?? []).filter((id) => Number.isInteger(id) && id > 0))].slice(0, limit);
}

export async function normalGroupList(store: Store, userId: number): Promise<IM.Group.IIMNormalGroupListRsp> {
  const groups = await store.groups.listForUser(userId, [GroupType.GROUP_TYPE_NORMAL]);
  return { userId, groupVersionList: groups.map((g) => ({ groupId: g.groupId, version: g.version })) };
}

/** Full details only for groups the user belongs to and whose version the client does not have. */
export async function groupInfos(store: Store, userId: number, wanted: IM.BaseDefine.IGroupVersionInfo[]): Promise<IM.Group.IIMGroupInfoListRsp> {
  const clientVersion = new Map(wanted.slice(0, 1000).map((v) => [v.groupId!, v.version ?? 0]));
  const groups = await store.groups.findByIds([...clientVersion.keys()], userId);
  const groupInfoList = groups
    .filter((g) => g.memberIds.includes(userId) && g.version > (clientVersion.get(g.id) ?? 0))
    .map((g) => ({
      groupId: g.id,
      version: g.version,
      groupName: g.name,
      groupAvatar: g.avatar,
      groupCreatorId: g.creatorId,
      groupType: g.type,
      shieldStatus: g.shieldStatus,
      groupMemberList: g.memberIds,
    }));
  return { userId, groupInfoList };
}

export async function createGroup(store: Store, users: KnownUsers, req: IM.Group.IIMGroupCreateReq): Promise<IM.Group.IIMGroupCreateRsp> {
  const creatorId = req.userId!;
  const name = req.groupName ?? '';
  const refused = (resultCode: number) => ({ userId: creatorId, resultCode, groupName: name, userIdList: [] });
  if (req.groupType !== GroupType.GROUP_TYPE_NORMAL && req.groupType !== GroupType.GROUP_TYPE_TMP) return refused(GROUP_RESULT.FAILED);
  if (!name || Buffer.byteLength(name) > MAX_GROUP_TEXT || Buffer.byteLength(req.groupAvatar ?? '') > MAX_GROUP_TEXT) return refused(GROUP_RESULT.FAILED);
  if (!req.memberIdList?.length) return refused(GROUP_RESULT.FAILED);
  const members = cleanIds([creatorId, ...(req.memberIdList ?? [])], MAX_GROUP_MEMBERS + 1);
  if (members.length > MAX_GROUP_MEMBERS) return refused(GROUP_RESULT.TOO_MANY);
  for (const id of members) if (!(await users.exists(id))) return refused(GROUP_RESULT.NOT_FOUND);
  const group = await store.groups.create({ type: req.groupType!, name, avatar: req.groupAvatar ?? '', creatorId, memberIds: members });
  return { userId: creatorId, resultCode: GROUP_RESULT.OK, groupId: group.id, groupName: group.name, userIdList: group.memberIds, attachData: req.attachData };
}

/**
 * Adds or removes members. Who may: the creator, for any change; in a
 * temporary group also any member adding people (TeamTalk's rule), and any
 * member removing themselves (leaving, which the original lacks). Only
 * members may change a group at all.
 */
export async function changeGroupMembers(store: Store, users: KnownUsers, req: IM.Group.IIMGroupChangeMemberReq): Promise<{ rsp: IM.Group.IIMGroupChangeMemberRsp; notifyUserIds: number[] }> {
  const userId = req.userId!;
  const groupId = req.groupId!;
  const changeType = req.changeType!;
  const refuse = (resultCode: number) => ({ rsp: { userId, changeType, resultCode, groupId, curUserIdList: [], chgUserIdList: [], attachData: req.attachData }, notifyUserIds: [] });
  if (changeType !== GroupModifyType.GROUP_MODIFY_TYPE_ADD && changeType !== GroupModifyType.GROUP_MODIFY_TYPE_DEL) return refuse(GROUP_RESULT.FAILED);
  const group = await store.groups.findById(groupId);
  if (!group || group.status !== 0) return refuse(GROUP_RESULT.NOT_FOUND);
  if (!group.memberIds.includes(userId)) return refuse(GROUP_RESULT.NO_PERMISSION);
  const ids = cleanIds(req.memberIdList, MAX_GROUP_MEMBERS);
  if (ids.length === 0) return refuse(GROUP_RESULT.FAILED);
  const isCreator = group.creatorId === userId;
  const adding = changeType === GroupModifyType.GROUP_MODIFY_TYPE_ADD;
  const allowed = isCreator || (group.type === GroupType.GROUP_TYPE_TMP && (adding || (ids.length === 1 && ids[0] === userId)));
  if (!allowed) return refuse(GROUP_RESULT.NO_PERMISSION);
  // The group's own member limit (set by its owner over OMTP), else the default.
  const limit = group.memberLimit > 0 ? group.memberLimit : MAX_GROUP_MEMBERS;
  if (adding) {
    const newcomers = ids.filter((id) => !group.memberIds.includes(id));
    if (group.memberIds.length + newcomers.length > limit) return refuse(GROUP_RESULT.TOO_MANY);
    for (const id of newcomers) if (!(await users.exists(id))) return refuse(GROUP_RESULT.NOT_FOUND);
  }
  // The store counts again under the group's lock, so concurrent adds cannot pass the limit.
  // NOT_FOUND there: dismissed since it was read.
  const result = await store.groups.changeMembers(groupId, adding ? 'add' : 'remove', ids, { defaultLimit: MAX_GROUP_MEMBERS }).catch((err: unknown) => {
    if (isStorageError(err, 'NOT_FOUND')) return null;
    throw err;
  });
  if (!result) return refuse(GROUP_RESULT.NOT_FOUND);
  if (result.full) return refuse(GROUP_RESULT.TOO_MANY);
  // As in the original: a change that changes nothing (all already members, or none of them) fails.
  if (result.changed.length === 0) return refuse(GROUP_RESULT.FAILED);
  const notifyUserIds = [...new Set([...result.memberIds, ...(adding ? [] : result.changed)])];
  return {
    rsp: { userId, changeType, resultCode: GROUP_RESULT.OK, groupId, curUserIdList: result.memberIds, chgUserIdList: result.changed, attachData: req.attachData },
    notifyUserIds,
  };
}

export async function setGroupShield(store: Store, req: IM.Group.IIMGroupShieldReq): Promise<IM.Group.IIMGroupShieldRsp> {
  const base = { userId: req.userId, groupId: req.groupId, attachData: req.attachData };
  if (!(await store.groups.isMember(req.groupId!, req.userId!))) return { ...base, resultCode: GROUP_RESULT.NO_PERMISSION };
  await store.groups.setShield(req.groupId!, req.userId!, req.shieldStatus ? 1 : 0);
  return { ...base, resultCode: GROUP_RESULT.OK };
}

/** Stores a group message from a member; returns its ack and every member to deliver to. */
export async function checkGroupMessage(store: Store, msg: IM.Message.IIMMsgData, extra?: IM.Core.IMessageExtra | null): Promise<CheckedMessage> {
  const from = msg.fromUserId!;
  const groupId = msg.toSessionId!;
  if (msg.msgType !== MsgType.MSG_TYPE_GROUP_TEXT && msg.msgType !== MsgType.MSG_TYPE_GROUP_AUDIO) throw RpcError.invalidArgument(`msg_type ${msg.msgType} is not a group type`);
  if (!msg.msgData || msg.msgData.length === 0) throw RpcError.invalidArgument('empty msg_data');
  const members = await store.groups.memberIds(groupId);
  // The system account (operator API) speaks to any group; everyone else must be a member.
  if (!members.includes(from) && !extra?.systemSender) throw RpcError.permissionDenied(`user ${from} is not a member of group ${groupId}`);
  if (members.length === 0) throw RpcError.notFound(`group ${groupId} does not exist or has no members`);
  return {
    message: {
      sessionType: SessionType.SESSION_TYPE_GROUP,
      fromUserId: from,
      toId: groupId,
      msgType: msg.msgType,
      data: msg.msgData,
      createTime: msg.createTime ?? Math.floor(Date.now() / 1000),
      recipientIds: members,
    },
    recipientIds: members,
  };
}
