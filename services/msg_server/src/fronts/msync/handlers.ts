import { createHash } from 'node:crypto';
import { IM } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import { isTokenError, verifyToken } from '@tt/auth';
import type { CommandRouter } from '../../command-router';
import type { ClientConnection } from '../../connection';
import type { MsgServerContext } from '../../context';
import { teamTalkMsgType } from '../../core/content';
import { CLIENT_TYPE_WEB } from '../../domain/client-type';
import { admitClient } from '../admit';
import { groupConversationId, parseDecimalId, singleConversationId } from '../ws/ids';
import { WS_CLOSE_POLICY, envelopeDecoder, type MsyncConnection, type MsyncSession } from './connection';
import { contentToCore, extToCore } from './content';
import { GROUP_DOMAIN, encodeSyncDL, roomConversationId, userQueue, type MsyncFront } from './front';
import { ROOM_SESSION_TYPE, roomMsgType } from '../../core/rooms';
import { WireError, findField, msgIdOf, serverIdOf } from './wire';
import { clientIpOf, throttledSeconds, throttledText } from '../login-throttle';

const { Command } = IM.MSync.MSync;
const { ErrorCode } = IM.MSync.Status;
const NameSpace = IM.MSync.Meta.NameSpace;
const BodyType = IM.MSync.MessageBody.Type;
const { SessionType, UserStatType } = IM.BaseDefine;

export interface MsyncHandlerOptions {
  /** AUTH_JWT_SECRET; empty: token logins are refused (password logins still work). */
  jwtSecret: string;
  /** The app key (org#app) clients must name; empty: any. */
  appKey: string;
  maxContentBytes: number;
  /** Devices per user (0: no limit). */
  maxDevices: number;
  /** Devices not seen for this long do not count against maxDevices. */
  deviceTtlSeconds: number;
  /** Metas per SYNC answer. */
  pullLimit: number;
  /** How far back a user's new device starts. */
  newDeviceBacklog: number;
}

const MAX_RESOURCE = 128;
const MAX_EXT_ENTRIES = 32;
const MAX_EXT_KEY = 64;
const MAX_EXT_VALUE = 4096;
/** Rounds of all-own entries skipped in one pull before answering anyway. */
const MAX_SKIP_ROUNDS = 8;

/** A request failed with this MSync status. */
class MsyncError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** "$t$<token>" (or a bare token) → the token. */
function stripTokenPrefix(auth: string): string {
  return auth.startsWith('$t$') ? auth.slice(3) : auth;
}

/** The token a PROVISION carries: auth_token's JSON {"token"}, the payload's auth, or the header's. */
function provisionToken(envelope: IM.MSync.MSync, provision: IM.MSync.Provision): string {
  if (provision.authToken) {
    try {
      const parsed = JSON.parse(provision.authToken) as { token?: unknown };
      if (typeof parsed.token === 'string' && parsed.token) return stripTokenPrefix(parsed.token);
    } catch {
      // not JSON: the other places
    }
  }
  return stripTokenPrefix(provision.auth || envelope.auth || '');
}

/**
 * The seed-002 commands: PROVISION, UNREAD, SYNC (both ways) and LOGOUT.
 * Decode → validate → call the core → encode; every answer carries a Status.
 */
export function registerMsyncHandlers(router: CommandRouter, ctx: MsgServerContext, front: MsyncFront, options: MsyncHandlerOptions): void {
  const answer = (conn: ClientConnection, command: number, payload: Uint8Array) => conn.write(front.frame(command, 0, payload));
  const syncStatus = (conn: ClientConnection, code: number, reason: string, extra: Omit<IM.MSync.ICommSyncDL, 'metas' | 'metaId' | 'serverId'> = {}, metaId?: bigint) =>
    answer(conn, Command.SYNC, encodeSyncDL({ status: { errorCode: code, reason }, timestamp: Date.now(), ...extra }, { metaId }));

  const statusOf = (err: unknown): { code: number; reason: string } => {
    if (err instanceof MsyncError) return { code: err.code, reason: err.message };
    if (err instanceof RpcError) {
      if (err.code === 3) return { code: ErrorCode.WRONG_PARAMETER, reason: err.message };
      if (err.code === 5) return { code: ErrorCode.WRONG_PARAMETER, reason: err.message };
      if (err.code === 7) return { code: ErrorCode.PERMISSION_DENIED, reason: err.message };
    }
    return { code: ErrorCode.FAIL, reason: 'internal error' };
  };

  router.on(
    Command.PROVISION,
    'msync_provision',
    envelopeDecoder,
    async ({ conn: base }, envelope) => {
      const conn = base as MsyncConnection;
      const refuse = (code: number, reason: string, close = true) => {
        ctx.metrics.logins.inc({ result: `msync_${code}` });
        answer(conn, Command.PROVISION, IM.MSync.Provision.encode({ status: { errorCode: code, reason } }).finish());
        if (close) conn.closeWith(WS_CLOSE_POLICY, reason);
      };
      if (conn.identity || conn.loginInProgress) return refuse(ErrorCode.WRONG_PARAMETER, 'already provisioned', false);
      let provision: IM.MSync.Provision;
      try {
        provision = IM.MSync.Provision.decode(envelope.payload ?? new Uint8Array());
      } catch {
        return refuse(ErrorCode.PB_PARSER_ERROR, 'the payload is not a Provision');
      }
      conn.loginInProgress = true;
      const guid = envelope.guid ?? {};
      if (options.appKey && guid.appKey && guid.appKey !== options.appKey) return refuse(ErrorCode.UNAUTHORIZED, `unknown app key ${JSON.stringify(guid.appKey.slice(0, 64))}`);
      const resource = provision.resource || guid.clientResource || `${provision.deviceUuid || 'device'}`;
      if (resource.length > MAX_RESOURCE) return refuse(ErrorCode.WRONG_PARAMETER, `resource longer than ${MAX_RESOURCE} characters`);

      // Who: a token (the SDK's way), else the account name and password.
      let userId: number;
      let name: string;
      const token = provisionToken(envelope, provision);
      if (token) {
        if (!options.jwtSecret) return refuse(ErrorCode.UNAUTHORIZED, 'token login is not configured on this server');
        try {
          const verified = await verifyToken(token, options.jwtSecret);
          ({ userId, name } = verified);
        } catch (err) {
          if (isTokenError(err) && err.code === 'EXPIRED') return refuse(ErrorCode.TOKEN_EXPIRED, 'token expired');
          return refuse(ErrorCode.UNAUTHORIZED, 'token not valid');
        }
        if (guid.name && guid.name !== name) return refuse(ErrorCode.UNAUTHORIZED, 'guid.name does not match the token');
      } else if (provision.password && guid.name) {
        const rsp = await ctx.db.validateUser({ userName: guid.name, password: createHash('md5').update(provision.password, 'utf8').digest('hex'), clientIp: clientIpOf(conn.remoteAddress) });
        // MSync has no "too many attempts" code: FAIL (not UNAUTHORIZED, which SDKs report as a wrong password) with the wait.
        const wait = throttledSeconds(rsp);
        if (wait) return refuse(ErrorCode.FAIL, throttledText(wait));
        if (rsp.resultCode !== 0 || !rsp.userInfo?.userId) return refuse(ErrorCode.UNAUTHORIZED, 'wrong user name or password');
        userId = rsp.userInfo.userId;
        name = guid.name;
      } else {
        return refuse(ErrorCode.MISSING_PARAMETER, 'a token (auth) or guid.name and password is required');
      }
      if (conn.closed) return;

      // The device: where its queue continues (durable, any msg_server).
      const maxSeq = await ctx.core.maxSeq(userId);
      const bound = await ctx.db.msyncBind({
        userId,
        resource,
        initialSeq: Math.max(0, maxSeq - options.newDeviceBacklog),
        maxDevices: options.maxDevices,
        activeSince: Math.max(0, ctx.nowSeconds() - options.deviceTtlSeconds),
      });
      if (!bound.ok) {
        if (options.maxDevices === 1) return refuse(ErrorCode.BIND_ANOTHER_DEVICE, `already bound to device ${bound.activeResources[0] ?? ''}`.trim());
        return refuse(ErrorCode.TOO_MANY_DEVICES, `at most ${options.maxDevices} devices per user`);
      }
      if (conn.closed) return;
      // The same device connected here before (a reconnect the old socket has not noticed): the new connection wins.
      for (const other of [...ctx.registry.ofUser(userId)]) {
        if (other !== conn && other.front === conn.front && (other as MsyncConnection).session?.resource === resource) (other as MsyncConnection).closeWith(WS_CLOSE_POLICY, 'replaced by a new connection of this device');
      }
      const session: MsyncSession = {
        resource,
        appKey: guid.appKey || options.appKey,
        queue: userQueue(name),
        confirmedSeq: Math.min(Number(bound.confirmedSeq), maxSeq),
        ownSeqs: new Set(),
      };
      conn.session = session;
      // MSync devices never kick other clients (nor are kicked by TeamTalk's one-PC-one-phone rule): the device limit is theirs.
      conn.identity = { userId, clientType: CLIENT_TYPE_WEB, status: UserStatType.USER_STATUS_ONLINE, name };
      conn.loginInProgress = false;
      ctx.directory.remember(userId, name);
      // The answer first, then the notices the connection may start getting. No compression is offered, so the client sends plain frames.
      answer(conn, Command.PROVISION, IM.MSync.Provision.encode({ status: { errorCode: ErrorCode.OK }, resource, compressType: [IM.MSync.Provision.CompressType.COMPRESS_NONE] }).finish());
      admitClient(ctx, conn, CLIENT_TYPE_WEB);
    },
    { beforeLogin: true },
  );

  router.on(Command.UNREAD, 'msync_unread', envelopeDecoder, async ({ conn: base }) => {
    const conn = base as MsyncConnection;
    const session = conn.session!;
    try {
      const maxSeq = await ctx.core.maxSeq(conn.userId);
      const n = Math.max(0, maxSeq - session.confirmedSeq);
      const unread = n > 0 ? [{ queue: session.queue, n: Math.min(n, 0xffffffff) }] : [];
      answer(conn, Command.UNREAD, IM.MSync.CommUnreadDL.encode({ status: { errorCode: ErrorCode.OK }, unread, timestamp: Date.now() }).finish());
    } catch (err) {
      const s = statusOf(err);
      answer(conn, Command.UNREAD, IM.MSync.CommUnreadDL.encode({ status: { errorCode: s.code, reason: s.reason }, timestamp: Date.now() }).finish());
      if (s.code === ErrorCode.FAIL) ctx.log.error({ err, userId: conn.userId }, 'msync unread failed');
    }
  });

  router.on(Command.LOGOUT, 'msync_logout', envelopeDecoder, async ({ conn: base }, envelope) => {
    const conn = base as MsyncConnection;
    let logout: IM.MSync.Logout | undefined;
    try {
      logout = IM.MSync.Logout.decode(envelope.payload ?? new Uint8Array());
    } catch {
      // an unreadable LOGOUT still logs out
    }
    try {
      await ctx.db.msyncConfirm({ userId: conn.userId, resource: conn.session!.resource, forget: true });
    } catch (err) {
      ctx.log.warn({ err, userId: conn.userId }, 'msync logout: device not forgotten');
    }
    answer(conn, Command.LOGOUT, IM.MSync.Logout.encode({ sessionId: logout?.sessionId ?? '', status: { errorCode: ErrorCode.OK } }).finish());
    conn.closeWith(1000, 'logged out');
  });

  router.on(Command.SYNC, 'msync_sync', envelopeDecoder, async ({ conn: base }, envelope) => {
    const conn = base as MsyncConnection;
    const payload = envelope.payload ?? new Uint8Array();
    let ul: IM.MSync.CommSyncUL;
    let metaBytes: Uint8Array | undefined;
    try {
      ul = IM.MSync.CommSyncUL.decode(payload);
      metaBytes = findField(payload, 1).bytes;
    } catch {
      return syncStatus(conn, ErrorCode.PB_PARSER_ERROR, 'the payload is not a CommSyncUL');
    }
    if (ul.meta && metaBytes) return handleMeta(conn, ul.meta as IM.MSync.Meta, metaBytes);
    return handlePull(conn, ul);
  });

  /** A meta the client sends: acked with its id, the server id and the time. */
  const handleMeta = async (conn: MsyncConnection, meta: IM.MSync.Meta, metaBytes: Uint8Array) => {
    let metaId: bigint;
    try {
      metaId = findField(metaBytes, 1).varint ?? 0n;
    } catch {
      return syncStatus(conn, ErrorCode.PB_PARSER_ERROR, 'the meta does not parse');
    }
    const ok = (serverId: bigint, timestamp = Date.now()) => answer(conn, Command.SYNC, encodeSyncDL({ status: { errorCode: ErrorCode.OK }, timestamp }, { metaId, serverId }));
    try {
      switch (meta.ns) {
        case NameSpace.CHAT:
          return await handleChat(conn, meta, metaId, ok);
        case NameSpace.MUC:
          return await handleMuc(conn, meta, metaId, ok);
        case NameSpace.STATISTIC:
        case NameSpace.CONFERENCE:
          // Accepted and ignored (client statistics; calls are not this server's).
          return ok(metaId);
        default:
          throw new MsyncError(ErrorCode.PERMISSION_DENIED, `namespace ${meta.ns} is not accepted from clients here (groups and contacts are managed through TeamTalk clients and ttctl)`);
      }
    } catch (err) {
      const s = statusOf(err);
      syncStatus(conn, s.code, s.reason, {}, metaId);
      if (s.code === ErrorCode.FAIL && !(err instanceof MsyncError)) ctx.log.error({ err, userId: conn.userId }, 'msync meta failed');
    }
  };

  /** The conversation a body names from the sender's side: a user (CHAT), a group (GROUPCHAT) or a chat room (CHATROOM). */
  const targetOf = async (conn: MsyncConnection, body: IM.MSync.MessageBody, meta: IM.MSync.Meta, kind: 'single' | 'group' | 'room') => {
    const toName = body.to?.name || meta.to?.name || '';
    if (!toName) throw new MsyncError(ErrorCode.MISSING_PARAMETER, 'the message names no recipient (to)');
    if (kind !== 'single') {
      const id = parseDecimalId(toName);
      if (id === undefined) throw new MsyncError(ErrorCode.WRONG_PARAMETER, `a ${kind === 'group' ? 'group' : 'chat room'} JID is its id in decimal`);
      if (kind === 'room') return { sessionType: ROOM_SESSION_TYPE, peerId: id, conversationId: roomConversationId(id) };
      return { sessionType: SessionType.SESSION_TYPE_GROUP, peerId: id, conversationId: groupConversationId(id) };
    }
    const self = conn.identity!.name!;
    if (toName === self) throw new MsyncError(ErrorCode.WRONG_PARAMETER, 'a message to oneself');
    const peerId = await ctx.directory.idOf(toName);
    if (peerId === undefined) throw new MsyncError(ErrorCode.WRONG_PARAMETER, `no user ${JSON.stringify(toName.slice(0, 80))}`);
    return { sessionType: SessionType.SESSION_TYPE_SINGLE, peerId, conversationId: singleConversationId(self, toName) };
  };

  const handleChat = async (conn: MsyncConnection, meta: IM.MSync.Meta, metaId: bigint, ok: (serverId: bigint, timestamp?: number) => void) => {
    let body: IM.MSync.MessageBody;
    try {
      body = IM.MSync.MessageBody.decode(meta.payload ?? new Uint8Array());
    } catch {
      throw new MsyncError(ErrorCode.PB_PARSER_ERROR, 'the meta payload is not a MessageBody');
    }
    const groupDomain = (meta.to?.domain ?? body.to?.domain) === GROUP_DOMAIN;
    switch (body.type) {
      case BodyType.CHAT:
      case BodyType.GROUPCHAT:
      case BodyType.NORMAL:
        return sendMessage(conn, body, meta, metaId, body.type === BodyType.GROUPCHAT || (body.type === BodyType.NORMAL && groupDomain) ? 'group' : 'single', ok);
      case BodyType.CHATROOM:
        return sendMessage(conn, body, meta, metaId, 'room', ok);
      case BodyType.RECALL:
        return recall(conn, body, meta, groupDomain, ok);
      case BodyType.READ_ACK:
        return readAck(conn, body, meta, groupDomain, metaId, ok);
      case BodyType.DELIVER_ACK:
      case BodyType.CHANNEL_ACK:
        // Delivery and conversation acks are acknowledged, not passed on (see docs/fronts/msync.md).
        return ok(metaId);
      default:
        throw new MsyncError(ErrorCode.WRONG_PARAMETER, `message type ${body.type} is not supported`);
    }
  };

  const sendMessage = async (conn: MsyncConnection, body: IM.MSync.MessageBody, meta: IM.MSync.Meta, metaId: bigint, kind: 'single' | 'group' | 'room', ok: (serverId: bigint, timestamp?: number) => void) => {
    const first = body.contents[0];
    if (!first) throw new MsyncError(ErrorCode.MISSING_PARAMETER, 'the message has no content');
    const content = contentToCore(first);
    if (!content) throw new MsyncError(ErrorCode.WRONG_PARAMETER, `content type ${first.type} is not supported`);
    if (content.plain.length > options.maxContentBytes) throw new MsyncError(ErrorCode.WRONG_PARAMETER, `content is larger than ${options.maxContentBytes} bytes`);
    if (body.ext.length > MAX_EXT_ENTRIES) throw new MsyncError(ErrorCode.WRONG_PARAMETER, `ext has more than ${MAX_EXT_ENTRIES} entries`);
    const extra: IM.Core.IMessageExtra = { kind: content.kind, extra: body.ext.map(extToCore) };
    for (const kv of extra.extra!) if (kv.key!.length > MAX_EXT_KEY || kv.value!.length > MAX_EXT_VALUE) throw new MsyncError(ErrorCode.WRONG_PARAMETER, 'an ext key or value is too long');
    if (metaId > 0n) extra.clientMsgId = `msync:${metaId}`;
    const target = await targetOf(conn, body, meta, kind);
    if (!ctx.messageLimiter.tryTake(conn.userId)) {
      ctx.metrics.messagesRejected.inc({ reason: 'rate' });
      throw new MsyncError(ErrorCode.PERMISSION_DENIED, 'sending too fast');
    }
    const msgType = target.sessionType === ROOM_SESSION_TYPE ? roomMsgType(content.kind) : teamTalkMsgType(content.kind, target.sessionType);
    const message = { sessionType: target.sessionType, toId: target.peerId, msgType, content: ctx.content.toStored(content.kind, content.plain), extra };
    await ctx.core.send(conn, message, (saved) => {
      // The device's own message is in its queue too: skipped when it pulls.
      if (saved.senderSeq) conn.session!.ownSeqs.add(saved.senderSeq);
      ok(serverIdOf(target.conversationId, saved.msgId), saved.serverTimeMs);
    });
  };

  const recall = async (conn: MsyncConnection, body: IM.MSync.MessageBody, meta: IM.MSync.Meta, groupDomain: boolean, ok: (serverId: bigint) => void) => {
    const serverId = rawAckId(meta);
    if (!serverId) throw new MsyncError(ErrorCode.MISSING_PARAMETER, 'ack_message_id (the server id of the message) is required');
    // The recalling client names the conversation (to); the server id must be one of its messages
    // (a group's or a chat room's: both are conference JIDs, the id's hash tells which).
    const kinds = groupDomain ? (['group', 'room', 'single'] as const) : (['single', 'group', 'room'] as const);
    let target: Awaited<ReturnType<typeof targetOf>> | undefined;
    let msgId: number | undefined;
    for (const kind of kinds) {
      const candidate = await targetOf(conn, body, meta, kind).catch(() => undefined);
      const id = candidate ? msgIdOf(serverId, candidate.conversationId) : undefined;
      if (id !== undefined) {
        [target, msgId] = [candidate, id];
        break;
      }
    }
    if (!target || msgId === undefined) throw new MsyncError(ErrorCode.WRONG_PARAMETER, 'ack_message_id is not a message of the conversation named by to');
    const rsp = await ctx.core.recall(conn, { sessionType: target.sessionType, peerId: target.peerId, msgId });
    switch (rsp.result) {
      case IM.DbProxy.RecallResult.RECALL_OK: {
        const own = rsp.event?.seqs?.find((s) => s.userId === conn.userId);
        if (own) conn.session!.ownSeqs.add(Number(own.seq));
        return ok(serverId);
      }
      case IM.DbProxy.RecallResult.RECALL_NOT_FOUND:
        throw new MsyncError(ErrorCode.WRONG_PARAMETER, rsp.errorMessage || 'no such message');
      case IM.DbProxy.RecallResult.RECALL_TOO_LATE:
        throw new MsyncError(ErrorCode.PERMISSION_DENIED, rsp.errorMessage || 'too late to recall this message');
      default:
        throw new MsyncError(ErrorCode.PERMISSION_DENIED, rsp.errorMessage || 'you may not recall this message');
    }
  };

  /**
   * A read receipt of a single-chat message (ack_message_id = its server id):
   * the core moves the read position and tells the sender, as for every front.
   * Group read acks are acknowledged only (the core keeps no per-member group receipts here).
   */
  const readAck = async (conn: MsyncConnection, body: IM.MSync.MessageBody, meta: IM.MSync.Meta, groupDomain: boolean, metaId: bigint, ok: (serverId: bigint) => void) => {
    if (groupDomain) return ok(metaId);
    const serverId = rawAckId(meta);
    const target = await targetOf(conn, body, meta, 'single');
    const msgId = serverId ? msgIdOf(serverId, target.conversationId) : undefined;
    if (msgId === undefined) throw new MsyncError(ErrorCode.WRONG_PARAMETER, 'ack_message_id is not a message of the conversation named by to');
    await ctx.core.read(conn, { sessionType: target.sessionType, peerId: target.peerId, msgIds: [msgId] });
    return ok(metaId);
  };

  /** MUC from a client: joining and leaving chat rooms (the Web SDK's joinChatRoom / leaveChatRoom). */
  const handleMuc = async (conn: MsyncConnection, meta: IM.MSync.Meta, metaId: bigint, ok: (serverId: bigint) => void) => {
    let muc: IM.MSync.MUCBody;
    try {
      muc = IM.MSync.MUCBody.decode(meta.payload ?? new Uint8Array());
    } catch {
      throw new MsyncError(ErrorCode.PB_PARSER_ERROR, 'the meta payload is not a MUCBody');
    }
    const Operation = IM.MSync.MUCBody.Operation;
    if (!muc.isChatroom || (muc.operation !== Operation.JOIN && muc.operation !== Operation.LEAVE)) {
      throw new MsyncError(ErrorCode.PERMISSION_DENIED, 'only joining and leaving chat rooms is accepted here (groups are managed through TeamTalk clients and ttctl)');
    }
    const roomId = parseDecimalId(muc.mucId?.name ?? '');
    if (roomId === undefined) throw new MsyncError(ErrorCode.WRONG_PARAMETER, 'muc_id is the chat room id in decimal');
    if (muc.operation === Operation.LEAVE) {
      await ctx.core.leaveRoom(conn, roomId);
      return ok(metaId);
    }
    const rsp = await ctx.core.joinRoom(conn, roomId);
    const { RoomJoinResult } = IM.DbProxy;
    if (rsp.result === RoomJoinResult.ROOM_NOT_FOUND) throw new MsyncError(ErrorCode.WRONG_PARAMETER, 'no such chat room');
    if (rsp.result === RoomJoinResult.ROOM_FULL) throw new MsyncError(ErrorCode.PERMISSION_DENIED, 'the chat room is full');
    return ok(metaId);
  };

  /** ack_message_id straight from the meta's payload bytes (exact 64 bits). */
  const rawAckId = (meta: IM.MSync.Meta): bigint => {
    try {
      return findField(meta.payload ?? new Uint8Array(), 6).varint ?? 0n;
    } catch (err) {
      if (err instanceof WireError) return 0n;
      throw err;
    }
  };

  /**
   * A pull of the device's queue. key = the last seq the device has (it
   * confirms everything up to it, durably); the answer holds the entries
   * after it, next_key the last one's seq, is_last when there are none.
   */
  const handlePull = async (conn: MsyncConnection, ul: IM.MSync.CommSyncUL) => {
    const session = conn.session!;
    const userId = conn.userId;
    // A chat room's queue holds nothing to pull: its messages went out as they came.
    if (ul.queue?.domain === GROUP_DOMAIN) return answer(conn, Command.SYNC, encodeSyncDL({ status: { errorCode: ErrorCode.OK }, queue: ul.queue, isLast: true, timestamp: Date.now() }, { metaId: 0n }));
    try {
      const key = Number(ul.key ?? 0);
      if (key > session.confirmedSeq) await confirm(conn, key);
      let metas: Uint8Array[] = [];
      let nextKey = session.confirmedSeq;
      for (let round = 0; round < MAX_SKIP_ROUNDS; round++) {
        const rsp = await ctx.core.sync(userId, nextKey + 1, 0, options.pullLimit);
        if (rsp.entries.length === 0) break;
        metas = await renderEntries(conn, rsp.entries);
        nextKey = Number(rsp.entries[rsp.entries.length - 1].seq);
        if (metas.length > 0) break;
        // Only the device's own messages: confirmed without bothering the client.
        await confirm(conn, nextKey);
      }
      const isLast = metas.length === 0;
      answer(conn, Command.SYNC, encodeSyncDL({ status: { errorCode: ErrorCode.OK }, queue: ul.queue ?? session.queue, nextKey, isLast, timestamp: Date.now() }, { metaId: 0n, metas }));
    } catch (err) {
      const s = statusOf(err);
      syncStatus(conn, s.code, s.reason, { queue: ul.queue ?? session.queue, isLast: true });
      if (s.code === ErrorCode.FAIL && !(err instanceof MsyncError)) ctx.log.error({ err, userId }, 'msync pull failed');
    }
  };

  const confirm = async (conn: MsyncConnection, seq: number) => {
    const session = conn.session!;
    // A key past the newest seq would skip what arrives next.
    const newest = await ctx.core.maxSeq(conn.userId);
    const upTo = Math.min(seq, newest);
    if (upTo <= session.confirmedSeq) return;
    await ctx.db.msyncConfirm({ userId: conn.userId, resource: session.resource, confirmedSeq: upTo });
    session.confirmedSeq = upTo;
    for (const own of session.ownSeqs) if (own <= upTo) session.ownSeqs.delete(own);
  };

  const renderEntries = async (conn: MsyncConnection, entries: IM.DbProxy.ISyncEntry[]): Promise<Uint8Array[]> => {
    const session = conn.session!;
    const ids = new Set<number>();
    for (const e of entries) {
      const m = e.message ?? e.recalled;
      if (!m) continue;
      ids.add(m.fromUserId!);
      if (m.sessionType === SessionType.SESSION_TYPE_SINGLE) ids.add(m.toId!);
      if (e.recalled) ids.add(e.recalled.recalledBy!);
    }
    const names = await ctx.directory.names(ids);
    const nameOf = (id: number) => names.get(id) ?? String(id);
    const metas: Uint8Array[] = [];
    for (const e of entries) {
      if (session.ownSeqs.has(Number(e.seq))) continue;
      if (e.message) metas.push(front.messageMeta(e.message, nameOf, session.appKey));
      else if (e.recalled) metas.push(front.recallMeta(e.recalled, nameOf, session.appKey));
    }
    return metas;
  };
}

/** Answers for what the router could not run: the command's own answer with a Status, or a close. */
export function msyncRouterAnswers(front: MsyncFront) {
  const statusPayload = (command: number, code: number, reason: string): Uint8Array => {
    const status = { errorCode: code, reason };
    if (command === Command.PROVISION) return IM.MSync.Provision.encode({ status }).finish();
    if (command === Command.UNREAD) return IM.MSync.CommUnreadDL.encode({ status, timestamp: Date.now() }).finish();
    if (command === Command.LOGOUT) return IM.MSync.Logout.encode({ status }).finish();
    // SYNC and unknown commands: a CommSyncDL (status is field 1 there).
    return IM.MSync.CommSyncDL.encode({ status, timestamp: Date.now() }).finish();
  };
  return {
    answer(conn: ClientConnection, command: number, code: number, reason: string): void {
      conn.write(front.frame(command, 0, statusPayload(command, code, reason)));
    },
  };
}

