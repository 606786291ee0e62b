import { IM } from '@tt/proto';
import type { ClientConnection } from '../connection';
import type { MsgServerContext } from '../context';
import { CLIENT_TYPE_WEB, isMobileClient } from '../domain/client-type';

/**
 * A client of a string-id front has proven who it is. TeamTalk's rule holds
 * across protocols: one PC and one phone connection per user, a new one kicks
 * the older of its kind, and web clients (browser tabs, MSync devices) never
 * kick nor are kicked. Then the connection is bound to its user and shown
 * online.
 */
export function admitClient(ctx: MsgServerContext, conn: ClientConnection, clientType: number): void {
  if (clientType !== CLIENT_TYPE_WEB) {
    const mobile = isMobileClient(clientType);
    ctx.kicker.kickUser(conn.userId, (other) => other !== CLIENT_TYPE_WEB && isMobileClient(other) === mobile, IM.BaseDefine.KickReasonType.KICK_REASON_DUPLICATE_USER, conn);
  }
  ctx.registry.bindUser(conn);
  ctx.presence.online(conn);
  ctx.metrics.logins.inc({ result: '0' });
  ctx.metrics.loggedIn.set(ctx.registry.loggedInCount);
}

/** The user's newest sync seq for a login answer; 0 (and a warning) when db_proxy cannot say. */
export async function maxSeqForLogin(ctx: MsgServerContext, conn: ClientConnection, front: string): Promise<number> {
  try {
    return await ctx.core.maxSeq(conn.userId);
  } catch (err) {
    ctx.log.warn({ err, userId: conn.userId, front }, 'login: max seq unknown');
    return 0;
  }
}
