// Which protobuf message travels under which command id (TeamTalk PDU header),
// and the service id that goes with it.
import type { IConversionOptions, Reader, Writer } from 'protobufjs';
import { IM } from '../generated/im';

/** What protobufjs generates for every message: a class with static codecs. */
export interface MessageType<T = any> {
  encode(message: any, writer?: Writer): Writer;
  /** Throws on malformed bytes and on missing proto2 required fields. */
  decode(reader: Reader | Uint8Array, length?: number): T;
  verify(message: { [k: string]: any }): string | null;
  fromObject(object: { [k: string]: any }): T;
  toObject(message: T, options?: IConversionOptions): { [k: string]: any };
  create(properties?: any): T;
}

export interface CommandInfo {
  serviceId: number;
  commandId: number;
  /** Full protobuf name, e.g. "IM.Message.IMMsgData". */
  name: string;
  type: MessageType;
}

const { ServiceID, LoginCmdID: L, BuddyListCmdID: B, MessageCmdID: M, GroupCmdID: G, FileCmdID: F, SwitchServiceCmdID: S, OtherCmdID: O } = IM.BaseDefine;
const { Login, Buddy, Message, Group, File, SwitchService, Other, Server } = IM;

// Every command id of the wire reference with the body it carries.
const TABLE: ReadonlyArray<readonly [number, MessageType]> = [
  [L.CID_LOGIN_REQ_MSGSERVER, Login.IMMsgServReq],
  [L.CID_LOGIN_RES_MSGSERVER, Login.IMMsgServRsp],
  [L.CID_LOGIN_REQ_USERLOGIN, Login.IMLoginReq],
  [L.CID_LOGIN_RES_USERLOGIN, Login.IMLoginRes],
  [L.CID_LOGIN_REQ_LOGINOUT, Login.IMLogoutReq],
  [L.CID_LOGIN_RES_LOGINOUT, Login.IMLogoutRsp],
  [L.CID_LOGIN_KICK_USER, Login.IMKickUser],
  [L.CID_LOGIN_REQ_DEVICETOKEN, Login.IMDeviceTokenReq],
  [L.CID_LOGIN_RES_DEVICETOKEN, Login.IMDeviceTokenRsp],
  [L.CID_LOGIN_REQ_KICKPCCLIENT, Login.IMKickPCClientReq],
  [L.CID_LOGIN_RES_KICKPCCLIENT, Login.IMKickPCClientRsp],
  [L.CID_LOGIN_REQ_PUSH_SHIELD, Login.IMPushShieldReq],
  [L.CID_LOGIN_RES_PUSH_SHIELD, Login.IMPushShieldRsp],
  [L.CID_LOGIN_REQ_QUERY_PUSH_SHIELD, Login.IMQueryPushShieldReq],
  [L.CID_LOGIN_RES_QUERY_PUSH_SHIELD, Login.IMQueryPushShieldRsp],

  [B.CID_BUDDY_LIST_RECENT_CONTACT_SESSION_REQUEST, Buddy.IMRecentContactSessionReq],
  [B.CID_BUDDY_LIST_RECENT_CONTACT_SESSION_RESPONSE, Buddy.IMRecentContactSessionRsp],
  [B.CID_BUDDY_LIST_STATUS_NOTIFY, Buddy.IMUserStatNotify],
  [B.CID_BUDDY_LIST_USER_INFO_REQUEST, Buddy.IMUsersInfoReq],
  [B.CID_BUDDY_LIST_USER_INFO_RESPONSE, Buddy.IMUsersInfoRsp],
  [B.CID_BUDDY_LIST_REMOVE_SESSION_REQ, Buddy.IMRemoveSessionReq],
  [B.CID_BUDDY_LIST_REMOVE_SESSION_RES, Buddy.IMRemoveSessionRsp],
  [B.CID_BUDDY_LIST_ALL_USER_REQUEST, Buddy.IMAllUserReq],
  [B.CID_BUDDY_LIST_ALL_USER_RESPONSE, Buddy.IMAllUserRsp],
  [B.CID_BUDDY_LIST_USERS_STATUS_REQUEST, Buddy.IMUsersStatReq],
  [B.CID_BUDDY_LIST_USERS_STATUS_RESPONSE, Buddy.IMUsersStatRsp],
  [B.CID_BUDDY_LIST_CHANGE_AVATAR_REQUEST, Buddy.IMChangeAvatarReq],
  [B.CID_BUDDY_LIST_CHANGE_AVATAR_RESPONSE, Buddy.IMChangeAvatarRsp],
  [B.CID_BUDDY_LIST_PC_LOGIN_STATUS_NOTIFY, Buddy.IMPCLoginStatusNotify],
  [B.CID_BUDDY_LIST_REMOVE_SESSION_NOTIFY, Buddy.IMRemoveSessionNotify],
  [B.CID_BUDDY_LIST_DEPARTMENT_REQUEST, Buddy.IMDepartmentReq],
  [B.CID_BUDDY_LIST_DEPARTMENT_RESPONSE, Buddy.IMDepartmentRsp],
  [B.CID_BUDDY_LIST_AVATAR_CHANGED_NOTIFY, Buddy.IMAvatarChangedNotify],
  [B.CID_BUDDY_LIST_CHANGE_SIGN_INFO_REQUEST, Buddy.IMChangeSignInfoReq],
  [B.CID_BUDDY_LIST_CHANGE_SIGN_INFO_RESPONSE, Buddy.IMChangeSignInfoRsp],
  [B.CID_BUDDY_LIST_SIGN_INFO_CHANGED_NOTIFY, Buddy.IMSignInfoChangedNotify],

  [M.CID_MSG_DATA, Message.IMMsgData],
  [M.CID_MSG_DATA_ACK, Message.IMMsgDataAck],
  [M.CID_MSG_READ_ACK, Message.IMMsgDataReadAck],
  [M.CID_MSG_READ_NOTIFY, Message.IMMsgDataReadNotify],
  [M.CID_MSG_TIME_REQUEST, Message.IMClientTimeReq],
  [M.CID_MSG_TIME_RESPONSE, Message.IMClientTimeRsp],
  [M.CID_MSG_UNREAD_CNT_REQUEST, Message.IMUnreadMsgCntReq],
  [M.CID_MSG_UNREAD_CNT_RESPONSE, Message.IMUnreadMsgCntRsp],
  [M.CID_MSG_LIST_REQUEST, Message.IMGetMsgListReq],
  [M.CID_MSG_LIST_RESPONSE, Message.IMGetMsgListRsp],
  [M.CID_MSG_GET_LATEST_MSG_ID_REQ, Message.IMGetLatestMsgIdReq],
  [M.CID_MSG_GET_LATEST_MSG_ID_RSP, Message.IMGetLatestMsgIdRsp],
  [M.CID_MSG_GET_BY_MSG_ID_REQ, Message.IMGetMsgByIdReq],
  [M.CID_MSG_GET_BY_MSG_ID_RES, Message.IMGetMsgByIdRsp],

  [G.CID_GROUP_NORMAL_LIST_REQUEST, Group.IMNormalGroupListReq],
  [G.CID_GROUP_NORMAL_LIST_RESPONSE, Group.IMNormalGroupListRsp],
  [G.CID_GROUP_INFO_REQUEST, Group.IMGroupInfoListReq],
  [G.CID_GROUP_INFO_RESPONSE, Group.IMGroupInfoListRsp],
  [G.CID_GROUP_CREATE_REQUEST, Group.IMGroupCreateReq],
  [G.CID_GROUP_CREATE_RESPONSE, Group.IMGroupCreateRsp],
  [G.CID_GROUP_CHANGE_MEMBER_REQUEST, Group.IMGroupChangeMemberReq],
  [G.CID_GROUP_CHANGE_MEMBER_RESPONSE, Group.IMGroupChangeMemberRsp],
  [G.CID_GROUP_SHIELD_GROUP_REQUEST, Group.IMGroupShieldReq],
  [G.CID_GROUP_SHIELD_GROUP_RESPONSE, Group.IMGroupShieldRsp],
  [G.CID_GROUP_CHANGE_MEMBER_NOTIFY, Group.IMGroupChangeMemberNotify],

  [F.CID_FILE_LOGIN_REQ, File.IMFileLoginReq],
  [F.CID_FILE_LOGIN_RES, File.IMFileLoginRsp],
  [F.CID_FILE_STATE, File.IMFileState],
  [F.CID_FILE_PULL_DATA_REQ, File.IMFilePullDataReq],
  [F.CID_FILE_PULL_DATA_RSP, File.IMFilePullDataRsp],
  [F.CID_FILE_REQUEST, File.IMFileReq],
  [F.CID_FILE_RESPONSE, File.IMFileRsp],
  [F.CID_FILE_NOTIFY, File.IMFileNotify],
  [F.CID_FILE_HAS_OFFLINE_REQ, File.IMFileHasOfflineReq],
  [F.CID_FILE_HAS_OFFLINE_RES, File.IMFileHasOfflineRsp],
  [F.CID_FILE_ADD_OFFLINE_REQ, File.IMFileAddOfflineReq],
  [F.CID_FILE_DEL_OFFLINE_REQ, File.IMFileDelOfflineReq],

  [S.CID_SWITCH_P2P_CMD, SwitchService.IMP2PCmdMsg],

  [O.CID_OTHER_HEARTBEAT, Other.IMHeartBeat],
  [O.CID_OTHER_STOP_RECV_PACKET, Server.IMStopReceivePacket],
  [O.CID_OTHER_VALIDATE_REQ, Server.IMValidateReq],
  [O.CID_OTHER_VALIDATE_RSP, Server.IMValidateRsp],
  [O.CID_OTHER_GET_DEVICE_TOKEN_REQ, Server.IMGetDeviceTokenReq],
  [O.CID_OTHER_GET_DEVICE_TOKEN_RSP, Server.IMGetDeviceTokenRsp],
  [O.CID_OTHER_ROLE_SET, Server.IMRoleSet],
  [O.CID_OTHER_ONLINE_USER_INFO, Server.IMOnlineUserInfo],
  [O.CID_OTHER_MSG_SERV_INFO, Server.IMMsgServInfo],
  [O.CID_OTHER_USER_STATUS_UPDATE, Server.IMUserStatusUpdate],
  [O.CID_OTHER_USER_CNT_UPDATE, Server.IMUserCntUpdate],
  [O.CID_OTHER_SERVER_KICK_USER, Server.IMServerKickUser],
  [O.CID_OTHER_LOGIN_STATUS_NOTIFY, Server.IMServerPCLoginStatusNotify],
  [O.CID_OTHER_PUSH_TO_USER_REQ, Server.IMPushToUserReq],
  [O.CID_OTHER_PUSH_TO_USER_RSP, Server.IMPushToUserRsp],
  [O.CID_OTHER_GET_SHIELD_REQ, Server.IMGroupGetShieldReq],
  [O.CID_OTHER_GET_SHIELD_RSP, Server.IMGroupGetShieldRsp],
  [O.CID_OTHER_FILE_TRANSFER_REQ, Server.IMFileTransferReq],
  [O.CID_OTHER_FILE_TRANSFER_RSP, Server.IMFileTransferRsp],
  [O.CID_OTHER_FILE_SERVER_IP_REQ, Server.IMFileServerIPReq],
  [O.CID_OTHER_FILE_SERVER_IP_RSP, Server.IMFileServerIPRsp],
];

/** The service id a command id belongs to: its high byte (0x03xx -> SID_MSG). */
export function serviceIdForCommand(commandId: number): number {
  return (commandId >>> 8) & 0xff;
}

/** Full names of every generated message class, found by walking the namespace once. */
function messageNames(): Map<MessageType, string> {
  const names = new Map<MessageType, string>();
  const walk = (ns: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(ns)) {
      if (typeof value === 'function' && 'decode' in value && typeof value.decode === 'function') {
        names.set(value as unknown as MessageType, `${prefix}.${key}`);
        walk(value as unknown as Record<string, unknown>, `${prefix}.${key}`); // nested types
      } else if (value && typeof value === 'object' && /^[A-Z]/.test(key) && !Object.values(value).every((v) => typeof v === 'number')) {
        walk(value as Record<string, unknown>, `${prefix}.${key}`); // a package, not an enum
      }
    }
  };
  walk(IM as unknown as Record<string, unknown>, 'IM');
  return names;
}

function buildTables() {
  const names = messageNames();
  const byCommand = new Map<number, CommandInfo>();
  const byType = new Map<MessageType, CommandInfo>();
  const byName = new Map<string, CommandInfo>();
  const known = new Set<number>(Object.values(ServiceID) as number[]);
  for (const [commandId, type] of TABLE) {
    const name = names.get(type);
    const serviceId = serviceIdForCommand(commandId);
    if (commandId === undefined || !type || !name) throw new Error(`command table: bad entry for 0x${commandId?.toString(16)}`);
    if (!known.has(serviceId)) throw new Error(`command table: 0x${commandId.toString(16)} has no service id`);
    if (byCommand.has(commandId) || byType.has(type)) throw new Error(`command table: ${name} (0x${commandId.toString(16)}) listed twice`);
    const info: CommandInfo = Object.freeze({ serviceId, commandId, name, type });
    byCommand.set(commandId, info);
    byType.set(type, info);
    byName.set(name, info);
  }
  return { byCommand, byType, byName };
}

const tables = buildTables();

/** Every known command, in command id order. */
export const commands: readonly CommandInfo[] = Object.freeze([...tables.byCommand.values()].sort((a, b) => a.commandId - b.commandId));

/** The body type of a command id, or undefined for an unknown id. */
export function messageForCommand(commandId: number): CommandInfo | undefined {
  return tables.byCommand.get(commandId);
}

/** The command a message travels under: by generated class (IM.Message.IMMsgData) or full name ("IM.Message.IMMsgData"). */
export function commandForMessage(typeOrName: MessageType | string): CommandInfo | undefined {
  return typeof typeOrName === 'string' ? tables.byName.get(typeOrName) : tables.byType.get(typeOrName);
}
