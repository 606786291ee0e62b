import { encodePdu } from '@tt/codec';
import { frontPayload } from '../../front';
import { IM } from '@tt/proto';
import type { CommandRouter } from '../../../command-router';
import type { MsgServerContext } from '../../../context';

const { BuddyListCmdID, ServiceID } = IM.BaseDefine;
/** Buddy-list notifies exist in TeamTalk only: an event for the TeamTalk front. */
const buddyPdu = (commandId: number, body: Uint8Array) => frontPayload('teamtalk', encodePdu(ServiceID.SID_BUDDY_LIST, commandId, 0, body));

/** Largest user list one request may ask about. */
export const MAX_USER_LIST = 2000;

export function registerBuddyHandlers(router: CommandRouter, ctx: MsgServerContext): void {
  router.on(BuddyListCmdID.CID_BUDDY_LIST_USERS_STATUS_REQUEST, 'users_stat', IM.Buddy.IMUsersStatReq, ({ conn, reply }, req) => {
    const userStatList = [...new Set(req.userIdList)].slice(0, MAX_USER_LIST).map((userId) => ({ userId, status: ctx.cluster.statusOf(userId) }));
    reply(BuddyListCmdID.CID_BUDDY_LIST_USERS_STATUS_RESPONSE, IM.Buddy.IMUsersStatRsp, { userId: conn.userId, userStatList, attachData: req.attachData });
  });

  router.on(BuddyListCmdID.CID_BUDDY_LIST_ALL_USER_REQUEST, 'all_user', IM.Buddy.IMAllUserReq, async ({ conn, reply }, req) => {
    const rsp = await ctx.db.getAllUsers({ userId: conn.userId, latestUpdateTime: req.latestUpdateTime, attachData: req.attachData });
    reply(BuddyListCmdID.CID_BUDDY_LIST_ALL_USER_RESPONSE, IM.Buddy.IMAllUserRsp, { ...rsp, attachData: req.attachData });
  });

  router.on(BuddyListCmdID.CID_BUDDY_LIST_DEPARTMENT_REQUEST, 'department', IM.Buddy.IMDepartmentReq, async ({ conn, reply }, req) => {
    const rsp = await ctx.db.getDepartments({ userId: conn.userId, latestUpdateTime: req.latestUpdateTime, attachData: req.attachData });
    reply(BuddyListCmdID.CID_BUDDY_LIST_DEPARTMENT_RESPONSE, IM.Buddy.IMDepartmentRsp, { ...rsp, attachData: req.attachData });
  });

  router.on(BuddyListCmdID.CID_BUDDY_LIST_REMOVE_SESSION_REQ, 'remove_session', IM.Buddy.IMRemoveSessionReq, async ({ conn, reply }, req) => {
    const rsp = await ctx.db.removeSession({ ...req, userId: conn.userId });
    reply(BuddyListCmdID.CID_BUDDY_LIST_REMOVE_SESSION_RES, IM.Buddy.IMRemoveSessionRsp, rsp);
    if (rsp.resultCode === 0) {
      const notify = IM.Buddy.IMRemoveSessionNotify.encode({ userId: conn.userId, sessionType: req.sessionType, sessionId: req.sessionId }).finish();
      await ctx.delivery.toUsers([conn.userId], buddyPdu(BuddyListCmdID.CID_BUDDY_LIST_REMOVE_SESSION_NOTIFY, notify), conn.id);
    }
  });

  router.on(BuddyListCmdID.CID_BUDDY_LIST_CHANGE_AVATAR_REQUEST, 'change_avatar', IM.Buddy.IMChangeAvatarReq, async ({ conn, reply }, req) => {
    const { rsp } = await ctx.db.changeAvatar({ userId: conn.userId, avatarUrl: req.avatarUrl, attachData: req.attachData });
    reply(BuddyListCmdID.CID_BUDDY_LIST_CHANGE_AVATAR_RESPONSE, IM.Buddy.IMChangeAvatarRsp, rsp);
    if (rsp.resultCode === 0) {
      const notify = IM.Buddy.IMAvatarChangedNotify.encode({ changedUserId: conn.userId, avatarUrl: req.avatarUrl }).finish();
      ctx.delivery.broadcast(buddyPdu(BuddyListCmdID.CID_BUDDY_LIST_AVATAR_CHANGED_NOTIFY, notify), conn.id);
    }
  });

  router.on(BuddyListCmdID.CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST, 'change_sign_info', IM.Buddy.IMChangeSignInfoReq, async ({ conn, reply }, req) => {
    const { rsp } = await ctx.db.changeSignInfo({ userId: conn.userId, signInfo: req.signInfo, attachData: req.attachData });
    reply(BuddyListCmdID.CID_BUDDY_LIST_CHANGE_SIGN_INFO_RESPONSE, IM.Buddy.IMChangeSignInfoRsp, rsp);
    if (rsp.resultCode === 0) {
      const notify = IM.Buddy.IMSignInfoChangedNotify.encode({ changedUserId: conn.userId, signInfo: req.signInfo }).finish();
      ctx.delivery.broadcast(buddyPdu(BuddyListCmdID.CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY, notify), conn.id);
    }
  });
}
