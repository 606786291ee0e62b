// What the operator HTTP API (/api/v1, issue 15) needs from the rest of the
// cluster, as two interfaces: AdminStore (db_proxy: accounts, keys, the audit
// log, users, departments, groups, message history) and AdminCluster (the
// running msg_servers: presence, kicks, sending, recalls, drains). The API's
// routes call only these; main.ts wires db_proxy's gRPC client (cluster) or
// the in-process one (standalone) and the bus. Errors: AdminError.

export type OperatorRole = 'admin' | 'viewer';

export interface Operator {
  id: number;
  name: string;
  role: OperatorRole;
  disabled: boolean;
  /** Unix seconds. */
  created: number;
  updated: number;
}

export interface ApiKey {
  id: number;
  name: string;
  role: OperatorRole;
  /** The first characters of the key, to recognise it in lists (never the whole key). */
  prefix: string;
  createdBy: string;
  created: number;
  /** 0: never. */
  lastUsed: number;
  /** 0: active. */
  revoked: number;
}

export interface AuditEntry {
  id: number;
  /** `operator:<name>` or `key:<prefix>` (or `ttctl`). */
  actor: string;
  /** e.g. `user.create`, `group.dismiss`, `apikey.revoke`. */
  action: string;
  /** What it acted on, e.g. `user:42`. */
  target: string;
  /** JSON text of the request's relevant fields (never passwords or keys). */
  detail: string;
  /** Unix milliseconds. */
  at: number;
}

/** A chat user as operators see it. */
export interface ChatUser {
  id: number;
  name: string;
  nick: string;
  realName: string;
  sex: number;
  avatar: string;
  phone: string;
  email: string;
  departId: number;
  signInfo: string;
  disabled: boolean;
  created: number;
  updated: number;
}

export interface NewChatUser {
  name: string;
  /** Plain text; stored as TeamTalk clients expect (scrypt of its hex MD5). */
  password: string;
  nick?: string;
  realName?: string;
  sex?: number;
  avatar?: string;
  phone?: string;
  email?: string;
  departId?: number;
  signInfo?: string;
}

export type ChatUserPatch = Partial<Omit<NewChatUser, 'name'>> & { disabled?: boolean };

export interface DepartmentInfo {
  id: number;
  name: string;
  parentId: number;
  priority: number;
  created: number;
  updated: number;
}

export interface GroupSummary {
  id: number;
  name: string;
  avatar: string;
  description: string;
  ownerId: number;
  /** 1 normal, 2 temporary (TeamTalk). */
  type: number;
  memberCount: number;
  memberLimit: number;
  version: number;
  created: number;
  updated: number;
}

export interface Page<T> {
  items: T[];
  /** Opaque: pass back as `cursor` for the next page; empty when this is the last page. */
  nextCursor: string;
  /** Total matching, when cheap to know (else -1). */
  total: number;
}

export interface StoredMessageView {
  /** `si_<a>_<b>:<msg_id>` / `sg_<group>:<msg_id>` (the WebSocket front's message ids). */
  messageId: string;
  sessionType: 1 | 2;
  fromId: number;
  fromName: string;
  /** The peer user (single) or the group. */
  toId: number;
  msgId: number;
  /** Content as plain text where it is text (decrypted with the content key), else base64. */
  text: string;
  kind: string;
  /** Unix milliseconds. */
  sentAt: number;
  recalled: boolean;
}

export type WebhookEvent = 'message.stored' | 'user.login' | 'user.logout' | 'message.before_send';

/** A webhook as operators see it: the secret is never shown again after it was set. */
export interface WebhookInfo {
  id: number;
  event: WebhookEvent;
  url: string;
  enabled: boolean;
  timeoutMs: number;
  /** message.before_send only: a timeout or failure lets the message through. */
  failOpen: boolean;
  created: number;
  updated: number;
}

export interface NewWebhook {
  event: WebhookEvent;
  url: string;
  /** The HMAC key of X-TT-Signature. */
  secret: string;
  enabled?: boolean;
  timeoutMs?: number;
  failOpen?: boolean;
}

export type WebhookPatch = Partial<NewWebhook>;

/** A refusal the API turns into a 4xx: `code` is the API's error code. */
export class AdminError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 422 | 429 | 503,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AdminError';
  }
}

export interface AdminStore {
  // Operator accounts (admin/viewer) and API keys.
  /** The operator if the password matches and the account is enabled; else null. */
  checkOperatorPassword(name: string, password: string): Promise<Operator | null>;
  listOperators(): Promise<Operator[]>;
  createOperator(name: string, password: string, role: OperatorRole): Promise<Operator>;
  updateOperator(id: number, patch: { role?: OperatorRole; password?: string; disabled?: boolean }): Promise<Operator>;
  /** Creates a key; the plain key is returned once and only its hash is kept. */
  createApiKey(name: string, role: OperatorRole, createdBy: string): Promise<{ key: string; info: ApiKey }>;
  listApiKeys(): Promise<ApiKey[]>;
  revokeApiKey(id: number): Promise<ApiKey>;
  /** The key's record if it is valid and not revoked (and notes its use); else null. */
  checkApiKey(key: string): Promise<ApiKey | null>;

  // The audit log.
  appendAudit(entry: Omit<AuditEntry, 'id' | 'at'>): Promise<void>;
  listAudit(query: { actor?: string; action?: string; cursor?: string; limit: number }): Promise<Page<AuditEntry>>;

  // Chat users.
  createUser(user: NewChatUser): Promise<ChatUser>;
  updateUser(id: number, patch: ChatUserPatch): Promise<ChatUser>;
  getUser(idOrName: number | string): Promise<ChatUser | null>;
  /** `search` matches name, nick, real name, phone or email (contains); `departId` filters. */
  listUsers(query: { search?: string; departId?: number; cursor?: string; limit: number }): Promise<Page<ChatUser>>;

  // Departments.
  createDepartment(d: { name: string; parentId?: number; priority?: number }): Promise<DepartmentInfo>;
  updateDepartment(id: number, patch: { name?: string; parentId?: number; priority?: number }): Promise<DepartmentInfo>;
  /** Refused (409) while users or sub-departments are in it. */
  deleteDepartment(id: number): Promise<void>;
  listDepartments(): Promise<DepartmentInfo[]>;

  // Groups (as the system: no owner permission needed).
  listGroups(query: { search?: string; userId?: number; cursor?: string; limit: number }): Promise<Page<GroupSummary>>;
  getGroup(id: number): Promise<{ group: GroupSummary; memberIds: number[] } | null>;

  // History.
  searchMessages(query: {
    /** One conversation: a single chat between two users, or a group. */
    conversation?: { sessionType: 1; userA: number; userB: number } | { sessionType: 2; groupId: number };
    /** Messages sent by this user (any conversation, or within the one given). */
    fromId?: number;
    /** Unix milliseconds, inclusive bounds. */
    since?: number;
    until?: number;
    cursor?: string;
    limit: number;
  }): Promise<Page<StoredMessageView>>;

  // Webhooks.
  listWebhooks(): Promise<WebhookInfo[]>;
  createWebhook(w: NewWebhook): Promise<WebhookInfo>;
  updateWebhook(id: number, patch: WebhookPatch): Promise<WebhookInfo>;
  deleteWebhook(id: number): Promise<void>;
}

export interface OnlineDevice {
  msgServerId: string;
  /** teamtalk, ws, tcp12, msync, omtp. */
  front: string;
  /** TeamTalk client type (1 windows, 2 mac, 17 ios, 18 android, 8 web). */
  clientType: number;
}

export interface MsgServerView {
  id: string;
  address: string;
  connections: number;
  maxConnections: number;
  draining: boolean;
  /** tls: a TLS listener (a protocol may have a plain and a TLS one). */
  fronts: { protocol: string; port: number; tls?: boolean }[];
}

export interface AdminCluster {
  /** Every connection of these users, across all msg_servers. */
  devicesOf(userIds: number[]): Promise<Map<number, OnlineDevice[]>>;
  onlineCount(): Promise<number>;
  /** Closes every connection of the user (kick), on every msg_server; resolves with how many were closed. */
  kickUser(userId: number): Promise<number>;
  /**
   * Stores and delivers a message as a user (fromId) or as the system (fromId 0: the configured system
   * account), to a user or a group, through the conversation core: every client protocol shows it.
   */
  sendMessage(m: { fromId: number; to: { userId: number } | { groupId: number }; text: string }): Promise<{ messageId: string; msgId: number }>;
  /** An OMTP business notification (and nothing for other protocols), to users or a group. */
  notify(n: { userIds?: number[]; groupId?: number; content: string; contentType?: number; from?: string }): Promise<{ addressed: number }>;
  /** Recalls any message (moderation), whoever sent it and however old: every participant is told. */
  recallMessage(messageId: string, byOperator: string): Promise<void>;
  /** Group changes as the system (owner permissions not needed); members are told as for any change. */
  groupAction(a: { action: 'create' | 'add' | 'remove' | 'dismiss' | 'transfer' | 'update'; groupId?: number; memberIds?: number[]; ownerId?: number; name?: string; avatar?: string; description?: string; memberLimit?: number }): Promise<GroupSummary>;
  msgServers(): Promise<MsgServerView[]>;
  /** Live counters: online users, messages stored per second (last 10 s average), per msg_server connections. */
  stats(): Promise<{ onlineUsers: number; messagesPerSecond: number; msgServers: { id: string; connections: number }[] }>;
  /** Asks one msg_server to drain (stop taking clients, close them gently). */
  drain(msgServerId: string): Promise<void>;
  /** Tells every msg_server to read the webhook settings again now (else within 10 s). */
  webhooksChanged?(): void;
}
