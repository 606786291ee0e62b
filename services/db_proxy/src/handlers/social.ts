import type { DbProxyHandlers } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import type { Store } from '@tt/storage';
import type { KnownUsers } from '../domain/users';

export type SocialHandlersKeys = 'friendUpdate' | 'friendSync' | 'userAttrSet' | 'userAttrGet' | 'sessionAttrSet' | 'userProfiles' | 'userProfileUpdate';

// TODO(omtp): implemented by the storage/db_proxy work of issue 14.
export function socialHandlers(store: Store, users: KnownUsers): Pick<DbProxyHandlers, SocialHandlersKeys> {
  void store; void users;
  const todo = async (): Promise<never> => { throw new RpcError(12, 'not implemented yet'); };
  return {
    friendUpdate: todo,
    friendSync: todo,
    userAttrSet: todo,
    userAttrGet: todo,
    sessionAttrSet: todo,
    userProfiles: todo,
    userProfileUpdate: todo,
  };
}
