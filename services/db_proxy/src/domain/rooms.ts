import { IM } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import { SessionType as StoredSessionType, type RoomInfo, type Store } from '@tt/storage';
import type { CheckedMessage } from './messages';
import { toCoreMessage } from './messages';

const { RoomJoinResult } = IM.DbProxy;

/** msg_type of chat-room messages (the core's own; TeamTalk has single 0x01/0x02 and group 0x11/0x12). */
export const ROOM_MSG_TYPE = { TEXT: 0x21, AUDIO: 0x22 } as const;
/** Largest room history page. */
export const MAX_ROOM_PAGE = 100;

export function isRoomMsgType(msgType: number): boolean {
  return msgType === ROOM_MSG_TYPE.TEXT || msgType === ROOM_MSG_TYPE.AUDIO;
}

export function roomInfo(r: RoomInfo): IM.DbProxy.IRoomInfo {
  return { roomId: r.id, name: r.name, creatorId: r.creatorId, maxMembers: r.maxMembers, memberCount: r.memberCount };
}

/** A message to a room from one of its members: stored once, delivered to the current members. */
export async function checkRoomMessage(store: Store, msg: IM.Message.IIMMsgData): Promise<CheckedMessage> {
  const from = msg.fromUserId ?? 0;
  const roomId = msg.toSessionId ?? 0;
  if (!isRoomMsgType(msg.msgType ?? 0)) throw RpcError.invalidArgument(`msg_type ${msg.msgType} is not a room type`);
  if (!from || !roomId) throw RpcError.invalidArgument('sender and room are required');
  if (!msg.msgData || msg.msgData.length === 0) throw RpcError.invalidArgument('empty msg_data');
  const members = await store.rooms.memberIds(roomId);
  if (!members.includes(from)) throw RpcError.permissionDenied(`user ${from} is not in room ${roomId}`);
  return {
    message: {
      sessionType: StoredSessionType.ROOM,
      fromUserId: from,
      toId: roomId,
      msgType: msg.msgType!,
      data: msg.msgData,
      createTime: msg.createTime ?? Math.floor(Date.now() / 1000),
    },
    recipientIds: members,
  };
}

export async function joinRoom(store: Store, userId: number, roomId: number): Promise<IM.DbProxy.IJoinRoomRsp> {
  const { result, room } = await store.rooms.join(roomId, userId);
  const code = { joined: RoomJoinResult.ROOM_JOINED, already_member: RoomJoinResult.ROOM_ALREADY_MEMBER, full: RoomJoinResult.ROOM_FULL, not_found: RoomJoinResult.ROOM_NOT_FOUND }[result];
  const memberIds = result === 'joined' ? await store.rooms.memberIds(roomId) : [];
  return { result: code, room: room ? roomInfo(room) : undefined, memberIds };
}

export async function leaveRoom(store: Store, userId: number, roomId: number): Promise<IM.DbProxy.ILeaveRoomRsp> {
  const left = await store.rooms.leave(roomId, userId);
  return { left, memberIds: left ? await store.rooms.memberIds(roomId) : [] };
}

export async function listRooms(store: Store, userId: number): Promise<IM.DbProxy.IListRoomsRsp> {
  const rooms = userId ? await store.rooms.roomsOf(userId) : await store.rooms.list();
  return { rooms: rooms.map(roomInfo) };
}

/** The kept history of a room, for its members only. */
export async function roomHistory(store: Store, req: IM.DbProxy.IRoomHistoryReq): Promise<IM.DbProxy.IRoomHistoryRsp> {
  const userId = req.userId!;
  const roomId = req.roomId!;
  if (!(await store.rooms.isMember(roomId, userId))) throw RpcError.permissionDenied(`user ${userId} is not in room ${roomId}`);
  const limit = Math.min(Math.max(req.limit ?? 0, 1), MAX_ROOM_PAGE);
  const before = req.beforeMsgId ?? 0;
  if (before === 1) return { messages: [] }; // nothing is older than the first
  const messages = await store.messages.listMessages(StoredSessionType.ROOM, userId, roomId, { msgIdBegin: before > 1 ? before - 1 : 0, count: limit });
  return { messages: messages.map((m) => toCoreMessage(StoredSessionType.ROOM, m)) };
}
