import type { DbProxyHandlers } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import type { Store } from '@tt/storage';
import type { KnownUsers } from '../domain/users';

export type MessageViewsHandlersKeys = 'history' | 'hotSessions' | 'highPrioritySync' | 'hideMessages' | 'findClientMsg';

// TODO(omtp): implemented by the storage/db_proxy work of issue 14.
export function messageViewsHandlers(store: Store, users: KnownUsers): Pick<DbProxyHandlers, MessageViewsHandlersKeys> {
  void store; void users;
  const todo = async (): Promise<never> => { throw new RpcError(12, 'not implemented yet'); };
  return {
    history: todo,
    hotSessions: todo,
    highPrioritySync: todo,
    hideMessages: todo,
    findClientMsg: todo,
  };
}
