import { IM, type DbProxyHandlers } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import type { Store } from '@tt/storage';
import { GroupAdmin } from '../domain/group-admin';
import type { KnownUsers } from '../domain/users';

export type GroupAdminHandlersKeys = 'groupAdmin' | 'groupSync' | 'groupMembers';

const { GroupAdminAction } = IM.DbProxy;
const ACTIONS = new Set<number>(Object.values(GroupAdminAction).filter((v): v is number => typeof v === 'number'));

const required = (field: string, value: number | null | undefined): number => {
  if (!value) throw RpcError.invalidArgument(`${field} is required`);
  return value;
};

/** Groups managed by their owner (OMTP group commands): decode, check the ids are there, run the domain's GroupAdmin. */
export function groupAdminHandlers(store: Store, users: KnownUsers): Pick<DbProxyHandlers, GroupAdminHandlersKeys> {
  const admin = new GroupAdmin(store, users);
  return {
    groupAdmin: async (req) => {
      // operator_id 0 is the system (the operator API): every permission passes.
      if (req.operatorId === undefined || req.operatorId === null) throw RpcError.invalidArgument('operator_id is required');
      if (!ACTIONS.has(req.action)) throw RpcError.invalidArgument(`unknown action ${req.action}`);
      if (req.action !== GroupAdminAction.GROUP_ACTION_CREATE) required('group_id', req.groupId);
      return admin.run(req);
    },
    groupSync: async (req) => admin.sync(required('user_id', req.userId), req.since ?? 0),
    // user_id 0: the system (an operator's notification to a group).
    groupMembers: async (req) => admin.members(req.userId ?? 0, required('group_id', req.groupId)),
  };
}
