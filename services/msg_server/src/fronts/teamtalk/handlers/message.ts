import { IM } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import { clip } from '@tt/observability';
import type { CommandRouter } from '../../../command-router';
import type { MsgServerContext } from '../../../context';
import { rejectionOf, sessionTypeOf } from '../../../domain/messaging';
import { teamTalkMsgType } from '../../../core/content';

const { MessageCmdID, BuddyListCmdID } = IM.BaseDefine;

/** Largest page of history one request may ask for. */
export const MAX_MSG_LIST_COUNT = 100;
/** Largest list of msg_ids in one IMGetMsgByIdReq. */
export const MAX_MSG_ID_LIST = 100;

/** What TeamTalk clients see instead of a recalled message (TeamTalk has no recall of its own). */
export const RECALLED_PLACEHOLDER = '[This message was recalled]';

export function registerMessageHandlers(router: CommandRouter, ctx: MsgServerContext): void {
  /** db_proxy returns recalled messages with empty content: a placeholder text in their place. */
  const showRecalled = (list: IM.BaseDefine.IMsgInfo[], sessionType: number) => {
    for (const m of list) {
      if (m.msgData && m.msgData.length > 0) continue;
      m.msgData = ctx.content.teamTalkText(RECALLED_PLACEHOLDER);
      m.msgType = teamTalkMsgType(IM.Core.ContentKind.CONTENT_TEXT, sessionType);
    }
  };

  // Pipelined: a client's next message is taken while this one is being
  // stored (a burst goes to db_proxy in one call); the store keeps one
  // connection's messages, their ids and their acks in order.
  router.on(MessageCmdID.CID_MSG_DATA, 'msg_data', IM.Message.IMMsgData, async ({ conn, reply }, msg) => {
    const senderId = conn.userId;
    const rejection = rejectionOf(senderId, msg);
    if (rejection) {
      ctx.metrics.messagesRejected.inc({ reason: rejection.split(' ')[0] });
      ctx.logThrottle.info(`user:${senderId}`, 'message_discarded', { userId: senderId, to: msg.toSessionId, why: rejection }, 'message discarded');
      return;
    }
    if (!ctx.messageLimiter.tryTake(senderId)) {
      ctx.metrics.messagesRejected.inc({ reason: 'rate' });
      // One flooding user writes one line a window, and the count; the metric has every message.
      ctx.logThrottle.warn(`user:${senderId}`, 'rate_limited', { userId: senderId, to: msg.toSessionId }, 'message dropped: over the rate limit');
      return;
    }
    const outgoing = {
      sessionType: sessionTypeOf(msg.msgType)!,
      toId: msg.toSessionId,
      msgType: msg.msgType,
      content: msg.msgData,
      teamtalkAttachData: msg.attachData && msg.attachData.length > 0 ? msg.attachData : undefined,
    };
    try {
      await ctx.core.send(conn, outgoing, (saved) => reply(MessageCmdID.CID_MSG_DATA_ACK, IM.Message.IMMsgDataAck, saved.saved.ack));
    } catch (err) {
      // No ack (TeamTalk has no refusal answer); nothing was committed. A refusal (not a member, a
      // before_send webhook said no, a bad recipient) is the client's doing, not the server's: no error log.
      if (err instanceof RpcError && REFUSALS.has(err.code)) {
        ctx.metrics.messagesRejected.inc({ reason: 'refused' });
        ctx.logThrottle.info(`user:${senderId}`, 'message_refused', { userId: senderId, to: msg.toSessionId, why: clip(err.message) }, 'message refused');
        return;
      }
      ctx.metrics.messagesRejected.inc({ reason: 'store' });
      ctx.log.error({ err, userId: senderId, to: msg.toSessionId }, 'message not stored');
    }
  }, { pipelined: true });

  // The receiving client's acknowledgement of a delivery; nothing to store.
  // A receiver acks every delivery of a burst: immediate, so acks never count against the request queue.
  router.on(MessageCmdID.CID_MSG_DATA_ACK, 'msg_data_ack', IM.Message.IMMsgDataAck, () => {}, { immediate: true });

  // Read: the reader's other devices are told (IMMsgDataReadNotify), and in a
  // single chat the peer gets a receipt on fronts that can show one.
  router.on(MessageCmdID.CID_MSG_READ_ACK, 'read_ack', IM.Message.IMMsgDataReadAck, async ({ conn }, req) => {
    await ctx.core.read(conn, { sessionType: req.sessionType, peerId: req.sessionId, upToMsgId: req.msgId });
  });

  router.on(MessageCmdID.CID_MSG_TIME_REQUEST, 'time', IM.Message.IMClientTimeReq, ({ reply }) => {
    reply(MessageCmdID.CID_MSG_TIME_RESPONSE, IM.Message.IMClientTimeRsp, { serverTime: ctx.nowSeconds() });
  });

  router.on(MessageCmdID.CID_MSG_UNREAD_CNT_REQUEST, 'unread_cnt', IM.Message.IMUnreadMsgCntReq, async ({ conn, reply }, req) => {
    const rsp = await ctx.db.getUnreadCount({ userId: conn.userId, attachData: req.attachData });
    reply(MessageCmdID.CID_MSG_UNREAD_CNT_RESPONSE, IM.Message.IMUnreadMsgCntRsp, rsp);
  });

  router.on(MessageCmdID.CID_MSG_LIST_REQUEST, 'msg_list', IM.Message.IMGetMsgListReq, async ({ conn, reply }, req) => {
    const rsp = await ctx.db.getMsgList({ ...req, userId: conn.userId, msgCnt: Math.min(req.msgCnt, MAX_MSG_LIST_COUNT) });
    showRecalled(rsp.msgList, req.sessionType);
    reply(MessageCmdID.CID_MSG_LIST_RESPONSE, IM.Message.IMGetMsgListRsp, rsp);
  });

  router.on(MessageCmdID.CID_MSG_GET_LATEST_MSG_ID_REQ, 'latest_msg_id', IM.Message.IMGetLatestMsgIdReq, async ({ conn, reply }, req) => {
    const rsp = await ctx.db.getLatestMsgId({ ...req, userId: conn.userId });
    reply(MessageCmdID.CID_MSG_GET_LATEST_MSG_ID_RSP, IM.Message.IMGetLatestMsgIdRsp, rsp);
  });

  router.on(MessageCmdID.CID_MSG_GET_BY_MSG_ID_REQ, 'msg_by_id', IM.Message.IMGetMsgByIdReq, async ({ conn, reply }, req) => {
    const rsp = await ctx.db.getMsgById({ ...req, userId: conn.userId, msgIdList: req.msgIdList.slice(0, MAX_MSG_ID_LIST) });
    showRecalled(rsp.msgList, req.sessionType);
    reply(MessageCmdID.CID_MSG_GET_BY_MSG_ID_RES, IM.Message.IMGetMsgByIdRsp, rsp);
  });

  router.on(BuddyListCmdID.CID_BUDDY_LIST_RECENT_CONTACT_SESSION_REQUEST, 'recent_sessions', IM.Buddy.IMRecentContactSessionReq, async ({ conn, reply }, req) => {
    const rsp = await ctx.db.getRecentSessions({ ...req, userId: conn.userId });
    reply(BuddyListCmdID.CID_BUDDY_LIST_RECENT_CONTACT_SESSION_RESPONSE, IM.Buddy.IMRecentContactSessionRsp, rsp);
  });

  router.on(BuddyListCmdID.CID_BUDDY_LIST_USER_INFO_REQUEST, 'users_info', IM.Buddy.IMUsersInfoReq, async ({ conn, reply }, req) => {
    const rsp = await ctx.db.getUsersInfo({ ...req, userId: conn.userId, userIdList: req.userIdList.slice(0, 1000) });
    reply(BuddyListCmdID.CID_BUDDY_LIST_USER_INFO_RESPONSE, IM.Buddy.IMUsersInfoRsp, rsp);
  });

}

/** gRPC codes db_proxy refuses a message with (INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED). */
const REFUSALS = new Set([3, 5, 7]);
