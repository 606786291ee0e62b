import { IM, type DbProxyHandlers } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import type { Cache } from '@tt/cache';
import type { LoginThrottle } from '@tt/auth';
import type { Store } from '@tt/storage';
import { StorageError } from '@tt/storage';
import { ROOM_SESSION_TYPE, checkSingleMessage, latestMsgId, messageList, messagesById, recentSessions, storeChecked, unreadCounts, type CheckedMessage } from './domain/messages';
import { KnownUsers, toUserInfo, validateUser } from './domain/users';
import { allUsersSince, changeProfileText, departmentsSince, removeSession } from './domain/buddy';
import { deviceTokens, pushShields, removeDeviceTokens, setDeviceToken } from './domain/push-settings';
import { changeGroupMembers, checkGroupMessage, createGroup, groupInfos, normalGroupList, setGroupShield } from './domain/groups';
import { addOfflineFile, delOfflineFile, offlineFilesFor } from './domain/offline-files';
import { readReceipt, recallMessage, resolveUsers, syncEntries } from './domain/core';
import { checkRoomMessage, joinRoom, leaveRoom, listRooms, roomHistory } from './domain/rooms';
import { groupAdminHandlers } from './handlers/group-admin';
import { socialHandlers } from './handlers/social';
import { messageViewsHandlers } from './handlers/message-views';
import { monitorsHandlers } from './handlers/monitors';
import { adminHandlers } from './handlers/admin';
import { webhookHandlers } from './handlers/webhooks';

const { SessionType } = IM.BaseDefine;

const requireUser = (userId: number | null | undefined): number => {
  if (!userId) throw RpcError.invalidArgument('user_id is required');
  return userId;
};

const requireRoom = (roomId: number | null | undefined): number => {
  if (!roomId) throw RpcError.invalidArgument('room_id is required');
  return roomId;
};

const requireSession = (sessionType: number | null | undefined, sessionId: number | null | undefined) => {
  if (sessionType !== SessionType.SESSION_TYPE_SINGLE && sessionType !== SessionType.SESSION_TYPE_GROUP) throw RpcError.invalidArgument(`unknown session_type ${sessionType}`);
  if (!sessionId) throw RpcError.invalidArgument('session_id is required');
};

/**
 * db_proxy's gRPC handlers: validate the request, call the domain function,
 * return its answer. Callers (msg_server) have already put the logged-in
 * identity into user_id/from_user_id.
 */
export function createDbProxyHandlers(store: Store, cache: Cache, serverId: string, options: { passwordCheckCacheTtlSeconds?: number; loginThrottle?: LoginThrottle } = {}): DbProxyHandlers {
  const knownUsers = new KnownUsers(store);
  const checkMessage = (req: IM.Message.IIMMsgData, extra?: IM.Core.IMessageExtra | null): Promise<CheckedMessage> => {
    const msgType = req.msgType ?? 0;
    if (msgType >= 0x20) return checkRoomMessage(store, req);
    return msgType >= 0x10 ? checkGroupMessage(store, req, extra) : checkSingleMessage(knownUsers, req);
  };
  const failed = (err: unknown): IM.DbProxy.ISaveResult => {
    const e = err instanceof RpcError ? err : (mapStorageError(err) ?? new RpcError(13 /* INTERNAL */, 'internal error'));
    return { errorCode: e.code, errorMessage: e.message };
  };
  return {
    ...groupAdminHandlers(store, knownUsers),
    ...socialHandlers(store, knownUsers),
    ...messageViewsHandlers(store, knownUsers),
    ...monitorsHandlers(store, knownUsers),
    ...adminHandlers(store),
    ...webhookHandlers(store),
    validateUser: async (req) =>
      validateUser(store, cache, req.userName, req.password, { checkCacheTtlSeconds: options.passwordCheckCacheTtlSeconds, throttle: options.loginThrottle, clientIp: req.clientIp || undefined }) as Promise<IM.DbProxy.ValidateRsp>,
    saveMessage: async (req) => (await knownUsers.nameMessage(await storeChecked(store, await checkMessage(req)))) as IM.DbProxy.SavedMessage,
    // Every message joins the same group commit; each succeeds or fails on its own. The checks
    // (look-ups that may finish in any order) all come first; then the saves are queued in request
    // order, so one sender's messages are numbered in the order they were sent. extras[i] (if any)
    // goes with messages[i]; a repeated client_msg_id answers with the original (duplicate).
    saveMessages: async (req) => {
      const checked = await Promise.allSettled(req.messages.map((m, i) => checkMessage(m, req.extras?.[i])));
      const results = await Promise.all(
        checked.map((c, i) => (c.status === 'rejected' ? failed(c.reason) : storeChecked(store, c.value, req.extras?.[i]).then((saved) => knownUsers.nameMessage(saved)).then((saved) => ({ saved }), failed))),
      );
      return { results } as IM.DbProxy.SaveMessagesRsp;
    },
    getUnreadCount: async (req) => ({ ...(await unreadCounts(store, requireUser(req.userId))), attachData: req.attachData }) as IM.Message.IMUnreadMsgCntRsp,
    markRead: async (req) => {
      requireSession(req.sessionType, req.sessionId);
      await store.sessions.markRead(requireUser(req.userId), req.sessionType, req.sessionId, req.msgId);
      return {};
    },
    getMsgList: async (req) => {
      requireUser(req.userId);
      requireSession(req.sessionType, req.sessionId);
      return (await messageList(store, req)) as IM.Message.IMGetMsgListRsp;
    },
    getLatestMsgId: async (req) => {
      requireUser(req.userId);
      requireSession(req.sessionType, req.sessionId);
      return (await latestMsgId(store, req)) as IM.Message.IMGetLatestMsgIdRsp;
    },
    getMsgById: async (req) => {
      requireUser(req.userId);
      requireSession(req.sessionType, req.sessionId);
      return (await messagesById(store, req)) as IM.Message.IMGetMsgByIdRsp;
    },
    getRecentSessions: async (req) => {
      requireUser(req.userId);
      return (await recentSessions(store, req)) as IM.Buddy.IMRecentContactSessionRsp;
    },
    getUsersInfo: async (req) => {
      const users = await store.users.findByIds(req.userIdList ?? []);
      return { userId: req.userId, userInfoList: users.map(toUserInfo), attachData: req.attachData } as IM.Buddy.IMUsersInfoRsp;
    },
    getAllUsers: async (req) => (await allUsersSince(store, requireUser(req.userId), req.latestUpdateTime ?? 0)) as IM.Buddy.IMAllUserRsp,
    getDepartments: async (req) => (await departmentsSince(store, requireUser(req.userId), req.latestUpdateTime ?? 0)) as IM.Buddy.IMDepartmentRsp,
    removeSession: async (req) => {
      requireUser(req.userId);
      requireSession(req.sessionType, req.sessionId);
      return (await removeSession(store, req)) as IM.Buddy.IMRemoveSessionRsp;
    },
    changeAvatar: async (req) => {
      const userId = requireUser(req.userId);
      const resultCode = await changeProfileText(store, userId, 'avatar', req.avatarUrl ?? '');
      return { rsp: { userId, resultCode, attachData: req.attachData }, notifyUserIds: [] } as unknown as IM.DbProxy.ChangeAvatarRsp;
    },
    changeSignInfo: async (req) => {
      const userId = requireUser(req.userId);
      const resultCode = await changeProfileText(store, userId, 'signInfo', req.signInfo ?? '');
      return { rsp: { userId, resultCode, signInfo: req.signInfo, attachData: req.attachData }, notifyUserIds: [] } as unknown as IM.DbProxy.ChangeSignInfoRsp;
    },
    setDeviceToken: async (req) => {
      const userId = requireUser(req.userId);
      await setDeviceToken(store, userId, req.clientType ?? 0, req.deviceToken ?? '');
      return { userId, attachData: req.attachData } as IM.Login.IMDeviceTokenRsp;
    },
    getDeviceTokens: async (req) => ({ userTokenInfo: await deviceTokens(store, (req.userId ?? []).slice(0, 10_000)), attachData: req.attachData }) as IM.Server.IMGetDeviceTokenRsp,
    setPushShield: async (req) => {
      const userId = requireUser(req.userId);
      const status = req.shieldStatus ? 1 : 0;
      await store.settings.setPushShield(userId, status);
      return { userId, resultCode: 0, shieldStatus: status, attachData: req.attachData } as IM.Login.IMPushShieldRsp;
    },
    queryPushShield: async (req) => {
      const userId = requireUser(req.userId);
      return { userId, resultCode: 0, shieldStatus: await store.settings.pushShield(userId), attachData: req.attachData } as IM.Login.IMQueryPushShieldRsp;
    },
    removeDeviceTokens: async (req) => ({ removed: await removeDeviceTokens(store, (req.tokens ?? []).slice(0, 10_000)) }) as IM.DbProxy.RemoveDeviceTokensRsp,
    getPushShields: async (req) => ({ shields: await pushShields(store, (req.userIds ?? []).slice(0, 10_000), req.conversation) }) as IM.DbProxy.GetPushShieldsRsp,
    getNormalGroupList: async (req) => ({ ...(await normalGroupList(store, requireUser(req.userId))), attachData: req.attachData }) as IM.Group.IMNormalGroupListRsp,
    getGroupInfo: async (req) => ({ ...(await groupInfos(store, requireUser(req.userId), req.groupVersionList ?? [])), attachData: req.attachData }) as IM.Group.IMGroupInfoListRsp,
    createGroup: async (req) => {
      requireUser(req.userId);
      return (await createGroup(store, knownUsers, req)) as IM.Group.IMGroupCreateRsp;
    },
    changeGroupMember: async (req) => {
      requireUser(req.userId);
      return (await changeGroupMembers(store, knownUsers, req)) as unknown as IM.DbProxy.ChangeGroupMemberRsp;
    },
    setGroupShield: async (req) => {
      requireUser(req.userId);
      return (await setGroupShield(store, req)) as IM.Group.IMGroupShieldRsp;
    },
    getGroupShield: async (req) => {
      const rows = await store.groups.shieldStatuses(req.groupId, (req.userId ?? []).slice(0, 10_000));
      return { groupId: req.groupId, shieldStatusList: rows.map((r) => ({ userId: r.userId, groupId: req.groupId, shieldStatus: r.shieldStatus })), attachData: req.attachData } as IM.Server.IMGroupGetShieldRsp;
    },
    addOfflineFile: async (req) => {
      await addOfflineFile(store, req);
      return {};
    },
    getOfflineFiles: async (req) => (await offlineFilesFor(store, requireUser(req.userId))) as IM.DbProxy.OfflineFileList,
    delOfflineFile: async (req) => (await delOfflineFile(store, req)) as IM.DbProxy.DelOfflineFileRsp,
    sync: async (req) => {
      requireUser(req.userId);
      return (await syncEntries(store, req)) as IM.DbProxy.SyncRsp;
    },
    msyncBind: async (req) => {
      const bound = await store.msyncDevices.bind(requireUser(req.userId), req.resource, { initialSeq: Number(req.initialSeq), maxDevices: req.maxDevices, activeSince: req.activeSince });
      return (bound.ok ? { ok: true, confirmedSeq: bound.confirmedSeq, isNew: bound.isNew, activeResources: [] } : { ok: false, confirmedSeq: 0, isNew: false, activeResources: bound.activeResources }) as IM.DbProxy.MsyncBindRsp;
    },
    msyncConfirm: async (req) => {
      const userId = requireUser(req.userId);
      if (req.forget) await store.msyncDevices.remove(userId, req.resource);
      else await store.msyncDevices.confirm(userId, req.resource, Number(req.confirmedSeq ?? 0));
      return {};
    },
    getMaxSeq: async (req) => ({ maxSeq: await store.messages.maxSeq(requireUser(req.userId)) }) as IM.DbProxy.MaxSeqRsp,
    recallMessage: async (req) => {
      requireUser(req.userId);
      if (req.sessionType === ROOM_SESSION_TYPE) {
        if (!req.peerId) throw RpcError.invalidArgument('peer_id (the room) is required');
        const rsp = await recallMessage(store, req);
        // Rooms have no seqs: whoever is in the room now is told.
        return { ...rsp, recipientIds: rsp.event ? await store.rooms.memberIds(req.peerId) : [] } as IM.DbProxy.RecallRsp;
      }
      requireSession(req.sessionType, req.peerId);
      return (await recallMessage(store, req)) as IM.DbProxy.RecallRsp;
    },
    readReceipt: async (req) => {
      requireUser(req.userId);
      requireSession(req.sessionType, req.peerId);
      return (await readReceipt(store, req)) as IM.DbProxy.ReadReceiptRsp;
    },
    resolveUsers: async (req) => (await resolveUsers(store, req)) as IM.DbProxy.ResolveUsersRsp,
    joinRoom: async (req) => (await joinRoom(store, requireUser(req.userId), requireRoom(req.roomId))) as IM.DbProxy.JoinRoomRsp,
    leaveRoom: async (req) => (await leaveRoom(store, requireUser(req.userId), requireRoom(req.roomId))) as IM.DbProxy.LeaveRoomRsp,
    listRooms: async (req) => (await listRooms(store, req.userId ?? 0)) as IM.DbProxy.ListRoomsRsp,
    roomHistory: async (req) => {
      requireUser(req.userId);
      requireRoom(req.roomId);
      return (await roomHistory(store, req)) as IM.DbProxy.RoomHistoryRsp;
    },
    ping: async () => {
      await store.db.query('SELECT 1');
      return { serverId, serverTime: Math.floor(Date.now() / 1000) } as IM.DbProxy.PingRsp;
    },
  };
}

/** Storage failures as gRPC statuses; anything else stays INTERNAL. */
export function mapStorageError(err: unknown): RpcError | undefined {
  if (!(err instanceof StorageError)) return undefined;
  switch (err.code) {
    case 'UNAVAILABLE':
      return RpcError.unavailable('database unavailable');
    case 'NOT_FOUND':
      return RpcError.notFound(err.message);
    case 'DUPLICATE':
      return new RpcError(6 /* ALREADY_EXISTS */, err.message);
    case 'INVALID_ARGUMENT':
      return RpcError.invalidArgument(err.message);
    default:
      return undefined;
  }
}
