import { IM } from '@tt/proto';
import type { ClientConnection } from '../../connection';
import { kindOf, type ContentCodec } from '../../core/content';
import type { UserDirectory } from '../../core/user-directory';
import type { EventRenderer, Front } from '../front';
import { varintField } from '../ws/envelope';
import { groupConversationId, messageIdOf, singleConversationId } from '../ws/ids';
import { Flow, encodeFrame, makeFlag } from './codec';
import { fromPlainContent } from './content';
import { isRoomSession } from '../../core/rooms';
import type { Tcp12Connection } from './connection';

const { IMCommand, Status, ConversationType, NoticeType, MessageContentType } = IM.Tcp12;
const { SessionType } = IM.BaseDefine;

/** A chat room's conversation id (message uids `sr_<roomId>:<msg_id>`), beside TeamTalk's `si_`/`sg_`. */
export function roomConversationId(roomId: number): string {
  return `sr_${roomId}`;
}

/** The conversation id of a stored message or event, and its seed Conversation as `viewerId` sees it. */
function conversationFor(sessionType: number, fromId: number, toId: number, viewerId: number, nameOf: NameOf, names?: { from?: string | null; to?: string | null }) {
  if (isRoomSession(sessionType)) return { id: roomConversationId(toId), seed: { type: ConversationType.CHATINGROOM, target: String(toId) }, to: String(toId) };
  if (sessionType === SessionType.SESSION_TYPE_GROUP) return { id: groupConversationId(toId), seed: { type: ConversationType.GROUP, target: String(toId) }, to: String(toId) };
  const fromName = names?.from || nameOf(fromId);
  const toName = names?.to || nameOf(toId);
  return { id: singleConversationId(fromName, toName), seed: { type: ConversationType.SIGNAL, target: viewerId === fromId ? toName : fromName }, to: toName };
}

/** client_msg_id of a message this front sent: the seed's messageId, prefixed so other fronts' ids never collide. */
export const CLIENT_MSG_ID_PREFIX = 's001:';

export interface Tcp12FrontOptions {
  idleTimeoutMs: number;
}

type NameOf = (userId: number) => string;

const RESPONSE_FLAG = makeFlag(0, 0, Flow.RESPONSE);
const NOTIFY_FLAG = makeFlag(0, 0, Flow.NOTIFY);

/** The seed's messageId of a stored message: its client_msg_id when this front sent it, else 0. */
export function seedMessageIdOf(clientMsgId: string | null | undefined): number {
  if (!clientMsgId?.startsWith(CLIENT_MSG_ID_PREFIX)) return 0;
  const n = Number(clientMsgId.slice(CLIENT_MSG_ID_PREFIX.length));
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}

/**
 * Seed 001 clients: 12-byte-header frames. Frames are written plain here;
 * each connection packs them (gzip, AES) the way its client asked. New
 * messages and typing become MPS (DeliveredMessage), recalls and read
 * receipts MN (Notice); a viewer's seq is appended to a body encoded once
 * per event and side of the conversation.
 */
export class Tcp12Front implements Front {
  readonly name = 'tcp12' as const;

  constructor(
    private readonly options: Tcp12FrontOptions,
    private readonly content: ContentCodec,
    private readonly directory: UserDirectory,
  ) {}

  frame(commandId: number, seqNum: number, body: Uint8Array): Buffer {
    return encodeFrame(seqNum, commandId, RESPONSE_FLAG, Status.OK, body);
  }

  notice(commandId: number, body: Uint8Array): Buffer {
    return encodeFrame(0, commandId, NOTIFY_FLAG, Status.OK, body);
  }

  renderer(event: IM.Core.ICoreEvent): EventRenderer | undefined {
    const nameOf = this.namesFrom(event);
    if (event.messageStored) {
      const m = event.messageStored.message!;
      const seqs = new Map<number, number>();
      for (const s of event.messageStored.seqs ?? []) seqs.set(s.userId, Number(s.seq));
      // The sender's devices see a single chat from the sender's side, everyone else from the recipient's.
      const bodies = new Map<boolean, Uint8Array>();
      return (viewerId) => {
        const senderSide = m.sessionType === SessionType.SESSION_TYPE_SINGLE && viewerId === m.fromUserId;
        let body = bodies.get(senderSide);
        if (!body) bodies.set(senderSide, (body = IM.Tcp12.DeliveredMessage.encode(this.delivered(m, viewerId, nameOf, 0)).finish()));
        const seq = seqs.get(viewerId);
        return this.notice(IMCommand.MPS, seq ? Buffer.concat([body, varintField(3, seq)]) : body);
      };
    }
    if (event.messageRecalled) {
      const r = event.messageRecalled;
      const seqs = new Map<number, number>();
      for (const s of r.seqs ?? []) seqs.set(s.userId, Number(s.seq));
      return (viewerId) => {
        const seq = seqs.get(viewerId) ?? 0;
        const notice = { type: NoticeType.NOTICE_RECALL, seq, recall: this.recallNotice(r, viewerId, nameOf, seq) };
        return this.notice(IMCommand.MN, IM.Tcp12.Notice.encode(notice).finish());
      };
    }
    if (event.messageRead) {
      const r = event.messageRead;
      const group = r.sessionType === SessionType.SESSION_TYPE_GROUP;
      const conversationId = group ? groupConversationId(r.peerId) : singleConversationId(nameOf(r.readerId), nameOf(r.peerId));
      const ids = r.msgIds && r.msgIds.length > 0 ? r.msgIds : [r.msgId];
      const messageUids = ids.map((id) => messageIdOf(conversationId, id));
      return (viewerId) => {
        // The reader's other devices: the conversation with the peer; a sender: the conversation with the reader.
        const target = group ? String(r.peerId) : nameOf(viewerId === r.readerId ? r.peerId : r.readerId);
        const read = { conversation: { type: group ? ConversationType.GROUP : ConversationType.SIGNAL, target }, reader: nameOf(r.readerId), messageUids, readTime: Number(r.readAtMs) };
        return this.notice(IMCommand.MN, IM.Tcp12.Notice.encode({ type: NoticeType.NOTICE_READ, read }).finish());
      };
    }
    if (event.typing) {
      const t = event.typing;
      const group = t.sessionType === SessionType.SESSION_TYPE_GROUP;
      const message: IM.Tcp12.IMessage = {
        messageContent: { contentType: MessageContentType.TYPING, data: Buffer.from([t.status ? 1 : 0]) },
        // Shown to the other side: the typer is the conversation's target (group: the group).
        conversation: { type: group ? ConversationType.GROUP : ConversationType.SIGNAL, target: group ? String(t.toId) : nameOf(t.userId) },
        from: nameOf(t.userId),
        to: group ? String(t.toId) : nameOf(t.toId),
      };
      const frame = this.notice(IMCommand.MPS, IM.Tcp12.DeliveredMessage.encode({ message, serverTime: Date.now() }).finish());
      return (viewerId) => (viewerId === t.userId ? undefined : frame);
    }
    if (event.roomMember) {
      const r = event.roomMember;
      const roomMember = { roomId: String(r.roomId), user: nameOf(r.userId), joined: r.joined, memberCount: r.memberCount };
      const frame = this.notice(IMCommand.MN, IM.Tcp12.Notice.encode({ type: NoticeType.NOTICE_ROOM_MEMBER, roomMember }).finish());
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
    (conn as Tcp12Connection).notify(IMCommand.LOGOUT, Status.KICKED, IM.Tcp12.ErrorInfo.encode({ message: why }).finish());
    conn.close();
  }

  idleLimitMs(): number {
    return this.options.idleTimeoutMs;
  }

  /** A stored message as the viewer sees it (seq 0: none). */
  delivered(m: IM.Core.IStoredMessage, viewerId: number, nameOf: NameOf, seq: number): IM.Tcp12.IDeliveredMessage {
    const fromName = m.fromName || nameOf(m.fromUserId!);
    const conversation = conversationFor(m.sessionType!, m.fromUserId!, m.toId!, viewerId, nameOf, { from: fromName, to: m.toName });
    const kind = kindOf(m);
    const serverTime = Number(m.extra?.serverTimeMs ?? 0) || (m.createTime ?? 0) * 1000;
    const messageContent = m.recalled ? { contentType: IM.Tcp12.MessageContentType.UNKNOWN } : fromPlainContent(kind, this.content.toPlain(kind, m.content ?? new Uint8Array()), m.extra, nameOf);
    return {
      message: { messageId: seedMessageIdOf(m.extra?.clientMsgId), messageContent, conversation: conversation.seed, from: fromName, to: conversation.to },
      messageUid: messageIdOf(conversation.id, m.msgId!),
      ...(seq ? { seq } : {}),
      serverTime,
      recalled: !!m.recalled,
    };
  }

  recallNotice(r: IM.Core.IMessageRecalledEvent, viewerId: number, nameOf: NameOf, seq: number): IM.Tcp12.IRecallNotice {
    const conversation = conversationFor(r.sessionType!, r.fromUserId!, r.toId!, viewerId, nameOf);
    return {
      messageUid: messageIdOf(conversation.id, r.msgId!),
      conversation: conversation.seed,
      from: nameOf(r.fromUserId!),
      recalledBy: nameOf(r.recalledBy!),
      recallTime: Number(r.recalledAtMs),
      seq,
    };
  }

  /** Names an event carries, then the directory's cache; a bare id when neither knows (should not happen). */
  namesFrom(event: { names?: IM.Core.IUserName[] | null; messageStored?: IM.Core.IMessageStoredEvent | null }): NameOf {
    const names = new Map<number, string>();
    for (const n of event.names ?? []) names.set(n.userId!, n.name!);
    const m = event.messageStored?.message;
    if (m?.fromName) names.set(m.fromUserId!, m.fromName);
    if (m?.toName && m.sessionType === SessionType.SESSION_TYPE_SINGLE) names.set(m.toId!, m.toName);
    return (userId) => names.get(userId) ?? this.directory.cachedName(userId) ?? String(userId);
  }
}
