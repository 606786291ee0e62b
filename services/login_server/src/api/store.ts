// AdminStore over db_proxy's gRPC API (IM.Admin calls of the DbProxy service): the same class in
// cluster mode (a gRPC client) and standalone mode (the in-process client). db_proxy holds no
// content key, so message text is decrypted here when TT_CONTENT_KEY is configured.
import { decryptContent } from '@tt/codec';
import type { DbProxyClient, IM } from '@tt/proto';
import { RpcError, RpcStatus } from '@tt/rpc';
import {
  AdminError,
  type AdminStore,
  type ApiKey,
  type AuditEntry,
  type ChatUser,
  type ChatUserPatch,
  type DepartmentInfo,
  type GroupSummary,
  type NewChatUser,
  type Operator,
  type OperatorRole,
  type Page,
  type StoredMessageView,
  type NewWebhook,
  type WebhookEvent,
  type WebhookInfo,
  type WebhookPatch,
} from './backend';

/** The db_proxy calls this store uses. */
export type AdminDbProxy = Pick<DbProxyClient, Extract<keyof DbProxyClient, `admin${string}` | `webhook${string}`>>;

export interface DbProxyAdminStoreOptions {
  /** TeamTalk clients' content key (TT_CONTENT_KEY): text messages are shown decrypted with it. */
  contentKey?: string;
}

/** A failed db_proxy call as the API's refusal; anything unexpected is rethrown (a 500). */
export function toAdminError(err: unknown): unknown {
  if (!(err instanceof RpcError)) return err;
  switch (err.code) {
    case RpcStatus.NOT_FOUND:
      return new AdminError(404, 'not_found', err.message);
    case RpcStatus.ALREADY_EXISTS:
      return new AdminError(409, 'name_taken', err.message);
    case RpcStatus.FAILED_PRECONDITION:
      return new AdminError(409, 'conflict', err.message);
    case RpcStatus.INVALID_ARGUMENT:
      // db_proxy's messages start with the field they are about ("nick is longer than 64 characters").
      return new AdminError(400, 'invalid_field', err.message);
    case RpcStatus.UNAVAILABLE:
    case RpcStatus.DEADLINE_EXCEEDED:
      return new AdminError(503, 'unavailable', `the database service is unavailable (${err.message})`);
    default:
      return err;
  }
}

const role = (value: string): OperatorRole => (value === 'admin' ? 'admin' : 'viewer');

const toOperator = (o: IM.Admin.IOperator): Operator => ({
  id: o.id ?? 0,
  name: o.name ?? '',
  role: role(o.role ?? ''),
  disabled: !!o.disabled,
  created: o.created ?? 0,
  updated: o.updated ?? 0,
});

const toApiKey = (k: IM.Admin.IApiKey): ApiKey => ({
  id: k.id ?? 0,
  name: k.name ?? '',
  role: role(k.role ?? ''),
  prefix: k.prefix ?? '',
  createdBy: k.createdBy ?? '',
  created: k.created ?? 0,
  lastUsed: k.lastUsed ?? 0,
  revoked: k.revoked ?? 0,
});

const toAuditEntry = (e: IM.Admin.IAuditEntry): AuditEntry => ({
  id: Number(e.id ?? 0),
  actor: e.actor ?? '',
  action: e.action ?? '',
  target: e.target ?? '',
  detail: e.detail ?? '',
  at: Number(e.atMs ?? 0),
});

const toChatUser = (u: IM.Admin.IChatUser): ChatUser => ({
  id: u.id ?? 0,
  name: u.name ?? '',
  nick: u.nick ?? '',
  realName: u.realName ?? '',
  sex: u.sex ?? 0,
  avatar: u.avatar ?? '',
  phone: u.phone ?? '',
  email: u.email ?? '',
  departId: u.departId ?? 0,
  signInfo: u.signInfo ?? '',
  disabled: !!u.disabled,
  created: u.created ?? 0,
  updated: u.updated ?? 0,
});

const toDepartment = (d: IM.Admin.IDepartment): DepartmentInfo => ({
  id: d.id ?? 0,
  name: d.name ?? '',
  parentId: d.parentId ?? 0,
  priority: d.priority ?? 0,
  created: d.created ?? 0,
  updated: d.updated ?? 0,
});

const toGroup = (g: IM.Admin.IGroupSummary): GroupSummary => ({
  id: g.id ?? 0,
  name: g.name ?? '',
  avatar: g.avatar ?? '',
  description: g.description ?? '',
  ownerId: g.ownerId ?? 0,
  type: g.type ?? 1,
  memberCount: g.memberCount ?? 0,
  memberLimit: g.memberLimit ?? 0,
  version: g.version ?? 0,
  created: g.created ?? 0,
  updated: g.updated ?? 0,
});

/** Never the secret: it is shown once, when the API makes it. */
const toWebhook = (w: IM.Admin.IWebhook): WebhookInfo => ({
  id: w.id ?? 0,
  event: (w.event ?? 'message.stored') as WebhookEvent,
  url: w.url ?? '',
  enabled: !!w.enabled,
  timeoutMs: w.timeoutMs ?? 0,
  failOpen: !!w.failOpen,
  created: w.created ?? 0,
  updated: w.updated ?? 0,
});

function page<T, W>(items: readonly W[] | null | undefined, map: (w: W) => T, rsp: { nextCursor?: string | null; total?: number | null }): Page<T> {
  return { items: (items ?? []).map(map), nextCursor: rsp.nextCursor ?? '', total: Number(rsp.total ?? -1) };
}

/** Profile fields of a new user or a patch, as db_proxy takes them (absent stays absent). */
function profileFields(u: NewChatUser | ChatUserPatch): Partial<IM.Admin.IUserUpdateReq> {
  const out: Partial<IM.Admin.IUserUpdateReq> = {};
  if (u.nick !== undefined) out.nick = u.nick;
  if (u.realName !== undefined) out.realName = u.realName;
  if (u.sex !== undefined) out.sex = u.sex;
  if (u.avatar !== undefined) out.avatar = u.avatar;
  if (u.phone !== undefined) out.phone = u.phone;
  if (u.email !== undefined) out.email = u.email;
  if (u.departId !== undefined) out.departId = u.departId;
  if (u.signInfo !== undefined) out.signInfo = u.signInfo;
  return out;
}

export class DbProxyAdminStore implements AdminStore {
  private readonly contentKey: string | undefined;

  constructor(
    private readonly db: AdminDbProxy,
    options: DbProxyAdminStoreOptions = {},
  ) {
    this.contentKey = options.contentKey || undefined;
  }

  /** Runs one db_proxy call with its refusals as AdminErrors. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toAdminError(err);
    }
  }

  async checkOperatorPassword(name: string, password: string): Promise<Operator | null> {
    const rsp = await this.call(() => this.db.adminOperatorCheck({ name, password }));
    return rsp.operator ? toOperator(rsp.operator) : null;
  }

  async listOperators(): Promise<Operator[]> {
    return (await this.call(() => this.db.adminOperatorList({}))).operators.map(toOperator);
  }

  async createOperator(name: string, password: string, role: OperatorRole): Promise<Operator> {
    return toOperator(await this.call(() => this.db.adminOperatorCreate({ name, password, role })));
  }

  async updateOperator(id: number, patch: { role?: OperatorRole; password?: string; disabled?: boolean }): Promise<Operator> {
    const req: IM.Admin.IOperatorUpdateReq = { id };
    if (patch.role !== undefined) req.role = patch.role;
    if (patch.password !== undefined) req.password = patch.password;
    if (patch.disabled !== undefined) req.disabled = patch.disabled;
    return toOperator(await this.call(() => this.db.adminOperatorUpdate(req)));
  }

  async createApiKey(name: string, role: OperatorRole, createdBy: string): Promise<{ key: string; info: ApiKey }> {
    const rsp = await this.call(() => this.db.adminApiKeyCreate({ name, role, createdBy }));
    return { key: rsp.key, info: toApiKey(rsp.info) };
  }

  async listApiKeys(): Promise<ApiKey[]> {
    return (await this.call(() => this.db.adminApiKeyList({}))).keys.map(toApiKey);
  }

  async revokeApiKey(id: number): Promise<ApiKey> {
    return toApiKey(await this.call(() => this.db.adminApiKeyRevoke({ id })));
  }

  async checkApiKey(key: string): Promise<ApiKey | null> {
    const rsp = await this.call(() => this.db.adminApiKeyCheck({ key }));
    return rsp.info ? toApiKey(rsp.info) : null;
  }

  async appendAudit(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void> {
    await this.call(() => this.db.adminAuditAppend({ actor: entry.actor, action: entry.action, target: entry.target, detail: entry.detail }));
  }

  async listAudit(query: { actor?: string; action?: string; cursor?: string; limit: number }): Promise<Page<AuditEntry>> {
    const rsp = await this.call(() => this.db.adminAuditList({ actor: query.actor, action: query.action, cursor: query.cursor, limit: query.limit }));
    return page(rsp.entries, toAuditEntry, rsp);
  }

  async createUser(user: NewChatUser): Promise<ChatUser> {
    return toChatUser(await this.call(() => this.db.adminUserCreate({ ...profileFields(user), name: user.name, password: user.password })));
  }

  async updateUser(id: number, patch: ChatUserPatch): Promise<ChatUser> {
    const req: IM.Admin.IUserUpdateReq = { id, ...profileFields(patch) };
    if (patch.password !== undefined) req.password = patch.password;
    if (patch.disabled !== undefined) req.disabled = patch.disabled;
    return toChatUser(await this.call(() => this.db.adminUserUpdate(req)));
  }

  async getUser(idOrName: number | string): Promise<ChatUser | null> {
    const rsp = await this.call(() => this.db.adminUserGet(typeof idOrName === 'number' ? { id: idOrName } : { name: idOrName }));
    return rsp.user ? toChatUser(rsp.user) : null;
  }

  async listUsers(query: { search?: string; departId?: number; cursor?: string; limit: number }): Promise<Page<ChatUser>> {
    const rsp = await this.call(() => this.db.adminUserList({ search: query.search, departId: query.departId, cursor: query.cursor, limit: query.limit }));
    return page(rsp.users, toChatUser, rsp);
  }

  async createDepartment(d: { name: string; parentId?: number; priority?: number }): Promise<DepartmentInfo> {
    return toDepartment(await this.call(() => this.db.adminDepartmentCreate({ name: d.name, parentId: d.parentId, priority: d.priority })));
  }

  async updateDepartment(id: number, patch: { name?: string; parentId?: number; priority?: number }): Promise<DepartmentInfo> {
    return toDepartment(await this.call(() => this.db.adminDepartmentUpdate({ id, name: patch.name, parentId: patch.parentId, priority: patch.priority })));
  }

  async deleteDepartment(id: number): Promise<void> {
    await this.call(() => this.db.adminDepartmentDelete({ id }));
  }

  async listDepartments(): Promise<DepartmentInfo[]> {
    return (await this.call(() => this.db.adminDepartmentList({}))).departments.map(toDepartment);
  }

  async listGroups(query: { search?: string; userId?: number; cursor?: string; limit: number }): Promise<Page<GroupSummary>> {
    const rsp = await this.call(() => this.db.adminGroupList({ search: query.search, userId: query.userId, cursor: query.cursor, limit: query.limit }));
    return page(rsp.groups, toGroup, rsp);
  }

  async getGroup(id: number): Promise<{ group: GroupSummary; memberIds: number[] } | null> {
    const rsp = await this.call(() => this.db.adminGroupGet({ id }));
    return rsp.group ? { group: toGroup(rsp.group), memberIds: rsp.memberIds ?? [] } : null;
  }

  async searchMessages(query: Parameters<AdminStore['searchMessages']>[0]): Promise<Page<StoredMessageView>> {
    const req: IM.Admin.IMessageSearchReq = { fromId: query.fromId, sinceMs: query.since, untilMs: query.until, cursor: query.cursor, limit: query.limit };
    const c = query.conversation;
    if (c?.sessionType === 1) Object.assign(req, { sessionType: 1, userA: c.userA, userB: c.userB });
    else if (c?.sessionType === 2) Object.assign(req, { sessionType: 2, groupId: c.groupId });
    const rsp = await this.call(() => this.db.adminMessageSearch(req));
    return page(rsp.messages, (m) => this.toMessageView(m), rsp);
  }

  async listWebhooks(): Promise<WebhookInfo[]> {
    return ((await this.call(() => this.db.webhookList({}))).webhooks ?? []).map(toWebhook);
  }

  async createWebhook(w: NewWebhook): Promise<WebhookInfo> {
    return toWebhook(await this.call(() => this.db.webhookCreate({ event: w.event, url: w.url, secret: w.secret, enabled: w.enabled, timeoutMs: w.timeoutMs, failOpen: w.failOpen })));
  }

  async updateWebhook(id: number, patch: WebhookPatch): Promise<WebhookInfo> {
    return toWebhook(await this.call(() => this.db.webhookUpdate({ id, ...patch })));
  }

  async deleteWebhook(id: number): Promise<void> {
    await this.call(() => this.db.webhookDelete({ id }));
  }

  private toMessageView(m: IM.Admin.IFoundMessage): StoredMessageView {
    return {
      messageId: m.messageId ?? '',
      sessionType: m.sessionType === 2 ? 2 : 1,
      fromId: m.fromId ?? 0,
      fromName: m.fromName ?? '',
      toId: m.toId ?? 0,
      msgId: m.msgId ?? 0,
      text: this.textOf(m),
      kind: m.kind ?? '',
      sentAt: Number(m.sentAtMs ?? 0),
      recalled: !!m.recalled,
    };
  }

  /** Text content decrypted with the content key; anything else (or text that does not decrypt) as base64. */
  private textOf(m: IM.Admin.IFoundMessage): string {
    const content = Buffer.from(m.content ?? new Uint8Array(0));
    if (content.length === 0) return '';
    if (m.kind === 'text' && this.contentKey) {
      try {
        return decryptContent(content, this.contentKey);
      } catch {
        /* not what a TeamTalk client encrypts: shown as bytes */
      }
    }
    return content.toString('base64');
  }
}
