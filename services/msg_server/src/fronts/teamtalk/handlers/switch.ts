import { encodePdu } from '@tt/codec';
import { IM } from '@tt/proto';
import type { CommandRouter } from '../../../command-router';
import type { MsgServerContext } from '../../../context';
import { frontPayload } from '../../front';
import { typingStatusOf } from '../front';

const { SwitchServiceCmdID, ServiceID, SessionType } = IM.BaseDefine;

/** Largest opaque P2P command forwarded (typing notices and the like are tiny). */
export const MAX_P2P_BYTES = 64 * 1024;

export function registerSwitchHandlers(router: CommandRouter, ctx: MsgServerContext): void {
  // Client-to-client commands, never stored. Typing is the core's (other
  // protocols' clients see it too; TeamTalk peers get the command as sent);
  // any other command is forwarded to the peer's TeamTalk connections.
  router.on(SwitchServiceCmdID.CID_SWITCH_P2P_CMD, 'p2p', IM.SwitchService.IMP2PCmdMsg, async ({ conn }, msg) => {
    if (!msg.toUserId || msg.toUserId === conn.userId || Buffer.byteLength(msg.cmdMsgData) > MAX_P2P_BYTES) {
      ctx.metrics.pdusDropped.inc({ reason: 'bad_p2p' });
      return;
    }
    const typing = typingStatusOf(msg.cmdMsgData);
    if (typing !== undefined) {
      await ctx.core.typing(conn, { sessionType: SessionType.SESSION_TYPE_SINGLE, toId: msg.toUserId, status: typing, teamtalkCmdMsgData: msg.cmdMsgData });
      return;
    }
    const body = IM.SwitchService.IMP2PCmdMsg.encode({ fromUserId: conn.userId, toUserId: msg.toUserId, cmdMsgData: msg.cmdMsgData }).finish();
    await ctx.delivery.toUsers([msg.toUserId], frontPayload('teamtalk', encodePdu(ServiceID.SID_SWITCH_SERVICE, SwitchServiceCmdID.CID_SWITCH_P2P_CMD, 0, body)));
  });
}
