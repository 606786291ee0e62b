import { IM } from '@tt/proto';
import type { ClientConnection } from '../../connection';
import { kindOf, type ContentCodec } from '../../core/content';
import type { UserDirectory } from '../../core/user-directory';
import { groupConversationId, messageIdOf, singleConversationId } from '../ws/ids';
import { ROOM_SESSION_TYPE } from '../../core/rooms';
import type { EventRenderer, Front } from '../front';
import { WS_CLOSE_POLICY, type MsyncConnection } from './connection';
import { friendChangeMeta, groupChangeMeta, type ChangeMeta, type KnownName } from './changes';
import { contentFromCore, extFromCore } from './content';
import { bytesField, recallEventIdOf, serverIdOf, uint64Field } from './wire';

const { Command } = IM.MSync.MSync;
const { SessionType } = IM.BaseDefine;
const BodyType = IM.MSync.MessageBody.Type;

/** JID domains: users, and groups (and chat rooms), as the Easemob SDK writes them. */
export const USER_DOMAIN = 'easemob.com';
export const GROUP_DOMAIN = 'conference.easemob.com';

export interface MsyncFrontOptions {
  idleTimeoutMs: number;
}

type NameOf = (userId: number) => string;

/**
 * MSync clients (seed 002): every frame is one MSync envelope. A message or
 * recall is shown as a NOTICE of the viewer's queue; the client then pulls
 * the queue with SYNC, which renders the entries as metas (messageMeta,
 * recallMeta). What has no seq (chat-room traffic, friend and group changes)
 * goes out at once as an unrequested SYNC answer carrying the meta.
 */
export class MsyncFront implements Front {
  readonly name = 'msync' as const;
  private changeCounter = 0;

  constructor(
    private readonly options: MsyncFrontOptions,
    private readonly content: ContentCodec,
    private readonly directory: UserDirectory,
  ) {}

  frame(commandId: number, _seqNum: number, body: Uint8Array): Buffer {
    return Buffer.from(IM.MSync.MSync.encode({ version: IM.MSync.MSync.Version.MSYNC_V1, command: commandId, payload: body }).finish());
  }

  renderer(event: IM.Core.ICoreEvent): EventRenderer | undefined {
    if (event.friendChanged || event.groupChanged) return this.changeRenderer(event);
    if (!event.messageStored && !event.messageRecalled) return undefined;
    const names = new Map((event.names ?? []).map((n) => [n.userId!, n.name!]));
    const m = event.messageStored?.message;
    if (m?.fromName) names.set(m.fromUserId!, m.fromName);
    if (m?.toName) names.set(m.toId!, m.toName);
    // Chat rooms have no seqs: their messages and recalls go out as they happen, as an
    // unrequested SYNC answer of the room's queue (is_last: the client asks once more, gets nothing).
    const roomId = m?.sessionType === ROOM_SESSION_TYPE ? m.toId! : event.messageRecalled?.sessionType === ROOM_SESSION_TYPE ? event.messageRecalled.toId! : 0;
    if (roomId) {
      const nameOf: NameOf = (id) => names.get(id) ?? this.directory.cachedName(id) ?? String(id);
      const meta = m ? this.messageMeta(m, nameOf, '') : this.recallMeta(event.messageRecalled!, nameOf, '');
      const frame = this.frame(Command.SYNC, 0, encodeSyncDL({ status: { errorCode: 0 }, queue: roomQueue(roomId), isLast: true, timestamp: Date.now() }, { metaId: 0n, metas: [meta] }));
      return () => frame;
    }
    // Messages and recalls get a seq in the viewer's stream: the device pulls them.
    return (viewerId) => this.frame(Command.NOTICE, 0, IM.MSync.CommNotice.encode({ queue: userQueue(names.get(viewerId) ?? this.directory.cachedName(viewerId) ?? '') }).finish());
  }

  /**
   * Friend and group changes have no seq: like a chat room's messages, each
   * viewer gets its meta at once, as an unrequested SYNC answer naming the
   * friend's or the group's JID (is_last: nothing to confirm). A viewer or a
   * user the meta names whose account name is unknown gets nothing.
   */
  private changeRenderer(event: IM.Core.ICoreEvent): EventRenderer {
    const names = new Map((event.names ?? []).map((n) => [n.userId!, n.name!]));
    const nameOf: KnownName = (id) => names.get(id) ?? this.directory.cachedName(id);
    const domains = { user: USER_DOMAIN, group: GROUP_DOMAIN };
    const now = Date.now();
    const metaId = this.nextChangeMetaId(now);
    return (viewerId) => {
      let change: ChangeMeta | undefined;
      if (event.friendChanged) change = friendChangeMeta(event.friendChanged, viewerId, nameOf, domains, now);
      else change = groupChangeMeta(event.groupChanged!, viewerId, nameOf, domains, now);
      if (!change) return undefined;
      const dl = encodeSyncDL({ status: { errorCode: 0 }, queue: change.queue, isLast: true, timestamp: now }, { metaId: 0n, metas: [encodeMeta(metaId, change.meta)] });
      return this.frame(Command.SYNC, 0, dl);
    };
  }

  /** Ids of change metas: the time in ms and a counter (the SDK does not look them up anywhere). */
  private nextChangeMetaId(nowMs: number): bigint {
    this.changeCounter = (this.changeCounter + 1) & 0xffff;
    return (BigInt(nowMs) << 16n) | BigInt(this.changeCounter);
  }

  kick(conn: ClientConnection, _reason: number): void {
    (conn as MsyncConnection).closeWith(WS_CLOSE_POLICY, 'logged in elsewhere');
  }

  idleLimitMs(): number {
    return this.options.idleTimeoutMs;
  }

  /** A stored message as the viewer's meta (encoded): Meta.id is the message's server id. */
  messageMeta(m: IM.Core.IStoredMessage, nameOf: NameOf, appKey: string): Uint8Array {
    const single = m.sessionType === SessionType.SESSION_TYPE_SINGLE;
    const fromName = m.fromName || nameOf(m.fromUserId!);
    const toName = single ? m.toName || nameOf(m.toId!) : String(m.toId);
    const conversationId = conversationIdOf(m.sessionType!, fromName, toName, m.toId!);
    const serverTime = Number(m.extra?.serverTimeMs ?? 0) || (m.createTime ?? 0) * 1000;
    const ext: IM.MSync.IKeyValue[] = (m.extra?.extra ?? []).map((kv) => extFromCore({ key: kv.key, value: kv.value }));
    ext.push(extFromCore({ key: 'tt_message_id', value: messageIdOf(conversationId, m.msgId!) }));
    const kind = kindOf(m);
    const contents = m.recalled ? [{ type: IM.MSync.MessageBody.Content.Type.TEXT, text: '' }] : [contentFromCore(kind, this.content.toPlain(kind, m.content ?? new Uint8Array()))];
    if (m.recalled) ext.push(extFromCore({ key: 'recalled', value: '1' }));
    const body: IM.MSync.IMessageBody = {
      type: single ? BodyType.CHAT : m.sessionType === ROOM_SESSION_TYPE ? BodyType.CHATROOM : BodyType.GROUPCHAT,
      from: { name: fromName },
      to: { name: toName },
      contents,
      ext,
    };
    return encodeMeta(serverIdOf(conversationId, m.msgId!), {
      from: { appKey, name: fromName, domain: USER_DOMAIN },
      to: { appKey, name: toName, domain: single ? USER_DOMAIN : GROUP_DOMAIN },
      timestamp: serverTime,
      ns: IM.MSync.Meta.NameSpace.CHAT,
      payload: IM.MSync.MessageBody.encode(body).finish(),
    });
  }

  /** A recall as the viewer's meta: a RECALL body naming the message's server id (ack_message_id). */
  recallMeta(r: IM.Core.IMessageRecalledEvent, nameOf: NameOf, appKey: string): Uint8Array {
    const single = r.sessionType === SessionType.SESSION_TYPE_SINGLE;
    const fromName = nameOf(r.fromUserId!);
    const toName = single ? nameOf(r.toId!) : String(r.toId);
    const conversationId = conversationIdOf(r.sessionType!, fromName, toName, r.toId!);
    const body = Buffer.concat([
      IM.MSync.MessageBody.encode({
        type: BodyType.RECALL,
        from: { name: fromName },
        to: { name: toName },
        contents: [{}],
        ext: [extFromCore({ key: 'recalled_by', value: nameOf(r.recalledBy!) })],
      }).finish(),
      uint64Field(6, serverIdOf(conversationId, r.msgId!)),
    ]);
    return encodeMeta(recallEventIdOf(conversationId, r.msgId!), {
      from: { appKey, name: fromName, domain: USER_DOMAIN },
      to: { appKey, name: toName, domain: single ? USER_DOMAIN : GROUP_DOMAIN },
      timestamp: Number(r.recalledAtMs),
      ns: IM.MSync.Meta.NameSpace.CHAT,
      payload: body,
    });
  }
}

/** The cross-protocol conversation id: `si_<a>_<b>`, `sg_<group>`, `sr_<room>`. */
export function conversationIdOf(sessionType: number, fromName: string, toName: string, toId: number): string {
  if (sessionType === SessionType.SESSION_TYPE_SINGLE) return singleConversationId(fromName, toName);
  return sessionType === ROOM_SESSION_TYPE ? roomConversationId(toId) : groupConversationId(toId);
}

export function roomConversationId(roomId: number): string {
  return `sr_${roomId}`;
}

/** A chat room's queue (and JID): the room id on the conference domain. */
export function roomQueue(roomId: number): IM.MSync.IJID {
  return { name: String(roomId), domain: GROUP_DOMAIN };
}

/** The queue JID of a user's devices: the account name without a resource (the SDK skips notices naming its own device). */
export function userQueue(name: string): IM.MSync.IJID {
  return { name, domain: USER_DOMAIN };
}

/** A meta whose 64-bit id is written exactly. */
export function encodeMeta(id: bigint, meta: Omit<IM.MSync.IMeta, 'id'>): Uint8Array {
  return Buffer.concat([uint64Field(1, id), IM.MSync.Meta.encode(meta).finish()]);
}

/** A SYNC answer with encoded metas and exact 64-bit meta_id / server_id. */
export function encodeSyncDL(dl: Omit<IM.MSync.ICommSyncDL, 'metas' | 'metaId' | 'serverId'>, extra: { metas?: Uint8Array[]; metaId?: bigint; serverId?: bigint } = {}): Uint8Array {
  const parts: Uint8Array[] = [IM.MSync.CommSyncDL.encode(dl).finish()];
  if (extra.metaId !== undefined) parts.push(uint64Field(2, extra.metaId));
  if (extra.serverId !== undefined) parts.push(uint64Field(3, extra.serverId));
  for (const meta of extra.metas ?? []) parts.push(bytesField(4, meta));
  return Buffer.concat(parts);
}
