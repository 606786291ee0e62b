import { createHash } from 'node:crypto';
import * as omtp from '@tt/omtp';
import { IM } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import { isTokenError, verifyToken } from '@tt/auth';
import type { CommandContext, CommandRouter } from '../../command-router';
import type { ClientConnection } from '../../connection';
import type { MsgServerContext } from '../../context';
import { teamTalkMsgType } from '../../core/content';
import type { MonitoredSession } from '../../core/monitors';
import { admitClient } from '../admit';
import { groupConversationId, parseConversationId, parseDecimalId, singleConversationId } from '../ws/ids';
import { Code, EMPTY, OmtpRequestError, badRequest, forbidden, notFound, tarsType } from './codes';
import type { OmtpConnection } from './connection';
import { kindOfContentType } from './content';
import { MsgCommand, type OmtpFront } from './front';
import { clientIpOf, throttledSeconds, throttledText } from '../login-throttle';

const { PackType: T, Flags, DeviceType } = omtp;
const { SessionType, ClientType, UserStatType } = IM.BaseDefine;
const { GroupAdminAction, GroupAdminResult, MonitorResult, RecallResult } = IM.DbProxy;

export interface OmtpHandlerOptions {
  /** AUTH_JWT_SECRET; empty: token logins are refused (passwords still work). */
  jwtSecret: string;
  maxContentBytes: number;
  /** Sessions a HOTSESSION_SYNC returns at most, and messages per session. */
  hotSessions: number;
  hotSessionMessages: number;
}

const MAX_PAGE = 200;
const MAX_NAMES = 1000;
const MAX_TEXT = 1024;

/** A conversation as a request names it, from the requesting user's side. */
interface Target {
  sessionType: number;
  peerId: number;
  sessionId: string;
}

/** TeamTalk client types of OMTP device types: phones and PCs, for the one-PC-one-phone rule. */
function clientTypeOfDevice(deviceType: number): number {
  switch (deviceType) {
    case DeviceType.DEVICE_IOS:
      return ClientType.CLIENT_TYPE_IOS;
    case DeviceType.DEVICE_ANDROID:
      return ClientType.CLIENT_TYPE_ANDROID;
    case DeviceType.DEVICE_MACOS:
      return ClientType.CLIENT_TYPE_MAC;
    default:
      // Windows, Linux and an unnamed device are PCs.
      return ClientType.CLIENT_TYPE_WINDOWS;
  }
}

const isSafeId = (n: number) => Number.isSafeInteger(n) && n >= 0;

/**
 * The OMTP packets: decode (the router did) → validate → call the core →
 * encode the answer in the type's answer struct. Failures are answered
 * with a code (docs/fronts/omtp.md, "Codes").
 */
export function registerOmtpHandlers(router: CommandRouter, ctx: MsgServerContext, front: OmtpFront, options: OmtpHandlerOptions): void {
  const omtpOf = (conn: ClientConnection) => conn as OmtpConnection;
  const viewerName = (conn: ClientConnection) => conn.identity!.name!;

  const codeOf = (err: unknown): { code: number; desc: string } => {
    if (err instanceof OmtpRequestError) return { code: err.code, desc: err.message };
    if (err instanceof RpcError) {
      if (err.code === 3) return { code: Code.BAD_REQUEST, desc: err.message };
      if (err.code === 5) return { code: Code.NOT_FOUND, desc: err.message };
      if (err.code === 7) return { code: Code.FORBIDDEN, desc: err.message };
    }
    return { code: Code.SERVER_ERROR, desc: 'internal error' };
  };

  /** Registers a packet type: its request struct (or none), and a handler whose errors become coded answers. */
  const on = <V>(type: number, name: string, schema: omtp.StructSchema<V> | undefined, handler: (c: CommandContext, req: V) => Promise<void> | void, opts: { beforeLogin?: boolean; immediate?: boolean; pipelined?: boolean } = {}) => {
    router.on(
      type,
      name,
      (schema ? tarsType(schema) : EMPTY) as { decode(body: Uint8Array): V },
      async (c, req) => {
        try {
          await handler(c, req);
        } catch (err) {
          const { code, desc } = codeOf(err);
          if (code === Code.SERVER_ERROR) ctx.log.error({ err, userId: c.conn.userId, type }, 'omtp request failed');
          omtpOf(c.conn).fail(c.seqNum, code, desc);
        }
      },
      opts,
    );
  };

  /** Answers with the type's answer struct. */
  const answer = <V>(c: CommandContext, schema: omtp.StructSchema<V>, value: omtp.TarsInput<V>) => omtpOf(c.conn).answer(c.seqNum, omtp.encodeStruct(schema, value));
  const ok = (c: CommandContext) => answer(c, omtp.CommonResp, { code: Code.OK, desc: '' });
  const okCode = { code: Code.OK, desc: '' };

  const userIdOf = async (name: string): Promise<number> => {
    if (!name) throw badRequest('a user id is required');
    const id = await ctx.directory.idOf(name);
    if (id === undefined) throw notFound(`no user ${JSON.stringify(name.slice(0, 80))}`);
    return id;
  };

  const groupIdOf = (text: string): number => {
    const id = parseDecimalId(text);
    if (id === undefined) throw badRequest('groupId is a group id in decimal');
    return id;
  };

  /** The logged-in user named as the operator (empty: the logged-in user); anyone else: 403. */
  const checkSelf = (conn: ClientConnection, name: string, field: string) => {
    if (name && name !== viewerName(conn)) throw forbidden(`${field} must be the logged-in user`);
  };

  /** A session named by its sessionId (or a bare peer account name / group id), from the user's side. */
  const targetOf = async (conn: ClientConnection, sessionId: string): Promise<Target> => {
    if (!sessionId) throw badRequest('sessionId is required');
    const viewer = viewerName(conn);
    const parsed = parseConversationId(sessionId, viewer);
    if (parsed?.kind === 'group') return { sessionType: SessionType.SESSION_TYPE_GROUP, peerId: parsed.groupId, sessionId };
    if (parsed?.kind === 'single') return { sessionType: SessionType.SESSION_TYPE_SINGLE, peerId: await userIdOf(parsed.peerName), sessionId };
    if (sessionId.startsWith('si_') || sessionId.startsWith('sg_')) throw notFound('not a session of yours');
    const peerId = await ctx.directory.idOf(sessionId);
    if (peerId !== undefined && sessionId !== viewer) return { sessionType: SessionType.SESSION_TYPE_SINGLE, peerId, sessionId: singleConversationId(viewer, sessionId) };
    const groupId = parseDecimalId(sessionId);
    if (groupId !== undefined) return { sessionType: SessionType.SESSION_TYPE_GROUP, peerId: groupId, sessionId: groupConversationId(groupId) };
    throw notFound(`no session ${JSON.stringify(sessionId.slice(0, 80))}`);
  };

  /** A session named from no one's side (monitors listen to others' conversations). */
  const monitoredOf = async (sessionId: string): Promise<MonitoredSession> => {
    if (sessionId.startsWith('sg_')) {
      const groupId = parseDecimalId(sessionId.slice(3));
      if (groupId !== undefined) return { sessionType: SessionType.SESSION_TYPE_GROUP, idA: groupId, idB: 0 };
    } else if (sessionId.startsWith('si_')) {
      // Names may contain '_': try every cut whose two names exist and give back this id.
      const pair = sessionId.slice(3);
      for (let at = pair.indexOf('_'); at > 0; at = pair.indexOf('_', at + 1)) {
        const a = pair.slice(0, at);
        const b = pair.slice(at + 1);
        if (!b || singleConversationId(a, b) !== sessionId) continue;
        const [idA, idB] = await Promise.all([ctx.directory.idOf(a), ctx.directory.idOf(b)]);
        if (idA !== undefined && idB !== undefined) return { sessionType: SessionType.SESSION_TYPE_SINGLE, idA: Math.min(idA, idB), idB: Math.max(idA, idB) };
      }
      throw notFound('no such session');
    } else {
      const groupId = parseDecimalId(sessionId);
      if (groupId !== undefined) return { sessionType: SessionType.SESSION_TYPE_GROUP, idA: groupId, idB: 0 };
    }
    throw badRequest('sessionId is si_<a>_<b> or sg_<groupId>');
  };

  const namesOf = async (ids: Iterable<number>) => {
    const names = await ctx.directory.names(ids);
    return (id: number) => names.get(id) ?? String(id);
  };

  // ---------------------------------------------------------------- session

  on(T.PT_PING, 'omtp_ping', undefined, (c) => omtpOf(c.conn).answer(c.seqNum, new Uint8Array()), { beforeLogin: true, immediate: true });

  on(
    T.PT_LOGIN,
    'omtp_login',
    omtp.LoginReq,
    async (c, req) => {
      const { conn, seqNum } = c;
      const o = omtpOf(conn);
      const refuse = (code: number, desc: string) => {
        ctx.metrics.logins.inc({ result: `omtp_${code}` });
        o.fail(seqNum, code, desc);
        conn.close();
      };
      if (conn.identity || conn.loginInProgress) return o.fail(seqNum, Code.CONFLICT, 'already logged in');
      conn.loginInProgress = true;
      const account = req.userName || req.clientId;
      if (!account || !req.password) return refuse(Code.BAD_REQUEST, 'userName and password (or a token) are required');
      if (req.deviceType < 0 || req.deviceType > DeviceType.DEVICE_LINUX) return refuse(Code.BAD_REQUEST, `deviceType ${req.deviceType} is not 0-5`);
      let user: { userId: number; name: string } | undefined;
      // A token from login_server (POST /auth/token), else the account's password.
      if (options.jwtSecret && req.password.split('.').length === 3) {
        try {
          const verified = await verifyToken(req.password, options.jwtSecret);
          if (verified.name !== account) return refuse(Code.UNAUTHORIZED, 'the token is for another user');
          user = { userId: verified.userId, name: verified.name };
        } catch (err) {
          if (isTokenError(err) && err.code === 'EXPIRED') return refuse(Code.UNAUTHORIZED, 'token expired');
          // Not a token after all: try it as a password.
        }
      }
      if (!user) {
        let validation: IM.DbProxy.ValidateRsp;
        try {
          validation = await ctx.db.validateUser({ userName: account, password: createHash('md5').update(req.password, 'utf8').digest('hex'), clientIp: clientIpOf(conn.remoteAddress) });
        } catch (err) {
          ctx.log.error({ err: err instanceof RpcError ? err.message : err }, 'omtp login: db_proxy unreachable');
          return refuse(Code.SERVER_ERROR, 'database service unavailable');
        }
        const wait = throttledSeconds(validation);
        if (wait) return refuse(Code.RATE_LIMITED, throttledText(wait));
        if (validation.resultCode !== 0 || !validation.userInfo) return refuse(Code.UNAUTHORIZED, 'user name or password is wrong');
        user = { userId: validation.userInfo.userId, name: account };
      }
      if (conn.closed) return;
      const clientType = clientTypeOfDevice(req.deviceType);
      conn.identity = { userId: user.userId, clientType, status: UserStatType.USER_STATUS_ONLINE, name: user.name };
      conn.loginInProgress = false;
      o.device = { deviceType: req.deviceType, deviceId: req.deviceId };
      const flags = o.flagsOf(seqNum);
      o.pushMode = { compress: omtp.compressOf(flags), crypto: omtp.cryptoOf(flags) };
      ctx.directory.remember(user.userId, user.name);
      o.hold();
      admitClient(ctx, conn, clientType);
      let nick = '';
      try {
        nick = (await ctx.social.profiles([user.userId]))[0]?.nick ?? '';
      } catch {
        /* the profile is a courtesy */
      }
      const extraData = JSON.stringify({ userId: user.userId, nick, serverTime: Date.now() });
      o.answerFirst(seqNum, omtp.encodeStruct(omtp.LoginResp, { code: Code.OK, clientId: user.name, extraData }));
    },
    { beforeLogin: true },
  );

  on(T.PT_LOGOUT, 'omtp_logout', undefined, (c) => {
    omtpOf(c.conn).answer(c.seqNum, new Uint8Array());
    c.conn.close();
  });

  // The server's pushes are acknowledged with ACK=1 (dropped by the connection); a KICKOUT request from a client means nothing.
  on(T.PT_KICKOUT, 'omtp_kickout', undefined, () => {
    throw forbidden('only the server sends KICKOUT');
  });

  // ---------------------------------------------------------------- messages

  // Messages of a connection are pipelined: the next is taken while this one
  // is stored; name look-ups resolve in a per-connection chain, so saves
  // still start in the order sent.
  const sendChains = new WeakMap<ClientConnection, Promise<void>>();
  const onMessage = (type: number, sessionType: number) =>
    on(
      type,
      type === T.PT_MSG_SINGLE_CHAT ? 'omtp_single_chat' : 'omtp_group_chat',
      omtp.MsgReq,
      async (c, req) => {
        const { conn } = c;
        const o = omtpOf(conn);
        let sending: Promise<void> | undefined;
        let failure: unknown;
        const flags = o.flagsOf(c.seqNum);
        const packId = o.packIdOf(c.seqNum);
        const step = (sendChains.get(conn) ?? Promise.resolve()).then(async () => {
          try {
            checkSelf(conn, req.from, 'from');
            if (!req.to) throw badRequest('to is required');
            let target: Target;
            if (sessionType === SessionType.SESSION_TYPE_GROUP) {
              const groupId = groupIdOf(req.to);
              target = { sessionType, peerId: groupId, sessionId: groupConversationId(groupId) };
            } else {
              if (req.to === viewerName(conn)) throw badRequest('a message to oneself');
              target = { sessionType, peerId: await userIdOf(req.to), sessionId: singleConversationId(viewerName(conn), req.to) };
            }
            const kind = kindOfContentType(req.contentType);
            if (kind === undefined) throw badRequest(`contentType ${req.contentType} is not one of 1, 2, 3, 5, 6, 7, 8`);
            const plain = Buffer.from(req.content, 'utf8');
            if (plain.length === 0) throw badRequest('content is empty');
            if (plain.length > options.maxContentBytes) throw new OmtpRequestError(Code.TOO_LARGE, `content is larger than ${options.maxContentBytes} bytes`);
            if (Buffer.byteLength(req.pushInfo) > MAX_TEXT) throw badRequest(`pushInfo is longer than ${MAX_TEXT} bytes`);
            if (packId.length > 128) throw badRequest('packId is longer than 128 characters');
            if (!ctx.messageLimiter.tryTake(conn.userId)) {
              ctx.metrics.messagesRejected.inc({ reason: 'rate' });
              throw new OmtpRequestError(Code.RATE_LIMITED, 'sending too fast');
            }
            const highPriority = omtp.hasFlag(flags, Flags.HIGHPRJ);
            const extra: IM.Core.IMessageExtra = {
              kind,
              clientMsgId: packId || undefined,
              omtpFlags: flags & (Flags.COUNTER | Flags.OVERWRITE | Flags.HIGHPRJ),
              highPriority: highPriority || undefined,
              pushInfo: req.pushInfo || undefined,
            };
            const message = { sessionType, toId: target.peerId, msgType: teamTalkMsgType(kind, sessionType), content: ctx.content.toStored(kind, plain), extra };
            sending = ctx.core.send(conn, message, (saved) => answer(c, omtp.MsgAck, { code: Code.OK, sessionId: target.sessionId, seqId: saved.msgId, timestamp: saved.serverTimeMs }));
            // The save is queued; the next message may start.
            sending.catch(() => {});
          } catch (err) {
            failure = err;
          }
        });
        sendChains.set(conn, step);
        await step;
        if (failure) throw failure;
        try {
          await sending;
        } catch (err) {
          ctx.metrics.messagesRejected.inc({ reason: 'store' });
          throw err;
        }
      },
      { pipelined: true },
    );
  onMessage(T.PT_MSG_SINGLE_CHAT, SessionType.SESSION_TYPE_SINGLE);
  onMessage(T.PT_MSG_GROUP_CHAT, SessionType.SESSION_TYPE_GROUP);

  on(T.PT_MSG_BIZ_NOTIFY, 'omtp_biz_notify', omtp.MsgReq, () => {
    throw forbidden('business notifications come from operators (ttctl notify)');
  });

  on(T.PT_MSG_CTRL, 'omtp_msg_ctrl', omtp.MsgControl, async (c, req) => {
    const { conn } = c;
    if (req.command !== MsgCommand.RECALL && req.command !== MsgCommand.DELETE) throw badRequest(`command ${req.command} is not 1 (recall) or 2 (delete)`);
    if (!isSafeId(req.seqId) || req.seqId > 0xffffffff) throw badRequest('seqId is not a message id');
    const target = await targetOf(conn, req.sessionId);
    let msgId = req.seqId;
    if (msgId === 0) {
      // By the sender's own packId: only the user's own messages.
      if (!req.packId) throw badRequest('seqId or packId is required');
      const found = await ctx.db.findClientMsg({ userId: conn.userId, clientMsgId: req.packId });
      if (!found.found || found.conversation?.sessionType !== target.sessionType || found.conversation?.peerId !== target.peerId) throw notFound('no message of yours with this packId in this session');
      msgId = found.msgId!;
    }
    if (req.command === MsgCommand.DELETE) {
      const rsp = await ctx.db.hideMessages({ userId: conn.userId, conversation: { sessionType: target.sessionType, peerId: target.peerId }, msgIds: [msgId] });
      if (rsp.msgIds.length === 0) throw notFound('no such message');
      return ok(c);
    }
    const rsp = await ctx.core.recall(conn, { sessionType: target.sessionType, peerId: target.peerId, msgId });
    switch (rsp.result) {
      case RecallResult.RECALL_OK:
        return ok(c);
      case RecallResult.RECALL_NOT_FOUND:
        throw notFound(rsp.errorMessage || 'no such message');
      case RecallResult.RECALL_TOO_LATE:
        throw new OmtpRequestError(Code.CONFLICT, rsp.errorMessage || 'too late to recall this message');
      default:
        throw forbidden(rsp.errorMessage || 'you may not recall this message');
    }
  });

  on(T.PT_MSG_READ, 'omtp_msg_read', omtp.MsgReaded, async (c, req) => {
    if (!isSafeId(req.seqId) || req.seqId === 0 || req.seqId > 0xffffffff) throw badRequest('seqId is not a message id');
    const target = await targetOf(c.conn, req.sessionId);
    await ctx.core.read(c.conn, { sessionType: target.sessionType, peerId: target.peerId, upToMsgId: req.seqId });
    ok(c);
  });

  // ---------------------------------------------------------------- views

  /** Stored messages as OTIMPacks, with names. */
  const packsOf = async (messages: IM.Core.IStoredMessage[]): Promise<omtp.OTIMPack[]> => {
    const ids = new Set<number>();
    for (const m of messages) {
      ids.add(m.fromUserId!);
      if (m.sessionType === SessionType.SESSION_TYPE_SINGLE) ids.add(m.toId!);
    }
    const nameOf = await namesOf(ids);
    return messages.map((m) => front.messagePack(m, nameOf));
  };

  const sessionIdFor = (viewer: string, sessionType: number, peerName: string, peerId: number) =>
    sessionType === SessionType.SESSION_TYPE_GROUP ? groupConversationId(peerId) : singleConversationId(viewer, peerName);

  on(T.PT_HOTSESSION_SYNC, 'omtp_hotsession_sync', omtp.HotSessionReq, async (c, req) => {
    if (!isSafeId(req.timestamp)) throw badRequest('timestamp is microseconds since the epoch');
    const since = Math.floor(req.timestamp / 1_000_000);
    const rsp = await ctx.db.hotSessions({ userId: c.conn.userId, since, limit: options.hotSessions, lastMessages: options.hotSessionMessages });
    const peers = rsp.sessions.filter((s) => s.conversation.sessionType === SessionType.SESSION_TYPE_SINGLE).map((s) => s.conversation.peerId);
    const nameOf = await namesOf(peers);
    const viewer = viewerName(c.conn);
    const sessions: omtp.TarsInput<omtp.HotSessionItem>[] = [];
    for (const s of rsp.sessions) {
      const attributes: Record<string, string> = {};
      for (const kv of s.attributes ?? []) attributes[kv.key!] = kv.value!;
      sessions.push({
        sessionId: sessionIdFor(viewer, s.conversation.sessionType, nameOf(s.conversation.peerId), s.conversation.peerId),
        readSeqId: s.readMsgId,
        unreadCount: s.unread,
        lastMsgs: await packsOf(s.lastMessages ?? []),
        attribute: JSON.stringify(attributes),
      });
    }
    answer(c, omtp.HotSessionResp, { code: Code.OK, timestamp: Number(rsp.nowMs) * 1000, sessions });
  });

  on(T.PT_HIGH_PRIOR_MSG_SYNC, 'omtp_high_prior_sync', omtp.MsgHighPrioritySyncReq, async (c, req) => {
    if (!isSafeId(req.seqId)) throw badRequest('seqId is a cursor (0: from the start)');
    const limit = req.count > 0 ? Math.min(req.count, MAX_PAGE) : MAX_PAGE;
    const rsp = await ctx.db.highPrioritySync({ userId: c.conn.userId, after: req.seqId, limit });
    const last = rsp.entries.length > 0 ? Number(rsp.entries[rsp.entries.length - 1].cursor) : req.seqId;
    answer(c, omtp.MsgHighPrioritySyncResp, { code: Code.OK, desc: '', lastSeqId: last, msgs: await packsOf(rsp.entries.map((e) => e.message)) });
  });

  on(T.PT_HISTORY_MSG_PULL, 'omtp_history_pull', omtp.HistoryMsgPullReq, async (c, req) => {
    if (!isSafeId(req.seqId) || req.seqId > 0xffffffff) throw badRequest('seqId is a message id (0: from the newest)');
    const target = await targetOf(c.conn, req.sessionId);
    const limit = req.count > 0 ? Math.min(req.count, MAX_PAGE) : MAX_PAGE;
    const rsp = await ctx.db.history({ userId: c.conn.userId, conversation: { sessionType: target.sessionType, peerId: target.peerId }, beforeMsgId: req.seqId, limit });
    answer(c, omtp.HistoryMsgPullResp, { errorCode: okCode, sessionId: target.sessionId, msgs: await packsOf(rsp.messages) });
  });

  // ---------------------------------------------------------------- monitors

  const onMonitor = (type: number, start: boolean) =>
    on(type, start ? 'omtp_monitor_start' : 'omtp_monitor_stop', omtp.SessionMonitor, async (c, req) => {
      const session = await monitoredOf(req.sessionId);
      const rsp = await ctx.monitors.change(c.conn, session, start);
      if (rsp.result === MonitorResult.MONITOR_NO_PERMISSION) throw forbidden('you may not monitor sessions (an operator grants it)');
      if (rsp.result === MonitorResult.MONITOR_NOT_FOUND) throw notFound('no such session');
      answer(c, omtp.CommonErrorCode, okCode);
    });
  onMonitor(T.PT_SESSION_MONITOR_START, true);
  onMonitor(T.PT_SESSION_MONITOR_STOP, false);

  on(T.PT_SESSION_MONITOR_SYNC, 'omtp_monitor_sync', undefined, async (c) => {
    const entries = await ctx.monitors.listFor(c.conn.userId);
    const singleIds = entries.filter((e) => e.session.sessionType === SessionType.SESSION_TYPE_SINGLE).flatMap((e) => [e.session.idA, e.session.idB]);
    const nameOf = await namesOf(singleIds);
    const sessions: omtp.TarsInput<omtp.HotSessionItem>[] = [];
    for (const e of entries) {
      const s = e.session;
      const group = s.sessionType === SessionType.SESSION_TYPE_GROUP;
      // The newest messages as a participant sees them: one end of a single chat, a group's owner.
      let viewerId = s.idA;
      let peerId = s.idB;
      if (group) {
        const members = await ctx.db.groupMembers({ userId: 0, groupId: s.idA });
        viewerId = members.group?.creatorId ?? 0;
        peerId = s.idA;
      }
      let lastMsgs: omtp.OTIMPack[] = [];
      if (viewerId) {
        const history = await ctx.db.history({ userId: viewerId, conversation: { sessionType: s.sessionType, peerId }, beforeMsgId: 0, limit: options.hotSessionMessages }).catch(() => ({ messages: [] }));
        lastMsgs = await packsOf(history.messages);
      }
      sessions.push({ sessionId: group ? groupConversationId(s.idA) : singleConversationId(nameOf(s.idA), nameOf(s.idB)), readSeqId: 0, unreadCount: 0, lastMsgs, attribute: '{}' });
    }
    answer(c, omtp.HotSessionResp, { code: Code.OK, timestamp: Date.now() * 1000, sessions });
  });

  // A client's own SYNC_DATA_CMD request: nothing to do but say so (the server sends these to clients).
  on(T.PT_SYNC_DATA_CMD, 'omtp_sync_data', omtp.SyncDataReq, (c) => answer(c, omtp.CommonErrorCode, okCode));

  // ---------------------------------------------------------------- groups

  const adminCode = (result: number, error: string | null | undefined) => {
    switch (result) {
      case GroupAdminResult.GROUP_ADMIN_OK:
        return;
      case GroupAdminResult.GROUP_ADMIN_NO_PERMISSION:
        throw forbidden(error || 'not allowed');
      case GroupAdminResult.GROUP_ADMIN_NOT_FOUND:
        throw notFound(error || 'no such group or user');
      case GroupAdminResult.GROUP_ADMIN_FULL:
        throw new OmtpRequestError(Code.TOO_LARGE, error || 'the group is full');
      default:
        throw badRequest(error || 'invalid group change');
    }
  };

  const userIdsOf = async (names: string[], field: string): Promise<number[]> => {
    if (names.length > MAX_NAMES) throw badRequest(`${field} names more than ${MAX_NAMES} users`);
    const ids: number[] = [];
    for (const name of names) ids.push(await userIdOf(name));
    return ids;
  };

  const groupInfoOf = (g: IM.Core.IGroupDetail, nameOf: (id: number) => string): omtp.TarsInput<omtp.GroupChatInfo> => ({
    groupId: String(g.groupId),
    name: g.name ?? '',
    avatar: g.avatar ?? '',
    creatorId: g.creatorName || nameOf(g.creatorId!),
    desc: g.description ?? '',
    memberLimit: g.memberLimit ?? 0,
    createTime: (g.created ?? 0) * 1000,
    updateTime: (g.updated ?? 0) * 1000,
  });

  on(T.PT_GROUPCHAT_SYNC, 'omtp_group_sync', omtp.GroupChatSyncReq, async (c, req) => {
    if (!isSafeId(req.timestamp)) throw badRequest('timestamp is milliseconds since the epoch');
    const rsp = await ctx.groups.sync(c.conn.userId, Math.floor(req.timestamp / 1000));
    const nameOf = await namesOf(rsp.groups.map((g) => g.creatorId));
    answer(c, omtp.GroupChatSyncResp, { errorCode: okCode, timestamp: rsp.now * 1000, groupchats: rsp.groups.map((g) => groupInfoOf(g, nameOf)), delGroupChatIds: rsp.deletedGroupIds.map(String) });
  });

  on(T.PT_GROUPCHAT_CREATE, 'omtp_group_create', omtp.GroupChatCreateReq, async (c, req) => {
    const info = req.groupInfo;
    if (!info.name) throw badRequest('groupInfo.name is required');
    const memberIds = await userIdsOf(req.memberIds, 'memberIds');
    const rsp = await ctx.groups.act(c.conn, { action: GroupAdminAction.GROUP_ACTION_CREATE, memberIds, name: info.name, avatar: info.avatar, description: info.desc, memberLimit: info.memberLimit > 0 ? info.memberLimit : 0 });
    adminCode(rsp.result, rsp.errorMessage);
    answer(c, omtp.GroupChatCreateResp, { errorCode: okCode, groupId: String(rsp.event!.group.groupId) });
  });

  on(T.PT_GROUPCHAT_JION, 'omtp_group_join', omtp.GroupChatJoinReq, async (c, req) => {
    const groupId = groupIdOf(req.groupId);
    const memberIds = await userIdsOf(req.memberIds, 'memberIds');
    if (memberIds.length === 0) throw badRequest('memberIds is empty');
    const rsp = await ctx.groups.act(c.conn, { action: GroupAdminAction.GROUP_ACTION_ADD_MEMBERS, groupId, memberIds });
    adminCode(rsp.result, rsp.errorMessage);
    answer(c, omtp.GroupChatJoinResp, { errorCode: okCode, groupId: String(groupId) });
  });

  on(T.PT_GROUPCHAT_QUIT, 'omtp_group_quit', omtp.GroupChatQuitReq, async (c, req) => {
    checkSelf(c.conn, req.operatorId, 'operatorId');
    const groupId = groupIdOf(req.groupId);
    const memberIds = req.memberIds.length > 0 ? await userIdsOf(req.memberIds, 'memberIds') : [c.conn.userId];
    const rsp = await ctx.groups.act(c.conn, { action: GroupAdminAction.GROUP_ACTION_REMOVE_MEMBERS, groupId, memberIds });
    adminCode(rsp.result, rsp.errorMessage);
    answer(c, omtp.CommonErrorCode, okCode);
  });

  on(T.PT_GROUPCHAT_DISMISS, 'omtp_group_dismiss', omtp.GroupChatDismissReq, async (c, req) => {
    checkSelf(c.conn, req.operatorId, 'operatorId');
    const rsp = await ctx.groups.act(c.conn, { action: GroupAdminAction.GROUP_ACTION_DISMISS, groupId: groupIdOf(req.groupId) });
    adminCode(rsp.result, rsp.errorMessage);
    answer(c, omtp.CommonErrorCode, okCode);
  });

  on(T.PT_GROUPCHAT_UPDATE_CREATOR, 'omtp_group_transfer', omtp.GroupChatCreatorUpdateReq, async (c, req) => {
    checkSelf(c.conn, req.operatorId, 'operatorId');
    const newOwnerId = await userIdOf(req.newCreatorId);
    const rsp = await ctx.groups.act(c.conn, { action: GroupAdminAction.GROUP_ACTION_TRANSFER, groupId: groupIdOf(req.groupId), newOwnerId });
    adminCode(rsp.result, rsp.errorMessage);
    answer(c, omtp.CommonErrorCode, okCode);
  });

  on(T.PT_GROUPCHAT_INFO_UPDATE, 'omtp_group_info_update', omtp.GroupChatInfoUpdateReq, async (c, req) => {
    checkSelf(c.conn, req.operatorId, 'operatorId');
    const info = req.groupInfo;
    if (info.memberLimit < 0) throw badRequest('memberLimit is negative');
    // Empty strings and a 0 limit leave a field as it is.
    const rsp = await ctx.groups.act(c.conn, {
      action: GroupAdminAction.GROUP_ACTION_UPDATE_INFO,
      groupId: groupIdOf(info.groupId),
      name: info.name || undefined,
      avatar: info.avatar || undefined,
      description: info.desc || undefined,
      memberLimit: info.memberLimit || undefined,
    });
    adminCode(rsp.result, rsp.errorMessage);
    answer(c, omtp.CommonErrorCode, okCode);
  });

  on(T.PT_GROUPCHAT_MEMBERS_GET, 'omtp_group_members', omtp.GroupChatMemberGetReq, async (c, req) => {
    const groupId = groupIdOf(req.groupId);
    const rsp = await ctx.groups.members(c.conn.userId, groupId);
    adminCode(rsp.result, rsp.result === GroupAdminResult.GROUP_ADMIN_NO_PERMISSION ? 'members only' : undefined);
    const nameOf = await namesOf(rsp.memberIds);
    answer(c, omtp.GroupChatMemberGetResp, { errorCode: okCode, groupId: String(groupId), memberIds: rsp.memberIds.map(nameOf) });
  });

  // ---------------------------------------------------------------- friends and users

  const friendIdsOf = async (conn: ClientConnection, friends: omtp.FriendInfo[]) => {
    if (friends.length === 0) throw badRequest('friends is empty');
    if (friends.length > MAX_NAMES) throw badRequest(`more than ${MAX_NAMES} friends at once`);
    const out: { friendId: number; remark: string }[] = [];
    for (const f of friends) {
      checkSelf(conn, f.userId, 'userId');
      if (f.friendId === viewerName(conn)) throw badRequest('a friendship with oneself');
      out.push({ friendId: await userIdOf(f.friendId), remark: f.remark });
    }
    return out;
  };

  on(T.PT_FRIEND_ADD, 'omtp_friend_add', omtp.FriendAddReq, async (c, req) => {
    const add = await friendIdsOf(c.conn, req.friends);
    const rsp = await ctx.social.updateFriends(c.conn, add, []);
    if (!rsp.ok) throw badRequest(rsp.errorMessage || 'friends not added');
    answer(c, omtp.CommonErrorCode, okCode);
  });

  on(T.PT_FRIEND_DEL, 'omtp_friend_del', omtp.FriendDelReq, async (c, req) => {
    const remove = (await friendIdsOf(c.conn, req.friends)).map((f) => f.friendId);
    const rsp = await ctx.social.updateFriends(c.conn, [], remove);
    if (!rsp.ok) throw badRequest(rsp.errorMessage || 'friends not removed');
    answer(c, omtp.CommonErrorCode, okCode);
  });

  on(T.PT_FRIEND_SYNC, 'omtp_friend_sync', omtp.FriendSyncReq, async (c, req) => {
    if (!isSafeId(req.timestamp)) throw badRequest('timestamp is milliseconds since the epoch');
    const rsp = await ctx.social.friendsSince(c.conn.userId, Math.floor(req.timestamp / 1000));
    const current = rsp.friends.filter((f) => !f.deleted);
    const nameOf = await namesOf(current.map((f) => f.friendId));
    const me = viewerName(c.conn);
    answer(c, omtp.FriendSyncResp, { errorCode: okCode, friends: current.map((f) => ({ userId: me, friendId: nameOf(f.friendId), remark: f.remark })) });
  });

  on(T.PT_USERINFO_GET, 'omtp_userinfo_get', omtp.UserInfoGetReq, async (c, req) => {
    if (req.userIds.length > MAX_NAMES) throw badRequest(`more than ${MAX_NAMES} users at once`);
    const ids: number[] = [];
    for (const name of req.userIds) {
      const id = await ctx.directory.idOf(name);
      if (id !== undefined) ids.push(id);
    }
    const profiles = ids.length > 0 ? await ctx.social.profiles(ids) : [];
    const userInfos = profiles.map((p) => ({ userId: p.name!, name: p.nick ?? '', avator: p.avatar ?? '', mobile: p.phone ?? '', birthday: Number(p.birthdayMs ?? 0) }));
    answer(c, omtp.UserInfoGetResp, { errorCode: okCode, userInfos });
  });

  on(T.PT_USERINFO_UPDATE, 'omtp_userinfo_update', omtp.UserInfoUpdateReq, async (c, req) => {
    const u = req.userInfo;
    checkSelf(c.conn, u.userId, 'userInfo.userId');
    if (!isSafeId(u.birthday)) throw badRequest('birthday is milliseconds since the epoch');
    // Empty strings and birthday 0 leave a field as it is.
    const patch: Omit<IM.DbProxy.IUserProfileUpdateReq, 'userId'> = {};
    if (u.name) patch.nick = u.name;
    if (u.avator) patch.avatar = u.avator;
    if (u.mobile) patch.phone = u.mobile;
    if (u.birthday) patch.birthdayMs = u.birthday;
    if (Object.keys(patch).length === 0) throw badRequest('nothing to change');
    const rsp = await ctx.social.updateProfile(c.conn.userId, patch);
    if (!rsp.ok) throw badRequest(rsp.errorMessage || 'profile not changed');
    answer(c, omtp.CommonErrorCode, okCode);
  });

  on(T.PT_USERATTRIBUTE_SET, 'omtp_userattr_set', omtp.UserAttrSetReq, async (c, req) => {
    const a = req.attribute;
    checkSelf(c.conn, a.userId, 'attribute.userId');
    if (!a.attrName) throw badRequest('attrName is required');
    await ctx.social.setUserAttribute(c.conn.userId, await userIdOf(a.friendId), a.attrName, a.attrValue);
    answer(c, omtp.CommonErrorCode, okCode);
  });

  on(T.PT_USERATTRIBUTE_GET, 'omtp_userattr_get', undefined, async (c) => {
    const attributes = await ctx.social.userAttributes(c.conn.userId);
    const nameOf = await namesOf(attributes.map((a) => a.targetId!));
    const me = viewerName(c.conn);
    answer(c, omtp.UserAttrGetResp, { errorCode: okCode, attributes: attributes.map((a) => ({ userId: me, friendId: nameOf(a.targetId!), attrName: a.name!, attrValue: a.value! })) });
  });

  on(T.PT_SESSIONATTRIBUTE_SET, 'omtp_sessionattr_set', omtp.SessionAttrSetReq, async (c, req) => {
    checkSelf(c.conn, req.userId, 'userId');
    if (!req.attrName) throw badRequest('attrName is required');
    const target = await targetOf(c.conn, req.sessionId);
    const rsp = await ctx.social.setSessionAttribute(c.conn, { sessionType: target.sessionType, peerId: target.peerId }, req.attrName, req.attrValue);
    if (!rsp.ok) throw forbidden(rsp.errorMessage || 'not a session of yours');
    answer(c, omtp.CommonErrorCode, okCode);
  });
}
