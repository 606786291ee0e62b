// Every struct of seed 004 (OMTP), with the seed's tags, types and
// require/optional exactly as written. `CommonErrorCode`, used but never
// defined by the seed, is CommonResp's shape (docs/fronts/omtp.md, Codes).
// Each name is both the decoded object's interface and its schema.
import { defineStruct, type StructSchema, type TarsField, type TarsFieldType } from './tars';

const req = <N extends string>(tag: number, name: N, type: TarsFieldType, def?: number): TarsField<N> => ({ tag, name, type, required: true, default: def });
const opt = <N extends string>(tag: number, name: N, type: TarsFieldType, def?: number): TarsField<N> => ({ tag, name, type, required: false, default: def });
const struct = (s: StructSchema<any>): TarsFieldType => ({ struct: s });
const vectorOf = (s: StructSchema<any>): TarsFieldType => ({ vectorOf: s });

export const PackType = {
  PT_NONE: 0,
  PT_PING: 10,
  PT_LOGIN: 11,
  PT_LOGOUT: 12,
  PT_KICKOUT: 13,
  PT_MSG_SINGLE_CHAT: 14,
  PT_MSG_GROUP_CHAT: 15,
  PT_MSG_BIZ_NOTIFY: 16,
  PT_MSG_CTRL: 17,
  PT_MSG_READ: 18,
  PT_HOTSESSION_SYNC: 19,
  PT_HIGH_PRIOR_MSG_SYNC: 20,
  PT_HISTORY_MSG_PULL: 21,
  PT_SESSION_MONITOR_START: 22,
  PT_SESSION_MONITOR_STOP: 23,
  PT_SESSION_MONITOR_SYNC: 24,
  PT_SYNC_DATA_CMD: 25,
  PT_GROUPCHAT_SYNC: 40,
  PT_GROUPCHAT_CREATE: 41,
  PT_GROUPCHAT_JION: 42,
  PT_GROUPCHAT_QUIT: 43,
  PT_GROUPCHAT_DISMISS: 44,
  PT_GROUPCHAT_UPDATE_CREATOR: 45,
  PT_GROUPCHAT_INFO_UPDATE: 46,
  PT_GROUPCHAT_MEMBERS_GET: 47,
  PT_FRIEND_ADD: 51,
  PT_FRIEND_DEL: 52,
  PT_FRIEND_SYNC: 53,
  PT_USERINFO_GET: 54,
  PT_USERINFO_UPDATE: 55,
  PT_USERATTRIBUTE_SET: 56,
  PT_USERATTRIBUTE_GET: 57,
  PT_SESSIONATTRIBUTE_SET: 58,
} as const;
export type PackType = (typeof PackType)[keyof typeof PackType];

const packTypeNames = new Map<number, string>(Object.entries(PackType).map(([name, n]) => [n, name]));

/** `PT_LOGIN` for 11; `type 99` for a number the seed does not name. */
export function packTypeName(type: number): string {
  return packTypeNames.get(type) ?? `type ${type}`;
}

export function isPackType(type: number): type is PackType {
  return packTypeNames.has(type);
}

export const DeviceType = {
  DEVICE_NONE: 0,
  DEVICE_IOS: 1,
  DEVICE_ANDROID: 2,
  DEVICE_MACOS: 3,
  DEVICE_WINDOWS: 4,
  DEVICE_LINUX: 5,
} as const;
export type DeviceType = (typeof DeviceType)[keyof typeof DeviceType];

// ---------------------------------------------------------------- framing

export interface OTIMHeader {
  type: number;
  version: number;
  flags: number;
  packId: string;
}
export const OTIMHeader = defineStruct<OTIMHeader>('OTIMHeader', [req(0, 'type', 'short'), req(1, 'version', 'short'), req(2, 'flags', 'long'), req(3, 'packId', 'string')]);

export interface OTIMPack {
  header: OTIMHeader;
  payload: Buffer;
}
export const OTIMPack = defineStruct<OTIMPack>('OTIMPack', [req(0, 'header', struct(OTIMHeader)), req(1, 'payload', 'bytes')]);

// ---------------------------------------------------------------- login, kick

export interface LoginReq {
  clientId: string;
  userName: string;
  password: string;
  deviceType: number;
  deviceName: string;
  deviceId: string;
  version: string;
}
export const LoginReq = defineStruct<LoginReq>('LoginReq', [
  req(0, 'clientId', 'string'),
  req(1, 'userName', 'string'),
  opt(2, 'password', 'string'),
  // DEVICE_TYPE: an enum, written as an int.
  opt(3, 'deviceType', 'int'),
  opt(4, 'deviceName', 'string'),
  opt(5, 'deviceId', 'string'),
  opt(6, 'version', 'string'),
]);

export interface LoginResp {
  code: number;
  clientId: string;
  extraData: string;
}
export const LoginResp = defineStruct<LoginResp>('LoginResp', [req(0, 'code', 'int'), opt(1, 'clientId', 'string'), opt(2, 'extraData', 'string')]);

export interface KickOutReq {
  deviceType: number;
  deviceId: string;
}
export const KickOutReq = defineStruct<KickOutReq>('KickOutReq', [req(0, 'deviceType', 'int'), req(1, 'deviceId', 'string')]);

// ---------------------------------------------------------------- messages

export interface MsgReq {
  sessionId: string;
  seqId: number;
  timestamp: number;
  from: string;
  to: string;
  pushInfo: string;
  contentType: number;
  content: string;
  status: number;
}
export const MsgReq = defineStruct<MsgReq>('MsgReq', [
  req(0, 'sessionId', 'string'),
  opt(1, 'seqId', 'long'),
  opt(2, 'timestamp', 'long'),
  req(3, 'from', 'string'),
  req(4, 'to', 'string'),
  opt(5, 'pushInfo', 'string'),
  opt(6, 'contentType', 'int'),
  opt(7, 'content', 'string'),
  opt(8, 'status', 'int'),
]);

export interface MsgAck {
  code: number;
  sessionId: string;
  seqId: number;
  timestamp: number;
}
export const MsgAck = defineStruct<MsgAck>('MsgAck', [req(0, 'code', 'int'), req(1, 'sessionId', 'string'), req(2, 'seqId', 'long'), req(3, 'timestamp', 'long')]);

export interface MsgControl {
  command: number;
  sessionId: string;
  packId: string;
  seqId: number;
}
export const MsgControl = defineStruct<MsgControl>('MsgControl', [req(0, 'command', 'int'), req(1, 'sessionId', 'string'), req(2, 'packId', 'string'), req(3, 'seqId', 'long')]);

export interface CommonResp {
  code: number;
  desc: string;
}
export const CommonResp = defineStruct<CommonResp>('CommonResp', [req(0, 'code', 'int'), req(1, 'desc', 'string')]);

export type CommonErrorCode = CommonResp;
export const CommonErrorCode = defineStruct<CommonErrorCode>('CommonErrorCode', [req(0, 'code', 'int'), req(1, 'desc', 'string')]);

export interface MsgReaded {
  sessionId: string;
  seqId: number;
}
export const MsgReaded = defineStruct<MsgReaded>('MsgReaded', [req(0, 'sessionId', 'string'), req(1, 'seqId', 'long')]);

// ---------------------------------------------------------------- sessions, sync

export interface HotSessionReq {
  /** Microseconds. */
  timestamp: number;
}
export const HotSessionReq = defineStruct<HotSessionReq>('HotSessionReq', [req(0, 'timestamp', 'long')]);

export interface HotSessionItem {
  sessionId: string;
  readSeqId: number;
  unreadCount: number;
  lastMsgs: OTIMPack[];
  attribute: string;
}
export const HotSessionItem = defineStruct<HotSessionItem>('HotSessionItem', [
  req(0, 'sessionId', 'string'),
  req(1, 'readSeqId', 'long'),
  req(2, 'unreadCount', 'int', 0),
  opt(3, 'lastMsgs', vectorOf(OTIMPack)),
  opt(4, 'attribute', 'string'),
]);

export interface HotSessionResp {
  code: number;
  timestamp: number;
  sessions: HotSessionItem[];
}
export const HotSessionResp = defineStruct<HotSessionResp>('HotSessionResp', [req(0, 'code', 'int', 0), req(1, 'timestamp', 'long'), req(2, 'sessions', vectorOf(HotSessionItem))]);

export interface MsgHighPrioritySyncReq {
  seqId: number;
  count: number;
}
export const MsgHighPrioritySyncReq = defineStruct<MsgHighPrioritySyncReq>('MsgHighPrioritySyncReq', [req(0, 'seqId', 'long'), req(1, 'count', 'int', 200)]);

export interface MsgHighPrioritySyncResp {
  code: number;
  desc: string;
  lastSeqId: number;
  msgs: OTIMPack[];
}
export const MsgHighPrioritySyncResp = defineStruct<MsgHighPrioritySyncResp>('MsgHighPrioritySyncResp', [
  req(0, 'code', 'int'),
  opt(1, 'desc', 'string'),
  req(2, 'lastSeqId', 'long'),
  opt(3, 'msgs', vectorOf(OTIMPack)),
]);

export interface HistoryMsgPullReq {
  sessionId: string;
  seqId: number;
  count: number;
}
export const HistoryMsgPullReq = defineStruct<HistoryMsgPullReq>('HistoryMsgPullReq', [opt(0, 'sessionId', 'string'), req(1, 'seqId', 'long'), req(2, 'count', 'int', 200)]);

export interface HistoryMsgPullResp {
  errorCode: CommonErrorCode;
  sessionId: string;
  msgs: OTIMPack[];
}
export const HistoryMsgPullResp = defineStruct<HistoryMsgPullResp>('HistoryMsgPullResp', [req(0, 'errorCode', struct(CommonErrorCode)), req(1, 'sessionId', 'string'), req(2, 'msgs', vectorOf(OTIMPack))]);

export interface SessionMonitor {
  sessionId: string;
}
export const SessionMonitor = defineStruct<SessionMonitor>('SessionMonitor', [req(0, 'sessionId', 'string')]);

export interface SyncDataReq {
  command: number;
  content: string;
}
export const SyncDataReq = defineStruct<SyncDataReq>('SyncDataReq', [req(0, 'command', 'int'), req(1, 'content', 'string')]);

// ---------------------------------------------------------------- groups

export interface GroupChatSyncReq {
  timestamp: number;
}
export const GroupChatSyncReq = defineStruct<GroupChatSyncReq>('GroupChatSyncReq', [req(0, 'timestamp', 'long')]);

export interface GroupChatInfo {
  groupId: string;
  name: string;
  avatar: string;
  creatorId: string;
  desc: string;
  memberLimit: number;
  createTime: number;
  updateTime: number;
}
export const GroupChatInfo = defineStruct<GroupChatInfo>('GroupChatInfo', [
  req(0, 'groupId', 'string'),
  req(1, 'name', 'string'),
  opt(2, 'avatar', 'string'),
  req(3, 'creatorId', 'string'),
  opt(4, 'desc', 'string'),
  opt(5, 'memberLimit', 'int'),
  opt(6, 'createTime', 'long'),
  opt(7, 'updateTime', 'long'),
]);

export interface GroupChatSyncResp {
  errorCode: CommonErrorCode;
  timestamp: number;
  groupchats: GroupChatInfo[];
  delGroupChatIds: string[];
}
export const GroupChatSyncResp = defineStruct<GroupChatSyncResp>('GroupChatSyncResp', [
  req(0, 'errorCode', struct(CommonErrorCode)),
  req(1, 'timestamp', 'long'),
  req(2, 'groupchats', vectorOf(GroupChatInfo)),
  req(3, 'delGroupChatIds', 'vector<string>'),
]);

export interface GroupChatCreateReq {
  groupInfo: GroupChatInfo;
  memberIds: string[];
}
export const GroupChatCreateReq = defineStruct<GroupChatCreateReq>('GroupChatCreateReq', [req(0, 'groupInfo', struct(GroupChatInfo)), req(1, 'memberIds', 'vector<string>')]);

export interface GroupChatCreateResp {
  errorCode: CommonErrorCode;
  groupId: string;
}
export const GroupChatCreateResp = defineStruct<GroupChatCreateResp>('GroupChatCreateResp', [req(0, 'errorCode', struct(CommonErrorCode)), req(1, 'groupId', 'string')]);

export interface GroupChatJoinReq {
  groupId: string;
  memberIds: string[];
}
export const GroupChatJoinReq = defineStruct<GroupChatJoinReq>('GroupChatJoinReq', [req(0, 'groupId', 'string'), req(1, 'memberIds', 'vector<string>')]);

export interface GroupChatJoinResp {
  errorCode: CommonErrorCode;
  groupId: string;
}
export const GroupChatJoinResp = defineStruct<GroupChatJoinResp>('GroupChatJoinResp', [req(0, 'errorCode', struct(CommonErrorCode)), req(1, 'groupId', 'string')]);

export interface GroupChatQuitReq {
  groupId: string;
  operatorId: string;
  memberIds: string[];
}
export const GroupChatQuitReq = defineStruct<GroupChatQuitReq>('GroupChatQuitReq', [req(0, 'groupId', 'string'), req(1, 'operatorId', 'string'), req(2, 'memberIds', 'vector<string>')]);

export interface GroupChatDismissReq {
  groupId: string;
  operatorId: string;
}
export const GroupChatDismissReq = defineStruct<GroupChatDismissReq>('GroupChatDismissReq', [req(0, 'groupId', 'string'), req(1, 'operatorId', 'string')]);

export interface GroupChatCreatorUpdateReq {
  groupId: string;
  operatorId: string;
  newCreatorId: string;
}
export const GroupChatCreatorUpdateReq = defineStruct<GroupChatCreatorUpdateReq>('GroupChatCreatorUpdateReq', [req(0, 'groupId', 'string'), req(1, 'operatorId', 'string'), req(2, 'newCreatorId', 'string')]);

export interface GroupChatInfoUpdateReq {
  operatorId: string;
  groupInfo: GroupChatInfo;
}
export const GroupChatInfoUpdateReq = defineStruct<GroupChatInfoUpdateReq>('GroupChatInfoUpdateReq', [req(0, 'operatorId', 'string'), req(1, 'groupInfo', struct(GroupChatInfo))]);

export interface GroupChatMemberGetReq {
  groupId: string;
}
export const GroupChatMemberGetReq = defineStruct<GroupChatMemberGetReq>('GroupChatMemberGetReq', [req(0, 'groupId', 'string')]);

export interface GroupChatMemberGetResp {
  errorCode: CommonErrorCode;
  groupId: string;
  memberIds: string[];
}
export const GroupChatMemberGetResp = defineStruct<GroupChatMemberGetResp>('GroupChatMemberGetResp', [req(0, 'errorCode', struct(CommonErrorCode)), req(1, 'groupId', 'string'), req(2, 'memberIds', 'vector<string>')]);

// ---------------------------------------------------------------- friends

export interface FriendInfo {
  userId: string;
  friendId: string;
  remark: string;
}
export const FriendInfo = defineStruct<FriendInfo>('FriendInfo', [req(0, 'userId', 'string'), req(1, 'friendId', 'string'), req(2, 'remark', 'string')]);

export interface FriendAddReq {
  friends: FriendInfo[];
}
export const FriendAddReq = defineStruct<FriendAddReq>('FriendAddReq', [req(0, 'friends', vectorOf(FriendInfo))]);

export interface FriendDelReq {
  friends: FriendInfo[];
}
export const FriendDelReq = defineStruct<FriendDelReq>('FriendDelReq', [req(0, 'friends', vectorOf(FriendInfo))]);

export interface FriendSyncReq {
  timestamp: number;
}
export const FriendSyncReq = defineStruct<FriendSyncReq>('FriendSyncReq', [req(0, 'timestamp', 'long')]);

export interface FriendSyncResp {
  errorCode: CommonErrorCode;
  friends: FriendInfo[];
}
export const FriendSyncResp = defineStruct<FriendSyncResp>('FriendSyncResp', [req(0, 'errorCode', struct(CommonErrorCode)), req(1, 'friends', vectorOf(FriendInfo))]);

// ---------------------------------------------------------------- users, attributes

export interface UserInfoGetReq {
  userIds: string[];
}
export const UserInfoGetReq = defineStruct<UserInfoGetReq>('UserInfoGetReq', [req(0, 'userIds', 'vector<string>')]);

export interface UserInfo {
  userId: string;
  name: string;
  /** The avatar URL (the seed's spelling). */
  avator: string;
  mobile: string;
  /** Milliseconds. */
  birthday: number;
}
export const UserInfo = defineStruct<UserInfo>('UserInfo', [req(0, 'userId', 'string'), req(1, 'name', 'string'), req(2, 'avator', 'string'), req(3, 'mobile', 'string'), req(4, 'birthday', 'long')]);

export interface UserInfoGetResp {
  errorCode: CommonErrorCode;
  userInfos: UserInfo[];
}
export const UserInfoGetResp = defineStruct<UserInfoGetResp>('UserInfoGetResp', [req(0, 'errorCode', struct(CommonErrorCode)), req(1, 'userInfos', vectorOf(UserInfo))]);

export interface UserInfoUpdateReq {
  userInfo: UserInfo;
}
export const UserInfoUpdateReq = defineStruct<UserInfoUpdateReq>('UserInfoUpdateReq', [req(0, 'userInfo', struct(UserInfo))]);

export interface UserAttribute {
  userId: string;
  friendId: string;
  attrName: string;
  attrValue: string;
}
export const UserAttribute = defineStruct<UserAttribute>('UserAttribute', [req(0, 'userId', 'string'), req(1, 'friendId', 'string'), req(2, 'attrName', 'string'), req(3, 'attrValue', 'string')]);

export interface UserAttrSetReq {
  attribute: UserAttribute;
}
export const UserAttrSetReq = defineStruct<UserAttrSetReq>('UserAttrSetReq', [req(0, 'attribute', struct(UserAttribute))]);

export interface UserAttrGetResp {
  errorCode: CommonErrorCode;
  attributes: UserAttribute[];
}
export const UserAttrGetResp = defineStruct<UserAttrGetResp>('UserAttrGetResp', [req(0, 'errorCode', struct(CommonErrorCode)), req(1, 'attributes', vectorOf(UserAttribute))]);

export interface SessionAttrSetReq {
  userId: string;
  sessionId: string;
  attrName: string;
  attrValue: string;
}
export const SessionAttrSetReq = defineStruct<SessionAttrSetReq>('SessionAttrSetReq', [req(0, 'userId', 'string'), req(1, 'sessionId', 'string'), req(2, 'attrName', 'string'), req(3, 'attrValue', 'string')]);

// ---------------------------------------------------------------- payloads by packet type

/**
 * The payload struct of each packet type (docs/fronts/omtp.md, Packets):
 * `request` with ACK=0 (a client's request, or the server's push), `answer`
 * with ACK=1. Absent: the payload is empty (the seed's "无").
 */
export const PacketPayloads = {
  [PackType.PT_PING]: {},
  [PackType.PT_LOGIN]: { request: LoginReq, answer: LoginResp },
  [PackType.PT_LOGOUT]: {},
  [PackType.PT_KICKOUT]: { request: KickOutReq },
  [PackType.PT_MSG_SINGLE_CHAT]: { request: MsgReq, answer: MsgAck },
  [PackType.PT_MSG_GROUP_CHAT]: { request: MsgReq, answer: MsgAck },
  [PackType.PT_MSG_BIZ_NOTIFY]: { request: MsgReq, answer: MsgAck },
  [PackType.PT_MSG_CTRL]: { request: MsgControl, answer: CommonResp },
  [PackType.PT_MSG_READ]: { request: MsgReaded, answer: CommonResp },
  [PackType.PT_HOTSESSION_SYNC]: { request: HotSessionReq, answer: HotSessionResp },
  [PackType.PT_HIGH_PRIOR_MSG_SYNC]: { request: MsgHighPrioritySyncReq, answer: MsgHighPrioritySyncResp },
  [PackType.PT_HISTORY_MSG_PULL]: { request: HistoryMsgPullReq, answer: HistoryMsgPullResp },
  [PackType.PT_SESSION_MONITOR_START]: { request: SessionMonitor, answer: CommonErrorCode },
  [PackType.PT_SESSION_MONITOR_STOP]: { request: SessionMonitor, answer: CommonErrorCode },
  [PackType.PT_SESSION_MONITOR_SYNC]: { answer: HotSessionResp },
  [PackType.PT_SYNC_DATA_CMD]: { request: SyncDataReq, answer: CommonErrorCode },
  [PackType.PT_GROUPCHAT_SYNC]: { request: GroupChatSyncReq, answer: GroupChatSyncResp },
  [PackType.PT_GROUPCHAT_CREATE]: { request: GroupChatCreateReq, answer: GroupChatCreateResp },
  [PackType.PT_GROUPCHAT_JION]: { request: GroupChatJoinReq, answer: GroupChatJoinResp },
  [PackType.PT_GROUPCHAT_QUIT]: { request: GroupChatQuitReq, answer: CommonErrorCode },
  [PackType.PT_GROUPCHAT_DISMISS]: { request: GroupChatDismissReq, answer: CommonErrorCode },
  [PackType.PT_GROUPCHAT_UPDATE_CREATOR]: { request: GroupChatCreatorUpdateReq, answer: CommonErrorCode },
  [PackType.PT_GROUPCHAT_INFO_UPDATE]: { request: GroupChatInfoUpdateReq, answer: CommonErrorCode },
  [PackType.PT_GROUPCHAT_MEMBERS_GET]: { request: GroupChatMemberGetReq, answer: GroupChatMemberGetResp },
  [PackType.PT_FRIEND_ADD]: { request: FriendAddReq, answer: CommonErrorCode },
  [PackType.PT_FRIEND_DEL]: { request: FriendDelReq, answer: CommonErrorCode },
  [PackType.PT_FRIEND_SYNC]: { request: FriendSyncReq, answer: FriendSyncResp },
  [PackType.PT_USERINFO_GET]: { request: UserInfoGetReq, answer: UserInfoGetResp },
  [PackType.PT_USERINFO_UPDATE]: { request: UserInfoUpdateReq, answer: CommonErrorCode },
  [PackType.PT_USERATTRIBUTE_SET]: { request: UserAttrSetReq, answer: CommonErrorCode },
  [PackType.PT_USERATTRIBUTE_GET]: { answer: UserAttrGetResp },
  [PackType.PT_SESSIONATTRIBUTE_SET]: { request: SessionAttrSetReq, answer: CommonErrorCode },
} as const satisfies Record<number, { request?: StructSchema<any>; answer?: StructSchema<any> }>;

/** Every struct of the seed by name (tests, tools). */
export const AllStructs = {
  OTIMHeader,
  OTIMPack,
  LoginReq,
  LoginResp,
  KickOutReq,
  MsgReq,
  MsgAck,
  MsgControl,
  CommonResp,
  CommonErrorCode,
  MsgReaded,
  HotSessionReq,
  HotSessionItem,
  HotSessionResp,
  MsgHighPrioritySyncReq,
  MsgHighPrioritySyncResp,
  HistoryMsgPullReq,
  HistoryMsgPullResp,
  SessionMonitor,
  SyncDataReq,
  GroupChatSyncReq,
  GroupChatInfo,
  GroupChatSyncResp,
  GroupChatCreateReq,
  GroupChatCreateResp,
  GroupChatJoinReq,
  GroupChatJoinResp,
  GroupChatQuitReq,
  GroupChatDismissReq,
  GroupChatCreatorUpdateReq,
  GroupChatInfoUpdateReq,
  GroupChatMemberGetReq,
  GroupChatMemberGetResp,
  FriendInfo,
  FriendAddReq,
  FriendDelReq,
  FriendSyncReq,
  FriendSyncResp,
  UserInfoGetReq,
  UserInfo,
  UserInfoGetResp,
  UserInfoUpdateReq,
  UserAttribute,
  UserAttrSetReq,
  UserAttrGetResp,
  SessionAttrSetReq,
} as const;
