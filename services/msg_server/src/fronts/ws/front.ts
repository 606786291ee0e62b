import { IM } from '@tt/proto';
import type { ClientConnection } from '../../connection';
import { kindOf, type ContentCodec } from '../../core/content';
import type { UserDirectory } from '../../core/user-directory';
import type { EventRenderer, Front } from '../front';
import { encodeEnvelope, varintField } from './envelope';
import { groupConversationId, messageIdOf, singleConversationId } from './ids';
import { isRoomSession } from '../../core/rooms';

const { CommandType, ErrorCode } = IM.Ws;
const { SessionType } = IM.BaseDefine;

/** WebSocket close code sent with CMD_KICK_NOTIFY (4000-4999: the application's own). */
export const WS_CLOSE_KICKED = 4001;

export interface WsFrontOptions {
  idleTimeoutMs: number;
}

/** A name for a user id, from whatever the event carries, then the directory's cache. */
type NameOf = (userId: number) => string;

/**
 * Seed 003 clients: each frame one WebSocketMessage. Events become the
 * seed's pushes; per-viewer parts (the seq) are patched onto a body encoded
 * once per event.
 */
export class WsFront implements Front {
  readonly name = 'ws' as const;

  constructor(
    private readonly options: WsFrontOptions,
    private readonly content: ContentCodec,
    private readonly directory: UserDirectory,
  ) {}

  frame(commandId: number, seqNum: number, body: Uint8Array): Buffer {
    return encodeEnvelope(commandId, seqNum, body, undefined, Date.now());
  }

  renderer(event: IM.Core.ICoreEvent): EventRenderer | undefined {
    const nameOf = this.namesFrom(event);
    // Seed 003 has no chat rooms: their messages, recalls and membership are not shown here.
    if (isRoomSession(event.messageStored?.message?.sessionType) || isRoomSession(event.messageRecalled?.sessionType) || event.roomMember) return undefined;
    if (event.messageStored) {
      // The body is encoded once; each viewer's frame appends its own seq (field 11).
      const base = IM.Ws.PushMessage.encode(this.pushMessage(event.messageStored.message!, nameOf, 0)).finish();
      const seqs = new Map<number, number>();
      for (const s of event.messageStored.seqs ?? []) seqs.set(s.userId, Number(s.seq));
      const now = Date.now();
      return (viewerId) => {
        const seq = seqs.get(viewerId);
        return encodeEnvelope(CommandType.CMD_PUSH_MSG, 0, base, seq ? varintField(11, seq) : undefined, now);
      };
    }
    if (event.messageRecalled) {
      const frame = this.frame(CommandType.CMD_REVOKE_MSG_PUSH, 0, IM.Ws.RevokeMessagePush.encode(this.revokePush(event.messageRecalled, nameOf)).finish());
      return () => frame;
    }
    if (event.messageRead) {
      const r = event.messageRead;
      const conversationId = this.conversationOf(r.sessionType, r.readerId, r.peerId, nameOf);
      const ids = r.msgIds && r.msgIds.length > 0 ? r.msgIds : [r.msgId];
      const push = { messageIds: ids.map((id) => messageIdOf(conversationId, id)), conversationId, userId: nameOf(r.readerId), readTime: Number(r.readAtMs) };
      const frame = this.frame(CommandType.CMD_READ_RECEIPT_PUSH, 0, IM.Ws.ReadReceiptPush.encode(push).finish());
      return () => frame;
    }
    if (event.typing) {
      const t = event.typing;
      const push = { conversationId: this.conversationOf(t.sessionType, t.userId, t.toId, nameOf), userId: nameOf(t.userId), status: t.status };
      const frame = this.frame(CommandType.CMD_TYPING_STATUS_PUSH, 0, IM.Ws.TypingStatusPush.encode(push).finish());
      return (viewerId) => (viewerId === t.userId ? undefined : frame);
    }
    if (event.groupChanged) {
      // Seed 003 has no group events: a system entry (message_type 0) with extra.event, like a recall's sync entry.
      const g = event.groupChanged;
      const change = GROUP_CHANGE_EVENTS[g.change!];
      if (!change) return undefined;
      const conversationId = groupConversationId(g.group!.groupId!);
      const push: IM.Ws.IPushMessage = {
        messageId: '',
        conversationId,
        senderId: nameOf(g.operatorId!),
        groupId: String(g.group!.groupId),
        messageType: 0,
        content: Buffer.alloc(0),
        serverTime: Date.now(),
        sendTime: Date.now(),
        extra: {
          event: change,
          operator: nameOf(g.operatorId!),
          members: (g.changedIds ?? []).map(nameOf).join(','),
          owner: g.group!.creatorName || nameOf(g.group!.creatorId!),
          name: g.group!.name ?? '',
        },
      };
      const frame = this.frame(CommandType.CMD_PUSH_MSG, 0, IM.Ws.PushMessage.encode(push).finish());
      return () => frame;
    }
    if (event.frontPayload?.front === this.name) {
      const frame = Buffer.from(event.frontPayload.payload!);
      return () => frame;
    }
    return undefined;
  }

  kick(conn: ClientConnection, reason: number): void {
    const why = reason === IM.BaseDefine.KickReasonType.KICK_REASON_MOBILE_KICK ? 'signed out by your phone' : 'logged in elsewhere';
    conn.send(CommandType.CMD_KICK_NOTIFY, IM.Ws.ErrorNotice, { errorCode: ErrorCode.ERR_AUTH_FAILED, errorMsg: why });
    // WebSocket connections close with the kick's own code, so a client knows not to reconnect at once.
    const ws = conn as ClientConnection & { closeWith?(code: number, reason: string): void };
    if (ws.closeWith) ws.closeWith(WS_CLOSE_KICKED, why);
    else conn.close();
  }

  idleLimitMs(): number {
    return this.options.idleTimeoutMs;
  }

  /** A stored message as the seed's PushMessage (seq 0 = none; see withSeq). */
  pushMessage(m: IM.Core.IStoredMessage, nameOf: NameOf, seq: number): IM.Ws.IPushMessage {
    const single = m.sessionType === SessionType.SESSION_TYPE_SINGLE;
    const fromName = m.fromName || nameOf(m.fromUserId!);
    const toName = single ? m.toName || nameOf(m.toId!) : '';
    const conversationId = single ? singleConversationId(fromName, toName) : groupConversationId(m.toId!);
    const kind = kindOf(m);
    const serverTime = Number(m.extra?.serverTimeMs ?? 0) || (m.createTime ?? 0) * 1000;
    const extra: Record<string, string> = {};
    for (const kv of m.extra?.extra ?? []) extra[kv.key] = kv.value;
    if (m.recalled) extra.recalled = '1';
    return {
      messageId: messageIdOf(conversationId, m.msgId!),
      clientMsgId: m.extra?.clientMsgId ?? '',
      conversationId,
      senderId: fromName,
      receiverId: toName,
      groupId: single ? '' : String(m.toId),
      messageType: kind,
      content: m.recalled ? Buffer.alloc(0) : this.content.toPlain(kind, m.content ?? new Uint8Array()),
      sendTime: Number(m.extra?.clientTimeMs ?? 0) || serverTime,
      serverTime,
      ...(seq ? { seq } : {}),
      extra,
    };
  }

  revokePush(r: IM.Core.IMessageRecalledEvent, nameOf: NameOf): IM.Ws.IRevokeMessagePush {
    const conversationId = this.conversationOf(r.sessionType!, r.fromUserId!, r.toId!, nameOf);
    return { messageId: messageIdOf(conversationId, r.msgId!), conversationId, revokedBy: nameOf(r.recalledBy!), revokedTime: Number(r.recalledAtMs) };
  }

  /** The conversation between `a` and `b` (single chat), or group `b`. */
  conversationOf(sessionType: number, a: number, b: number, nameOf: NameOf): string {
    return sessionType === SessionType.SESSION_TYPE_GROUP ? groupConversationId(b) : singleConversationId(nameOf(a), nameOf(b));
  }

  /** Names an event carries, then the directory's cache; a bare id when neither knows (should not happen). */
  namesFrom(event: { names?: IM.Core.IUserName[] | null }): NameOf {
    const names = event.names && event.names.length > 0 ? new Map(event.names.map((n) => [n.userId!, n.name!])) : undefined;
    return (userId) => names?.get(userId) ?? this.directory.cachedName(userId) ?? String(userId);
  }
}

/** extra.event of the system entry each group change becomes. */
const GROUP_CHANGE_EVENTS: Record<number, string> = {
  [IM.Core.GroupChange.GROUP_CREATED]: 'group_created',
  [IM.Core.GroupChange.GROUP_MEMBERS_ADDED]: 'group_members_added',
  [IM.Core.GroupChange.GROUP_MEMBERS_REMOVED]: 'group_members_removed',
  [IM.Core.GroupChange.GROUP_DISMISSED]: 'group_dismissed',
  [IM.Core.GroupChange.GROUP_OWNER_CHANGED]: 'group_owner_changed',
  [IM.Core.GroupChange.GROUP_INFO_UPDATED]: 'group_info_updated',
};
