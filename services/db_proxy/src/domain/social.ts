import { IM } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import { isMuteOn, isStorageError, MUTE_ATTRIBUTE, SessionType, type SessionRef, type Store, type User, type UserPatch } from '@tt/storage';
import type { KnownUsers } from './users';

/** Most friends one FriendUpdate may add and remove together. */
export const MAX_FRIEND_CHANGES = 1000;
/** Most users one UserProfiles call answers for. */
export const MAX_PROFILES = 10_000;

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** A field a proto2 request actually carries (decoded messages have defaults on their prototype). */
function has<T extends object>(req: T, key: keyof T): boolean {
  return Object.prototype.hasOwnProperty.call(req, key) && req[key] !== null && req[key] !== undefined;
}

/** Runs a change; a value the store refuses (too long, empty name) becomes ok=false with its reason. */
async function okUnlessRefused(change: () => Promise<void>): Promise<{ ok: boolean; errorMessage?: string }> {
  try {
    await change();
    return { ok: true };
  } catch (err) {
    if (isStorageError(err, 'INVALID_ARGUMENT')) return { ok: false, errorMessage: err.message };
    throw err;
  }
}

/**
 * Adds and removes friends of user_id, both sides at once. Every id must be a known user other
 * than user_id, or nothing changes (ok=false). Answers which friendships were created or ended.
 */
export async function updateFriends(store: Store, users: KnownUsers, userId: number, req: IM.DbProxy.IFriendUpdateReq): Promise<IM.DbProxy.IFriendUpdateRsp> {
  const adds = req.add ?? [];
  const removes = req.remove ?? [];
  if (adds.length + removes.length > MAX_FRIEND_CHANGES) return { ok: false, errorMessage: `at most ${MAX_FRIEND_CHANGES} friends per update` };
  const ids = [...new Set([...adds.map((a) => a.friendId ?? 0), ...removes])];
  if (ids.includes(userId)) return { ok: false, errorMessage: 'a user cannot be their own friend' };
  const known = await Promise.all(ids.map((id) => (id > 0 ? users.exists(id) : false)));
  const unknown = ids.filter((_, i) => !known[i]);
  if (unknown.length > 0) return { ok: false, errorMessage: `no such user: ${unknown.join(', ')}` };
  const tooLong = adds.find((a) => [...(a.remark ?? '')].length > 255);
  if (tooLong) return { ok: false, errorMessage: `remark for ${tooLong.friendId} is longer than 255 characters` };

  const addedIds: number[] = [];
  const removedIds: number[] = [];
  for (const a of adds) {
    if ((await store.friends.add(userId, a.friendId!, a.remark ?? '')) && !addedIds.includes(a.friendId!)) addedIds.push(a.friendId!);
  }
  for (const id of new Set(removes)) {
    if (await store.friends.remove(userId, id)) removedIds.push(id);
  }
  return { ok: true, addedIds, removedIds };
}

/** user_id's friends changed at or after `since` (seconds; 0: every current friend), and the time to ask from next. */
export async function friendsSince(store: Store, userId: number, since: number): Promise<IM.DbProxy.IFriendSyncRsp> {
  // Read the clock first: a change in this same second is seen again by the next sync (>= now), never missed.
  const now = nowSeconds();
  const rows = await store.friends.since(userId, since);
  return {
    friends: rows.map((f) => ({ friendId: f.friendId, remark: f.remark, deleted: f.status !== 0, updated: f.updated })),
    now,
  };
}

/** Sets (or with an empty value removes) user_id's attribute about a known user. */
export async function setUserAttribute(store: Store, users: KnownUsers, req: IM.DbProxy.IUserAttribute): Promise<void> {
  const targetId = req.targetId ?? 0;
  if (!targetId || !(await users.exists(targetId))) throw RpcError.notFound(`no user ${targetId}`);
  await store.userAttributes.set(req.userId!, targetId, req.name ?? '', req.value ?? '');
}

export async function userAttributes(store: Store, userId: number): Promise<IM.DbProxy.IUserAttributeList> {
  const rows = await store.userAttributes.list(userId);
  return { attributes: rows.map((a) => ({ userId: a.userId, targetId: a.targetId, name: a.name, value: a.value })) };
}

/**
 * Sets (or with an empty value removes) user_id's attribute of a conversation: a single chat with
 * a known user, or a group they are a member of. "mute" on a group also sets or clears the
 * member's TeamTalk group shield, so TeamTalk clients and push_server's group check agree.
 */
export async function setSessionAttribute(store: Store, users: KnownUsers, userId: number, req: IM.DbProxy.ISessionAttrSetReq): Promise<IM.DbProxy.ISessionAttrSetRsp> {
  const type = req.conversation?.sessionType;
  const peerId = req.conversation?.peerId ?? 0;
  if (type !== SessionType.SINGLE && type !== SessionType.GROUP) throw RpcError.invalidArgument(`unknown session_type ${type}`);
  if (!peerId) throw RpcError.invalidArgument('conversation.peer_id is required');
  const session: SessionRef = { sessionType: type, peerId };
  const name = req.name ?? '';
  const value = req.value ?? '';
  if (type === SessionType.SINGLE) {
    if (!(await users.exists(peerId))) return { ok: false, errorMessage: `no user ${peerId}` };
    return okUnlessRefused(() => store.sessionAttributes.set(userId, session, name, value));
  }
  const member = await store.groups.isMember(peerId, userId);
  if (!member) return { ok: false, errorMessage: `user ${userId} is not a member of group ${peerId}` };
  const rsp = await okUnlessRefused(() => store.sessionAttributes.set(userId, session, name, value));
  if (rsp.ok && name === MUTE_ATTRIBUTE) {
    const shield = isMuteOn(value) ? 1 : 0;
    // Only a real change: setShield bumps the group version, which makes every TeamTalk client refetch.
    if ((await store.groups.member(peerId, userId))?.shieldStatus !== shield) await store.groups.setShield(peerId, userId, shield);
  }
  return rsp;
}

export function toUserProfile(u: User): IM.DbProxy.IUserProfile {
  return { userId: u.id, name: u.name, nick: u.nick, avatar: u.avatar, phone: u.phone, birthdayMs: u.birthdayMs };
}

/** Profiles of the known users among user_ids, by id. */
export async function userProfiles(store: Store, userIds: readonly number[]): Promise<IM.DbProxy.IUserProfilesRsp> {
  if (userIds.length > MAX_PROFILES) throw RpcError.invalidArgument(`at most ${MAX_PROFILES} users per call`);
  const ids = userIds.filter((id) => Number.isInteger(id) && id > 0);
  return { profiles: (await store.users.findByIds(ids)).map(toUserProfile) };
}

/** Changes the profile fields the request carries (nick, avatar, phone, birthday) of user_id itself. */
export async function updateUserProfile(store: Store, users: KnownUsers, userId: number, req: IM.DbProxy.IUserProfileUpdateReq): Promise<IM.DbProxy.IUserProfileUpdateRsp> {
  if (!(await users.exists(userId))) return { ok: false, errorMessage: `no user ${userId}` };
  const patch: UserPatch = {};
  if (has(req, 'nick')) patch.nick = req.nick!;
  if (has(req, 'avatar')) patch.avatar = req.avatar!;
  if (has(req, 'phone')) patch.phone = req.phone!;
  if (has(req, 'birthdayMs')) patch.birthdayMs = Number(req.birthdayMs);
  if (Object.keys(patch).length === 0) return { ok: true };
  return okUnlessRefused(async () => {
    await store.users.update(userId, patch);
  });
}
