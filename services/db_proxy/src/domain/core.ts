import { IM } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import type { Store, StoredMessage, UserSeq } from '@tt/storage';
import { toCoreMessage, visibility } from './messages';

const { SessionType } = IM.BaseDefine;
const { RecallResult } = IM.DbProxy;

/** Most msg_ids one read receipt names, and most names/ids one resolve looks up. */
export const MAX_RECEIPT_IDS = 500;
export const MAX_RESOLVE = 10_000;

export function recalledEvent(sessionType: number, m: StoredMessage, seqs: UserSeq[]): IM.Core.IMessageRecalledEvent {
  return {
    fromUserId: m.fromId,
    sessionType,
    toId: m.toId,
    msgId: m.msgId,
    recalledBy: m.recalled?.by ?? 0,
    recalledAtMs: m.recalled?.atMs ?? 0,
    seqs: seqs.map(({ userId, seq }) => ({ userId, seq })),
    clientMsgId: clientMsgIdOf(m) || undefined,
  };
}

/** The client_msg_id stored in a message's extra ('' when none). */
function clientMsgIdOf(m: StoredMessage): string {
  if (!m.extra || m.extra.length === 0) return '';
  try {
    return IM.Core.MessageExtra.decode(m.extra).clientMsgId ?? '';
  } catch {
    return '';
  }
}

/** The user's sync entries in [min_seq, max_seq] (see SyncReq): messages as stored, recalls as events. */
export async function syncEntries(store: Store, req: IM.DbProxy.ISyncReq): Promise<IM.DbProxy.ISyncRsp> {
  const userId = req.userId!;
  const page = await store.messages.sync(userId, { minSeq: req.minSeq ?? 0, maxSeq: req.maxSeq ?? 0, limit: req.limit ?? 0 });
  return {
    entries: page.entries.map((e) =>
      e.kind === 'message' ? { seq: e.seq, message: toCoreMessage(e.sessionType, e.message) } : { seq: e.seq, recalled: recalledEvent(e.sessionType, e.message, [{ userId, seq: e.seq }]) },
    ),
    serverMaxSeq: page.maxSeq,
    hasMore: page.hasMore,
  };
}

/** Recalls a message (the sender within window_seconds, a group's owner any time, an operator (moderator) always). */
export async function recallMessage(store: Store, req: IM.DbProxy.IRecallReq): Promise<IM.DbProxy.IRecallRsp> {
  if (!req.msgId) throw RpcError.invalidArgument('msg_id is required');
  const moderator = req.moderator === true;
  const out = await store.messages.recall({ sessionType: req.sessionType!, userId: req.userId!, peerId: req.peerId!, msgId: req.msgId, windowSeconds: req.windowSeconds ?? 0, moderator });
  switch (out.result) {
    case 'recalled':
      return { result: RecallResult.RECALL_OK, event: recalledEvent(out.sessionType, out.message, out.seqs) };
    case 'already_recalled':
      return { result: RecallResult.RECALL_OK };
    case 'not_found':
      return { result: RecallResult.RECALL_NOT_FOUND, errorMessage: 'no such message' };
    case 'too_late':
      return { result: RecallResult.RECALL_TOO_LATE, errorMessage: `only within ${req.windowSeconds ?? 0} s of sending` };
    default:
      return { result: RecallResult.RECALL_NOT_ALLOWED, errorMessage: 'only the sender or the group owner may recall it' };
  }
}

/**
 * The reader has read the conversation up to up_to_msg_id and/or the named msg_ids: the read
 * position moves to the highest of them (never back, never past the newest message the reader may
 * see). Senders to tell: the peer of a single chat; in a group the senders of the named messages
 * the reader may see (not the reader).
 */
export async function readReceipt(store: Store, req: IM.DbProxy.IReadReceiptReq): Promise<IM.DbProxy.IReadReceiptRsp> {
  const userId = req.userId!;
  const type = req.sessionType!;
  const peerId = req.peerId!;
  const visible = await visibility(store, type, userId, peerId);
  if (!visible) throw RpcError.permissionDenied(`user ${userId} is not a member of group ${peerId}`);
  const named = [...new Set(req.msgIds ?? [])].filter((id) => id > 0).slice(0, MAX_RECEIPT_IDS);
  const found = named.length > 0 ? await store.messages.getByIds(type, userId, peerId, named, visible) : [];
  const wanted = Math.max(req.upToMsgId ?? 0, ...found.map((m) => m.msgId));
  const latest = await store.messages.latestMsgId(type, userId, peerId, visible);
  const readMsgId = await store.sessions.markReadUpTo(userId, type, peerId, Math.min(wanted, latest));
  const senderIds = type === SessionType.SESSION_TYPE_SINGLE ? [peerId] : [...new Set(found.map((m) => m.fromId))].filter((id) => id !== userId).sort((a, b) => a - b);
  return { readMsgId, senderIds, msgIds: found.map((m) => m.msgId) };
}

/** Account names <-> user ids; unknown ones are left out. */
export async function resolveUsers(store: Store, req: IM.DbProxy.IResolveUsersReq): Promise<IM.DbProxy.IResolveUsersRsp> {
  const names = (req.names ?? []).slice(0, MAX_RESOLVE);
  const ids = (req.userIds ?? []).filter((id) => id > 0).slice(0, MAX_RESOLVE);
  const [byName, byId] = await Promise.all([names.length > 0 ? store.users.findByNames(names) : [], ids.length > 0 ? store.users.findByIds(ids) : []]);
  const users = new Map([...byName, ...byId].map((u) => [u.id, u.name]));
  return { users: [...users].sort(([a], [b]) => a - b).map(([userId, name]) => ({ userId, name })) };
}
