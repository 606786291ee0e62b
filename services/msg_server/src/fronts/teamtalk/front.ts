import { encodePdu } from '@tt/codec';
import { isRoomSession } from '../../core/rooms';
import { IM } from '@tt/proto';
import type { ClientConnection } from '../../connection';
import { isMobileClient } from '../../domain/client-type';
import type { EventRenderer, Front } from '../front';

const { MessageCmdID, LoginCmdID, OtherCmdID, SwitchServiceCmdID, ServiceID, SessionType } = IM.BaseDefine;

/** TeamTalk's own typing P2P command (its desktop client's ServiceID/CmdID values). */
export const TT_TYPING_SERVICE_ID = 2;
export const TT_TYPING_START = (2 << 16) | 1;
export const TT_TYPING_STOP = (2 << 16) | 2;

export function teamTalkTypingText(status: number): string {
  return JSON.stringify({ ServiceID: TT_TYPING_SERVICE_ID, CmdID: status ? TT_TYPING_START : TT_TYPING_STOP, Content: status ? 'writing' : 'stop writing' });
}

/** The typing status a TeamTalk P2P command stands for, or undefined when it is some other command. */
export function typingStatusOf(cmdMsgData: string): number | undefined {
  if (!cmdMsgData.includes('ServiceID')) return undefined;
  try {
    const cmd = JSON.parse(cmdMsgData) as { ServiceID?: unknown; CmdID?: unknown };
    if (Number(cmd.ServiceID) !== TT_TYPING_SERVICE_ID) return undefined;
    if (Number(cmd.CmdID) === TT_TYPING_START) return 1;
    if (Number(cmd.CmdID) === TT_TYPING_STOP) return 0;
  } catch {
    /* not JSON: an opaque command */
  }
  return undefined;
}

export interface TeamTalkFrontOptions {
  pcIdleTimeoutMs: number;
  mobileIdleTimeoutMs: number;
}

/** TeamTalk clients: 16-byte-header PDUs; events become TeamTalk's own PDUs where TeamTalk has one. */
export class TeamTalkFront implements Front {
  readonly name = 'teamtalk' as const;

  constructor(private readonly options: TeamTalkFrontOptions) {}

  frame(commandId: number, seqNum: number, body: Uint8Array): Buffer {
    return encodePdu(commandId >> 8, commandId, seqNum, body);
  }

  renderer(event: IM.Core.ICoreEvent): EventRenderer | undefined {
    if (event.messageStored) {
      const m = event.messageStored.message!;
      if (isRoomSession(m.sessionType)) return undefined; // TeamTalk has no chat rooms
      const attach = event.messageStored.teamtalkAttachData;
      const body = IM.Message.IMMsgData.encode({
        fromUserId: m.fromUserId,
        toSessionId: m.toId,
        msgId: m.msgId,
        createTime: m.createTime,
        msgType: m.msgType,
        msgData: m.content,
        attachData: attach && attach.length > 0 ? attach : undefined,
      }).finish();
      const pdu = encodePdu(ServiceID.SID_MSG, MessageCmdID.CID_MSG_DATA, 0, body);
      return () => pdu;
    }
    if (event.messageRead) {
      // TeamTalk tells the reader's other devices; it has no receipt for the sender.
      const r = event.messageRead;
      const notify = IM.Message.IMMsgDataReadNotify.encode({ userId: r.readerId, sessionId: r.peerId, msgId: r.msgId, sessionType: r.sessionType }).finish();
      const pdu = encodePdu(ServiceID.SID_MSG, MessageCmdID.CID_MSG_READ_NOTIFY, 0, notify);
      return (viewerId) => (viewerId === r.readerId ? pdu : undefined);
    }
    if (event.typing) {
      const t = event.typing;
      if (t.sessionType !== SessionType.SESSION_TYPE_SINGLE) return undefined;
      const body = IM.SwitchService.IMP2PCmdMsg.encode({ fromUserId: t.userId, toUserId: t.toId, cmdMsgData: t.teamtalkCmdMsgData || teamTalkTypingText(t.status) }).finish();
      const pdu = encodePdu(ServiceID.SID_SWITCH_SERVICE, SwitchServiceCmdID.CID_SWITCH_P2P_CMD, 0, body);
      return (viewerId) => (viewerId === t.userId ? undefined : pdu);
    }
    if (event.groupChanged) {
      // Member changes (a dismissal removes everyone) as TeamTalk's member-change notify; a new
      // owner or new info only bumps the group version, which TeamTalk clients refetch by.
      const g = event.groupChanged;
      const added = g.change === IM.Core.GroupChange.GROUP_MEMBERS_ADDED || g.change === IM.Core.GroupChange.GROUP_CREATED;
      const removed = g.change === IM.Core.GroupChange.GROUP_MEMBERS_REMOVED || g.change === IM.Core.GroupChange.GROUP_DISMISSED;
      if (!added && !removed) return undefined;
      const notify = IM.Group.IMGroupChangeMemberNotify.encode({
        userId: g.operatorId,
        changeType: added ? IM.BaseDefine.GroupModifyType.GROUP_MODIFY_TYPE_ADD : IM.BaseDefine.GroupModifyType.GROUP_MODIFY_TYPE_DEL,
        groupId: g.group!.groupId,
        curUserIdList: g.memberIds ?? [],
        chgUserIdList: g.changedIds ?? [],
      }).finish();
      const pdu = encodePdu(ServiceID.SID_GROUP, IM.BaseDefine.GroupCmdID.CID_GROUP_CHANGE_MEMBER_NOTIFY, 0, notify);
      return () => pdu;
    }
    if (event.frontPayload?.front === this.name) {
      const pdu = Buffer.from(event.frontPayload.payload!);
      return () => pdu;
    }
    // Recalls: TeamTalk has no such notice; its clients see the recall in history. Chat-room
    // membership: TeamTalk has no rooms.
    return undefined;
  }

  kick(conn: ClientConnection, reason: number): void {
    conn.send(LoginCmdID.CID_LOGIN_KICK_USER, IM.Login.IMKickUser, { userId: conn.userId, kickReason: reason });
    conn.close();
  }

  idleLimitMs(conn: ClientConnection): number {
    return conn.identity && isMobileClient(conn.identity.clientType) ? this.options.mobileIdleTimeoutMs : this.options.pcIdleTimeoutMs;
  }

  heartbeat(conn: ClientConnection): void {
    conn.send(OtherCmdID.CID_OTHER_HEARTBEAT, IM.Other.IMHeartBeat, {});
  }
}
