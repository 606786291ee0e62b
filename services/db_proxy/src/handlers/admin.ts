import type { DbProxyHandlers } from '@tt/proto';
import type { OperatorRoleName, Store } from '@tt/storage';
import {
  createDepartment,
  createOperator,
  createUser,
  deleteDepartment,
  getGroup,
  getUser,
  listAudit,
  listDepartments,
  listGroups,
  listUsers,
  searchMessages,
  toApiKey,
  toOperator,
  updateDepartment,
  updateOperator,
  updateUser,
} from '../domain/admin';

export type AdminHandlersKeys = Extract<keyof DbProxyHandlers, `admin${string}`>;

/** The operator HTTP API's calls (IM.Admin): accounts, keys, audit log, users, departments, groups, history. */
export function adminHandlers(store: Store): Pick<DbProxyHandlers, AdminHandlersKeys> {
  return {
    adminOperatorCheck: async (req) => {
      const operator = await store.operators.authenticate(req.name ?? '', req.password ?? '');
      return operator ? { operator: toOperator(operator) } : {};
    },
    adminOperatorList: async () => ({ operators: (await store.operators.list()).map(toOperator) }),
    adminOperatorCreate: async (req) => createOperator(store, req),
    adminOperatorUpdate: async (req) => updateOperator(store, req),
    adminApiKeyCreate: async (req) => {
      const { key, record } = await store.apiKeys.create(req.name ?? '', req.role as OperatorRoleName, req.createdBy ?? '');
      return { key, info: toApiKey(record) };
    },
    adminApiKeyList: async () => ({ keys: (await store.apiKeys.list()).map(toApiKey) }),
    adminApiKeyRevoke: async (req) => toApiKey(await store.apiKeys.revoke(req.id ?? 0)),
    adminApiKeyCheck: async (req) => {
      const record = await store.apiKeys.check(req.key ?? '');
      return record ? { info: toApiKey(record) } : {};
    },
    adminAuditAppend: async (req) => {
      await store.audit.append({ actor: req.actor ?? '', action: req.action ?? '', target: req.target ?? '', detail: req.detail ?? '' });
      return {};
    },
    adminAuditList: async (req) => listAudit(store, req),
    adminUserCreate: async (req) => createUser(store, req),
    adminUserUpdate: async (req) => updateUser(store, req),
    adminUserGet: async (req) => getUser(store, req),
    adminUserList: async (req) => listUsers(store, req),
    adminDepartmentCreate: async (req) => createDepartment(store, req),
    adminDepartmentUpdate: async (req) => updateDepartment(store, req),
    adminDepartmentDelete: async (req) => {
      await deleteDepartment(store, req.id ?? 0);
      return {};
    },
    adminDepartmentList: async () => listDepartments(store),
    adminGroupList: async (req) => listGroups(store, req),
    adminGroupGet: async (req) => getGroup(store, req.id ?? 0),
    adminMessageSearch: async (req) => searchMessages(store, req),
  };
}
