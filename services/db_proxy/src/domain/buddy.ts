import { IM } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import type { Store } from '@tt/storage';
import { toUserInfo } from './users';

const { SessionType } = IM.BaseDefine;

/** Longest avatar URL and signature accepted (the columns hold 255). */
export const MAX_PROFILE_TEXT = 255;

type UserListSince = { latest: number; userList: IM.BaseDefine.IUserInfo[] };
/** Per store: the user lists being read right now, by the time they start from. */
const listsInFlight = new WeakMap<Store, Map<number, Promise<UserListSince>>>();

/**
 * The users changed since `since`. Every PC client asks this right after it
 * logs in (a first login: the whole organisation), so in a login storm many
 * ask the same at once: those that ask while a read is under way share it
 * (the answer any of them would get at that instant) instead of each reading
 * the whole table. A request after the read is done reads again.
 */
function userListSince(store: Store, since: number): Promise<UserListSince> {
  let lists = listsInFlight.get(store);
  if (!lists) listsInFlight.set(store, (lists = new Map()));
  let list = lists.get(since);
  if (!list) {
    const reading = store.users.listChangedSince(since).then((users) => ({ latest: users.reduce((max, u) => Math.max(max, u.updated), since), userList: users.map(toUserInfo) }));
    list = reading.finally(() => lists.delete(since));
    lists.set(since, list);
  }
  return list;
}

/** Users changed since the client's time, and the time to ask from next. */
export async function allUsersSince(store: Store, userId: number, since: number): Promise<IM.Buddy.IIMAllUserRsp> {
  const { latest, userList } = await userListSince(store, since);
  return { userId, latestUpdateTime: latest, userList };
}

export async function departmentsSince(store: Store, userId: number, since: number): Promise<IM.Buddy.IIMDepartmentRsp> {
  const depts = await store.departments.listChangedSince(since);
  const latest = depts.reduce((max, d) => Math.max(max, d.updated), since);
  return {
    userId,
    latestUpdateTime: latest,
    deptList: depts.map((d) => ({ deptId: d.id, priority: d.priority, deptName: d.name, parentDeptId: d.parentId, deptStatus: d.status })),
  };
}

export async function removeSession(store: Store, req: IM.Buddy.IIMRemoveSessionReq): Promise<IM.Buddy.IIMRemoveSessionRsp> {
  if (req.sessionType !== SessionType.SESSION_TYPE_SINGLE && req.sessionType !== SessionType.SESSION_TYPE_GROUP) throw RpcError.invalidArgument(`unknown session_type ${req.sessionType}`);
  await store.sessions.remove(req.userId!, req.sessionType, req.sessionId!);
  return { userId: req.userId, resultCode: 0, sessionType: req.sessionType, sessionId: req.sessionId, attachData: req.attachData };
}

export async function changeProfileText(store: Store, userId: number, field: 'avatar' | 'signInfo', value: string): Promise<number> {
  if (Buffer.byteLength(value, 'utf8') > MAX_PROFILE_TEXT) return 1;
  await store.users.update(userId, { [field]: value });
  return 0;
}
