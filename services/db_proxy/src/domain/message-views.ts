import { IM } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import { GroupStatus, type Store, type StoredMessage } from '@tt/storage';
import { toCoreMessage } from './messages';
import type { KnownUsers } from './users';

const { SessionType } = IM.BaseDefine;

/** Largest history page and high-priority page (OMTP allows 200). */
export const MAX_VIEW_PAGE = 200;
/** Most hot sessions one answer carries, and most newest messages per hot session. */
export const MAX_HOT_SESSIONS = 500;
export const MAX_HOT_SESSION_MESSAGES = 50;
/** Most msg_ids one hide names (the rest are ignored). */
export const MAX_HIDE_IDS = 200;

/** A conversation from the viewer's side: single chat with a user, or a group. */
export interface Conversation {
  sessionType: number;
  peerId: number;
}

/** The request's conversation, checked for shape (single or group, a peer). */
export function requireConversation(ref: IM.Core.IConversationRef | null | undefined): Conversation {
  const sessionType = ref?.sessionType ?? 0;
  const peerId = ref?.peerId ?? 0;
  if (sessionType !== SessionType.SESSION_TYPE_SINGLE && sessionType !== SessionType.SESSION_TYPE_GROUP) throw RpcError.invalidArgument(`unknown session_type ${sessionType}`);
  if (!peerId) throw RpcError.invalidArgument('conversation.peer_id is required');
  return { sessionType, peerId };
}

/** Stored messages as fronts get them, with the account names of the sender and (single chat) the recipient. */
async function named(users: KnownUsers, sessionType: number, messages: readonly StoredMessage[]): Promise<IM.Core.IStoredMessage[]> {
  return Promise.all(
    messages.map(async (m) => {
      const core = toCoreMessage(sessionType, m);
      const fromName = await users.name(m.fromId);
      const toName = sessionType === SessionType.SESSION_TYPE_SINGLE ? await users.name(m.toId) : undefined;
      if (fromName) core.fromName = fromName;
      if (toName) core.toName = toName;
      return core;
    }),
  );
}

/**
 * A page of the conversation as the user sees it (see HistoryReq). An unknown peer or group:
 * NOT_FOUND; a group the user is not a member of: PERMISSION_DENIED.
 */
export async function history(store: Store, users: KnownUsers, userId: number, conversation: Conversation, beforeMsgId: number, limit: number): Promise<IM.DbProxy.IHistoryRsp> {
  const { sessionType, peerId } = conversation;
  if (sessionType === SessionType.SESSION_TYPE_SINGLE && !(await users.exists(peerId))) throw RpcError.notFound(`user ${peerId} does not exist`);
  const page = await store.messages.historyFor(userId, sessionType, peerId, beforeMsgId, Math.min(limit, MAX_VIEW_PAGE));
  if (page === null) {
    const group = await store.groups.findById(peerId);
    if (!group || group.status !== GroupStatus.ACTIVE) throw RpcError.notFound(`group ${peerId} does not exist`);
    throw RpcError.permissionDenied(`user ${userId} is not a member of group ${peerId}`);
  }
  return { messages: await named(users, sessionType, page) };
}

/** The user's session attributes (im_session_attr, written by the session-attribute repository), by "<type>:<peer>". */
async function sessionAttributes(store: Store, userId: number): Promise<Map<string, IM.Core.IKeyValue[]>> {
  const rows = await store.db.query<{ session_type: number; peer_id: number; name: string; value: string }>(
    'SELECT session_type, peer_id, name, value FROM im_session_attr WHERE user_id = ? ORDER BY session_type, peer_id, name',
    [userId],
  );
  const bySession = new Map<string, IM.Core.IKeyValue[]>();
  for (const r of rows) {
    const k = `${Number(r.session_type)}:${Number(r.peer_id)}`;
    const list = bySession.get(k) ?? [];
    list.push({ key: String(r.name), value: String(r.value) });
    bySession.set(k, list);
  }
  return bySession;
}

/**
 * The user's conversations changed at or after `since` (seconds; 0: all), newest first, each with
 * the read position, unread count, its newest `lastMessages` messages as the user sees them
 * (oldest first; none in a group the user has left) and the user's attributes of it.
 */
export async function hotSessions(store: Store, users: KnownUsers, userId: number, since: number, limit: number, lastMessages: number, nowMs = Date.now()): Promise<IM.DbProxy.IHotSessionsRsp> {
  const sessions = limit === 0 ? [] : await store.sessions.changedSince(userId, since, Math.min(limit, MAX_HOT_SESSIONS));
  const attributes = sessions.length === 0 ? new Map<string, IM.Core.IKeyValue[]>() : await sessionAttributes(store, userId);
  const perSession = Math.min(lastMessages, MAX_HOT_SESSION_MESSAGES);
  const out: IM.DbProxy.IHotSession[] = [];
  for (const s of sessions) {
    const newest = perSession === 0 ? [] : ((await store.messages.historyFor(userId, s.sessionType, s.peerId, 0, perSession)) ?? []);
    out.push({
      conversation: { sessionType: s.sessionType, peerId: s.peerId },
      readMsgId: s.readMsgId,
      unread: s.unreadCnt,
      updated: s.updated,
      lastMessages: await named(users, s.sessionType, newest),
      attributes: attributes.get(`${s.sessionType}:${s.peerId}`) ?? [],
    });
  }
  return { sessions: out, nowMs };
}

/** The user's high-priority stream after cursor `after`, oldest first (see HighPrioritySyncReq). */
export async function highPrioritySync(store: Store, users: KnownUsers, userId: number, after: number, limit: number): Promise<IM.DbProxy.IHighPrioritySyncRsp> {
  const page = await store.messages.highPrioritySince(userId, after, Math.min(limit, MAX_VIEW_PAGE));
  const entries = await Promise.all(page.entries.map(async (e) => ({ cursor: e.cursor, message: (await named(users, e.sessionType, [e.message]))[0] })));
  return { entries, lastCursor: page.lastCursor };
}

/**
 * Hides messages of the conversation from the user's own view: the named msg_ids, and the message
 * the user sent with `clientMsgId` when it belongs to that conversation. Unknown ones are left out
 * of the answer.
 */
export async function hideMessages(store: Store, userId: number, conversation: Conversation, msgIds: readonly number[], clientMsgId: string): Promise<IM.DbProxy.IHideMessagesRsp> {
  // Like history: a group's messages are its members' to see, and so to hide.
  if (conversation.sessionType === SessionType.SESSION_TYPE_GROUP && !(await store.groups.isMember(conversation.peerId, userId))) {
    throw RpcError.permissionDenied(`user ${userId} is not a member of group ${conversation.peerId}`);
  }
  const ids = msgIds.filter((id) => id > 0).slice(0, MAX_HIDE_IDS);
  if (clientMsgId) {
    const sent = await store.messages.findClientMsg(userId, clientMsgId);
    if (sent && sent.sessionType === conversation.sessionType && sent.peerId === conversation.peerId) ids.push(sent.msgId);
  }
  return { msgIds: await store.messages.hide(userId, conversation.sessionType, conversation.peerId, ids) };
}

/** The message the user sent with this client_msg_id (while it is remembered). */
export async function findClientMsg(store: Store, userId: number, clientMsgId: string): Promise<IM.DbProxy.IFindClientMsgRsp> {
  const sent = await store.messages.findClientMsg(userId, clientMsgId);
  return sent ? { found: true, conversation: { sessionType: sent.sessionType, peerId: sent.peerId }, msgId: sent.msgId } : { found: false };
}
