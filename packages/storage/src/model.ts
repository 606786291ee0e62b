/** Values stored in the schema, aligned with IM.BaseDefine where TeamTalk defines them. */

/** 1 and 2 are TeamTalk's; 3 (chat room) is the core's own and never reaches a TeamTalk client. */
export const SessionType = { SINGLE: 1, GROUP: 2, ROOM: 3 } as const;
export type SessionTypeValue = (typeof SessionType)[keyof typeof SessionType];

/** im_recent_session.status (IM.BaseDefine SessionStatusType). */
export const SessionStatus = { OK: 0, DELETED: 1 } as const;

/** im_depart.status (IM.BaseDefine DepartmentStatusType). */
export const DepartStatus = { OK: 0, DELETED: 1 } as const;

/** im_user.status: 0 active; 1 disabled (may not log in; still listed so clients learn the change). */
export const UserStatus = { ACTIVE: 0, DISABLED: 1 } as const;

/** Key of a conversation: single chat (1, min(a,b), max(a,b)); group chat (2, groupId, 0); chat room (3, roomId, 0). */
export interface ConversationKey {
  sessionType: SessionTypeValue;
  idA: number;
  idB: number;
}

export interface User {
  id: number;
  name: string;
  nick: string;
  realName: string;
  /** TeamTalk user_gender. */
  sex: number;
  avatar: string;
  phone: string;
  email: string;
  domain: string;
  departId: number;
  signInfo: string;
  /** See UserStatus. */
  status: number;
  created: number;
  updated: number;
  /** Milliseconds since the epoch; 0: not set. */
  birthdayMs: number;
}

export interface NewUser {
  name: string;
  /** Lowercase (or uppercase) hex MD5 of the plaintext password, as TeamTalk clients send it. */
  passwordMd5Hex: string;
  nick?: string;
  realName?: string;
  sex?: number;
  avatar?: string;
  phone?: string;
  email?: string;
  domain?: string;
  departId?: number;
  signInfo?: string;
  status?: number;
}

export type UserPatch = Partial<Omit<NewUser, 'name' | 'passwordMd5Hex'>> & {
  /** Milliseconds since the epoch; 0 clears it. */
  birthdayMs?: number;
};

export interface Department {
  id: number;
  name: string;
  priority: number;
  parentId: number;
  /** See DepartStatus. */
  status: number;
  created: number;
  updated: number;
}

export interface NewDepartment {
  name: string;
  parentId?: number;
  priority?: number;
}

export interface NewMessage {
  sessionType: SessionTypeValue;
  fromUserId: number;
  /** Peer user id (single chat) or group id (group chat). */
  toId: number;
  msgType: number;
  data: Uint8Array;
  /** Unix seconds. */
  createTime: number;
  /**
   * Group chat only: the users whose recent session gets unread+1 (normally the member list; the
   * sender is skipped if present). Ignored for single chat, where the recipient is toId.
   */
  recipientIds?: readonly number[];
  /**
   * The sender's own id for the message (at most 128 characters; empty or absent: none). A message
   * repeating an earlier (fromUserId, clientMsgId) is not stored again: saving it answers with the
   * original's msgId and the sender's original seq (see SaveMessageResult.duplicate).
   */
  clientMsgId?: string;
  /** Opaque bytes stored with the message (db_proxy stores an encoded IM.Core.MessageExtra). */
  extra?: Uint8Array;
  /**
   * A high-priority message (OMTP HIGHPRJ): also listed in the high-priority stream of each
   * participant (the sender and every recipient). Ignored for chat rooms.
   */
  highPriority?: boolean;
}

/** A user's sequence number for one event of their sync stream. */
export interface UserSeq {
  userId: number;
  seq: number;
}

export interface SaveMessageResult {
  msgId: number;
  /** Unix seconds: the message's createTime (the original's, for a duplicate). */
  createTime: number;
  /**
   * The seq each user got for the message: the sender first, then every recipient (ascending).
   * For a duplicate: the sender's original seq only.
   */
  seqs: UserSeq[];
  /** True when (fromUserId, clientMsgId) had been saved before: nothing was written. */
  duplicate?: boolean;
  /** Duplicates only: the original message as stored. */
  original?: StoredMessage;
}

export interface StoredMessage {
  msgId: number;
  fromId: number;
  toId: number;
  msgType: number;
  data: Buffer;
  createTime: number;
  /** The message's NewMessage.extra; absent when it had none. */
  extra?: Buffer;
  /** Present once the message was recalled: by whom, when (unix milliseconds). */
  recalled?: { by: number; atMs: number };
}

/** im_user_sync.kind: what a user's sync entry points at. */
export const SyncEventKind = { MESSAGE: 1, RECALL: 2 } as const;

/** One entry of a user's sync stream. */
export interface SyncEntry {
  seq: number;
  /** 'message': the message was stored; 'recall': it was recalled (data is then empty). */
  kind: 'message' | 'recall';
  sessionType: SessionTypeValue;
  message: StoredMessage;
}

export interface SyncOptions {
  /** Lowest seq wanted (0 or absent: 1). */
  minSeq?: number;
  /** Highest seq wanted (0 or absent: the newest). */
  maxSeq?: number;
  /** Most entries returned (0 or absent: 100; at most 500). */
  limit?: number;
}

export interface SyncPage {
  /** Oldest first. */
  entries: SyncEntry[];
  /** The user's newest seq (0: none yet). */
  maxSeq: number;
  /** More entries exist in the requested range after the last one returned. */
  hasMore: boolean;
}

export interface RecallRequest {
  sessionType: number;
  /** Who recalls: the sender, or a group's owner (im_group.creator_id). */
  userId: number;
  /** The peer user (single chat) or the group, from userId's side. */
  peerId: number;
  msgId: number;
  /** The sender may recall until this many seconds after the message's createTime; a group's owner any time. */
  windowSeconds: number;
  /** Unix milliseconds of the recall (default: now). */
  nowMs?: number;
}

export type RecallOutcome =
  /** Recalled by this call: every participant got a recall entry in their sync stream, with these seqs. */
  | { result: 'recalled'; sessionType: SessionTypeValue; message: StoredMessage; seqs: UserSeq[] }
  /** It had been recalled before (nothing changed). */
  | { result: 'already_recalled'; sessionType: SessionTypeValue; message: StoredMessage }
  | { result: 'not_found' | 'not_allowed' | 'too_late' };

export interface LatestMessageSummary {
  latestMsgId: number;
  latestMsgData: Buffer;
  latestMsgType: number;
  latestFromId: number;
  /** Unix seconds of the latest message (0 if none). */
  latestMsgTime: number;
}

export interface UnreadSession extends LatestMessageSummary {
  sessionType: number;
  peerId: number;
  unreadCnt: number;
}

export interface RecentSession extends LatestMessageSummary {
  sessionType: number;
  peerId: number;
  /** See SessionStatus. */
  status: number;
  unreadCnt: number;
  readMsgId: number;
  created: number;
  updated: number;
}

/** im_group.type (IM.BaseDefine GroupType). */
export const GroupType = { NORMAL: 1, TEMPORARY: 2 } as const;

/** im_group.status: 0 active; 1 dissolved (kept for history, no longer listed or joinable). */
export const GroupStatus = { ACTIVE: 0, DISSOLVED: 1 } as const;

/** im_room.status. */
export const RoomStatus = { ACTIVE: 0, DISSOLVED: 1 } as const;

/** A chat room: members join and leave; its messages reach current members only, are never unread and keep a bounded history. */
export interface RoomInfo {
  id: number;
  name: string;
  /** Who created it (0: an operator); may recall any message in it. */
  creatorId: number;
  maxMembers: number;
  status: number;
  memberCount: number;
  created: number;
  updated: number;
}

export interface NewRoom {
  name: string;
  creatorId?: number;
  maxMembers: number;
}

export type RoomJoinResult = 'joined' | 'already_member' | 'full' | 'not_found';

/** im_group_member.status: 0 member; 1 removed (the row keeps join history and is reused on re-add). */
export const GroupMemberStatus = { MEMBER: 0, REMOVED: 1 } as const;

export interface GroupInfo {
  id: number;
  name: string;
  avatar: string;
  creatorId: number;
  /** See GroupType. */
  type: number;
  /** Starts at 1; +1 on every change (members, shields, info, owner, dismissal), so clients can cache group info by version. */
  version: number;
  /** See GroupStatus. */
  status: number;
  created: number;
  updated: number;
  /** Active members, ascending. */
  memberIds: number[];
  /** What the owner says the group is about (at most 1024 characters). */
  description: string;
  /** Most members allowed; 0 = the server's default. */
  memberLimit: number;
}

export interface NewGroup {
  /** See GroupType. */
  type: number;
  name: string;
  avatar?: string;
  /** Always made a member. */
  creatorId: number;
  /** Initial members (duplicates and the creator are fine). */
  memberIds?: readonly number[];
  /** At most 1024 characters (default empty). */
  description?: string;
  /** Most members allowed; 0 or absent = the server's default. The initial members must fit. */
  memberLimit?: number;
}

export interface GroupMember {
  /** See GroupMemberStatus. */
  status: number;
  /** 1: the member does not want notifications/pushes for this group. */
  shieldStatus: number;
  /** The group's last msg_id when the user (re)joined: they may see only messages with msg_id > joinMsgId. */
  joinMsgId: number;
}

export interface GroupMembersChange {
  /** The group's version after the change (unchanged if nothing changed). */
  version: number;
  /** Active members after the change, ascending. */
  memberIds: number[];
  /** The ids actually added or removed, ascending (already members / non-members are skipped). */
  changed: number[];
}

export interface DeviceToken {
  userId: number;
  /** IM.BaseDefine ClientType. */
  clientType: number;
  token: string;
  updated: number;
}

/** An offline file (im_offline_file): the bytes live on the file_server named serverId. */
export interface OfflineFile {
  taskId: string;
  fromId: number;
  toId: number;
  fileName: string;
  fileSize: number;
  serverId: string;
  /** Unix seconds after which the record is no longer listed (and is purged). */
  expires: number;
  created: number;
}

/** One entry of a user's high-priority stream (im_priority_msg). */
export interface HighPriorityEntry {
  /** The entry's place in the user's stream (ascending, not consecutive). */
  cursor: number;
  sessionType: SessionTypeValue;
  message: StoredMessage;
}

export interface HighPriorityPage {
  /** Oldest first. */
  entries: HighPriorityEntry[];
  /** The user's newest cursor (0: none). */
  lastCursor: number;
}

/** A message the sender named by its client_msg_id (im_client_msg), from the sender's side. */
export interface ClientMsgRef {
  sessionType: SessionTypeValue;
  /** The other user (single chat; the sender itself when they wrote to themselves) or the group / room. */
  peerId: number;
  msgId: number;
}

/** A monitored conversation, named from no one's side: single (1, lower user id, higher user id); group (2, group id, 0). */
export interface MonitoredSession {
  sessionType: number;
  idA: number;
  idB: number;
}

export interface MonitorEntry {
  userId: number;
  session: MonitoredSession;
  /** Unix seconds. */
  started: number;
}

export type MonitorAction = 'grant' | 'revoke' | 'start' | 'stop';

/** One line of im_monitor_log. */
export interface MonitorLogEntry {
  userId: number;
  action: MonitorAction;
  /** start/stop only. */
  session?: MonitoredSession;
  /** Who granted or revoked (an operator); empty for start/stop. */
  by: string;
  /** Unix seconds. */
  at: number;
}

/** im_friend.status: one side of a friendship. Removed rows stay so an incremental sync can see the removal. */
export const FriendStatus = { ACTIVE: 0, REMOVED: 1 } as const;

/** One side of a friendship (im_friend): userId's row about friendId. */
export interface Friend {
  userId: number;
  friendId: number;
  /** userId's own name for the friend (may be empty). */
  remark: string;
  /** See FriendStatus. */
  status: number;
  created: number;
  updated: number;
}

/** A user's named attribute about another user (im_user_attr), e.g. a remark name. */
export interface UserAttribute {
  userId: number;
  targetId: number;
  name: string;
  value: string;
  updated: number;
}

/** A conversation from one user's side: the other user (single chat) or the group. */
export interface SessionRef {
  sessionType: SessionTypeValue;
  peerId: number;
}

/** A user's named attribute of one of their conversations (im_session_attr): "top", "mute", anything else. */
export interface SessionAttribute extends SessionRef {
  userId: number;
  name: string;
  value: string;
  updated: number;
}

// --- The operator HTTP API (issue 15): operators, API keys, the audit log, admin queries ---

/** What an operator (or an API key) may do: admin changes things, viewer only reads. */
export type OperatorRoleName = 'admin' | 'viewer';

/** An operator account (im_operator); never carries the password hash. */
export interface OperatorAccount {
  id: number;
  name: string;
  role: OperatorRoleName;
  disabled: boolean;
  created: number;
  updated: number;
}

/** An API key's record (im_api_key); the key itself is shown once, at creation, and never stored. */
export interface ApiKeyRecord {
  id: number;
  name: string;
  /** The key's first characters, to recognise it in lists. */
  prefix: string;
  role: OperatorRoleName;
  createdBy: string;
  created: number;
  /** Unix seconds; 0: never used. */
  lastUsed: number;
  /** Unix seconds; 0: active. */
  revoked: number;
}

/** One line of the audit log (im_audit_log). */
export interface AuditRecord {
  id: number;
  actor: string;
  action: string;
  target: string;
  /** JSON text, at most 8 KB. */
  detail: string;
  /** Unix milliseconds. */
  atMs: number;
}

/** A page of rows and where the next one starts (0 / null: this was the last page). */
export interface AdminPage<T, C = number> {
  items: T[];
  /** Pass back to get the next page; null when there is none. */
  next: C | null;
  /** Rows matching the filter in all (-1 when not counted). */
  total: number;
}

/** A group as operators list it: no member ids, their number instead. */
export interface GroupListing {
  id: number;
  name: string;
  avatar: string;
  creatorId: number;
  type: number;
  memberCount: number;
  memberLimit: number;
  version: number;
  description: string;
  created: number;
  updated: number;
}

/** Where a message sits in the newest-first order of a history search; the next page starts after it. */
export interface MessagePosition {
  created: number;
  sessionType: SessionTypeValue;
  idA: number;
  idB: number;
  msgId: number;
}

/** A stored message with its conversation, as history search returns it. */
export interface FoundMessage extends StoredMessage {
  key: ConversationKey;
}
