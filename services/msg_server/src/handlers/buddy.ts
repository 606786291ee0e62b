import { IM } from '@tt/proto';
import type { CommandRouter } from '../command-router';
import type { MsgServerContext } from '../context';

const { BuddyListCmdID } = IM.BaseDefine;

/** Largest user list one request may ask about. */
export const MAX_USER_LIST = 2000;

export function registerBuddyHandlers(router: CommandRouter, ctx: MsgServerContext): void {
  router.on(BuddyListCmdID.CID_BUDDY_LIST_USERS_STATUS_REQUEST, 'users_stat', IM.Buddy.IMUsersStatReq, ({ conn, reply }, req) => {
    const userStatList = [...new Set(req.userIdList)].slice(0, MAX_USER_LIST).map((userId) => ({ userId, status: ctx.cluster.statusOf(userId) }));
    reply(BuddyListCmdID.CID_BUDDY_LIST_USERS_STATUS_RESPONSE, IM.Buddy.IMUsersStatRsp, { userId: conn.userId, userStatList, attachData: req.attachData });
  });
}
