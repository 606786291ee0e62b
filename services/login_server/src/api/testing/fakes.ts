// Small in-memory AdminStore and AdminCluster for the API's unit tests: they
// keep just enough state to answer, and record every call.
import { AdminError, type AdminCluster, type AdminStore, type ApiKey, type AuditEntry, type ChatUser, type DepartmentInfo, type GroupSummary, type Operator, type OnlineDevice, type NewWebhook, type WebhookInfo, type WebhookPatch } from '../backend';

export interface Call {
  method: string;
  args: unknown[];
}

function recording<T extends object>(target: T, calls: Call[]): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push({ method: String(prop), args });
        return (value as (...a: unknown[]) => unknown).apply(obj, args);
      };
    },
  });
}

export class FakeStore implements AdminStore {
  operators: (Operator & { password: string })[] = [
    { id: 1, name: 'root', role: 'admin', disabled: false, created: 1, updated: 1, password: 'rootpw' },
    { id: 2, name: 'eve', role: 'viewer', disabled: false, created: 1, updated: 1, password: 'evepw' },
  ];
  keys: (ApiKey & { key: string })[] = [];
  audit: AuditEntry[] = [];
  users = new Map<number, ChatUser>();
  departments = new Map<number, DepartmentInfo>();
  private nextId = 100;

  private publicOperator(o: Operator & { password: string }): Operator {
    const { password: _password, ...rest } = o;
    return rest;
  }
  async checkOperatorPassword(name: string, password: string) {
    const o = this.operators.find((x) => x.name === name && x.password === password && !x.disabled);
    return o ? this.publicOperator(o) : null;
  }
  async listOperators() {
    return this.operators.map((o) => this.publicOperator(o));
  }
  async createOperator(name: string, password: string, role: Operator['role']) {
    if (this.operators.some((o) => o.name === name)) throw new AdminError(409, 'name_taken', `operator ${name} exists`);
    const o = { id: this.nextId++, name, role, disabled: false, created: 2, updated: 2, password };
    this.operators.push(o);
    return this.publicOperator(o);
  }
  async updateOperator(id: number, patch: { role?: Operator['role']; password?: string; disabled?: boolean }) {
    const o = this.operators.find((x) => x.id === id);
    if (!o) throw new AdminError(404, 'not_found', `no operator ${id}`);
    Object.assign(o, patch);
    return this.publicOperator(o);
  }
  async createApiKey(name: string, role: Operator['role'], createdBy: string) {
    const key = `ttk_${name}_${this.nextId}secretpart`;
    const info: ApiKey = { id: this.nextId++, name, role, prefix: key.slice(0, 8), createdBy, created: 3, lastUsed: 0, revoked: 0 };
    this.keys.push({ ...info, key });
    return { key, info };
  }
  async listApiKeys() {
    return this.keys.map(({ key: _key, ...info }) => info);
  }
  async revokeApiKey(id: number) {
    const k = this.keys.find((x) => x.id === id);
    if (!k) throw new AdminError(404, 'not_found', `no key ${id}`);
    k.revoked = 4;
    const { key: _key, ...info } = k;
    return info;
  }
  async checkApiKey(key: string) {
    const k = this.keys.find((x) => x.key === key && !x.revoked);
    if (!k) return null;
    const { key: _key, ...info } = k;
    return info;
  }
  async appendAudit(entry: Omit<AuditEntry, 'id' | 'at'>) {
    this.audit.push({ ...entry, id: this.audit.length + 1, at: Date.now() });
  }
  async listAudit(q: { actor?: string; action?: string; cursor?: string; limit: number }) {
    const items = this.audit.filter((e) => (!q.actor || e.actor === q.actor) && (!q.action || e.action === q.action)).reverse();
    return { items: items.slice(0, q.limit), nextCursor: '', total: items.length };
  }
  async createUser(u: Parameters<AdminStore['createUser']>[0]) {
    if ([...this.users.values()].some((x) => x.name === u.name)) throw new AdminError(409, 'name_taken', `user ${u.name} exists`);
    const { password: _password, ...fields } = u;
    const user: ChatUser = { nick: '', realName: '', sex: 0, avatar: '', phone: '', email: '', departId: 0, signInfo: '', ...fields, id: this.nextId++, disabled: false, created: 5, updated: 5 };
    this.users.set(user.id, user);
    return user;
  }
  async updateUser(id: number, patch: Parameters<AdminStore['updateUser']>[1]) {
    const user = this.users.get(id);
    if (!user) throw new AdminError(404, 'not_found', `no user ${id}`);
    const { password: _password, ...fields } = patch;
    Object.assign(user, fields);
    return user;
  }
  async getUser(idOrName: number | string) {
    return typeof idOrName === 'number' ? (this.users.get(idOrName) ?? null) : ([...this.users.values()].find((u) => u.name === idOrName) ?? null);
  }
  async listUsers(q: { search?: string; departId?: number; cursor?: string; limit: number }) {
    const items = [...this.users.values()].filter((u) => (!q.search || u.name.includes(q.search)) && (q.departId === undefined || u.departId === q.departId));
    return { items: items.slice(0, q.limit), nextCursor: '', total: items.length };
  }
  async createDepartment(d: { name: string; parentId?: number; priority?: number }) {
    const dep: DepartmentInfo = { id: this.nextId++, name: d.name, parentId: d.parentId ?? 0, priority: d.priority ?? 0, created: 6, updated: 6 };
    this.departments.set(dep.id, dep);
    return dep;
  }
  async updateDepartment(id: number, patch: { name?: string; parentId?: number; priority?: number }) {
    const dep = this.departments.get(id);
    if (!dep) throw new AdminError(404, 'not_found', `no department ${id}`);
    return Object.assign(dep, patch);
  }
  async deleteDepartment(id: number) {
    if (!this.departments.delete(id)) throw new AdminError(404, 'not_found', `no department ${id}`);
  }
  async listDepartments() {
    return [...this.departments.values()];
  }
  async listGroups(q: { limit: number }) {
    return { items: [group(7)].slice(0, q.limit), nextCursor: '', total: 1 };
  }
  async getGroup(id: number) {
    return id === 7 ? { group: group(7), memberIds: [100, 101] } : null;
  }
  async searchMessages(_q: Parameters<AdminStore['searchMessages']>[0]) {
    return { items: [{ messageId: 'si_1_2:5', sessionType: 1 as const, fromId: 1, fromName: 'a', toId: 2, msgId: 5, text: 'hi', kind: 'text', sentAt: 1000, recalled: false }], nextCursor: '', total: 1 };
  }
  webhooks = new Map<number, WebhookInfo>();
  async listWebhooks() {
    return [...this.webhooks.values()];
  }
  async createWebhook(w: NewWebhook) {
    const hook: WebhookInfo = { id: this.nextId++, event: w.event, url: w.url, enabled: w.enabled ?? true, timeoutMs: w.timeoutMs ?? 5000, failOpen: w.failOpen ?? true, created: 8, updated: 8 };
    this.webhooks.set(hook.id, hook);
    return hook;
  }
  async updateWebhook(id: number, patch: WebhookPatch) {
    const hook = this.webhooks.get(id);
    if (!hook) throw new AdminError(404, 'not_found', `no webhook ${id}`);
    const { secret: _secret, ...fields } = patch;
    return Object.assign(hook, fields);
  }
  async deleteWebhook(id: number) {
    if (!this.webhooks.delete(id)) throw new AdminError(404, 'not_found', `no webhook ${id}`);
  }
}

export function group(id: number): GroupSummary {
  return { id, name: `g${id}`, avatar: '', description: '', ownerId: 100, type: 1, memberCount: 2, memberLimit: 500, version: 1, created: 7, updated: 7 };
}

export class FakeCluster implements AdminCluster {
  online = new Map<number, OnlineDevice[]>();
  async devicesOf(userIds: number[]) {
    return new Map(userIds.filter((id) => this.online.has(id)).map((id) => [id, this.online.get(id)!]));
  }
  async onlineCount() {
    return this.online.size;
  }
  async kickUser(userId: number) {
    const n = this.online.get(userId)?.length ?? 0;
    this.online.delete(userId);
    return n;
  }
  async sendMessage(m: { fromId: number; to: { userId: number } | { groupId: number }; text: string }) {
    return { messageId: 'userId' in m.to ? `si_${Math.min(m.fromId, m.to.userId)}_${Math.max(m.fromId, m.to.userId)}:9` : `sg_${m.to.groupId}:9`, msgId: 9 };
  }
  async notify(n: { userIds?: number[]; groupId?: number }) {
    return { addressed: n.userIds?.length ?? 2 };
  }
  async recallMessage(_messageId: string, _by: string) {}
  async groupAction(a: { action: string; groupId?: number }) {
    return group(a.groupId ?? 8);
  }
  async msgServers() {
    return [{ id: 'ms-1', address: '127.0.0.1:8000', connections: 3, maxConnections: 100, draining: false, fronts: [{ protocol: 'ws', port: 8081 }] }];
  }
  async stats() {
    return { onlineUsers: 3, messagesPerSecond: 1.5, msgServers: [{ id: 'ms-1', connections: 3 }] };
  }
  async drain(_id: string) {}
}

/** A fake pair whose every call lands in `calls`. */
export function fakeBackends() {
  const calls: Call[] = [];
  const store = new FakeStore();
  const cluster = new FakeCluster();
  return { calls, store, cluster, recordedStore: recording(store, calls), recordedCluster: recording(cluster, calls) };
}
