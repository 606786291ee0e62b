export type { SqlDialect, SqlValue, ExecuteResult, SqlExecutor, SqlDatabase } from './db';
export { StorageError, isStorageError, toStorageError } from './errors';
export type { StorageErrorCode } from './errors';
export { openStore, openDatabase } from './store';
export type { Store, StoreConfig, StoreOptions } from './store';
export type { MysqlConfig } from './mysql';
export type { SqliteConfig } from './sqlite';
export { MIGRATIONS, MIGRATIONS_TABLE, runMigrations, executeMigrationStatement } from './migrations';
export type { Migration, MigrationResult, MigrateOptions } from './migrations';
export { hashPassword, verifyPasswordHash, isMd5Hex, DEFAULT_SCRYPT_PARAMS } from './password';
export type { ScryptParams } from './password';
export { SessionType, SessionStatus, DepartStatus, UserStatus, GroupType, GroupStatus, GroupMemberStatus, SyncEventKind, RoomStatus } from './model';
export { FriendStatus } from './model';
export type { Friend, UserAttribute, SessionRef, SessionAttribute } from './model';
export type {
  SessionTypeValue,
  ConversationKey,
  User,
  NewUser,
  UserPatch,
  Department,
  NewDepartment,
  NewMessage,
  StoredMessage,
  SaveMessageResult,
  UserSeq,
  SyncEntry,
  SyncOptions,
  SyncPage,
  RecallRequest,
  RecallOutcome,
  LatestMessageSummary,
  UnreadSession,
  RecentSession,
  GroupInfo,
  NewGroup,
  GroupMember,
  GroupMembersChange,
  RoomInfo,
  NewRoom,
  RoomJoinResult,
  DeviceToken,
  OfflineFile,
  HighPriorityEntry,
  HighPriorityPage,
  ClientMsgRef,
  MonitoredSession,
  MonitorEntry,
  MonitorAction,
  MonitorLogEntry,
} from './model';
export { conversationKey } from './validate';
export { UserRepository, type VerifiedCredentials } from './repos/users';
export { DepartmentRepository } from './repos/departments';
export { MessageRepository } from './repos/messages';
export type { ListMessagesOptions, ListGroupMessagesOptions, MessageVisibilityOptions } from './repos/messages';
export { SessionRepository } from './repos/sessions';
export type { RecentSinceOptions } from './repos/sessions';
export { GroupRepository } from './repos/groups';
export { RoomRepository } from './repos/rooms';
export { DeviceTokenRepository } from './repos/devices';
export { MsyncDeviceRepository, type MsyncBindResult } from './repos/msync-devices';
export { UserSettingsRepository } from './repos/settings';
export { OfflineFileRepository } from './repos/offline-files';
export { MonitorRepository } from './repos/monitors';
export { FriendRepository, UserAttributeRepository, SessionAttributeRepository, MUTE_ATTRIBUTE, isMuteOn } from './repos/social';
export { OperatorRepository, OPERATOR_PASSWORD_MIN_CHARS, OPERATOR_PASSWORD_MAX_CHARS } from './repos/operators';
export { ApiKeyRepository } from './repos/api-keys';
export { AuditLogRepository, MAX_AUDIT_DETAIL_BYTES, MAX_AUDIT_PAGE } from './repos/audit';
export { AdminRepository, MAX_ADMIN_PAGE } from './repos/admin';
export { WebhookRepository, WEBHOOK_EVENTS, WEBHOOK_LIMITS, type WebhookEvent, type WebhookRecord, type NewWebhook, type WebhookPatch } from './repos/webhooks';
export type { OperatorRoleName, OperatorAccount, ApiKeyRecord, AuditRecord, AdminPage, GroupListing, MessagePosition, FoundMessage } from './model';
