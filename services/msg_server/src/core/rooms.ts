import { IM } from '@tt/proto';

/**
 * Chat rooms in the core: session type 3 (not one of TeamTalk's), msg_type
 * 0x21 text / 0x22 voice. Rooms are read fan-out: a message is stored once
 * (a bounded history), delivered to the members online now, never counted
 * as unread, never pushed, and gets no sync seqs.
 */
export const ROOM_SESSION_TYPE = 3;
export const ROOM_MSG_TYPE = { TEXT: 0x21, AUDIO: 0x22 } as const;

export function isRoomSession(sessionType: number | null | undefined): boolean {
  return sessionType === ROOM_SESSION_TYPE;
}

export function isRoomMsgType(msgType: number): boolean {
  return msgType === ROOM_MSG_TYPE.TEXT || msgType === ROOM_MSG_TYPE.AUDIO;
}

/** A room's message type for content of this kind. */
export function roomMsgType(kind: number): number {
  return kind === IM.Core.ContentKind.CONTENT_VOICE ? ROOM_MSG_TYPE.AUDIO : ROOM_MSG_TYPE.TEXT;
}
