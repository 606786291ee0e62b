import { createHash } from 'node:crypto';
import { IM } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import {
  DepartStatus,
  GroupStatus,
  SessionType,
  UserStatus,
  type ApiKeyRecord,
  type AuditRecord,
  type ConversationKey,
  type Department,
  type FoundMessage,
  type GroupInfo,
  type GroupListing,
  type MessagePosition,
  type NewUser,
  type OperatorAccount,
  type OperatorRoleName,
  type Store,
  type User,
  type UserPatch,
} from '@tt/storage';

const { MsgType } = IM.BaseDefine;
const { ContentKind } = IM.Core;

/** Longest chat user password accepted (characters): bounds the MD5 input, never a real password's limit. */
export const MAX_CHAT_PASSWORD_CHARS = 256;

/** Whether a proto2 optional field was sent (decoded messages carry only the fields present as own properties). */
function has<T extends object>(req: T, key: keyof T): boolean {
  return Object.prototype.hasOwnProperty.call(req, key) && req[key] !== null && req[key] !== undefined;
}

const md5Hex = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

function role(value: string | null | undefined): OperatorRoleName {
  if (value !== 'admin' && value !== 'viewer') throw RpcError.invalidArgument('role must be "admin" or "viewer"');
  return value;
}

// --- Cursors: opaque to callers, decimal ids (or a message position) to us ---

const badCursor = () => RpcError.invalidArgument('cursor is not one this API gave out');

function idCursor(cursor: string | null | undefined): number | undefined {
  if (!cursor) return undefined;
  if (!/^[1-9][0-9]{0,9}$/.test(cursor) || Number(cursor) > 0xffffffff) throw badCursor();
  return Number(cursor);
}

function messageCursor(cursor: string | null | undefined): MessagePosition | undefined {
  if (!cursor) return undefined;
  const parts = cursor.split('.');
  if (parts.length !== 5 || !parts.every((p) => /^[0-9]{1,10}$/.test(p))) throw badCursor();
  const [created, sessionType, idA, idB, msgId] = parts.map(Number) as [number, number, number, number, number];
  if (sessionType !== SessionType.SINGLE && sessionType !== SessionType.GROUP) throw badCursor();
  return { created, sessionType, idA, idB, msgId };
}

const positionCursor = (p: MessagePosition | null) => (p ? `${p.created}.${p.sessionType}.${p.idA}.${p.idB}.${p.msgId}` : '');
const nextId = (id: number | null) => (id === null ? '' : String(id));

// --- Operators and API keys ---

export const toOperator = (o: OperatorAccount): IM.Admin.IOperator => ({ ...o });

export const toApiKey = (k: ApiKeyRecord): IM.Admin.IApiKey => ({ ...k });

export async function createOperator(store: Store, req: IM.Admin.IOperatorCreateReq): Promise<IM.Admin.IOperator> {
  return toOperator(await store.operators.create(req.name ?? '', req.password ?? '', role(req.role)));
}

export async function updateOperator(store: Store, req: IM.Admin.IOperatorUpdateReq): Promise<IM.Admin.IOperator> {
  const patch: { role?: OperatorRoleName; password?: string; disabled?: boolean } = {};
  if (has(req, 'role')) patch.role = role(req.role);
  if (has(req, 'password')) patch.password = req.password!;
  if (has(req, 'disabled')) patch.disabled = !!req.disabled;
  return toOperator(await store.operators.update(req.id ?? 0, patch));
}

// --- The audit log ---

const toAuditEntry = (e: AuditRecord): IM.Admin.IAuditEntry => ({ id: e.id, actor: e.actor, action: e.action, target: e.target, detail: e.detail, atMs: e.atMs });

export async function listAudit(store: Store, req: IM.Admin.IAuditListReq): Promise<IM.Admin.IAuditPage> {
  const page = await store.audit.list({
    actor: has(req, 'actor') ? req.actor! : undefined,
    action: has(req, 'action') ? req.action! : undefined,
    beforeId: idCursor(req.cursor),
    limit: req.limit ?? 0,
  });
  return { entries: page.items.map(toAuditEntry), nextCursor: nextId(page.next), total: page.total };
}

// --- Chat users ---

export function toChatUser(u: User): IM.Admin.IChatUser {
  return {
    id: u.id,
    name: u.name,
    nick: u.nick,
    realName: u.realName,
    sex: u.sex,
    avatar: u.avatar,
    phone: u.phone,
    email: u.email,
    departId: u.departId,
    signInfo: u.signInfo,
    disabled: u.status === UserStatus.DISABLED,
    created: u.created,
    updated: u.updated,
  };
}

function chatPassword(value: string | null | undefined): string {
  if (typeof value !== 'string' || value.length === 0) throw RpcError.invalidArgument('password must not be empty');
  if ([...value].length > MAX_CHAT_PASSWORD_CHARS) throw RpcError.invalidArgument(`password is longer than ${MAX_CHAT_PASSWORD_CHARS} characters`);
  return value;
}

/** A department users may be put in: 0 (none) or an existing, not deleted one. */
async function requireDepartment(store: Store, departId: number): Promise<void> {
  if (departId === 0) return;
  const d = await store.departments.findById(departId);
  if (!d || d.status !== DepartStatus.OK) throw RpcError.invalidArgument(`departId ${departId} is not a department`);
}

const PROFILE_KEYS = ['nick', 'realName', 'sex', 'avatar', 'phone', 'email', 'departId', 'signInfo'] as const;

function profileOf(req: IM.Admin.IUserCreateReq | IM.Admin.IUserUpdateReq): UserPatch {
  const patch: Record<string, unknown> = {};
  for (const key of PROFILE_KEYS) if (has(req, key)) patch[key] = req[key];
  return patch as UserPatch;
}

/** Creates a chat user whose password is stored as TeamTalk clients log in with it (scrypt of its hex MD5). */
export async function createUser(store: Store, req: IM.Admin.IUserCreateReq): Promise<IM.Admin.IChatUser> {
  const password = chatPassword(req.password);
  const profile = profileOf(req);
  await requireDepartment(store, profile.departId ?? 0);
  const user: NewUser = { ...profile, name: req.name ?? '', passwordMd5Hex: md5Hex(password) };
  return toChatUser(await store.users.create(user));
}

/** Changes a chat user's profile, password and/or disabled state; everything is checked before anything is written. */
export async function updateUser(store: Store, req: IM.Admin.IUserUpdateReq): Promise<IM.Admin.IChatUser> {
  const id = req.id ?? 0;
  const password = has(req, 'password') ? chatPassword(req.password) : undefined;
  const patch = profileOf(req);
  if (has(req, 'disabled')) patch.status = req.disabled ? UserStatus.DISABLED : UserStatus.ACTIVE;
  if (password === undefined && Object.keys(patch).length === 0) throw RpcError.invalidArgument('nothing to change');
  const current = await store.users.findById(id);
  if (!current) throw RpcError.notFound(`no user ${id}`);
  if (patch.departId !== undefined && patch.departId !== current.departId) await requireDepartment(store, patch.departId);
  let user = current;
  if (Object.keys(patch).length > 0) user = await store.users.update(id, patch);
  if (password !== undefined) await store.users.setPassword(current.name, md5Hex(password));
  return toChatUser(user);
}

export async function getUser(store: Store, req: IM.Admin.IUserGetReq): Promise<IM.Admin.IUserGetRsp> {
  let user: User | null;
  if (has(req, 'id') && req.id) user = await store.users.findById(req.id);
  else if (has(req, 'name') && req.name) user = await store.users.findByName(req.name);
  else throw RpcError.invalidArgument('id or name is required');
  return user ? { user: toChatUser(user) } : {};
}

export async function listUsers(store: Store, req: IM.Admin.IUserListReq): Promise<IM.Admin.IUserPage> {
  const page = await store.admin.searchUsers({
    search: has(req, 'search') ? req.search! : undefined,
    departId: has(req, 'departId') ? req.departId! : undefined,
    afterId: idCursor(req.cursor),
    limit: req.limit ?? 0,
  });
  return { users: page.items.map(toChatUser), nextCursor: nextId(page.next), total: page.total };
}

// --- Departments ---

const toDepartment = (d: Department): IM.Admin.IDepartment => ({ id: d.id, name: d.name, parentId: d.parentId, priority: d.priority, created: d.created, updated: d.updated });

export async function createDepartment(store: Store, req: IM.Admin.IDepartmentCreateReq): Promise<IM.Admin.IDepartment> {
  const parentId = req.parentId ?? 0;
  if (parentId !== 0) {
    const parent = await store.departments.findById(parentId);
    if (!parent || parent.status !== DepartStatus.OK) throw RpcError.invalidArgument(`parentId ${parentId} is not a department`);
  }
  return toDepartment(await store.departments.create({ name: req.name ?? '', parentId, priority: req.priority ?? 0 }));
}

export async function updateDepartment(store: Store, req: IM.Admin.IDepartmentUpdateReq): Promise<IM.Admin.IDepartment> {
  const patch: { name?: string; parentId?: number; priority?: number } = {};
  if (has(req, 'name')) patch.name = req.name!;
  if (has(req, 'parentId')) patch.parentId = req.parentId!;
  if (has(req, 'priority')) patch.priority = req.priority!;
  return toDepartment(await store.admin.updateDepartment(req.id ?? 0, patch));
}

/** Deletes an empty department; one with users or sub-departments: FAILED_PRECONDITION naming what is in it. */
export async function deleteDepartment(store: Store, id: number): Promise<void> {
  const outcome = await store.admin.deleteDepartment(id);
  if (outcome.deleted) return;
  const inside = [outcome.users ? `${outcome.users} user(s)` : '', outcome.subDepartments ? `${outcome.subDepartments} sub-department(s)` : ''].filter(Boolean).join(' and ');
  throw new RpcError(9 /* FAILED_PRECONDITION */, `department ${id} still has ${inside}`);
}

export async function listDepartments(store: Store): Promise<IM.Admin.IDepartmentList> {
  return { departments: (await store.admin.listDepartments()).map(toDepartment) };
}

// --- Groups ---

const listingToSummary = (g: GroupListing): IM.Admin.IGroupSummary => ({
  id: g.id,
  name: g.name,
  avatar: g.avatar,
  description: g.description,
  ownerId: g.creatorId,
  type: g.type,
  memberCount: g.memberCount,
  memberLimit: g.memberLimit,
  version: g.version,
  created: g.created,
  updated: g.updated,
});

export const groupToSummary = (g: GroupInfo): IM.Admin.IGroupSummary => listingToSummary({ ...g, memberCount: g.memberIds.length });

export async function listGroups(store: Store, req: IM.Admin.IGroupListReq): Promise<IM.Admin.IGroupPage> {
  const page = await store.admin.listGroups({
    search: has(req, 'search') ? req.search! : undefined,
    userId: has(req, 'userId') ? req.userId! : undefined,
    afterId: idCursor(req.cursor),
    limit: req.limit ?? 0,
  });
  return { groups: page.items.map(listingToSummary), nextCursor: nextId(page.next), total: page.total };
}

/** An active group with its members; a missing or dismissed one: no group. */
export async function getGroup(store: Store, id: number): Promise<IM.Admin.IGroupGetRsp> {
  const group = id ? await store.groups.findById(id) : null;
  if (!group || group.status !== GroupStatus.ACTIVE) return { memberIds: [] };
  return { group: groupToSummary(group), memberIds: group.memberIds };
}

// --- Message history ---

/** The WebSocket front's conversation id of a single chat: `si_<name>_<name>`, names in byte order. */
function singleConversationId(nameA: string, nameB: string): string {
  return Buffer.compare(Buffer.from(nameA), Buffer.from(nameB)) <= 0 ? `si_${nameA}_${nameB}` : `si_${nameB}_${nameA}`;
}

/** The request's conversation, checked: single (two different users) or group. */
function searchConversation(req: IM.Admin.IMessageSearchReq): ConversationKey | undefined {
  if (!has(req, 'sessionType') || req.sessionType === 0) {
    if (req.userA || req.userB || req.groupId) throw RpcError.invalidArgument('sessionType is required with userA/userB or groupId');
    return undefined;
  }
  if (req.sessionType === SessionType.SINGLE) {
    const a = req.userA ?? 0;
    const b = req.userB ?? 0;
    if (!a || !b || a === b) throw RpcError.invalidArgument('userA and userB must be two different users');
    return { sessionType: SessionType.SINGLE, idA: Math.min(a, b), idB: Math.max(a, b) };
  }
  if (req.sessionType === SessionType.GROUP) {
    if (!req.groupId) throw RpcError.invalidArgument('groupId is required');
    return { sessionType: SessionType.GROUP, idA: req.groupId, idB: 0 };
  }
  throw RpcError.invalidArgument(`sessionType must be 1 (single) or 2 (group), not ${req.sessionType}`);
}

/** What a message holds: the sender's content kind when it gave one, else text or audio by msg_type. */
function kindOf(m: FoundMessage, extraKind: number | null | undefined): string {
  if (extraKind && ContentKind[extraKind]) return ContentKind[extraKind]!.replace(/^CONTENT_/, '').toLowerCase();
  return m.msgType === MsgType.MSG_TYPE_SINGLE_AUDIO || m.msgType === MsgType.MSG_TYPE_GROUP_AUDIO ? 'audio' : 'text';
}

function decodeExtra(m: FoundMessage): IM.Core.IMessageExtra {
  if (!m.extra || m.extra.length === 0) return {};
  try {
    return IM.Core.MessageExtra.decode(m.extra);
  } catch {
    return {};
  }
}

const U32_MAX = 0xffffffff;
const toSeconds = (ms: number, round: (x: number) => number) => Math.min(U32_MAX, Math.max(0, round(ms / 1000)));

/**
 * History search for operators: stored bytes as they are (db_proxy has no content key), newest
 * first, named with the WebSocket front's message ids. A recalled message has no content.
 */
export async function searchMessages(store: Store, req: IM.Admin.IMessageSearchReq): Promise<IM.Admin.IMessagePage> {
  const conversation = searchConversation(req);
  const page = await store.admin.searchMessages({
    conversation,
    fromId: has(req, 'fromId') && req.fromId ? req.fromId : undefined,
    // create times are whole seconds: inclusive millisecond bounds become the seconds inside them.
    sinceSec: has(req, 'sinceMs') ? toSeconds(Number(req.sinceMs), Math.ceil) : undefined,
    untilSec: has(req, 'untilMs') ? toSeconds(Number(req.untilMs), Math.floor) : undefined,
    after: messageCursor(req.cursor),
    limit: req.limit ?? 0,
  });
  const userIds = new Set<number>();
  for (const m of page.items) {
    userIds.add(m.fromId);
    if (m.key.sessionType === SessionType.SINGLE) userIds.add(m.key.idA).add(m.key.idB);
  }
  const names = new Map((await store.users.findByIds([...userIds])).map((u) => [u.id, u.name]));
  const nameOf = (id: number) => names.get(id) ?? String(id);
  const messages = page.items.map((m): IM.Admin.IFoundMessage => {
    const extra = decodeExtra(m);
    const conversationId = m.key.sessionType === SessionType.SINGLE ? singleConversationId(nameOf(m.key.idA), nameOf(m.key.idB)) : `sg_${m.key.idA}`;
    return {
      messageId: `${conversationId}:${m.msgId}`,
      sessionType: m.key.sessionType,
      fromId: m.fromId,
      fromName: nameOf(m.fromId),
      toId: m.toId,
      msgId: m.msgId,
      msgType: m.msgType,
      content: m.recalled ? Buffer.alloc(0) : m.data,
      kind: kindOf(m, extra.kind),
      sentAtMs: Number(extra.serverTimeMs ?? 0) || m.createTime * 1000,
      recalled: !!m.recalled,
    };
  });
  return { messages, nextCursor: positionCursor(page.next), total: page.total };
}
