// JSON schemas of the API's data (backend.ts's types), shared by the routes.
// They validate requests (Fastify's ajv) and make the OpenAPI document.
import { errorSchema } from './errors';

export const idParam = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'integer', minimum: 1, maximum: 2 ** 31 - 1 } },
} as const;

export const limitQuery = { type: 'integer', minimum: 1, maximum: 200, default: 50 } as const;
export const cursorQuery = { type: 'string', maxLength: 512 } as const;
const unixSeconds = { type: 'integer', description: 'Unix seconds.' } as const;

export const roleSchema = { type: 'string', enum: ['admin', 'viewer'] } as const;
export const passwordSchema = { type: 'string', minLength: 1, maxLength: 256 } as const;
export const nameSchema = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[^\\s\\x00-\\x1f]+$' } as const;

export const operatorSchema = {
  type: 'object',
  required: ['id', 'name', 'role', 'disabled', 'created', 'updated'],
  properties: { id: { type: 'integer' }, name: { type: 'string' }, role: roleSchema, disabled: { type: 'boolean' }, created: unixSeconds, updated: unixSeconds },
} as const;

export const apiKeySchema = {
  type: 'object',
  required: ['id', 'name', 'role', 'prefix', 'createdBy', 'created', 'lastUsed', 'revoked'],
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    role: roleSchema,
    prefix: { type: 'string', description: 'The first characters of the key (never the whole key).' },
    createdBy: { type: 'string' },
    created: unixSeconds,
    lastUsed: { type: 'integer', description: 'Unix seconds; 0: never.' },
    revoked: { type: 'integer', description: 'Unix seconds; 0: active.' },
  },
} as const;

export const auditEntrySchema = {
  type: 'object',
  required: ['id', 'actor', 'action', 'target', 'detail', 'at'],
  properties: {
    id: { type: 'integer' },
    actor: { type: 'string', description: '`operator:<name>`, `key:<prefix>` or `ttctl`.' },
    action: { type: 'string', description: 'e.g. user.create, group.dismiss.' },
    target: { type: 'string', description: 'e.g. user:42.' },
    detail: { type: 'string', description: 'JSON text of the request (never passwords or keys).' },
    at: { type: 'integer', description: 'Unix milliseconds.' },
  },
} as const;

/** The writable fields of a chat user (create and update). */
export const userFields = {
  nick: { type: 'string', maxLength: 64 },
  realName: { type: 'string', maxLength: 64 },
  sex: { type: 'integer', minimum: 0, maximum: 2, description: '0 unknown, 1 male, 2 female.' },
  avatar: { type: 'string', maxLength: 512 },
  phone: { type: 'string', maxLength: 32 },
  email: { type: 'string', maxLength: 128 },
  departId: { type: 'integer', minimum: 0 },
  signInfo: { type: 'string', maxLength: 256 },
} as const;

export const newUserSchema = {
  type: 'object',
  required: ['name', 'password'],
  additionalProperties: false,
  properties: { name: nameSchema, password: passwordSchema, ...userFields },
} as const;

export const chatUserSchema = {
  type: 'object',
  required: ['id', 'name', 'nick', 'realName', 'sex', 'avatar', 'phone', 'email', 'departId', 'signInfo', 'disabled', 'created', 'updated'],
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    nick: { type: 'string' },
    realName: { type: 'string' },
    sex: { type: 'integer' },
    avatar: { type: 'string' },
    phone: { type: 'string' },
    email: { type: 'string' },
    departId: { type: 'integer' },
    signInfo: { type: 'string' },
    disabled: { type: 'boolean' },
    online: { type: 'boolean', description: 'Connected to some msg_server (lists only).' },
    created: unixSeconds,
    updated: unixSeconds,
  },
} as const;

export const deviceSchema = {
  type: 'object',
  required: ['msgServerId', 'front', 'clientType'],
  properties: {
    msgServerId: { type: 'string' },
    front: { type: 'string', description: 'teamtalk, ws, tcp12, msync or omtp.' },
    clientType: { type: 'integer', description: 'TeamTalk client type (1 windows, 2 mac, 17 ios, 18 android, 8 web).' },
  },
} as const;

export const departmentSchema = {
  type: 'object',
  required: ['id', 'name', 'parentId', 'priority', 'created', 'updated'],
  properties: { id: { type: 'integer' }, name: { type: 'string' }, parentId: { type: 'integer' }, priority: { type: 'integer' }, created: unixSeconds, updated: unixSeconds },
} as const;

export const groupSchema = {
  type: 'object',
  required: ['id', 'name', 'avatar', 'description', 'ownerId', 'type', 'memberCount', 'memberLimit', 'version', 'created', 'updated'],
  properties: {
    id: { type: 'integer' },
    name: { type: 'string' },
    avatar: { type: 'string' },
    description: { type: 'string' },
    ownerId: { type: 'integer' },
    type: { type: 'integer', description: '1 normal, 2 temporary.' },
    memberCount: { type: 'integer' },
    memberLimit: { type: 'integer' },
    version: { type: 'integer' },
    created: unixSeconds,
    updated: unixSeconds,
  },
} as const;

// Single-chat ids name the two accounts (as the WebSocket front and GET /messages give them), so they are not digits.
export const messageIdSchema = { type: 'string', pattern: '^(si_.+_.+|sg_[0-9]+):[0-9]+$', maxLength: 300, description: '`si_<nameA>_<nameB>:<msg_id>` (account names in byte order) or `sg_<group>:<msg_id>`.' } as const;

export const storedMessageSchema = {
  type: 'object',
  required: ['messageId', 'sessionType', 'fromId', 'fromName', 'toId', 'msgId', 'text', 'kind', 'sentAt', 'recalled'],
  properties: {
    messageId: { type: 'string' },
    sessionType: { type: 'integer', enum: [1, 2], description: '1 single, 2 group.' },
    fromId: { type: 'integer' },
    fromName: { type: 'string' },
    toId: { type: 'integer', description: 'The peer user (single) or the group.' },
    msgId: { type: 'integer' },
    text: { type: 'string', description: 'Plain text where it is text, else base64.' },
    kind: { type: 'string' },
    sentAt: { type: 'integer', description: 'Unix milliseconds.' },
    recalled: { type: 'boolean' },
  },
} as const;

export const msgServerSchema = {
  type: 'object',
  required: ['id', 'address', 'connections', 'maxConnections', 'draining', 'fronts'],
  properties: {
    id: { type: 'string' },
    address: { type: 'string' },
    connections: { type: 'integer' },
    maxConnections: { type: 'integer' },
    draining: { type: 'boolean' },
    fronts: { type: 'array', items: { type: 'object', required: ['protocol', 'port'], properties: { protocol: { type: 'string' }, port: { type: 'integer' }, tls: { type: 'boolean' } } } },
  },
} as const;

export function pageOf(item: object) {
  return {
    type: 'object',
    required: ['items', 'nextCursor', 'total'],
    properties: {
      items: { type: 'array', items: item },
      nextCursor: { type: 'string', description: 'Pass back as `cursor` for the next page; empty on the last page.' },
      total: { type: 'integer', description: 'Total matching, or -1 when not cheap to know.' },
    },
  } as const;
}

export function listOf(item: object) {
  return { type: 'object', required: ['items'], properties: { items: { type: 'array', items: item } } } as const;
}

/** An empty answer (204). */
export const noContent = { type: 'null', description: 'No content.' } as const;

/** The error responses every route may give, added to each route's own. */
export function withErrors(responses: Record<number, unknown>, ...statuses: number[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...responses };
  for (const s of [400, 401, 403, 429, 500, 503, ...statuses]) out[s] = { ...errorSchema, description: ERROR_TEXT[s] ?? 'Error.' };
  return out;
}

const ERROR_TEXT: Record<number, string> = {
  400: 'Bad request: a field is missing, unknown or of the wrong type (error.field names it).',
  401: 'No valid token or API key.',
  403: 'The role may not do this (viewers may only read).',
  404: 'No such object.',
  409: 'Conflicts with the current state (e.g. the name is taken).',
  413: 'Body too large.',
  415: 'Unsupported content type.',
  422: 'Understood but refused.',
  429: 'Too many requests (Retry-After says when to retry).',
  500: 'Internal error.',
  503: 'A backend is unavailable, or the API is not configured.',
};
