import { randomUUID } from 'node:crypto';
import * as omtp from '@tt/omtp';
import { IM } from '@tt/proto';
import type { ClientConnection } from '../../connection';
import { kindOf, type ContentCodec } from '../../core/content';
import { isRoomSession } from '../../core/rooms';
import type { UserDirectory } from '../../core/user-directory';
import { SyncData } from '../../core/social';
import type { EventRenderer, Front } from '../front';
import { groupConversationId, singleConversationId } from '../ws/ids';
import { contentText, contentTypeOfKind } from './content';
import type { OmtpConnection } from './connection';

const { PackType: T, Flags } = omtp;
const { SessionType } = IM.BaseDefine;

type NameOf = (userId: number) => string;

/** The flags a message carries to its recipients: the sender's, as far as they describe the message. */
const MESSAGE_FLAGS = Flags.COUNTER | Flags.OVERWRITE | Flags.HIGHPRJ;

/** MsgReq.status of a message (seed 004: 0 normal, 1 recalled, 2 deleted). */
export const MsgStatus = { NORMAL: 0, RECALLED: 1, DELETED: 2 } as const;

/** MsgControl.command. */
export const MsgCommand = { RECALL: 1, DELETE: 2 } as const;

/** sessionId of a conversation: `si_<a>_<b>` (account names in byte order), `sg_<groupId>`. */
export function sessionIdOf(sessionType: number, nameA: string, nameB: string | number): string {
  return sessionType === SessionType.SESSION_TYPE_GROUP ? groupConversationId(Number(nameB)) : singleConversationId(nameA, String(nameB));
}

/** A push of the server: ACK 0, a fresh packId unless the packet has its own. */
export function pushFrame(type: number, payload: Uint8Array, flags = 0, packId: string = randomUUID()): Buffer {
  return omtp.framePack({ type, version: omtp.OMTP_VERSION, flags, packId }, payload);
}

export interface OmtpFrontOptions {
  idleTimeoutMs: number;
}

/**
 * OMTP clients (seed 004): Tars packs. Messages (new, and those a monitor
 * listens to) become SINGLE_CHAT / GROUP_CHAT pushes with the sender's
 * packId, recalls MSG_CTRL pushes, read positions MSG_READ pushes, group and
 * friend changes SYNC_DATA_CMD hints, operators' notifications BIZ_NOTIFY.
 * Frames are plain; each connection packs them as its login asked.
 */
export class OmtpFront implements Front {
  readonly name = 'omtp' as const;

  constructor(
    private readonly options: OmtpFrontOptions,
    private readonly content: ContentCodec,
    private readonly directory: UserDirectory,
  ) {}

  frame(commandId: number, seqNum: number, body: Uint8Array): Buffer {
    return pushFrame(commandId, body, seqNum ? Flags.ACK : 0);
  }

  renderer(event: IM.Core.ICoreEvent): EventRenderer | undefined {
    const nameOf = this.namesFrom(event);
    const stored = event.messageStored?.message ?? event.messageMonitored?.message;
    if (stored) {
      if (isRoomSession(stored.sessionType)) return undefined; // OMTP has no chat rooms
      const frame = this.messageFrame(stored, nameOf);
      return () => frame;
    }
    if (event.messageRecalled) {
      const r = event.messageRecalled;
      if (isRoomSession(r.sessionType)) return undefined;
      const sessionId = sessionIdOf(r.sessionType, nameOf(r.fromUserId), r.sessionType === SessionType.SESSION_TYPE_GROUP ? r.toId : nameOf(r.toId));
      const control = { command: MsgCommand.RECALL, sessionId, packId: r.clientMsgId || `${sessionId}:${r.msgId}`, seqId: r.msgId };
      const frame = pushFrame(T.PT_MSG_CTRL, omtp.encodeStruct(omtp.MsgControl, control));
      return () => frame;
    }
    if (event.messageRead) {
      const r = event.messageRead;
      if (isRoomSession(r.sessionType)) return undefined;
      const sessionId = sessionIdOf(r.sessionType, nameOf(r.readerId), r.sessionType === SessionType.SESSION_TYPE_GROUP ? r.peerId : nameOf(r.peerId));
      const frame = pushFrame(T.PT_MSG_READ, omtp.encodeStruct(omtp.MsgReaded, { sessionId, seqId: r.msgId }));
      return () => frame;
    }
    if (event.groupChanged) {
      const g = event.groupChanged;
      const content = JSON.stringify({ groupId: String(g.group!.groupId), change: GROUP_CHANGES[g.change!] ?? String(g.change), operatorId: nameOf(g.operatorId!), memberIds: (g.changedIds ?? []).map(nameOf) });
      const frame = pushFrame(T.PT_SYNC_DATA_CMD, omtp.encodeStruct(omtp.SyncDataReq, { command: SyncData.GROUPS, content }));
      return () => frame;
    }
    if (event.friendChanged) {
      const f = event.friendChanged;
      return (viewerId) => {
        const other = viewerId === f.userId ? f.friendId! : f.userId!;
        const content = JSON.stringify({ friendId: nameOf(other), added: !!f.added });
        return pushFrame(T.PT_SYNC_DATA_CMD, omtp.encodeStruct(omtp.SyncDataReq, { command: SyncData.FRIENDS, content }));
      };
    }
    if (event.notify) {
      const n = event.notify;
      if (n.kind === IM.Core.NotifyEvent.Kind.SYNC_DATA) {
        const frame = pushFrame(T.PT_SYNC_DATA_CMD, omtp.encodeStruct(omtp.SyncDataReq, { command: n.command, content: n.content }));
        return () => frame;
      }
      const sentAt = Number(n.sentAtMs);
      const packId = randomUUID();
      return (viewerId) => {
        const to = n.groupId ? String(n.groupId) : nameOf(viewerId);
        const msg = { sessionId: 'biz', seqId: 0, timestamp: sentAt, from: n.from ?? '', to, pushInfo: '', contentType: n.command, content: n.content, status: 0 };
        return pushFrame(T.PT_MSG_BIZ_NOTIFY, omtp.encodeStruct(omtp.MsgReq, msg), 0, packId);
      };
    }
    if (event.frontPayload?.front === this.name) {
      const frame = Buffer.from(event.frontPayload.payload!);
      return () => frame;
    }
    // Typing and chat rooms: OMTP has no packet for them.
    return undefined;
  }

  kick(conn: ClientConnection, _reason: number): void {
    const c = conn as OmtpConnection;
    conn.write(pushFrame(T.PT_KICKOUT, omtp.encodeStruct(omtp.KickOutReq, { deviceType: c.device.deviceType, deviceId: c.device.deviceId })));
    conn.close();
  }

  idleLimitMs(): number {
    return this.options.idleTimeoutMs;
  }

  /** A stored message as the seed's MsgReq. */
  msgReq(m: IM.Core.IStoredMessage, nameOf: NameOf): omtp.MsgReq {
    const single = m.sessionType === SessionType.SESSION_TYPE_SINGLE;
    const from = m.fromName || nameOf(m.fromUserId!);
    const to = single ? m.toName || nameOf(m.toId!) : String(m.toId);
    const kind = kindOf(m);
    return {
      sessionId: single ? singleConversationId(from, to) : groupConversationId(m.toId!),
      seqId: m.msgId!,
      timestamp: Number(m.extra?.serverTimeMs ?? 0) || (m.createTime ?? 0) * 1000,
      from,
      to,
      pushInfo: m.extra?.pushInfo ?? '',
      contentType: contentTypeOfKind(kind),
      content: m.recalled ? '' : contentText(this.content.toPlain(kind, m.content ?? new Uint8Array())),
      status: m.recalled ? MsgStatus.RECALLED : MsgStatus.NORMAL,
    };
  }

  /** A stored message as an OTIMPack (history, hot sessions, pushes): the sender's packId and flags; REVOKE once recalled. */
  messagePack(m: IM.Core.IStoredMessage, nameOf: NameOf): omtp.OTIMPack {
    const req = this.msgReq(m, nameOf);
    const flags = ((m.extra?.omtpFlags ?? 0) & MESSAGE_FLAGS) | (m.extra?.highPriority ? Flags.HIGHPRJ : 0) | (m.recalled ? Flags.REVOKE : 0);
    const type = m.sessionType === SessionType.SESSION_TYPE_GROUP ? T.PT_MSG_GROUP_CHAT : T.PT_MSG_SINGLE_CHAT;
    return { header: { type, version: omtp.OMTP_VERSION, flags, packId: m.extra?.clientMsgId || `${req.sessionId}:${req.seqId}` }, payload: omtp.encodeStruct(omtp.MsgReq, req) };
  }

  messageFrame(m: IM.Core.IStoredMessage, nameOf: NameOf): Buffer {
    const pack = this.messagePack(m, nameOf);
    return omtp.framePack(pack.header, pack.payload);
  }

  /** Names an event carries, then the directory's cache; a bare id when neither knows (should not happen). */
  namesFrom(event: IM.Core.ICoreEvent): NameOf {
    const names = new Map<number, string>();
    for (const n of event.names ?? []) names.set(n.userId!, n.name!);
    const m = event.messageStored?.message ?? event.messageMonitored?.message;
    if (m?.fromName) names.set(m.fromUserId!, m.fromName);
    if (m?.toName && m.sessionType === SessionType.SESSION_TYPE_SINGLE) names.set(m.toId!, m.toName);
    return (userId) => names.get(userId) ?? this.directory.cachedName(userId) ?? String(userId);
  }
}

const GROUP_CHANGES: Record<number, string> = {
  [IM.Core.GroupChange.GROUP_CREATED]: 'created',
  [IM.Core.GroupChange.GROUP_MEMBERS_ADDED]: 'members_added',
  [IM.Core.GroupChange.GROUP_MEMBERS_REMOVED]: 'members_removed',
  [IM.Core.GroupChange.GROUP_DISMISSED]: 'dismissed',
  [IM.Core.GroupChange.GROUP_OWNER_CHANGED]: 'owner_changed',
  [IM.Core.GroupChange.GROUP_INFO_UPDATED]: 'info_updated',
};
