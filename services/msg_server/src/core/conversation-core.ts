import { IM, type DbProxyClient } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import type { Logger } from '@tt/observability';
import type { ClientConnection } from '../connection';
import type { Delivery } from '../delivery';
import type { MessageStore } from '../message-store';
import type { PushJobProducer } from '../push-jobs';
import type { MsgServerMetrics } from '../metrics';
import type { UserDirectory } from './user-directory';
import type { Webhooks } from '../webhooks';
import { isRoomSession } from './rooms';
import { monitoredSessionOf, type SessionMonitors } from './monitors';

const { SessionType } = IM.BaseDefine;

/** A message as a front hands it to the core: already in stored (TeamTalk) form. */
export interface OutgoingMessage {
  sessionType: number;
  /** The recipient (single chat) or the group. */
  toId: number;
  /** TeamTalk msg_type (text/audio × single/group). */
  msgType: number;
  /** Content in stored form (see ContentCodec). */
  content: Uint8Array;
  extra?: IM.Core.IMessageExtra;
  /** A TeamTalk sender's attach_data, passed on to TeamTalk recipients. */
  teamtalkAttachData?: Uint8Array;
}

/** What the sender is told once the message is stored. */
export interface SendResult {
  msgId: number;
  /** The sender's sync seq of the message. */
  senderSeq: number;
  createTime: number;
  serverTimeMs: number;
  /** A resend of an earlier message (same client_msg_id): nothing new was stored or delivered. */
  duplicate: boolean;
  saved: IM.DbProxy.SavedMessage;
}

export interface ConversationCoreDeps {
  db: DbProxyClient;
  messages: MessageStore;
  delivery: Delivery;
  push: PushJobProducer;
  directory: UserDirectory;
  metrics: MsgServerMetrics;
  log: Logger;
  nowSeconds(): number;
  /** How long a sender may recall a message (group owners: always). */
  recallWindowSeconds: number;
  /** Who listens to which conversation (OMTP session monitors). */
  monitors?: SessionMonitors;
  /** message.stored calls, and the before_send check. */
  webhooks?: Webhooks;
}

/**
 * The conversation core: what every front does with messages, in one place
 * and in protocol-neutral terms. Fronts decode and validate their protocol's
 * requests, call these, and encode the answers; the events the core emits
 * are rendered by each recipient connection's front.
 */
export class ConversationCore {
  /** Per connection: resolves once its previous checked message was queued for storing (before_send keeps send order). */
  private readonly checkTurns = new WeakMap<ClientConnection, Promise<void>>();

  constructor(private readonly deps: ConversationCoreDeps) {}

  /**
   * Stores a message, tells the sender (`acknowledge`, before anyone else
   * hears of it), then queues its push notifications and delivers it to the
   * recipients and the sender's other connections, in order with the
   * sender connection's earlier messages. The save is queued before the
   * first await, so a front may pipeline a connection's messages.
   * Throws when the message could not be stored (nothing was acknowledged),
   * or a before_send webhook refused it (RpcError PERMISSION_DENIED).
   */
  send(conn: ClientConnection, message: OutgoingMessage, acknowledge: (result: SendResult) => void): Promise<void> {
    // Without a before_send webhook (the usual case) the save is queued right here, with no await before it.
    const hooks = this.deps.webhooks?.beforeSend;
    return hooks ? this.sendChecked(conn, message, acknowledge, hooks) : this.store(conn, message, acknowledge);
  }

  /**
   * Asks the before_send webhooks first. The checks of one connection's
   * messages run at once, but each message is queued for storing only after
   * the one before it, so a connection's messages keep their order.
   */
  private async sendChecked(conn: ClientConnection, message: OutgoingMessage, acknowledge: (result: SendResult) => void, hooks: NonNullable<Webhooks['beforeSend']>): Promise<void> {
    const webhooks = this.deps.webhooks!;
    const check = webhooks.checkBeforeSend(hooks, webhooks.messageData({ ...message, fromUserId: conn.userId }));
    // Handled below, maybe only after the previous message's turn: no unhandled rejection meanwhile.
    check.catch(() => undefined);
    const previous = this.checkTurns.get(conn);
    let queued!: () => void;
    const turn = new Promise<void>((resolve) => (queued = resolve));
    this.checkTurns.set(conn, turn);
    let storing: Promise<void>;
    try {
      if (previous) await previous;
      await check;
      storing = this.store(conn, message, acknowledge);
    } finally {
      queued();
      if (this.checkTurns.get(conn) === turn) this.checkTurns.delete(conn);
    }
    return storing;
  }

  private async store(conn: ClientConnection, message: OutgoingMessage, acknowledge: (result: SendResult) => void): Promise<void> {
    const senderId = conn.userId;
    const createTime = this.deps.nowSeconds();
    const data: IM.Message.IIMMsgData = {
      fromUserId: senderId,
      toSessionId: message.toId,
      msgId: 0,
      createTime,
      msgType: message.msgType,
      msgData: message.content,
    };
    const timer = this.deps.metrics.storeSeconds.startTimer();
    let saved: IM.DbProxy.SavedMessage;
    try {
      saved = await this.deps.messages.save(data, conn.id, message.extra);
    } finally {
      timer();
    }
    // The sender's seq comes first.
    const senderSeq = saved.seqs.length > 0 && saved.seqs[0].userId === senderId ? Number(saved.seqs[0].seq) : 0;
    const serverTimeMs = Number(saved.serverTimeMs ?? 0) || createTime * 1000;
    const duplicate = saved.duplicate === true;
    if (duplicate) this.deps.metrics.duplicatesSuppressed.inc();
    else this.deps.metrics.messagesStored.inc();
    acknowledge({ msgId: saved.ack.msgId, senderSeq, createTime: saved.stored?.createTime ?? createTime, serverTimeMs, duplicate, saved });
    if (duplicate) return;
    data.msgId = saved.ack.msgId;
    // Recipients whose phone is not connected get a notification through push_server.
    this.deps.push.messageStored(data, saved.recipientIds);
    // One fixed shape (no spreads): these objects are encoded and read on the hot path.
    const stored: IM.Core.IStoredMessage = {
      fromUserId: senderId,
      sessionType: message.sessionType,
      toId: message.toId,
      msgId: saved.ack.msgId,
      createTime,
      msgType: message.msgType,
      content: message.content,
      extra: message.extra ? { ...message.extra, serverTimeMs } : undefined,
      fromName: saved.fromName || undefined,
      toName: saved.toName || undefined,
    };
    this.deps.webhooks?.messageStored(stored);
    const event: IM.Core.ICoreEvent = {
      messageStored: { message: stored, seqs: saved.seqs, teamtalkAttachData: message.teamtalkAttachData?.length ? message.teamtalkAttachData : undefined },
    };
    // To the peer (or every group member) and to the sender's other devices.
    const audience = [...saved.recipientIds, senderId];
    const delivered = this.deps.delivery.inOrder(conn, audience, event, conn.id);
    const monitors = this.deps.monitors?.monitorsOf(monitoredSessionOf(message.sessionType, senderId, message.toId));
    if (monitors && monitors.length > 0) {
      // A copy for those listening in who are not in the conversation themselves.
      const listeners = monitors.filter((id) => !audience.includes(id));
      if (listeners.length > 0) void this.deps.delivery.inOrder(conn, listeners, { messageMonitored: { message: stored } });
    }
    await delivered;
  }

  /** The user's sync entries in [minSeq, maxSeq] (maxSeq 0: to the newest). */
  sync(userId: number, minSeq: number, maxSeq: number, limit: number): Promise<IM.DbProxy.SyncRsp> {
    return this.deps.db.sync({ userId, minSeq, maxSeq, limit });
  }

  /**
   * sync(), with a name for every user the entries mention (senders, single-chat
   * peers, recallers, mentioned users), looked up in one go, for fronts that
   * name users by account name. An unknown user is named by its id.
   */
  async syncNamed(userId: number, minSeq: number, maxSeq: number, limit: number): Promise<{ page: IM.DbProxy.SyncRsp; nameOf: (userId: number) => string }> {
    const page = await this.sync(userId, minSeq, maxSeq, limit);
    const ids = new Set<number>();
    for (const e of page.entries) {
      const m = e.message ?? e.recalled;
      if (!m) continue;
      ids.add(m.fromUserId);
      if (m.sessionType === SessionType.SESSION_TYPE_SINGLE) ids.add(m.toId);
      if (e.recalled) ids.add(e.recalled.recalledBy);
      for (const id of e.message?.extra?.mentionUserIds ?? []) ids.add(id);
    }
    const names = await this.deps.directory.names(ids);
    return { page, nameOf: (id) => names.get(id) ?? String(id) };
  }

  async maxSeq(userId: number): Promise<number> {
    return Number((await this.deps.db.getMaxSeq({ userId })).maxSeq);
  }

  /**
   * The reader has read the conversation up to a message (or the named
   * ones): stores it, tells the reader's other connections, and gives the
   * senders of what was read a receipt.
   */
  async read(conn: ClientConnection, read: { sessionType: number; peerId: number; upToMsgId?: number; msgIds?: number[] }): Promise<IM.DbProxy.ReadReceiptRsp> {
    const readerId = conn.userId;
    const rsp = await this.deps.db.readReceipt({ userId: readerId, sessionType: read.sessionType, peerId: read.peerId, upToMsgId: read.upToMsgId ?? 0, msgIds: read.msgIds ?? [] });
    const names = await this.namesOf([readerId, ...(read.sessionType === SessionType.SESSION_TYPE_SINGLE ? [read.peerId] : [])]);
    const event: IM.Core.ICoreEvent = {
      messageRead: { readerId, sessionType: read.sessionType, peerId: read.peerId, msgId: read.upToMsgId || rsp.readMsgId, msgIds: rsp.msgIds, readAtMs: Date.now() },
      names,
    };
    await this.deps.delivery.toUsers([readerId, ...rsp.senderIds.filter((id) => id !== readerId)], event, conn.id);
    return rsp;
  }

  /** Recalls a message: the sender within the window, a group's owner at any time. Every participant hears of it. */
  async recall(conn: ClientConnection, target: { sessionType: number; peerId: number; msgId: number }): Promise<IM.DbProxy.RecallRsp> {
    const rsp = await this.deps.db.recallMessage({ userId: conn.userId, ...target, windowSeconds: this.deps.recallWindowSeconds });
    const recalled = rsp.event;
    if (rsp.result === IM.DbProxy.RecallResult.RECALL_OK && recalled) {
      this.deps.metrics.messagesRecalled.inc();
      // Chat rooms have no seqs: db_proxy names the members in the room now.
      const users = isRoomSession(recalled.sessionType) ? (rsp.recipientIds ?? []) : (recalled.seqs ?? []).map((s) => s.userId);
      const names = await this.namesOf([recalled.fromUserId, recalled.recalledBy, ...(recalled.sessionType === SessionType.SESSION_TYPE_SINGLE ? [recalled.toId] : [])]);
      await this.deps.delivery.toUsers(users, { messageRecalled: recalled, names }, conn.id);
    }
    return rsp;
  }

  /**
   * An operator recalls a message (moderation): any message of a single chat
   * (named by its two users) or a group, whoever sent it, however old.
   * recalled_by is 0 (the system); every participant hears of it as for
   * recall().
   */
  async recallAsModerator(target: { sessionType: number; userA: number; userB: number; msgId: number } | { sessionType: number; groupId: number; msgId: number }): Promise<IM.DbProxy.RecallRsp> {
    // A group is named by peer_id; user_id only has to be non-zero (db_proxy ignores it for moderators' group recalls).
    const [userId, peerId] = 'groupId' in target ? [target.groupId, target.groupId] : [target.userA, target.userB];
    const rsp = await this.deps.db.recallMessage({ userId, peerId, sessionType: target.sessionType, msgId: target.msgId, windowSeconds: 0, moderator: true });
    const recalled = rsp.event;
    if (rsp.result === IM.DbProxy.RecallResult.RECALL_OK && recalled) {
      this.deps.metrics.messagesRecalled.inc();
      const users = (recalled.seqs ?? []).map((s) => s.userId);
      const names = await this.namesOf([recalled.fromUserId, ...(recalled.sessionType === SessionType.SESSION_TYPE_SINGLE ? [recalled.toId] : [])]);
      await this.deps.delivery.toUsers(users, { messageRecalled: recalled, names });
    }
    return rsp;
  }

  /**
   * Joins a chat room (operators create rooms with ttctl). Its members, the
   * joiner's other connections included, hear of it (RoomMemberEvent).
   */
  async joinRoom(conn: ClientConnection, roomId: number): Promise<IM.DbProxy.JoinRoomRsp> {
    const rsp = await this.deps.db.joinRoom({ userId: conn.userId, roomId });
    if (rsp.result === IM.DbProxy.RoomJoinResult.ROOM_JOINED) await this.roomMemberChanged(conn, roomId, true, rsp.memberIds, rsp.room?.memberCount ?? rsp.memberIds.length);
    return rsp;
  }

  /** Leaves a chat room; the members left in it and the leaver's connections hear of it. */
  async leaveRoom(conn: ClientConnection, roomId: number): Promise<IM.DbProxy.LeaveRoomRsp> {
    const rsp = await this.deps.db.leaveRoom({ userId: conn.userId, roomId });
    if (rsp.left) await this.roomMemberChanged(conn, roomId, false, [...rsp.memberIds, conn.userId], rsp.memberIds.length);
    return rsp;
  }

  /** Rooms the user is in (userId 0: every active room). */
  async listRooms(userId: number): Promise<IM.DbProxy.IRoomInfo[]> {
    return (await this.deps.db.listRooms({ userId })).rooms;
  }

  /** A member's look at a room's kept history: before beforeMsgId (0: from the newest), newest first. */
  async roomHistory(userId: number, roomId: number, beforeMsgId: number, limit: number): Promise<IM.Core.IStoredMessage[]> {
    const rsp = await this.deps.db.roomHistory({ userId, roomId, beforeMsgId, limit });
    const names = await this.deps.directory.names(rsp.messages.map((m) => m.fromUserId)).catch(() => new Map<number, string>());
    for (const m of rsp.messages) m.fromName = names.get(m.fromUserId) ?? m.fromName;
    return rsp.messages;
  }

  private async roomMemberChanged(conn: ClientConnection, roomId: number, joined: boolean, audience: number[], memberCount: number): Promise<void> {
    const names = await this.namesOf([conn.userId]);
    await this.deps.delivery.toUsers([...new Set(audience)], { roomMember: { roomId, userId: conn.userId, joined, memberCount }, names }, conn.id);
  }

  /** Typing (1) or stopped (0): to the peer or the group's members, never stored (nor shown in chat rooms); a non-member of the group: PERMISSION_DENIED. */
  async typing(conn: ClientConnection, typing: { sessionType: number; toId: number; status: number; teamtalkCmdMsgData?: string }): Promise<void> {
    const userId = conn.userId;
    if (isRoomSession(typing.sessionType)) return;
    let recipients: number[];
    if (typing.sessionType === SessionType.SESSION_TYPE_GROUP) {
      const info = await this.deps.db.getGroupInfo({ userId, groupVersionList: [{ groupId: typing.toId, version: 0 }] });
      const members = info.groupInfoList[0]?.groupMemberList ?? [];
      if (!members.includes(userId)) throw RpcError.permissionDenied(`user ${userId} is not a member of group ${typing.toId}`);
      recipients = members.filter((id) => id !== userId);
    } else {
      recipients = [typing.toId];
    }
    const names = await this.namesOf([userId, ...(typing.sessionType === SessionType.SESSION_TYPE_SINGLE ? [typing.toId] : [])]);
    const event: IM.Core.ICoreEvent = { typing: { userId, sessionType: typing.sessionType, toId: typing.toId, status: typing.status, teamtalkCmdMsgData: typing.teamtalkCmdMsgData }, names };
    await this.deps.delivery.toUsers(recipients, event, conn.id);
  }

  private async namesOf(userIds: number[]): Promise<IM.Core.IUserName[]> {
    try {
      const names = await this.deps.directory.names(userIds);
      return [...names].map(([userId, name]) => ({ userId, name }));
    } catch (err) {
      // Names only matter to string-id fronts; the event still goes out.
      this.deps.log.warn({ err }, 'user names not resolved');
      return [];
    }
  }
}
