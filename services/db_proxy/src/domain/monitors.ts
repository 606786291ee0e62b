import { IM } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import { GroupStatus, type MonitorEntry, type MonitoredSession, type Store } from '@tt/storage';
import type { KnownUsers } from './users';

const { SessionType } = IM.BaseDefine;
const { MonitorResult } = IM.DbProxy;

/** Most log lines one answer carries. */
export const MAX_MONITOR_LOG = 1000;

/**
 * The request's monitored session, checked for shape: single chat (1, a, b) with 0 < a < b;
 * group (2, group, 0).
 */
export function requireMonitoredSession(s: IM.DbProxy.IMonitoredSession | null | undefined): MonitoredSession {
  const sessionType = s?.sessionType ?? 0;
  const idA = s?.idA ?? 0;
  const idB = s?.idB ?? 0;
  if (sessionType === SessionType.SESSION_TYPE_SINGLE) {
    if (idA === 0 || idA >= idB) throw RpcError.invalidArgument('a single session is (1, lower user id, higher user id), both above 0');
  } else if (sessionType === SessionType.SESSION_TYPE_GROUP) {
    if (idA === 0 || idB !== 0) throw RpcError.invalidArgument('a group session is (2, group id, 0)');
  } else throw RpcError.invalidArgument(`unknown session_type ${sessionType}`);
  return { sessionType, idA, idB };
}

/** True when the session names existing users, or an existing group that is not dismissed. */
async function sessionExists(store: Store, users: KnownUsers, s: MonitoredSession): Promise<boolean> {
  if (s.sessionType === SessionType.SESSION_TYPE_SINGLE) return (await users.exists(s.idA)) && (await users.exists(s.idB));
  const group = await store.groups.findById(s.idA);
  return !!group && group.status === GroupStatus.ACTIVE;
}

/** An operator grants or revokes the monitor permission (revoking also stops the user's monitors). */
export async function grantMonitor(store: Store, users: KnownUsers, userId: number, granted: boolean, by: string): Promise<void> {
  if (!(await users.exists(userId))) throw RpcError.notFound(`user ${userId} does not exist`);
  if (granted) await store.monitors.grant(userId, by);
  else await store.monitors.revoke(userId, by);
}

/**
 * Starts or stops the user's monitoring of a session. Without the permission: NO_PERMISSION. A
 * session naming an unknown user or a missing / dismissed group: NOT_FOUND (a stop of something the
 * user does monitor always works, so a dismissed group can still be let go).
 */
export async function changeMonitor(store: Store, users: KnownUsers, userId: number, session: MonitoredSession, start: boolean): Promise<IM.DbProxy.IMonitorRsp> {
  if (!(await store.monitors.isGranted(userId))) return { result: MonitorResult.MONITOR_NO_PERMISSION, changed: false };
  if (!start && (await store.monitors.stop(userId, session))) return { result: MonitorResult.MONITOR_OK, changed: true };
  if (!(await sessionExists(store, users, session))) return { result: MonitorResult.MONITOR_NOT_FOUND, changed: false };
  return { result: MonitorResult.MONITOR_OK, changed: start ? await store.monitors.start(userId, session) : false };
}

const toEntry = (e: MonitorEntry): IM.DbProxy.IMonitorEntry => ({ userId: e.userId, session: e.session, started: e.started });

/** The sessions the user monitors; with user 0 every active monitor and the users holding the permission. */
export async function listMonitors(store: Store, userId: number): Promise<IM.DbProxy.IMonitorListRsp> {
  if (userId === 0) {
    const all = await store.monitors.listAll();
    return { entries: all.entries.map(toEntry), grantedUserIds: all.grantedUserIds };
  }
  return { entries: (await store.monitors.listFor(userId)).map(toEntry), grantedUserIds: [] };
}

/** The record of grants, revokes, starts and stops, newest first (user 0: everyone's). */
export async function monitorLog(store: Store, userId: number, limit: number): Promise<IM.DbProxy.IMonitorLogRsp> {
  const entries = await store.monitors.log(userId, Math.min(limit, MAX_MONITOR_LOG));
  return {
    entries: entries.map((e) => {
      const entry: IM.DbProxy.IMonitorLogEntry = { userId: e.userId, action: e.action, by: e.by, at: e.at };
      if (e.session) entry.session = e.session;
      return entry;
    }),
  };
}
