import { IM } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import { isTokenError, verifyToken } from '@tt/auth';
import type { CommandRouter, CommandContext } from '../../command-router';
import type { ClientConnection } from '../../connection';
import type { MsgServerContext } from '../../context';
import { teamTalkMsgType } from '../../core/content';
import { CLIENT_TYPE_WEB } from '../../domain/client-type';
import { admitClient, maxSeqForLogin } from '../admit';
import type { WsConnection } from './connection';
import { WS_CLOSE_POLICY } from './connection';
import type { WsFront } from './front';
import { groupConversationId, messageIdOf, parseConversationId, parseDecimalId, parseMessageId, singleConversationId } from './ids';

const { CommandType, ErrorCode } = IM.Ws;
const { ClientType, SessionType, UserStatType } = IM.BaseDefine;
const { ContentKind } = IM.Core;

export interface WsHandlerOptions {
  /** AUTH_JWT_SECRET; empty: every auth is refused. */
  jwtSecret: string;
  maxContentBytes: number;
}

const MAX_CLIENT_MSG_ID = 64;
const MAX_EXTRA_ENTRIES = 32;
const MAX_EXTRA_KEY = 64;
const MAX_EXTRA_VALUE = 4096;
const MAX_SYNC_LIMIT = 500;
const DEFAULT_SYNC_LIMIT = 100;
const MAX_RECEIPT_IDS = 500;

/** The seed's platform names → TeamTalk client types: phones are mobile clients, browsers their own kind, the rest PC clients. */
export function clientTypeOfPlatform(platform: string): number {
  const p = platform.trim().toLowerCase();
  if (p === 'ios' || p === 'ipados') return ClientType.CLIENT_TYPE_IOS;
  if (p === 'android') return ClientType.CLIENT_TYPE_ANDROID;
  if (p === 'mac' || p === 'macos' || p === 'osx') return ClientType.CLIENT_TYPE_MAC;
  if (p === 'windows' || p === 'linux' || p === 'pc' || p === 'desktop') return ClientType.CLIENT_TYPE_WINDOWS;
  return CLIENT_TYPE_WEB;
}

/** A request failed in a way the client should hear about: its response carries this code. */
class WsRequestError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

const invalid = (message: string) => new WsRequestError(ErrorCode.ERR_INVALID_PARAM, message);

/** What a send names: a conversation of the sender's. */
interface Target {
  sessionType: number;
  peerId: number;
  conversationId: string;
}

/**
 * The seed-003 commands: decode (the router did) → validate → call the core →
 * encode the answer. Every response carries error_code/error_msg in fields
 * 1/2, as the seed's responses all do.
 */
export function registerWsHandlers(router: CommandRouter, ctx: MsgServerContext, front: WsFront, options: WsHandlerOptions): void {
  /** Runs a handler and answers its errors with the response command's error pair. */
  const answering = <T>(responseCommand: number, responseType: { encode(m: object): { finish(): Uint8Array } }, handler: (c: CommandContext, req: T) => Promise<object | void>) =>
    async (c: CommandContext, req: T) => {
      try {
        const rsp = await handler(c, req);
        if (rsp) c.reply(responseCommand, responseType, { errorCode: ErrorCode.ERR_SUCCESS, errorMsg: '', ...rsp });
      } catch (err) {
        const body = errorBody(err);
        c.reply(responseCommand, responseType, body);
        // The client's mistakes are answered; only the server's own failures are errors.
        if (body.errorCode === ErrorCode.ERR_UNKNOWN) ctx.log.error({ err, userId: c.conn.userId, command: responseCommand - 1 }, 'ws request failed');
      }
    };

  const errorBody = (err: unknown): { errorCode: number; errorMsg: string } => {
    if (err instanceof WsRequestError) return { errorCode: err.code, errorMsg: err.message };
    if (err instanceof RpcError) {
      if (err.code === 3) return { errorCode: ErrorCode.ERR_INVALID_PARAM, errorMsg: err.message };
      if (err.code === 5) return { errorCode: ErrorCode.ERR_CONVERSATION_NOT_EXIST, errorMsg: err.message };
      if (err.code === 7) return { errorCode: ErrorCode.ERR_PERMISSION_DENIED, errorMsg: err.message };
    }
    return { errorCode: ErrorCode.ERR_UNKNOWN, errorMsg: 'internal error' };
  };

  const viewerName = (conn: ClientConnection) => conn.identity!.name!;

  /** A conversation id of the seed, from the viewer's side. */
  const conversationTarget = async (conn: ClientConnection, conversationId: string): Promise<Target> => {
    const parsed = parseConversationId(conversationId, viewerName(conn));
    if (!parsed) throw new WsRequestError(ErrorCode.ERR_CONVERSATION_NOT_EXIST, `no conversation ${JSON.stringify(conversationId.slice(0, 80))} of yours`);
    if (parsed.kind === 'group') return { sessionType: SessionType.SESSION_TYPE_GROUP, peerId: parsed.groupId, conversationId };
    const peerId = await ctx.directory.idOf(parsed.peerName);
    if (peerId === undefined) throw new WsRequestError(ErrorCode.ERR_USER_NOT_EXIST, `no user ${JSON.stringify(parsed.peerName.slice(0, 80))}`);
    return { sessionType: SessionType.SESSION_TYPE_SINGLE, peerId, conversationId };
  };

  const sendTarget = async (conn: ClientConnection, req: IM.Ws.SendMessageRequest): Promise<Target> => {
    if (req.groupId) {
      const groupId = parseDecimalId(req.groupId);
      if (groupId === undefined) throw invalid('group_id must be a group id in decimal');
      return { sessionType: SessionType.SESSION_TYPE_GROUP, peerId: groupId, conversationId: groupConversationId(groupId) };
    }
    if (req.receiverId) {
      if (req.receiverId === viewerName(conn)) throw invalid('a message to oneself');
      const peerId = await ctx.directory.idOf(req.receiverId);
      if (peerId === undefined) throw new WsRequestError(ErrorCode.ERR_USER_NOT_EXIST, `no user ${JSON.stringify(req.receiverId.slice(0, 80))}`);
      return { sessionType: SessionType.SESSION_TYPE_SINGLE, peerId, conversationId: singleConversationId(viewerName(conn), req.receiverId) };
    }
    if (req.conversationId) {
      const target = await conversationTarget(conn, req.conversationId);
      if (target.peerId === conn.userId) throw invalid('a message to oneself');
      return target;
    }
    throw invalid('receiver_id, group_id or conversation_id is required');
  };

  const messageExtra = async (req: IM.Ws.SendMessageRequest, kind: number): Promise<IM.Core.IMessageExtra> => {
    const entries = Object.entries(req.extra ?? {});
    if (entries.length > MAX_EXTRA_ENTRIES) throw invalid(`extra has more than ${MAX_EXTRA_ENTRIES} entries`);
    for (const [k, v] of entries) if (k.length > MAX_EXTRA_KEY || v.length > MAX_EXTRA_VALUE) throw invalid('an extra key or value is too long');
    const extra: IM.Core.IMessageExtra = { kind, extra: entries.map(([key, value]) => ({ key, value })) };
    if (req.clientMsgId) extra.clientMsgId = req.clientMsgId;
    if (Number(req.sendTime) > 0) extra.clientTimeMs = Number(req.sendTime);
    const mentions = req.extra?.mentions;
    if (mentions) {
      const names = mentions.split(',').map((n) => n.trim()).filter(Boolean);
      if (names.includes('@all')) extra.mentionAll = true;
      const ids: number[] = [];
      for (const name of names.filter((n) => n !== '@all').slice(0, 100)) {
        const id = await ctx.directory.idOf(name);
        if (id !== undefined) ids.push(id);
      }
      extra.mentionUserIds = ids;
    }
    return extra;
  };

  // Heartbeats are answered at once, before auth too.
  router.on(
    CommandType.CMD_HEARTBEAT_REQ,
    'ws_heartbeat',
    IM.Ws.HeartbeatRequest,
    ({ reply }) => reply(CommandType.CMD_HEARTBEAT_RSP, IM.Ws.HeartbeatResponse, { serverTime: Date.now() }),
    { beforeLogin: true, immediate: true },
  );

  router.on(
    CommandType.CMD_AUTH_REQ,
    'ws_auth',
    IM.Ws.AuthRequest,
    async ({ conn, seqNum }, req) => {
      const ws = conn as WsConnection;
      const refuse = (errorCode: number, errorMsg: string) => {
        ctx.metrics.logins.inc({ result: `ws_${errorCode}` });
        conn.send(CommandType.CMD_AUTH_RSP, IM.Ws.AuthResponse, { errorCode, errorMsg }, seqNum);
        ws.closeWith(WS_CLOSE_POLICY, errorMsg);
      };
      if (conn.identity || conn.loginInProgress) {
        conn.send(CommandType.CMD_AUTH_RSP, IM.Ws.AuthResponse, { errorCode: ErrorCode.ERR_INVALID_PARAM, errorMsg: 'already authenticated' }, seqNum);
        return;
      }
      conn.loginInProgress = true;
      if (!options.jwtSecret) return refuse(ErrorCode.ERR_AUTH_FAILED, 'token authentication is not configured on this server');
      let verified;
      try {
        verified = await verifyToken(req.token, options.jwtSecret);
      } catch (err) {
        if (isTokenError(err) && err.code === 'EXPIRED') return refuse(ErrorCode.ERR_TOKEN_EXPIRED, 'token expired');
        return refuse(ErrorCode.ERR_AUTH_FAILED, 'token not valid');
      }
      if (req.userId && req.userId !== verified.name) return refuse(ErrorCode.ERR_AUTH_FAILED, 'user_id does not match the token');
      if (conn.closed) return;
      const clientType = clientTypeOfPlatform(req.platform);
      conn.identity = { userId: verified.userId, clientType, status: UserStatType.USER_STATUS_ONLINE, name: verified.name };
      conn.loginInProgress = false;
      ctx.directory.remember(verified.userId, verified.name);
      // Pushes may start as soon as the connection is known; they wait for the auth response.
      ws.hold();
      admitClient(ctx, conn, clientType);
      const maxSeq = await maxSeqForLogin(ctx, conn, 'ws');
      ws.release(front.frame(CommandType.CMD_AUTH_RSP, seqNum, IM.Ws.AuthResponse.encode({ errorCode: ErrorCode.ERR_SUCCESS, errorMsg: '', maxSeq }).finish()));
    },
    { beforeLogin: true },
  );

  // Messages of a connection are pipelined like TeamTalk's: the next is taken
  // while this one is stored. Targets that need a name look-up are resolved
  // in a per-connection chain, so saves still start in the order sent.
  const sendChains = new WeakMap<ClientConnection, Promise<void>>();
  router.on(
    CommandType.CMD_SEND_MSG_REQ,
    'ws_send',
    IM.Ws.SendMessageRequest,
    async ({ conn, reply }, req) => {
      const respond = (rsp: IM.Ws.ISendMessageResponse) => reply(CommandType.CMD_SEND_MSG_RSP, IM.Ws.SendMessageResponse, rsp);
      let sending: Promise<void> | undefined;
      let failure: unknown;
      const step = (sendChains.get(conn) ?? Promise.resolve()).then(async () => {
        try {
          const kind = req.messageType;
          if (!(kind >= ContentKind.CONTENT_TEXT && kind <= ContentKind.CONTENT_CUSTOM)) throw invalid(`message_type ${kind} is not 1-8`);
          if (!req.content || req.content.length === 0) throw invalid('content is empty');
          if (req.content.length > options.maxContentBytes) throw new WsRequestError(ErrorCode.ERR_MESSAGE_TOO_LARGE, `content is larger than ${options.maxContentBytes} bytes`);
          if (req.clientMsgId.length > MAX_CLIENT_MSG_ID) throw invalid(`client_msg_id is longer than ${MAX_CLIENT_MSG_ID} characters`);
          const target = await sendTarget(conn, req);
          const extra = await messageExtra(req, kind);
          if (!ctx.messageLimiter.tryTake(conn.userId)) {
            ctx.metrics.messagesRejected.inc({ reason: 'rate' });
            throw new WsRequestError(ErrorCode.ERR_SEND_TOO_FAST, 'sending too fast');
          }
          const message = { sessionType: target.sessionType, toId: target.peerId, msgType: teamTalkMsgType(kind, target.sessionType), content: ctx.content.toStored(kind, req.content), extra };
          sending = ctx.core.send(conn, message, (saved) =>
            respond({ errorCode: ErrorCode.ERR_SUCCESS, errorMsg: '', messageId: messageIdOf(target.conversationId, saved.msgId), seq: saved.senderSeq, serverTime: saved.serverTimeMs }),
          );
          // The save is queued; the next message may start.
          sending.catch(() => {});
        } catch (err) {
          failure = err;
        }
      });
      sendChains.set(conn, step);
      await step;
      if (failure) {
        const body = errorBody(failure);
        respond(body);
        if (body.errorCode === ErrorCode.ERR_UNKNOWN) ctx.log.error({ err: failure, userId: conn.userId }, 'ws send failed');
        return;
      }
      try {
        await sending;
      } catch (err) {
        ctx.metrics.messagesRejected.inc({ reason: 'store' });
        respond(errorBody(err));
        if (!(err instanceof RpcError && [3, 5, 7].includes(err.code))) ctx.log.error({ err, userId: conn.userId }, 'ws message not stored');
      }
    },
    { pipelined: true },
  );

  // The client has the push; nothing more to do (a client that misses one syncs by seq).
  router.on(CommandType.CMD_MSG_ACK, 'ws_msg_ack', IM.Ws.MessageAck, () => {}, { immediate: true });

  router.on(
    CommandType.CMD_SYNC_REQ,
    'ws_sync',
    IM.Ws.SyncRequest,
    answering(CommandType.CMD_SYNC_RSP, IM.Ws.SyncResponse, async ({ conn }, req: IM.Ws.SyncRequest) => {
      const minSeq = Math.max(0, Number(req.minSeq));
      const maxSeq = Math.max(0, Number(req.maxSeq));
      if (maxSeq > 0 && maxSeq < minSeq) throw invalid('max_seq is below min_seq');
      const limit = req.limit > 0 ? Math.min(req.limit, MAX_SYNC_LIMIT) : DEFAULT_SYNC_LIMIT;
      const { page: rsp, nameOf } = await ctx.core.syncNamed(conn.userId, minSeq, maxSeq, limit);
      const messages: IM.Ws.IPushMessage[] = [];
      for (const e of rsp.entries) {
        const seq = Number(e.seq);
        if (e.message) messages.push(front.pushMessage(e.message, nameOf, seq));
        else if (e.recalled) {
          const push = front.revokePush(e.recalled, nameOf);
          const single = e.recalled.sessionType === SessionType.SESSION_TYPE_SINGLE;
          messages.push({
            messageId: push.messageId,
            conversationId: push.conversationId,
            senderId: nameOf(e.recalled.fromUserId),
            receiverId: single ? nameOf(e.recalled.toId) : '',
            groupId: single ? '' : String(e.recalled.toId),
            messageType: 0,
            serverTime: Number(e.recalled.recalledAtMs),
            sendTime: Number(e.recalled.recalledAtMs),
            seq,
            extra: { event: 'revoke', revoked_by: push.revokedBy!, revoked_time: String(push.revokedTime) },
          });
        }
      }
      return { messages, serverMaxSeq: Number(rsp.serverMaxSeq), hasMore: rsp.hasMore };
    }),
  );

  router.on(
    CommandType.CMD_READ_RECEIPT_REQ,
    'ws_read_receipt',
    IM.Ws.ReadReceiptRequest,
    answering(CommandType.CMD_READ_RECEIPT_RSP, IM.Ws.ReadReceiptResponse, async ({ conn }, req: IM.Ws.ReadReceiptRequest) => {
      if (!req.conversationId) throw invalid('conversation_id is required');
      if (req.messageIds.length === 0) throw invalid('message_ids is empty');
      if (req.messageIds.length > MAX_RECEIPT_IDS) throw invalid(`more than ${MAX_RECEIPT_IDS} message_ids`);
      const target = await conversationTarget(conn, req.conversationId);
      const msgIds: number[] = [];
      for (const id of req.messageIds) {
        const parsed = parseMessageId(id, req.conversationId);
        if (!parsed) throw invalid(`message_id ${JSON.stringify(id.slice(0, 80))} is not a message of this conversation`);
        msgIds.push(parsed.msgId);
      }
      await ctx.core.read(conn, { sessionType: target.sessionType, peerId: target.peerId, msgIds });
      return {};
    }),
  );

  router.on(
    CommandType.CMD_TYPING_STATUS_REQ,
    'ws_typing',
    IM.Ws.TypingStatusRequest,
    answering(CommandType.CMD_TYPING_STATUS_RSP, IM.Ws.TypingStatusResponse, async ({ conn }, req: IM.Ws.TypingStatusRequest) => {
      if (req.status !== 0 && req.status !== 1) throw invalid('status must be 0 or 1');
      const target = await conversationTarget(conn, req.conversationId);
      if (target.peerId === conn.userId && target.sessionType === SessionType.SESSION_TYPE_SINGLE) throw invalid('typing to oneself');
      await ctx.core.typing(conn, { sessionType: target.sessionType, toId: target.peerId, status: req.status });
      return {};
    }),
  );

  router.on(
    CommandType.CMD_REVOKE_MSG_REQ,
    'ws_revoke',
    IM.Ws.RevokeMessageRequest,
    answering(CommandType.CMD_REVOKE_MSG_RSP, IM.Ws.RevokeMessageResponse, async ({ conn }, req: IM.Ws.RevokeMessageRequest) => {
      const parsed = parseMessageId(req.messageId, req.conversationId);
      if (!parsed) throw invalid('message_id is not a message id of conversation_id');
      const target = await conversationTarget(conn, parsed.conversationId);
      const rsp = await ctx.core.recall(conn, { sessionType: target.sessionType, peerId: target.peerId, msgId: parsed.msgId });
      switch (rsp.result) {
        case IM.DbProxy.RecallResult.RECALL_OK:
          return {};
        case IM.DbProxy.RecallResult.RECALL_NOT_FOUND:
          throw new WsRequestError(ErrorCode.ERR_CONVERSATION_NOT_EXIST, rsp.errorMessage || 'no such message');
        case IM.DbProxy.RecallResult.RECALL_TOO_LATE:
          throw new WsRequestError(ErrorCode.ERR_PERMISSION_DENIED, rsp.errorMessage || 'too late to recall this message');
        default:
          throw new WsRequestError(ErrorCode.ERR_PERMISSION_DENIED, rsp.errorMessage || 'you may not recall this message');
      }
    }),
  );
}
