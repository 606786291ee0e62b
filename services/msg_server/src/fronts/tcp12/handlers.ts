import { createHash } from 'node:crypto';
import { IM } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import { isTokenError, verifyToken } from '@tt/auth';
import type { CommandContext, CommandRouter } from '../../command-router';
import type { ClientConnection } from '../../connection';
import type { MsgServerContext } from '../../context';
import { teamTalkMsgType } from '../../core/content';
import { CLIENT_TYPE_WEB } from '../../domain/client-type';
import { admitClient, maxSeqForLogin } from '../admit';
import { clientTypeOfPlatform } from '../ws/handlers';
import { groupConversationId, messageIdOf, parseConversationId, parseDecimalId, parseMessageId, singleConversationId } from '../ws/ids';
import type { Tcp12Connection } from './connection';
import { toPlainContent } from './content';
import { CLIENT_MSG_ID_PREFIX, roomConversationId, type Tcp12Front } from './front';
import { ROOM_SESSION_TYPE } from '../../core/rooms';
import { clientIpOf, throttledSeconds, throttledText } from '../login-throttle';

const { IMCommand, RoomCommand, Status, ConversationType, MessageContentType } = IM.Tcp12;
const { SessionType, UserStatType } = IM.BaseDefine;

export interface Tcp12HandlerOptions {
  /** AUTH_JWT_SECRET; empty: token logins are refused (account + password still work). */
  jwtSecret: string;
  maxContentBytes: number;
}

const MAX_PULL_LIMIT = 500;
const DEFAULT_PULL_LIMIT = 100;
const MAX_MENTIONS = 100;
const MAX_ROOM_HISTORY = 200;
const DEFAULT_ROOM_HISTORY = 50;
const ROOM_PREFIX = 'sr_';

/** A request failed in a way the client should hear about: the answer carries this status. */
export class Tcp12RequestError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const badRequest = (message: string) => new Tcp12RequestError(Status.BAD_REQUEST, message);

interface Target {
  sessionType: number;
  peerId: number;
  /** The seed's names: conversation id for message uids. */
  conversationId: string;
}

/**
 * The seed-001 commands: decode (the router did) → validate → call the core
 * → encode the answer. An answer's status is OK with the command's response
 * body, or an error status with an ErrorInfo body.
 */
export function registerTcp12Handlers(router: CommandRouter, ctx: MsgServerContext, front: Tcp12Front, options: Tcp12HandlerOptions): void {
  const statusOf = (err: unknown): { status: number; message: string } => {
    if (err instanceof Tcp12RequestError) return { status: err.status, message: err.message };
    if (err instanceof RpcError) {
      if (err.code === 3) return { status: Status.BAD_REQUEST, message: err.message };
      if (err.code === 5) return { status: Status.NOT_FOUND, message: err.message };
      if (err.code === 7) return { status: Status.PERMISSION_DENIED, message: err.message };
    }
    return { status: Status.INTERNAL_ERROR, message: 'internal error' };
  };

  const fail = (c: CommandContext, command: number, err: unknown) => {
    const { status, message } = statusOf(err);
    (c.conn as Tcp12Connection).answer(command, c.seqNum, status, message);
    if (status === Status.INTERNAL_ERROR) ctx.log.error({ err, userId: c.conn.userId, command }, 'tcp12 request failed');
  };

  /** Runs a handler and answers its errors with a status. */
  const answering = <T>(command: number, handler: (c: CommandContext, req: T) => Promise<void>) => async (c: CommandContext, req: T) => {
    try {
      await handler(c, req);
    } catch (err) {
      fail(c, command, err);
    }
  };

  const viewerName = (conn: ClientConnection) => conn.identity!.name!;

  const targetOf = async (conn: ClientConnection, conversation: IM.Tcp12.IConversation | null | undefined, to: string): Promise<Target> => {
    const type = conversation?.type ?? ConversationType.SIGNAL;
    const target = conversation?.target || to;
    if (!target) throw badRequest('conversation.target (or to) is required');
    if (type === ConversationType.CHATINGROOM) {
      // Only members may send (db_proxy checks): join first with RJ.
      const roomId = parseDecimalId(target);
      if (roomId === undefined) throw badRequest('a CHATINGROOM target is the room id in decimal');
      return { sessionType: ROOM_SESSION_TYPE, peerId: roomId, conversationId: roomConversationId(roomId) };
    }
    if (type === ConversationType.GROUP) {
      const groupId = parseDecimalId(target);
      if (groupId === undefined) throw badRequest('a GROUP target is the group id in decimal');
      return { sessionType: SessionType.SESSION_TYPE_GROUP, peerId: groupId, conversationId: groupConversationId(groupId) };
    }
    if (type !== ConversationType.SIGNAL) throw badRequest(`conversation type ${type} is not 0-2`);
    if (target === viewerName(conn)) throw badRequest('a message to oneself');
    const peerId = await ctx.directory.idOf(target);
    if (peerId === undefined) throw new Tcp12RequestError(Status.USER_NOT_FOUND, `no user ${JSON.stringify(target.slice(0, 80))}`);
    return { sessionType: SessionType.SESSION_TYPE_SINGLE, peerId, conversationId: singleConversationId(viewerName(conn), target) };
  };

  // PING is answered at once, before login too.
  router.on(IMCommand.PING, 'tcp12_ping', IM.Tcp12.Ping, ({ reply }) => reply(IMCommand.PING, IM.Tcp12.Ping, { time: Date.now() }), { beforeLogin: true, immediate: true });

  router.on(
    IMCommand.LOGIN,
    'tcp12_login',
    IM.Tcp12.LoginRequest,
    async ({ conn, seqNum }, req) => {
      const tcp = conn as Tcp12Connection;
      const refuse = (status: number, message: string) => {
        ctx.metrics.logins.inc({ result: `tcp12_${status}` });
        tcp.answer(IMCommand.LOGIN, seqNum, status, message);
        conn.close();
      };
      if (conn.identity || conn.loginInProgress) return tcp.answer(IMCommand.LOGIN, seqNum, Status.ALREADY_LOGGED_IN, 'already logged in');
      conn.loginInProgress = true;
      let user: { userId: number; name: string };
      if (req.token) {
        if (!options.jwtSecret) return refuse(Status.AUTH_FAILED, 'token login is not configured on this server (AUTH_JWT_SECRET)');
        try {
          const verified = await verifyToken(req.token, options.jwtSecret);
          user = { userId: verified.userId, name: verified.name };
        } catch (err) {
          if (isTokenError(err) && err.code === 'EXPIRED') return refuse(Status.TOKEN_EXPIRED, 'token expired');
          return refuse(Status.AUTH_FAILED, 'token not valid');
        }
        if (req.account && req.account !== user.name) return refuse(Status.AUTH_FAILED, 'account does not match the token');
      } else if (req.account && req.password) {
        // The same check as TeamTalk's login: db_proxy validates the password's hex MD5 (what TeamTalk clients send).
        let validation: IM.DbProxy.ValidateRsp;
        try {
          validation = await ctx.db.validateUser({ userName: req.account, password: createHash('md5').update(req.password, 'utf8').digest('hex'), clientIp: clientIpOf(conn.remoteAddress) });
        } catch (err) {
          ctx.log.error({ err: err instanceof RpcError ? err.message : err }, 'tcp12 login: db_proxy unreachable');
          return refuse(Status.INTERNAL_ERROR, 'database service unavailable');
        }
        const wait = throttledSeconds(validation);
        if (wait) return refuse(Status.RATE_LIMITED, throttledText(wait));
        if (validation.resultCode !== 0 || !validation.userInfo) return refuse(Status.AUTH_FAILED, 'account or password is wrong');
        user = { userId: validation.userInfo.userId, name: req.account };
      } else {
        return refuse(Status.BAD_REQUEST, 'token, or account and password, is required');
      }
      if (conn.closed) return;
      const clientType = clientTypeOfPlatform(req.platform);
      conn.identity = { userId: user.userId, clientType, status: UserStatType.USER_STATUS_ONLINE, name: user.name };
      conn.loginInProgress = false;
      ctx.directory.remember(user.userId, user.name);
      // Notices are packed like the LOGIN request; they wait for its answer.
      const mode = tcp.modeOfPending(seqNum);
      tcp.noticeMode = mode;
      tcp.hold();
      admitClient(ctx, conn, clientType);
      const maxSeq = await maxSeqForLogin(ctx, conn, 'tcp12');
      tcp.release(front.frame(IMCommand.LOGIN, seqNum, IM.Tcp12.LoginResponse.encode({ userId: user.name, maxSeq, serverTime: Date.now() }).finish()));
    },
    { beforeLogin: true },
  );

  // The seed gives LOGOUT no answer: the server closes the connection.
  router.on(IMCommand.LOGOUT, 'tcp12_logout', IM.Tcp12.ErrorInfo, ({ conn }) => conn.close());

  // Messages of a connection are pipelined: the next is taken while this one
  // is stored; targets needing a name look-up resolve in a per-connection
  // chain, so saves still start in the order sent.
  const sendChains = new WeakMap<ClientConnection, Promise<void>>();
  router.on(
    IMCommand.MS,
    'tcp12_send',
    IM.Tcp12.Message,
    async (c, req) => {
      const { conn, reply } = c;
      let sending: Promise<void> | undefined;
      let failure: unknown;
      const step = (sendChains.get(conn) ?? Promise.resolve()).then(async () => {
        try {
          const content = req.messageContent;
          if (!content) throw badRequest('messageContent is required');
          const target = await targetOf(conn, req.conversation, req.to);
          if (content.contentType === MessageContentType.TYPING) {
            // Typing is never stored: the core tells the peer (or the group; chat rooms show none).
            const status = content.data && content.data.length > 0 && content.data[0] === 0 ? 0 : 1;
            await ctx.core.typing(conn, { sessionType: target.sessionType, toId: target.peerId, status });
            reply(IMCommand.MS, IM.Tcp12.SendResponse, { messageId: req.messageId, serverTime: Date.now() });
            return;
          }
          const plain = toPlainContent(content);
          if (typeof plain === 'string') throw badRequest(plain);
          if (plain.plain.length > options.maxContentBytes) throw new Tcp12RequestError(Status.TOO_LARGE, `content is larger than ${options.maxContentBytes} bytes`);
          const extra: IM.Core.IMessageExtra = { kind: plain.kind, extra: plain.extra };
          if (Number(req.messageId) > 0) extra.clientMsgId = `${CLIENT_MSG_ID_PREFIX}${req.messageId}`;
          const names = (content.mentionedTargets ?? []).slice(0, MAX_MENTIONS);
          if (content.mentionedType === 2) extra.mentionAll = true;
          if (names.length > 0) {
            const ids: number[] = [];
            for (const name of names) {
              const id = await ctx.directory.idOf(name);
              if (id !== undefined) ids.push(id);
            }
            extra.mentionUserIds = ids;
          }
          if (!ctx.messageLimiter.tryTake(conn.userId)) {
            ctx.metrics.messagesRejected.inc({ reason: 'rate' });
            throw new Tcp12RequestError(Status.RATE_LIMITED, 'sending too fast');
          }
          const message = { sessionType: target.sessionType, toId: target.peerId, msgType: teamTalkMsgType(plain.kind, target.sessionType), content: ctx.content.toStored(plain.kind, plain.plain), extra };
          sending = ctx.core.send(conn, message, (saved) =>
            reply(IMCommand.MS, IM.Tcp12.SendResponse, { messageId: req.messageId, messageUid: messageIdOf(target.conversationId, saved.msgId), seq: saved.senderSeq, serverTime: saved.serverTimeMs }),
          );
          // The save is queued; the next message may start.
          sending.catch(() => {});
        } catch (err) {
          failure = err;
        }
      });
      sendChains.set(conn, step);
      await step;
      if (failure) return fail(c, IMCommand.MS, failure);
      try {
        await sending;
      } catch (err) {
        ctx.metrics.messagesRejected.inc({ reason: 'store' });
        fail(c, IMCommand.MS, err);
      }
    },
    { pipelined: true },
  );

  router.on(
    IMCommand.MP,
    'tcp12_pull',
    IM.Tcp12.PullRequest,
    answering(IMCommand.MP, async ({ conn, reply }, req: IM.Tcp12.PullRequest) => {
      const minSeq = Math.max(0, Number(req.minSeq));
      const maxSeq = Math.max(0, Number(req.maxSeq));
      if (maxSeq > 0 && maxSeq < minSeq) throw badRequest('maxSeq is below minSeq');
      const limit = req.limit > 0 ? Math.min(req.limit, MAX_PULL_LIMIT) : DEFAULT_PULL_LIMIT;
      const { page: rsp, nameOf } = await ctx.core.syncNamed(conn.userId, minSeq, maxSeq, limit);
      const entries: IM.Tcp12.IPullEntry[] = [];
      for (const e of rsp.entries) {
        const seq = Number(e.seq);
        if (e.message) entries.push({ seq, message: front.delivered(e.message, conn.userId, nameOf, seq) });
        else if (e.recalled) entries.push({ seq, recall: front.recallNotice(e.recalled, conn.userId, nameOf, seq) });
      }
      reply(IMCommand.MP, IM.Tcp12.PullResponse, { entries, serverMaxSeq: Number(rsp.serverMaxSeq), hasMore: rsp.hasMore });
    }),
  );

  router.on(
    IMCommand.MR,
    'tcp12_recall',
    IM.Tcp12.RecallRequest,
    answering(IMCommand.MR, async ({ conn, seqNum }, req: IM.Tcp12.RecallRequest) => {
      const parsed = parseMessageId(req.messageUid);
      if (!parsed) throw badRequest('messageUid is not a message uid ("<conversation_id>:<msg_id>")');
      const roomId = parsed.conversationId.startsWith(ROOM_PREFIX) ? parseDecimalId(parsed.conversationId.slice(ROOM_PREFIX.length)) : undefined;
      const conversation = roomId === undefined ? parseConversationId(parsed.conversationId, viewerName(conn)) : undefined;
      if (roomId === undefined && !conversation) throw new Tcp12RequestError(Status.NOT_FOUND, 'not a message of a conversation of yours');
      let target: { sessionType: number; peerId: number };
      if (roomId !== undefined) target = { sessionType: ROOM_SESSION_TYPE, peerId: roomId };
      else if (conversation!.kind === 'group') target = { sessionType: SessionType.SESSION_TYPE_GROUP, peerId: conversation!.groupId };
      else {
        const peerId = await ctx.directory.idOf((conversation as { peerName: string }).peerName);
        if (peerId === undefined) throw new Tcp12RequestError(Status.USER_NOT_FOUND, 'no such user');
        target = { sessionType: SessionType.SESSION_TYPE_SINGLE, peerId };
      }
      const rsp = await ctx.core.recall(conn, { ...target, msgId: parsed.msgId });
      switch (rsp.result) {
        case IM.DbProxy.RecallResult.RECALL_OK:
          return (conn as Tcp12Connection).answer(IMCommand.MR, seqNum, Status.OK, '');
        case IM.DbProxy.RecallResult.RECALL_NOT_FOUND:
          throw new Tcp12RequestError(Status.NOT_FOUND, rsp.errorMessage || 'no such message');
        case IM.DbProxy.RecallResult.RECALL_TOO_LATE:
          throw new Tcp12RequestError(Status.RECALL_TOO_LATE, rsp.errorMessage || 'too late to recall this message');
        default:
          throw new Tcp12RequestError(Status.PERMISSION_DENIED, rsp.errorMessage || 'you may not recall this message');
      }
    }),
  );

  const roomIdOf = (roomId: string): number => {
    const id = parseDecimalId(roomId);
    if (id === undefined) throw badRequest('roomId is a room id in decimal');
    return id;
  };

  router.on(
    RoomCommand.RJ,
    'tcp12_room_join',
    IM.Tcp12.RoomRequest,
    answering(RoomCommand.RJ, async ({ conn, reply }, req: IM.Tcp12.RoomRequest) => {
      const rsp = await ctx.core.joinRoom(conn, roomIdOf(req.roomId));
      const { RoomJoinResult } = IM.DbProxy;
      if (rsp.result === RoomJoinResult.ROOM_NOT_FOUND || !rsp.room) throw new Tcp12RequestError(Status.NOT_FOUND, 'no such room');
      if (rsp.result === RoomJoinResult.ROOM_FULL) throw new Tcp12RequestError(Status.ROOM_FULL, 'the room is full');
      // Joined now or before: either way a member.
      const room = rsp.room;
      reply(RoomCommand.RJ, IM.Tcp12.RoomResponse, { roomId: String(room.roomId), name: room.name, memberCount: room.memberCount, maxMembers: room.maxMembers });
    }),
  );

  router.on(
    RoomCommand.RL,
    'tcp12_room_leave',
    IM.Tcp12.RoomRequest,
    answering(RoomCommand.RL, async ({ conn, seqNum }, req: IM.Tcp12.RoomRequest) => {
      const rsp = await ctx.core.leaveRoom(conn, roomIdOf(req.roomId));
      if (!rsp.left) throw new Tcp12RequestError(Status.NOT_FOUND, 'not a member of this room');
      (conn as Tcp12Connection).answer(RoomCommand.RL, seqNum, Status.OK, '');
    }),
  );

  router.on(
    RoomCommand.RH,
    'tcp12_room_history',
    IM.Tcp12.RoomHistoryRequest,
    answering(RoomCommand.RH, async ({ conn, reply }, req: IM.Tcp12.RoomHistoryRequest) => {
      const limit = req.limit > 0 ? Math.min(req.limit, MAX_ROOM_HISTORY) : DEFAULT_ROOM_HISTORY;
      const messages = await ctx.core.roomHistory(conn.userId, roomIdOf(req.roomId), req.beforeMsgId, limit);
      const names = await ctx.directory.names(messages.map((m) => m.fromUserId));
      const nameOf = (id: number) => names.get(id) ?? String(id);
      reply(RoomCommand.RH, IM.Tcp12.RoomHistoryResponse, { messages: messages.map((m) => front.delivered(m, conn.userId, nameOf, 0)) });
    }),
  );
}
