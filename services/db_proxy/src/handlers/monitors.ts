import type { DbProxyHandlers } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import type { Store } from '@tt/storage';
import type { KnownUsers } from '../domain/users';
import { changeMonitor, grantMonitor, listMonitors, monitorLog, requireMonitoredSession } from '../domain/monitors';

export type MonitorsHandlersKeys = 'monitorGrant' | 'monitor' | 'monitorList' | 'monitorLog';

const requireUser = (userId: number | null | undefined): number => {
  if (!userId) throw RpcError.invalidArgument('user_id is required');
  return userId;
};

/** Session monitors (OMTP SESSION_MONITOR_*): operators' grants, start/stop, the list and the record. */
export function monitorsHandlers(store: Store, users: KnownUsers): Pick<DbProxyHandlers, MonitorsHandlersKeys> {
  return {
    monitorGrant: async (req) => {
      if (!req.by) throw RpcError.invalidArgument('by (who grants or revokes) is required');
      await grantMonitor(store, users, requireUser(req.userId), !!req.granted, req.by);
      return {};
    },
    monitor: async (req) => changeMonitor(store, users, requireUser(req.userId), requireMonitoredSession(req.session), !!req.start),
    monitorList: async (req) => listMonitors(store, req.userId ?? 0),
    monitorLog: async (req) => monitorLog(store, req.userId ?? 0, req.limit ?? 0),
  };
}
