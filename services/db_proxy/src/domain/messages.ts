import { IM } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import type { NewMessage, SaveMessageResult, Store, StoredMessage } from '@tt/storage';
import type { KnownUsers } from './users';

const { SessionType, MsgType } = IM.BaseDefine;

/** Largest history page; the client's msg_cnt is capped to it. */
export const MAX_PAGE = 100;

/** The session type a msg_type belongs to: TeamTalk's single (0x01/0x02) and group (0x11/0x12), and the core's chat room (0x21/0x22 → 3). */
export function sessionTypeOfMsgType(msgType: number): number {
  if (msgType >= 0x20) return ROOM_SESSION_TYPE;
  return msgType >= 0x10 ? SessionType.SESSION_TYPE_GROUP : SessionType.SESSION_TYPE_SINGLE;
}

/** The core's session type of chat rooms (not a TeamTalk one). */
export const ROOM_SESSION_TYPE = 3;

/** A session with no message yet still needs a valid msg_type on the wire. */
function defaultMsgType(sessionType: number): number {
  return sessionType === SessionType.SESSION_TYPE_GROUP ? MsgType.MSG_TYPE_GROUP_TEXT : MsgType.MSG_TYPE_SINGLE_TEXT;
}

/** A message that passed its checks: what to store, and who it is delivered to. */
export interface CheckedMessage {
  message: NewMessage;
  recipientIds: number[];
}

/**
 * Stores a checked message with its extra (IM.Core.MessageExtra, stamped with server_time_ms and
 * stored encoded; its client_msg_id de-duplicates resends; high_priority also lists it in the
 * participants' high-priority streams). A message without an extra (TeamTalk's)
 * stores none: its time is its create time. Its save is queued before this returns (so saves queued
 * in a loop keep that order).
 */
export function storeChecked(store: Store, checked: CheckedMessage, extra?: IM.Core.IMessageExtra | null, nowMs = Date.now()): Promise<IM.DbProxy.ISavedMessage> {
  const hasExtra = !!extra && Object.keys(extra).length > 0;
  const message: NewMessage = hasExtra
    ? {
        ...checked.message,
        extra: IM.Core.MessageExtra.encode({ ...extra, serverTimeMs: nowMs }).finish(),
        clientMsgId: extra.clientMsgId || undefined,
        // Also listed in each participant's high-priority stream (OMTP HIGHPRJ).
        highPriority: extra.highPriority === true || undefined,
      }
    : checked.message;
  const serverTimeMs = hasExtra ? nowMs : checked.message.createTime * 1000;
  return store.messages.saveMessage(message).then((saved) => savedMessage(message, checked.recipientIds, saved, serverTimeMs));
}

function savedMessage(m: NewMessage, recipientIds: number[], saved: SaveMessageResult, serverTimeMs: number): IM.DbProxy.ISavedMessage {
  const seqs = saved.seqs.map(({ userId, seq }) => ({ userId, seq }));
  if (saved.duplicate && saved.original) {
    // The original's answer; nothing new to deliver.
    const type = sessionTypeOfMsgType(saved.original.msgType);
    return {
      ack: { userId: m.fromUserId, sessionId: saved.original.toId, msgId: saved.msgId, sessionType: type },
      recipientIds: [],
      seqs,
      duplicate: true,
      stored: toCoreMessage(type, saved.original),
      // The original's time, so a resend is answered exactly as the first send was.
      serverTimeMs: decodeExtra(saved.original).serverTimeMs ?? saved.original.createTime * 1000,
    };
  }
  // ack.session_type is TeamTalk's enum on the wire; a room's 3 travels as a plain number (TeamTalk never sees it).
  return { ack: { userId: m.fromUserId, sessionId: m.toId, msgId: saved.msgId, sessionType: m.sessionType as IM.BaseDefine.SessionType }, recipientIds, seqs, serverTimeMs };
}

/** The extra stored with a message; messages stored without one (or unreadable) get server_time_ms from their create time. */
export function decodeExtra(m: StoredMessage): IM.Core.IMessageExtra {
  if (m.extra && m.extra.length > 0) {
    try {
      const extra = IM.Core.MessageExtra.toObject(IM.Core.MessageExtra.decode(m.extra)) as IM.Core.IMessageExtra;
      return extra.serverTimeMs ? extra : { ...extra, serverTimeMs: m.createTime * 1000 };
    } catch {
      /* fall through */
    }
  }
  return { serverTimeMs: m.createTime * 1000 };
}

/** A stored message as every front gets it. A recalled message keeps its place without its content. */
export function toCoreMessage(sessionType: number, m: StoredMessage): IM.Core.IStoredMessage {
  const core: IM.Core.IStoredMessage = {
    fromUserId: m.fromId,
    sessionType,
    toId: m.toId,
    msgId: m.msgId,
    createTime: m.createTime,
    msgType: m.msgType,
    content: m.recalled ? Buffer.alloc(0) : m.data,
    extra: decodeExtra(m),
  };
  if (m.recalled) Object.assign(core, { recalled: true, recalledBy: m.recalled.by, recalledAt: Math.floor(m.recalled.atMs / 1000) });
  return core;
}

export async function checkSingleMessage(users: KnownUsers, msg: IM.Message.IIMMsgData): Promise<CheckedMessage> {
  const from = msg.fromUserId ?? 0;
  const to = msg.toSessionId ?? 0;
  const msgType = msg.msgType ?? 0;
  if (msgType !== MsgType.MSG_TYPE_SINGLE_TEXT && msgType !== MsgType.MSG_TYPE_SINGLE_AUDIO) throw RpcError.invalidArgument(`msg_type ${msgType} is not a single-chat type`);
  if (!from || !to || from === to) throw RpcError.invalidArgument('sender and recipient must be two different users');
  if (!msg.msgData || msg.msgData.length === 0) throw RpcError.invalidArgument('empty msg_data');
  if (!(await users.exists(to))) throw RpcError.notFound(`user ${to} does not exist`);
  return {
    message: {
      sessionType: SessionType.SESSION_TYPE_SINGLE,
      fromUserId: from,
      toId: to,
      msgType,
      data: msg.msgData,
      createTime: msg.createTime ?? Math.floor(Date.now() / 1000),
    },
    recipientIds: [to],
  };
}

export async function saveSingleMessage(store: Store, users: KnownUsers, msg: IM.Message.IIMMsgData): Promise<IM.Message.IIMMsgDataAck> {
  return (await storeChecked(store, await checkSingleMessage(users, msg))).ack!;
}

export async function unreadCounts(store: Store, userId: number): Promise<Omit<IM.Message.IIMUnreadMsgCntRsp, 'attachData'>> {
  const rows = await store.sessions.unreadList(userId);
  let total = 0;
  const unreadinfoList = rows.map((r) => {
    total += r.unreadCnt;
    return {
      sessionId: r.peerId,
      sessionType: r.sessionType,
      unreadCnt: r.unreadCnt,
      latestMsgId: r.latestMsgId,
      latestMsgData: r.latestMsgData ?? Buffer.alloc(0),
      latestMsgType: r.latestMsgType || defaultMsgType(r.sessionType),
      latestMsgFromUserId: r.latestFromId,
    };
  });
  return { userId, totalCnt: total, unreadinfoList };
}

/**
 * What part of a conversation a user may read: all of a single chat (the key
 * is always the user's own pair); in a group, members only, and only what was
 * sent after they joined. Null: nothing.
 */
export async function visibility(store: Store, sessionType: number, userId: number, sessionId: number): Promise<{ minMsgIdExclusive?: number } | null> {
  if (sessionType !== SessionType.SESSION_TYPE_GROUP) return {};
  const member = await store.groups.member(sessionId, userId);
  if (!member || member.status !== 0) return null;
  return { minMsgIdExclusive: member.joinMsgId };
}

export async function messageList(store: Store, req: IM.Message.IIMGetMsgListReq): Promise<IM.Message.IIMGetMsgListRsp> {
  const userId = req.userId!;
  const count = Math.max(0, Math.min(req.msgCnt ?? 0, MAX_PAGE));
  const visible = await visibility(store, req.sessionType!, userId, req.sessionId!);
  const rows = count === 0 || !visible ? [] : await store.messages.listMessages(req.sessionType!, userId, req.sessionId!, { msgIdBegin: req.msgIdBegin ?? 0, count, ...visible });
  return {
    userId,
    sessionType: req.sessionType,
    sessionId: req.sessionId,
    msgIdBegin: req.msgIdBegin,
    msgList: rows.map(toMsgInfo),
    attachData: req.attachData,
  };
}

export async function messagesById(store: Store, req: IM.Message.IIMGetMsgByIdReq): Promise<IM.Message.IIMGetMsgByIdRsp> {
  const ids = [...new Set(req.msgIdList ?? [])].slice(0, MAX_PAGE);
  const visible = await visibility(store, req.sessionType!, req.userId!, req.sessionId!);
  const rows = ids.length === 0 || !visible ? [] : await store.messages.getByIds(req.sessionType!, req.userId!, req.sessionId!, ids, visible);
  return { userId: req.userId, sessionType: req.sessionType, sessionId: req.sessionId, msgList: rows.map(toMsgInfo), attachData: req.attachData };
}

export async function latestMsgId(store: Store, req: IM.Message.IIMGetLatestMsgIdReq): Promise<IM.Message.IIMGetLatestMsgIdRsp> {
  const visible = await visibility(store, req.sessionType!, req.userId!, req.sessionId!);
  const latest = visible ? await store.messages.latestMsgId(req.sessionType!, req.userId!, req.sessionId!, visible) : 0;
  return { userId: req.userId, sessionType: req.sessionType, sessionId: req.sessionId, latestMsgId: latest, attachData: req.attachData };
}

export async function recentSessions(store: Store, req: IM.Buddy.IIMRecentContactSessionReq): Promise<IM.Buddy.IIMRecentContactSessionRsp> {
  const rows = await store.sessions.recentSince(req.userId!, req.latestUpdateTime ?? 0, 500);
  return {
    userId: req.userId,
    contactSessionList: rows.map((r) => ({
      sessionId: r.peerId,
      sessionType: r.sessionType,
      sessionStatus: r.status,
      updatedTime: r.updated,
      latestMsgId: r.latestMsgId,
      latestMsgData: r.latestMsgData ?? Buffer.alloc(0),
      latestMsgType: r.latestMsgType || defaultMsgType(r.sessionType),
      latestMsgFromUserId: r.latestFromId,
    })),
    attachData: req.attachData,
  };
}

/**
 * A stored message as TeamTalk's MsgInfo. A recalled one has empty msg_data
 * (a message can never be stored empty): msg_server's TeamTalk front shows a
 * placeholder in its place, encrypted with the content key when it has one.
 */
function toMsgInfo(row: { msgId: number; fromId: number; createTime: number; msgType: number; data: Uint8Array; recalled?: unknown }): IM.BaseDefine.IMsgInfo {
  return { msgId: row.msgId, fromSessionId: row.fromId, createTime: row.createTime, msgType: row.msgType, msgData: row.recalled ? Buffer.alloc(0) : row.data };
}
