import { encodePdu } from '@tt/codec';
import { IM } from '@tt/proto';
import type { CommandRouter } from '../command-router';
import type { MsgServerContext } from '../context';

const { SwitchServiceCmdID, ServiceID } = IM.BaseDefine;

/** Largest opaque P2P command forwarded (typing notices and the like are tiny). */
export const MAX_P2P_BYTES = 64 * 1024;

export function registerSwitchHandlers(router: CommandRouter, ctx: MsgServerContext): void {
  // Client-to-client commands ("typing…"): forwarded to the peer's connections, never stored.
  router.on(SwitchServiceCmdID.CID_SWITCH_P2P_CMD, 'p2p', IM.SwitchService.IMP2PCmdMsg, async ({ conn }, msg) => {
    if (!msg.toUserId || msg.toUserId === conn.userId || Buffer.byteLength(msg.cmdMsgData) > MAX_P2P_BYTES) {
      ctx.metrics.pdusDropped.inc({ reason: 'bad_p2p' });
      return;
    }
    const body = IM.SwitchService.IMP2PCmdMsg.encode({ fromUserId: conn.userId, toUserId: msg.toUserId, cmdMsgData: msg.cmdMsgData }).finish();
    await ctx.delivery.toUsers([msg.toUserId], encodePdu(ServiceID.SID_SWITCH_SERVICE, SwitchServiceCmdID.CID_SWITCH_P2P_CMD, 0, body));
  });
}
