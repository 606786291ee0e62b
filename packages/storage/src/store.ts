import { SqlDatabase } from './db';
import { MigrationResult, runMigrations } from './migrations';
import { MysqlConfig, MysqlDatabase } from './mysql';
import { ScryptParams } from './password';
import { DepartmentRepository } from './repos/departments';
import { DeviceTokenRepository } from './repos/devices';
import { MsyncDeviceRepository } from './repos/msync-devices';
import { GroupRepository } from './repos/groups';
import { MessageRepository } from './repos/messages';
import { MonitorRepository } from './repos/monitors';
import { OfflineFileRepository } from './repos/offline-files';
import { RoomRepository } from './repos/rooms';
import { SessionRepository } from './repos/sessions';
import { UserSettingsRepository } from './repos/settings';
import { FriendRepository, SessionAttributeRepository, UserAttributeRepository } from './repos/social';
import { UserRepository } from './repos/users';
import { OperatorRepository } from './repos/operators';
import { ApiKeyRepository } from './repos/api-keys';
import { AuditLogRepository } from './repos/audit';
import { AdminRepository } from './repos/admin';
import { WebhookRepository } from './repos/webhooks';
import { SqliteConfig, SqliteDatabase } from './sqlite';
import { nowSeconds } from './validate';

export type StoreConfig = MysqlConfig | SqliteConfig;

export interface StoreOptions {
  /** Run migrations on open (default true). */
  migrate?: boolean;
  /** scrypt cost for new password hashes (existing hashes keep their own parameters). */
  scrypt?: Partial<ScryptParams>;
  /** Clock in unix seconds, for created/updated columns (default: wall clock). */
  now?: () => number;
  /** Told the size of every group-committed batch of messages (for metrics). */
  onMessageBatch?: (size: number) => void;
  /** Messages kept per chat room (older ones are pruned as new ones are written). Default 200. */
  roomHistoryLimit?: number;
}

export interface Store {
  readonly db: SqlDatabase;
  readonly users: UserRepository;
  readonly departments: DepartmentRepository;
  readonly messages: MessageRepository;
  readonly sessions: SessionRepository;
  readonly groups: GroupRepository;
  readonly rooms: RoomRepository;
  readonly devices: DeviceTokenRepository;
  readonly msyncDevices: MsyncDeviceRepository;
  readonly settings: UserSettingsRepository;
  readonly offlineFiles: OfflineFileRepository;
  /** Session monitors (OMTP): permissions, active monitors, their record. */
  readonly monitors: MonitorRepository;
  readonly friends: FriendRepository;
  readonly userAttributes: UserAttributeRepository;
  readonly sessionAttributes: SessionAttributeRepository;
  /** The operator API's accounts, keys and audit log (issue 15). */
  readonly operators: OperatorRepository;
  readonly apiKeys: ApiKeyRepository;
  readonly audit: AuditLogRepository;
  /** Operator queries: paged user / group listings with search, department edits, history search. */
  readonly admin: AdminRepository;
  /** Webhook settings (operators edit them; msg_servers call them). */
  readonly webhooks: WebhookRepository;
  /** What migrations did when the store was opened (null if migrate was false). */
  readonly migrations: MigrationResult | null;
  close(): Promise<void>;
}

/** Opens the database only (no migrations). MySQL creates the database if missing; SQLite creates the file's directory. */
export function openDatabase(config: StoreConfig): Promise<SqlDatabase> {
  return config.kind === 'mysql' ? MysqlDatabase.open(config) : SqliteDatabase.open(config);
}

/** Opens the database, brings the schema up to date and returns the repositories. */
export async function openStore(config: StoreConfig, options: StoreOptions = {}): Promise<Store> {
  const db = await openDatabase(config);
  const now = options.now ?? nowSeconds;
  let migrations: MigrationResult | null = null;
  if (options.migrate !== false) {
    try {
      migrations = await runMigrations(db, { now });
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
  }
  return {
    db,
    users: new UserRepository(db, now, options.scrypt),
    departments: new DepartmentRepository(db, now),
    messages: new MessageRepository(db, { onBatch: options.onMessageBatch, roomHistoryLimit: options.roomHistoryLimit }),
    sessions: new SessionRepository(db, now),
    groups: new GroupRepository(db, now),
    rooms: new RoomRepository(db, now),
    devices: new DeviceTokenRepository(db, now),
    msyncDevices: new MsyncDeviceRepository(db, now),
    settings: new UserSettingsRepository(db, now),
    offlineFiles: new OfflineFileRepository(db, now),
    monitors: new MonitorRepository(db, now),
    friends: new FriendRepository(db, now),
    userAttributes: new UserAttributeRepository(db, now),
    sessionAttributes: new SessionAttributeRepository(db, now),
    operators: new OperatorRepository(db, now, options.scrypt),
    apiKeys: new ApiKeyRepository(db, now),
    audit: new AuditLogRepository(db),
    admin: new AdminRepository(db, now),
    webhooks: new WebhookRepository(db, now),
    migrations,
    close: () => db.close(),
  };
}
