import type { DbProxyHandlers } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import type { Store } from '@tt/storage';
import type { KnownUsers } from '../domain/users';

export type GroupAdminHandlersKeys = 'groupAdmin' | 'groupSync' | 'groupMembers';

// TODO(omtp): implemented by the storage/db_proxy work of issue 14.
export function groupAdminHandlers(store: Store, users: KnownUsers): Pick<DbProxyHandlers, GroupAdminHandlersKeys> {
  void store; void users;
  const todo = async (): Promise<never> => { throw new RpcError(12, 'not implemented yet'); };
  return {
    groupAdmin: todo,
    groupSync: todo,
    groupMembers: todo,
  };
}
