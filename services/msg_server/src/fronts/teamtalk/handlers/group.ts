import { encodePdu } from '@tt/codec';
import { frontPayload } from '../../front';
import { IM } from '@tt/proto';
import type { CommandRouter } from '../../../command-router';
import type { MsgServerContext } from '../../../context';

const { GroupCmdID, ServiceID } = IM.BaseDefine;

export function registerGroupHandlers(router: CommandRouter, ctx: MsgServerContext): void {
  router.on(GroupCmdID.CID_GROUP_NORMAL_LIST_REQUEST, 'group_list', IM.Group.IMNormalGroupListReq, async ({ conn, reply }, req) => {
    const rsp = await ctx.db.getNormalGroupList({ userId: conn.userId, attachData: req.attachData });
    reply(GroupCmdID.CID_GROUP_NORMAL_LIST_RESPONSE, IM.Group.IMNormalGroupListRsp, rsp);
  });

  router.on(GroupCmdID.CID_GROUP_INFO_REQUEST, 'group_info', IM.Group.IMGroupInfoListReq, async ({ conn, reply }, req) => {
    const rsp = await ctx.db.getGroupInfo({ userId: conn.userId, groupVersionList: req.groupVersionList, attachData: req.attachData });
    reply(GroupCmdID.CID_GROUP_INFO_RESPONSE, IM.Group.IMGroupInfoListRsp, rsp);
  });

  router.on(GroupCmdID.CID_GROUP_CREATE_REQUEST, 'group_create', IM.Group.IMGroupCreateReq, async ({ conn, reply }, req) => {
    const rsp = await ctx.db.createGroup({ ...req, userId: conn.userId });
    reply(GroupCmdID.CID_GROUP_CREATE_RESPONSE, IM.Group.IMGroupCreateRsp, rsp);
  });

  router.on(GroupCmdID.CID_GROUP_CHANGE_MEMBER_REQUEST, 'group_change_member', IM.Group.IMGroupChangeMemberReq, async ({ conn, reply }, req) => {
    const { rsp, notifyUserIds } = await ctx.db.changeGroupMember({ ...req, userId: conn.userId });
    reply(GroupCmdID.CID_GROUP_CHANGE_MEMBER_RESPONSE, IM.Group.IMGroupChangeMemberRsp, rsp);
    if (rsp.resultCode !== 0 || !rsp.chgUserIdList?.length) return;
    // Every front hears of it as a group change (TeamTalk clients: IMGroupChangeMemberNotify, as before).
    const detail = await ctx.groups.members(0, rsp.groupId).catch(() => undefined);
    if (detail?.group) {
      const added = rsp.changeType === IM.BaseDefine.GroupModifyType.GROUP_MODIFY_TYPE_ADD;
      await ctx.groups.announce(conn, {
        change: added ? IM.Core.GroupChange.GROUP_MEMBERS_ADDED : IM.Core.GroupChange.GROUP_MEMBERS_REMOVED,
        operatorId: conn.userId,
        group: detail.group,
        memberIds: rsp.curUserIdList,
        changedIds: rsp.chgUserIdList,
      });
      return;
    }
    const notify = IM.Group.IMGroupChangeMemberNotify.encode({
      userId: conn.userId,
      changeType: rsp.changeType,
      groupId: rsp.groupId,
      curUserIdList: rsp.curUserIdList,
      chgUserIdList: rsp.chgUserIdList,
    }).finish();
    await ctx.delivery.toUsers(notifyUserIds, frontPayload('teamtalk', encodePdu(ServiceID.SID_GROUP, GroupCmdID.CID_GROUP_CHANGE_MEMBER_NOTIFY, 0, notify)), conn.id);
  });

  router.on(GroupCmdID.CID_GROUP_SHIELD_GROUP_REQUEST, 'group_shield', IM.Group.IMGroupShieldReq, async ({ conn, reply }, req) => {
    const rsp = await ctx.db.setGroupShield({ ...req, userId: conn.userId });
    reply(GroupCmdID.CID_GROUP_SHIELD_GROUP_RESPONSE, IM.Group.IMGroupShieldRsp, rsp);
  });
}
