import type { DbProxyHandlers } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import type { Store } from '@tt/storage';
import type { KnownUsers } from '../domain/users';

export type MonitorsHandlersKeys = 'monitorGrant' | 'monitor' | 'monitorList' | 'monitorLog';

// TODO(omtp): implemented by the storage/db_proxy work of issue 14.
export function monitorsHandlers(store: Store, users: KnownUsers): Pick<DbProxyHandlers, MonitorsHandlersKeys> {
  void store; void users;
  const todo = async (): Promise<never> => { throw new RpcError(12, 'not implemented yet'); };
  return {
    monitorGrant: todo,
    monitor: todo,
    monitorList: todo,
    monitorLog: todo,
  };
}
