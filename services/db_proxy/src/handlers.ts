import { IM, type DbProxyHandlers } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import type { Cache } from '@tt/cache';
import type { Store } from '@tt/storage';
import { StorageError } from '@tt/storage';
import { latestMsgId, messageList, messagesById, recentSessions, saveSingleMessage, unreadCounts } from './domain/messages';
import { KnownUsers, toUserInfo, validateUser } from './domain/users';

const { SessionType } = IM.BaseDefine;

const requireUser = (userId: number | null | undefined): number => {
  if (!userId) throw RpcError.invalidArgument('user_id is required');
  return userId;
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
export function createDbProxyHandlers(store: Store, cache: Cache, serverId: string): DbProxyHandlers {
  const knownUsers = new KnownUsers(store);
  return {
    validateUser: async (req) => validateUser(store, cache, req.userName, req.password) as Promise<IM.Server.IMValidateRsp>,
    saveMessage: async (req) => saveSingleMessage(store, knownUsers, req) as Promise<IM.Message.IMMsgDataAck>,
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
    default:
      return undefined;
  }
}
