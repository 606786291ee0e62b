import type { DbProxyHandlers } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import type { Store } from '@tt/storage';
import type { KnownUsers } from '../domain/users';
import { findClientMsg, hideMessages, highPrioritySync, history, hotSessions, requireConversation } from '../domain/message-views';

export type MessageViewsHandlersKeys = 'history' | 'hotSessions' | 'highPrioritySync' | 'hideMessages' | 'findClientMsg';

const requireUser = (userId: number | null | undefined): number => {
  if (!userId) throw RpcError.invalidArgument('user_id is required');
  return userId;
};

/** History, hot sessions, the high-priority stream, hidden messages, client_msg_id look-ups (OMTP views). */
export function messageViewsHandlers(store: Store, users: KnownUsers): Pick<DbProxyHandlers, MessageViewsHandlersKeys> {
  return {
    history: async (req) => history(store, users, requireUser(req.userId), requireConversation(req.conversation), req.beforeMsgId ?? 0, req.limit ?? 0),
    hotSessions: async (req) => hotSessions(store, users, requireUser(req.userId), req.since ?? 0, req.limit ?? 0, req.lastMessages ?? 0),
    highPrioritySync: async (req) => highPrioritySync(store, users, requireUser(req.userId), Number(req.after ?? 0), req.limit ?? 0),
    hideMessages: async (req) => hideMessages(store, requireUser(req.userId), requireConversation(req.conversation), req.msgIds ?? [], req.clientMsgId ?? ''),
    findClientMsg: async (req) => {
      if (!req.clientMsgId) throw RpcError.invalidArgument('client_msg_id is required');
      return findClientMsg(store, requireUser(req.userId), req.clientMsgId);
    },
  };
}
