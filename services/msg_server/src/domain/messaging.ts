import { IM } from '@tt/proto';

const { MsgType, SessionType } = IM.BaseDefine;

const SINGLE_TYPES = new Set<number>([MsgType.MSG_TYPE_SINGLE_TEXT, MsgType.MSG_TYPE_SINGLE_AUDIO]);
const GROUP_TYPES = new Set<number>([MsgType.MSG_TYPE_GROUP_TEXT, MsgType.MSG_TYPE_GROUP_AUDIO]);

export function sessionTypeOf(msgType: number): number | undefined {
  if (SINGLE_TYPES.has(msgType)) return SessionType.SESSION_TYPE_SINGLE;
  if (GROUP_TYPES.has(msgType)) return SessionType.SESSION_TYPE_GROUP;
  return undefined;
}

/**
 * Why a message from `senderId` must be discarded, or undefined if it may be
 * stored. TeamTalk discards these silently (no ack); so do we, with a log line.
 */
export function rejectionOf(senderId: number, msg: IM.Message.IIMMsgData): string | undefined {
  const sessionType = sessionTypeOf(msg.msgType ?? 0);
  if (sessionType === undefined) return `unknown msg_type ${msg.msgType}`;
  if (!msg.msgData || msg.msgData.length === 0) return 'empty msg_data';
  if (!msg.toSessionId) return 'no to_session_id';
  if (sessionType === SessionType.SESSION_TYPE_SINGLE && msg.toSessionId === senderId) return 'message to oneself';
  return undefined;
}
