import { SqlDatabase, SqlDialect, SqlExecutor } from './db';
import { StorageError } from './errors';

/**
 * One schema step. Statements run in order; each must be safe to re-run (IF NOT EXISTS) because
 * MySQL DDL is not transactional: a crash between a CREATE and the bookkeeping row must not wedge
 * the next start.
 */
export interface Migration {
  version: number;
  name: string;
  mysql: readonly string[];
  sqlite: readonly string[];
}

export const MIGRATIONS_TABLE = 'tt_schema_migrations';

// MySQL tables use utf8mb4_bin so names compare byte-exact, like SQLite's default BINARY collation.
const MYSQL_TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema: departments, users, conversations, messages, recent sessions',
    mysql: [
      `CREATE TABLE IF NOT EXISTS im_depart (
        id INT UNSIGNED NOT NULL AUTO_INCREMENT,
        name VARCHAR(64) NOT NULL,
        priority INT UNSIGNED NOT NULL DEFAULT 0,
        parent_id INT UNSIGNED NOT NULL DEFAULT 0,
        status TINYINT UNSIGNED NOT NULL DEFAULT 0,
        created INT UNSIGNED NOT NULL,
        updated INT UNSIGNED NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uk_depart_name (name),
        KEY idx_depart_updated (updated)
      ) ${MYSQL_TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS im_user (
        id INT UNSIGNED NOT NULL AUTO_INCREMENT,
        name VARCHAR(64) NOT NULL,
        password_hash VARCHAR(255) NOT NULL,
        nick VARCHAR(64) NOT NULL DEFAULT '',
        real_name VARCHAR(64) NOT NULL DEFAULT '',
        sex TINYINT UNSIGNED NOT NULL DEFAULT 0,
        avatar VARCHAR(255) NOT NULL DEFAULT '',
        phone VARCHAR(32) NOT NULL DEFAULT '',
        email VARCHAR(128) NOT NULL DEFAULT '',
        domain VARCHAR(64) NOT NULL DEFAULT '',
        depart_id INT UNSIGNED NOT NULL DEFAULT 0,
        sign_info VARCHAR(255) NOT NULL DEFAULT '',
        status TINYINT UNSIGNED NOT NULL DEFAULT 0,
        created INT UNSIGNED NOT NULL,
        updated INT UNSIGNED NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uk_user_name (name),
        KEY idx_user_updated (updated)
      ) ${MYSQL_TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS im_conversation (
        session_type TINYINT UNSIGNED NOT NULL,
        id_a INT UNSIGNED NOT NULL,
        id_b INT UNSIGNED NOT NULL,
        last_msg_id INT UNSIGNED NOT NULL DEFAULT 0,
        last_from_id INT UNSIGNED NOT NULL DEFAULT 0,
        last_msg_type INT UNSIGNED NOT NULL DEFAULT 0,
        last_msg_data MEDIUMBLOB NULL,
        updated INT UNSIGNED NOT NULL DEFAULT 0,
        PRIMARY KEY (session_type, id_a, id_b)
      ) ${MYSQL_TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS im_message (
        session_type TINYINT UNSIGNED NOT NULL,
        id_a INT UNSIGNED NOT NULL,
        id_b INT UNSIGNED NOT NULL,
        msg_id INT UNSIGNED NOT NULL,
        from_id INT UNSIGNED NOT NULL,
        to_id INT UNSIGNED NOT NULL,
        msg_type INT UNSIGNED NOT NULL,
        content MEDIUMBLOB NOT NULL,
        created INT UNSIGNED NOT NULL,
        PRIMARY KEY (session_type, id_a, id_b, msg_id)
      ) ${MYSQL_TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS im_recent_session (
        user_id INT UNSIGNED NOT NULL,
        session_type TINYINT UNSIGNED NOT NULL,
        peer_id INT UNSIGNED NOT NULL,
        status TINYINT UNSIGNED NOT NULL DEFAULT 0,
        unread_cnt INT UNSIGNED NOT NULL DEFAULT 0,
        read_msg_id INT UNSIGNED NOT NULL DEFAULT 0,
        created INT UNSIGNED NOT NULL,
        updated INT UNSIGNED NOT NULL,
        PRIMARY KEY (user_id, session_type, peer_id),
        KEY idx_recent_user_updated (user_id, updated)
      ) ${MYSQL_TABLE_OPTIONS}`,
    ],
    sqlite: [
      `CREATE TABLE IF NOT EXISTS im_depart (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        priority INTEGER NOT NULL DEFAULT 0,
        parent_id INTEGER NOT NULL DEFAULT 0,
        status INTEGER NOT NULL DEFAULT 0,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL
      ) STRICT`,
      `CREATE INDEX IF NOT EXISTS idx_depart_updated ON im_depart (updated)`,
      `CREATE TABLE IF NOT EXISTS im_user (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        nick TEXT NOT NULL DEFAULT '',
        real_name TEXT NOT NULL DEFAULT '',
        sex INTEGER NOT NULL DEFAULT 0,
        avatar TEXT NOT NULL DEFAULT '',
        phone TEXT NOT NULL DEFAULT '',
        email TEXT NOT NULL DEFAULT '',
        domain TEXT NOT NULL DEFAULT '',
        depart_id INTEGER NOT NULL DEFAULT 0,
        sign_info TEXT NOT NULL DEFAULT '',
        status INTEGER NOT NULL DEFAULT 0,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL
      ) STRICT`,
      `CREATE INDEX IF NOT EXISTS idx_user_updated ON im_user (updated)`,
      `CREATE TABLE IF NOT EXISTS im_conversation (
        session_type INTEGER NOT NULL,
        id_a INTEGER NOT NULL,
        id_b INTEGER NOT NULL,
        last_msg_id INTEGER NOT NULL DEFAULT 0,
        last_from_id INTEGER NOT NULL DEFAULT 0,
        last_msg_type INTEGER NOT NULL DEFAULT 0,
        last_msg_data BLOB,
        updated INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (session_type, id_a, id_b)
      ) STRICT, WITHOUT ROWID`,
      `CREATE TABLE IF NOT EXISTS im_message (
        session_type INTEGER NOT NULL,
        id_a INTEGER NOT NULL,
        id_b INTEGER NOT NULL,
        msg_id INTEGER NOT NULL,
        from_id INTEGER NOT NULL,
        to_id INTEGER NOT NULL,
        msg_type INTEGER NOT NULL,
        content BLOB NOT NULL,
        created INTEGER NOT NULL,
        PRIMARY KEY (session_type, id_a, id_b, msg_id)
      ) STRICT`,
      `CREATE TABLE IF NOT EXISTS im_recent_session (
        user_id INTEGER NOT NULL,
        session_type INTEGER NOT NULL,
        peer_id INTEGER NOT NULL,
        status INTEGER NOT NULL DEFAULT 0,
        unread_cnt INTEGER NOT NULL DEFAULT 0,
        read_msg_id INTEGER NOT NULL DEFAULT 0,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL,
        PRIMARY KEY (user_id, session_type, peer_id)
      ) STRICT, WITHOUT ROWID`,
      `CREATE INDEX IF NOT EXISTS idx_recent_user_updated ON im_recent_session (user_id, updated)`,
    ],
  },
  {
    version: 2,
    name: 'groups and members, device tokens, user settings',
    mysql: [
      `CREATE TABLE IF NOT EXISTS im_group (
        id INT UNSIGNED NOT NULL AUTO_INCREMENT,
        name VARCHAR(255) NOT NULL,
        avatar VARCHAR(255) NOT NULL DEFAULT '',
        creator_id INT UNSIGNED NOT NULL,
        type TINYINT UNSIGNED NOT NULL,
        version INT UNSIGNED NOT NULL DEFAULT 1,
        status TINYINT UNSIGNED NOT NULL DEFAULT 0,
        created INT UNSIGNED NOT NULL,
        updated INT UNSIGNED NOT NULL,
        PRIMARY KEY (id),
        KEY idx_group_updated (updated)
      ) ${MYSQL_TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS im_group_member (
        group_id INT UNSIGNED NOT NULL,
        user_id INT UNSIGNED NOT NULL,
        status TINYINT UNSIGNED NOT NULL DEFAULT 0,
        shield_status TINYINT UNSIGNED NOT NULL DEFAULT 0,
        join_msg_id INT UNSIGNED NOT NULL DEFAULT 0,
        created INT UNSIGNED NOT NULL,
        updated INT UNSIGNED NOT NULL,
        PRIMARY KEY (group_id, user_id),
        KEY idx_group_member_user (user_id, status)
      ) ${MYSQL_TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS im_device_token (
        user_id INT UNSIGNED NOT NULL,
        client_type TINYINT UNSIGNED NOT NULL,
        token VARCHAR(512) NOT NULL,
        updated INT UNSIGNED NOT NULL,
        PRIMARY KEY (user_id, client_type),
        UNIQUE KEY uk_device_token (token)
      ) ${MYSQL_TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS im_user_setting (
        user_id INT UNSIGNED NOT NULL,
        push_shield TINYINT UNSIGNED NOT NULL DEFAULT 0,
        updated INT UNSIGNED NOT NULL,
        PRIMARY KEY (user_id)
      ) ${MYSQL_TABLE_OPTIONS}`,
    ],
    sqlite: [
      `CREATE TABLE IF NOT EXISTS im_group (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        avatar TEXT NOT NULL DEFAULT '',
        creator_id INTEGER NOT NULL,
        type INTEGER NOT NULL,
        version INTEGER NOT NULL DEFAULT 1,
        status INTEGER NOT NULL DEFAULT 0,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL
      ) STRICT`,
      `CREATE INDEX IF NOT EXISTS idx_group_updated ON im_group (updated)`,
      `CREATE TABLE IF NOT EXISTS im_group_member (
        group_id INTEGER NOT NULL,
        user_id INTEGER NOT NULL,
        status INTEGER NOT NULL DEFAULT 0,
        shield_status INTEGER NOT NULL DEFAULT 0,
        join_msg_id INTEGER NOT NULL DEFAULT 0,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL,
        PRIMARY KEY (group_id, user_id)
      ) STRICT, WITHOUT ROWID`,
      `CREATE INDEX IF NOT EXISTS idx_group_member_user ON im_group_member (user_id, status)`,
      `CREATE TABLE IF NOT EXISTS im_device_token (
        user_id INTEGER NOT NULL,
        client_type INTEGER NOT NULL,
        token TEXT NOT NULL,
        updated INTEGER NOT NULL,
        PRIMARY KEY (user_id, client_type)
      ) STRICT, WITHOUT ROWID`,
      `CREATE UNIQUE INDEX IF NOT EXISTS uk_device_token ON im_device_token (token)`,
      `CREATE TABLE IF NOT EXISTS im_user_setting (
        user_id INTEGER NOT NULL PRIMARY KEY,
        push_shield INTEGER NOT NULL DEFAULT 0,
        updated INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID`,
    ],
  },
  {
    version: 3,
    name: 'offline files (file_server keeps the bytes, this table the records)',
    mysql: [
      `CREATE TABLE IF NOT EXISTS im_offline_file (
        task_id VARCHAR(64) NOT NULL,
        from_id INT UNSIGNED NOT NULL,
        to_id INT UNSIGNED NOT NULL,
        file_name VARCHAR(255) NOT NULL,
        file_size INT UNSIGNED NOT NULL,
        server_id VARCHAR(128) NOT NULL,
        expires INT UNSIGNED NOT NULL,
        created INT UNSIGNED NOT NULL,
        PRIMARY KEY (task_id),
        KEY idx_offline_file_to (to_id, created),
        KEY idx_offline_file_expires (expires)
      ) ${MYSQL_TABLE_OPTIONS}`,
    ],
    sqlite: [
      `CREATE TABLE IF NOT EXISTS im_offline_file (
        task_id TEXT NOT NULL PRIMARY KEY,
        from_id INTEGER NOT NULL,
        to_id INTEGER NOT NULL,
        file_name TEXT NOT NULL,
        file_size INTEGER NOT NULL,
        server_id TEXT NOT NULL,
        expires INTEGER NOT NULL,
        created INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID`,
      `CREATE INDEX IF NOT EXISTS idx_offline_file_to ON im_offline_file (to_id, created)`,
      `CREATE INDEX IF NOT EXISTS idx_offline_file_expires ON im_offline_file (expires)`,
    ],
  },
  {
    version: 4,
    name: 'conversation core: message extra and recall state, per-user sync streams, client_msg_id de-duplication',
    // im_message gains: extra (opaque bytes, db_proxy stores an encoded IM.Core.MessageExtra), status
    // (0 normal, 1 recalled), recalled_by, recalled_at_ms (unix milliseconds).
    // im_user_seq: each user's last sync seq. im_user_sync: the user's stream, one pointer row per
    // event (kind 1 a message, 2 a recall of that message) referencing im_message; nothing is copied.
    // im_client_msg: (sender, client_msg_id) -> the message it created and the sender's seq for it.
    // ADD COLUMN has no IF NOT EXISTS in SQLite (nor in MySQL 8): the runner skips an ADD COLUMN
    // whose column already exists (see executeMigrationStatement).
    mysql: [
      `ALTER TABLE im_message ADD COLUMN extra MEDIUMBLOB NULL`,
      `ALTER TABLE im_message ADD COLUMN status TINYINT UNSIGNED NOT NULL DEFAULT 0`,
      `ALTER TABLE im_message ADD COLUMN recalled_by INT UNSIGNED NOT NULL DEFAULT 0`,
      `ALTER TABLE im_message ADD COLUMN recalled_at_ms BIGINT UNSIGNED NOT NULL DEFAULT 0`,
      `CREATE TABLE IF NOT EXISTS im_user_seq (
        user_id INT UNSIGNED NOT NULL,
        last_seq BIGINT UNSIGNED NOT NULL DEFAULT 0,
        PRIMARY KEY (user_id)
      ) ${MYSQL_TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS im_user_sync (
        user_id INT UNSIGNED NOT NULL,
        seq BIGINT UNSIGNED NOT NULL,
        kind TINYINT UNSIGNED NOT NULL,
        session_type TINYINT UNSIGNED NOT NULL,
        id_a INT UNSIGNED NOT NULL,
        id_b INT UNSIGNED NOT NULL,
        msg_id INT UNSIGNED NOT NULL,
        created INT UNSIGNED NOT NULL,
        PRIMARY KEY (user_id, seq)
      ) ${MYSQL_TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS im_client_msg (
        from_id INT UNSIGNED NOT NULL,
        client_msg_id VARCHAR(128) NOT NULL,
        session_type TINYINT UNSIGNED NOT NULL,
        id_a INT UNSIGNED NOT NULL,
        id_b INT UNSIGNED NOT NULL,
        msg_id INT UNSIGNED NOT NULL,
        seq BIGINT UNSIGNED NOT NULL,
        created INT UNSIGNED NOT NULL,
        PRIMARY KEY (from_id, client_msg_id)
      ) ${MYSQL_TABLE_OPTIONS}`,
    ],
    sqlite: [
      `ALTER TABLE im_message ADD COLUMN extra BLOB`,
      `ALTER TABLE im_message ADD COLUMN status INTEGER NOT NULL DEFAULT 0`,
      `ALTER TABLE im_message ADD COLUMN recalled_by INTEGER NOT NULL DEFAULT 0`,
      `ALTER TABLE im_message ADD COLUMN recalled_at_ms INTEGER NOT NULL DEFAULT 0`,
      `CREATE TABLE IF NOT EXISTS im_user_seq (
        user_id INTEGER NOT NULL PRIMARY KEY,
        last_seq INTEGER NOT NULL DEFAULT 0
      ) STRICT, WITHOUT ROWID`,
      `CREATE TABLE IF NOT EXISTS im_user_sync (
        user_id INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        kind INTEGER NOT NULL,
        session_type INTEGER NOT NULL,
        id_a INTEGER NOT NULL,
        id_b INTEGER NOT NULL,
        msg_id INTEGER NOT NULL,
        created INTEGER NOT NULL,
        PRIMARY KEY (user_id, seq)
      ) STRICT, WITHOUT ROWID`,
      `CREATE TABLE IF NOT EXISTS im_client_msg (
        from_id INTEGER NOT NULL,
        client_msg_id TEXT NOT NULL,
        session_type INTEGER NOT NULL,
        id_a INTEGER NOT NULL,
        id_b INTEGER NOT NULL,
        msg_id INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        created INTEGER NOT NULL,
        PRIMARY KEY (from_id, client_msg_id)
      ) STRICT, WITHOUT ROWID`,
    ],
  },
  {
    version: 5,
    name: 'sync streams in runs: one im_user_sync row per run of consecutive messages of one conversation',
    // A row now covers run_len consecutive entries of the user's stream: seqs seq-run_len+1 .. seq
    // point at msg_ids msg_id-run_len+1 .. msg_id of one conversation (a batch's messages of a
    // conversation get consecutive ids, so a member of a busy group gets one row per batch, not one
    // per message). Rows written before this migration are runs of one.
    mysql: [`ALTER TABLE im_user_sync ADD COLUMN run_len INT UNSIGNED NOT NULL DEFAULT 1`],
    sqlite: [`ALTER TABLE im_user_sync ADD COLUMN run_len INTEGER NOT NULL DEFAULT 1`],
  },
  {
    version: 6,
    name: 'chat rooms: rooms and their current members',
    // Room messages live in im_message under session_type 3 (id_a = room id, id_b = 0) with the
    // room's counter in im_conversation; they get no sync seqs and no recent sessions (never unread),
    // and only the newest few are kept (db_proxy prunes as it writes).
    mysql: [
      `CREATE TABLE IF NOT EXISTS im_room (
        id INT UNSIGNED NOT NULL AUTO_INCREMENT,
        name VARCHAR(255) NOT NULL,
        creator_id INT UNSIGNED NOT NULL DEFAULT 0,
        max_members INT UNSIGNED NOT NULL,
        status TINYINT UNSIGNED NOT NULL DEFAULT 0,
        created INT UNSIGNED NOT NULL,
        updated INT UNSIGNED NOT NULL,
        PRIMARY KEY (id)
      ) ${MYSQL_TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS im_room_member (
        room_id INT UNSIGNED NOT NULL,
        user_id INT UNSIGNED NOT NULL,
        joined INT UNSIGNED NOT NULL,
        PRIMARY KEY (room_id, user_id),
        KEY idx_room_member_user (user_id)
      ) ${MYSQL_TABLE_OPTIONS}`,
    ],
    sqlite: [
      `CREATE TABLE IF NOT EXISTS im_room (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        creator_id INTEGER NOT NULL DEFAULT 0,
        max_members INTEGER NOT NULL,
        status INTEGER NOT NULL DEFAULT 0,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL
      ) STRICT`,
      `CREATE TABLE IF NOT EXISTS im_room_member (
        room_id INTEGER NOT NULL,
        user_id INTEGER NOT NULL,
        joined INTEGER NOT NULL,
        PRIMARY KEY (room_id, user_id)
      ) STRICT, WITHOUT ROWID`,
      `CREATE INDEX IF NOT EXISTS idx_room_member_user ON im_room_member (user_id)`,
    ],
  },
  {
    version: 7,
    name: 'MSync devices: the user sync seq each (user, resource) has confirmed',
    // One row per MSync device (its JID resource): where a reconnecting device continues its queue.
    mysql: [
      `CREATE TABLE IF NOT EXISTS im_msync_device (
        user_id INT UNSIGNED NOT NULL,
        resource VARCHAR(128) NOT NULL,
        confirmed_seq BIGINT UNSIGNED NOT NULL DEFAULT 0,
        updated INT UNSIGNED NOT NULL,
        PRIMARY KEY (user_id, resource)
      ) ${MYSQL_TABLE_OPTIONS}`,
    ],
    sqlite: [
      `CREATE TABLE IF NOT EXISTS im_msync_device (
        user_id INTEGER NOT NULL,
        resource TEXT NOT NULL,
        confirmed_seq INTEGER NOT NULL DEFAULT 0,
        updated INTEGER NOT NULL,
        PRIMARY KEY (user_id, resource)
      ) STRICT, WITHOUT ROWID`,
    ],
  },
  {
    version: 8,
    name: 'client_msg_id rows expire: an index on their time',
    // db_proxy deletes (sender, client_msg_id) rows older than CLIENT_MSG_ID_RETENTION_HOURS.
    mysql: [`ALTER TABLE im_client_msg ADD INDEX idx_client_msg_created (created)`],
    sqlite: [`CREATE INDEX IF NOT EXISTS idx_client_msg_created ON im_client_msg (created)`],
  },
  {
    version: 9,
    name: 'OMTP features: group info and admin, friends, attributes, birthdays, hidden and high-priority messages, session monitors',
    mysql: [
      `ALTER TABLE im_group ADD COLUMN description VARCHAR(1024) NOT NULL DEFAULT ''`,
      `ALTER TABLE im_group ADD COLUMN member_limit INT UNSIGNED NOT NULL DEFAULT 0`,
      `ALTER TABLE im_user ADD COLUMN birthday_ms BIGINT UNSIGNED NOT NULL DEFAULT 0`,
      // A friendship is two rows (one per side, each with its own remark); deleted rows stay for sync.
      `CREATE TABLE IF NOT EXISTS im_friend (
        user_id INT UNSIGNED NOT NULL,
        friend_id INT UNSIGNED NOT NULL,
        remark VARCHAR(255) NOT NULL DEFAULT '',
        status TINYINT UNSIGNED NOT NULL DEFAULT 0,
        created INT UNSIGNED NOT NULL,
        updated INT UNSIGNED NOT NULL,
        PRIMARY KEY (user_id, friend_id),
        KEY idx_friend_updated (user_id, updated)
      ) ${MYSQL_TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS im_user_attr (
        user_id INT UNSIGNED NOT NULL,
        target_id INT UNSIGNED NOT NULL,
        name VARCHAR(64) NOT NULL,
        value VARCHAR(1024) NOT NULL,
        updated INT UNSIGNED NOT NULL,
        PRIMARY KEY (user_id, target_id, name)
      ) ${MYSQL_TABLE_OPTIONS}`,
      // peer_id as in im_recent_session: the other user (single chat) or the group, from user_id's side.
      `CREATE TABLE IF NOT EXISTS im_session_attr (
        user_id INT UNSIGNED NOT NULL,
        session_type TINYINT UNSIGNED NOT NULL,
        peer_id INT UNSIGNED NOT NULL,
        name VARCHAR(64) NOT NULL,
        value VARCHAR(1024) NOT NULL,
        updated INT UNSIGNED NOT NULL,
        PRIMARY KEY (user_id, session_type, peer_id, name)
      ) ${MYSQL_TABLE_OPTIONS}`,
      // Messages a user deleted from their own view (conversation key as in im_message).
      `CREATE TABLE IF NOT EXISTS im_msg_hidden (
        user_id INT UNSIGNED NOT NULL,
        session_type TINYINT UNSIGNED NOT NULL,
        id_a INT UNSIGNED NOT NULL,
        id_b INT UNSIGNED NOT NULL,
        msg_id INT UNSIGNED NOT NULL,
        created INT UNSIGNED NOT NULL,
        PRIMARY KEY (user_id, session_type, id_a, id_b, msg_id)
      ) ${MYSQL_TABLE_OPTIONS}`,
      // Each participant's high-priority stream: id is the cursor.
      `CREATE TABLE IF NOT EXISTS im_priority_msg (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        user_id INT UNSIGNED NOT NULL,
        session_type TINYINT UNSIGNED NOT NULL,
        id_a INT UNSIGNED NOT NULL,
        id_b INT UNSIGNED NOT NULL,
        msg_id INT UNSIGNED NOT NULL,
        created INT UNSIGNED NOT NULL,
        PRIMARY KEY (id),
        KEY idx_priority_user (user_id, id)
      ) ${MYSQL_TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS im_monitor_grant (
        user_id INT UNSIGNED NOT NULL,
        granted_by VARCHAR(128) NOT NULL,
        created INT UNSIGNED NOT NULL,
        PRIMARY KEY (user_id)
      ) ${MYSQL_TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS im_session_monitor (
        user_id INT UNSIGNED NOT NULL,
        session_type TINYINT UNSIGNED NOT NULL,
        id_a INT UNSIGNED NOT NULL,
        id_b INT UNSIGNED NOT NULL,
        started INT UNSIGNED NOT NULL,
        PRIMARY KEY (user_id, session_type, id_a, id_b)
      ) ${MYSQL_TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS im_monitor_log (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        user_id INT UNSIGNED NOT NULL,
        action VARCHAR(16) NOT NULL,
        session_type TINYINT UNSIGNED NOT NULL DEFAULT 0,
        id_a INT UNSIGNED NOT NULL DEFAULT 0,
        id_b INT UNSIGNED NOT NULL DEFAULT 0,
        by_whom VARCHAR(128) NOT NULL DEFAULT '',
        at INT UNSIGNED NOT NULL,
        PRIMARY KEY (id),
        KEY idx_monitor_log_user (user_id, id)
      ) ${MYSQL_TABLE_OPTIONS}`,
    ],
    sqlite: [
      `ALTER TABLE im_group ADD COLUMN description TEXT NOT NULL DEFAULT ''`,
      `ALTER TABLE im_group ADD COLUMN member_limit INTEGER NOT NULL DEFAULT 0`,
      `ALTER TABLE im_user ADD COLUMN birthday_ms INTEGER NOT NULL DEFAULT 0`,
      `CREATE TABLE IF NOT EXISTS im_friend (
        user_id INTEGER NOT NULL,
        friend_id INTEGER NOT NULL,
        remark TEXT NOT NULL DEFAULT '',
        status INTEGER NOT NULL DEFAULT 0,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL,
        PRIMARY KEY (user_id, friend_id)
      ) STRICT, WITHOUT ROWID`,
      `CREATE INDEX IF NOT EXISTS idx_friend_updated ON im_friend (user_id, updated)`,
      `CREATE TABLE IF NOT EXISTS im_user_attr (
        user_id INTEGER NOT NULL,
        target_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        updated INTEGER NOT NULL,
        PRIMARY KEY (user_id, target_id, name)
      ) STRICT, WITHOUT ROWID`,
      `CREATE TABLE IF NOT EXISTS im_session_attr (
        user_id INTEGER NOT NULL,
        session_type INTEGER NOT NULL,
        peer_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        updated INTEGER NOT NULL,
        PRIMARY KEY (user_id, session_type, peer_id, name)
      ) STRICT, WITHOUT ROWID`,
      `CREATE TABLE IF NOT EXISTS im_msg_hidden (
        user_id INTEGER NOT NULL,
        session_type INTEGER NOT NULL,
        id_a INTEGER NOT NULL,
        id_b INTEGER NOT NULL,
        msg_id INTEGER NOT NULL,
        created INTEGER NOT NULL,
        PRIMARY KEY (user_id, session_type, id_a, id_b, msg_id)
      ) STRICT, WITHOUT ROWID`,
      `CREATE TABLE IF NOT EXISTS im_priority_msg (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL,
        session_type INTEGER NOT NULL,
        id_a INTEGER NOT NULL,
        id_b INTEGER NOT NULL,
        msg_id INTEGER NOT NULL,
        created INTEGER NOT NULL
      ) STRICT`,
      `CREATE INDEX IF NOT EXISTS idx_priority_user ON im_priority_msg (user_id, id)`,
      `CREATE TABLE IF NOT EXISTS im_monitor_grant (
        user_id INTEGER NOT NULL PRIMARY KEY,
        granted_by TEXT NOT NULL,
        created INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID`,
      `CREATE TABLE IF NOT EXISTS im_session_monitor (
        user_id INTEGER NOT NULL,
        session_type INTEGER NOT NULL,
        id_a INTEGER NOT NULL,
        id_b INTEGER NOT NULL,
        started INTEGER NOT NULL,
        PRIMARY KEY (user_id, session_type, id_a, id_b)
      ) STRICT, WITHOUT ROWID`,
      `CREATE TABLE IF NOT EXISTS im_monitor_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL,
        action TEXT NOT NULL,
        session_type INTEGER NOT NULL DEFAULT 0,
        id_a INTEGER NOT NULL DEFAULT 0,
        id_b INTEGER NOT NULL DEFAULT 0,
        by_whom TEXT NOT NULL DEFAULT '',
        at INTEGER NOT NULL
      ) STRICT`,
      `CREATE INDEX IF NOT EXISTS idx_monitor_log_user ON im_monitor_log (user_id, id)`,
    ],
  },
  {
    version: 10,
    name: 'operator HTTP API: operator accounts, API keys, the audit log; messages by sender',
    // Operators are not chat users: their own table, scrypt password hashes, role admin|viewer.
    // API keys are random and high-entropy, so key_hash is a plain SHA-256 hex (no KDF needed);
    // prefix is the key's first characters, shown in lists. Audit rows: at_ms is unix milliseconds.
    // idx_message_from serves history search by sender (newest first) without a table scan.
    mysql: [
      `CREATE TABLE IF NOT EXISTS im_operator (
        id INT UNSIGNED NOT NULL AUTO_INCREMENT,
        name VARCHAR(64) NOT NULL,
        password_hash VARCHAR(255) NOT NULL,
        role VARCHAR(16) NOT NULL,
        disabled TINYINT UNSIGNED NOT NULL DEFAULT 0,
        created INT UNSIGNED NOT NULL,
        updated INT UNSIGNED NOT NULL,
        PRIMARY KEY (id),
        UNIQUE KEY uk_operator_name (name)
      ) ${MYSQL_TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS im_api_key (
        id INT UNSIGNED NOT NULL AUTO_INCREMENT,
        name VARCHAR(64) NOT NULL,
        prefix VARCHAR(16) NOT NULL,
        key_hash CHAR(64) NOT NULL,
        role VARCHAR(16) NOT NULL,
        created_by VARCHAR(128) NOT NULL,
        created INT UNSIGNED NOT NULL,
        last_used INT UNSIGNED NOT NULL DEFAULT 0,
        revoked INT UNSIGNED NOT NULL DEFAULT 0,
        PRIMARY KEY (id),
        UNIQUE KEY uk_api_key_hash (key_hash)
      ) ${MYSQL_TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS im_audit_log (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
        actor VARCHAR(128) NOT NULL,
        action VARCHAR(64) NOT NULL,
        target VARCHAR(128) NOT NULL DEFAULT '',
        detail TEXT NOT NULL,
        at_ms BIGINT UNSIGNED NOT NULL,
        PRIMARY KEY (id),
        KEY idx_audit_at (at_ms),
        KEY idx_audit_actor (actor, id)
      ) ${MYSQL_TABLE_OPTIONS}`,
      `ALTER TABLE im_message ADD INDEX idx_message_from (from_id, created)`,
    ],
    sqlite: [
      `CREATE TABLE IF NOT EXISTS im_operator (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL
      ) STRICT`,
      `CREATE TABLE IF NOT EXISTS im_api_key (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        prefix TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created INTEGER NOT NULL,
        last_used INTEGER NOT NULL DEFAULT 0,
        revoked INTEGER NOT NULL DEFAULT 0
      ) STRICT`,
      `CREATE TABLE IF NOT EXISTS im_audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL,
        at_ms INTEGER NOT NULL
      ) STRICT`,
      `CREATE INDEX IF NOT EXISTS idx_audit_at ON im_audit_log (at_ms)`,
      `CREATE INDEX IF NOT EXISTS idx_audit_actor ON im_audit_log (actor, id)`,
      `CREATE INDEX IF NOT EXISTS idx_message_from ON im_message (from_id, created)`,
    ],
  },
  {
    version: 11,
    name: 'webhooks: URLs called after messages are stored and users log in or out, and before a message is stored',
    // event: message.stored | user.login | user.logout | message.before_send. secret: the HMAC key of
    // X-TT-Signature (kept readable: msg_servers sign with it). fail_open only matters for before_send.
    mysql: [
      `CREATE TABLE IF NOT EXISTS im_webhook (
        id INT UNSIGNED NOT NULL AUTO_INCREMENT,
        event VARCHAR(32) NOT NULL,
        url VARCHAR(2048) NOT NULL,
        secret VARCHAR(256) NOT NULL,
        enabled TINYINT UNSIGNED NOT NULL DEFAULT 1,
        timeout_ms INT UNSIGNED NOT NULL DEFAULT 5000,
        fail_open TINYINT UNSIGNED NOT NULL DEFAULT 1,
        created INT UNSIGNED NOT NULL,
        updated INT UNSIGNED NOT NULL,
        PRIMARY KEY (id),
        KEY idx_webhook_event (event)
      ) ${MYSQL_TABLE_OPTIONS}`,
    ],
    sqlite: [
      `CREATE TABLE IF NOT EXISTS im_webhook (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        event TEXT NOT NULL,
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        timeout_ms INTEGER NOT NULL DEFAULT 5000,
        fail_open INTEGER NOT NULL DEFAULT 1,
        created INTEGER NOT NULL,
        updated INTEGER NOT NULL
      ) STRICT`,
      `CREATE INDEX IF NOT EXISTS idx_webhook_event ON im_webhook (event)`,
    ],
  },
];

const ADD_COLUMN_RE = /^\s*ALTER\s+TABLE\s+\S+\s+ADD\s+COLUMN\s/i;

function isDuplicateColumn(err: unknown): boolean {
  const cause = (err instanceof StorageError ? err.cause : err) as { code?: unknown; errno?: unknown; message?: unknown } | undefined;
  if (!cause) return false;
  return cause.code === 'ER_DUP_FIELDNAME' || cause.errno === 1060 || (typeof cause.message === 'string' && /duplicate column name/i.test(cause.message));
}

/**
 * Runs one migration statement. An `ALTER TABLE ... ADD COLUMN` whose column already exists is a
 * no-op, so every statement can run again (neither SQLite nor MySQL 8 has ADD COLUMN IF NOT EXISTS).
 */
export async function executeMigrationStatement(ex: SqlExecutor, statement: string): Promise<void> {
  try {
    await ex.execute(statement);
  } catch (err) {
    if (ADD_COLUMN_RE.test(statement) && isDuplicateColumn(err)) return;
    throw err;
  }
}

const CREATE_MIGRATIONS_TABLE: Record<SqlDialect, string> = {
  mysql: `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
    version INT UNSIGNED NOT NULL,
    name VARCHAR(255) NOT NULL,
    applied_at INT UNSIGNED NOT NULL,
    PRIMARY KEY (version)
  ) ${MYSQL_TABLE_OPTIONS}`,
  sqlite: `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
    version INTEGER NOT NULL PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) STRICT`,
};

export interface MigrationResult {
  /** Versions applied by this call (empty when the schema was already current). */
  applied: number[];
  /** Highest version now recorded. */
  current: number;
}

export interface MigrateOptions {
  migrations?: readonly Migration[];
  /** MySQL: seconds to wait for the migration lock held by another process. Default 30. */
  lockTimeoutSec?: number;
  now?: () => number;
}

function validate(migrations: readonly Migration[]): void {
  let prev = 0;
  for (const m of migrations) {
    if (!Number.isInteger(m.version) || m.version <= prev) {
      throw new StorageError('INVALID_ARGUMENT', `migration versions must be increasing positive integers (at ${m.version})`);
    }
    prev = m.version;
  }
}

async function applyPending(ex: SqlExecutor, migrations: readonly Migration[], now: () => number): Promise<MigrationResult> {
  await ex.execute(CREATE_MIGRATIONS_TABLE[ex.dialect]);
  const rows = await ex.query<{ version: number }>(`SELECT version FROM ${MIGRATIONS_TABLE}`);
  const done = new Set(rows.map((r) => Number(r.version)));
  const applied: number[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    for (const statement of m[ex.dialect]) await executeMigrationStatement(ex, statement);
    await ex.execute(`INSERT INTO ${MIGRATIONS_TABLE} (version, name, applied_at) VALUES (?, ?, ?)`, [m.version, m.name, now()]);
    applied.push(m.version);
    done.add(m.version);
  }
  return { applied, current: done.size === 0 ? 0 : Math.max(...done) };
}

/**
 * Brings the schema up to date. Safe to call from several processes at once: MySQL serialises the
 * runs with GET_LOCK (per database), SQLite runs everything in one BEGIN IMMEDIATE transaction.
 * Re-running is a no-op.
 */
export async function runMigrations(db: SqlDatabase, options: MigrateOptions = {}): Promise<MigrationResult> {
  const migrations = options.migrations ?? MIGRATIONS;
  validate(migrations);
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));

  if (db.dialect === 'sqlite') {
    return db.transaction((tx) => applyPending(tx, migrations, now));
  }

  const timeout = options.lockTimeoutSec ?? 30;
  return db.withConnection(async (conn) => {
    // GET_LOCK names are server-wide: qualify with the database so unrelated databases do not wait on each other.
    const [lock] = await conn.query<{ name: string; ok: number | null }>(
      `SELECT LEFT(CONCAT('${MIGRATIONS_TABLE}:', DATABASE()), 64) AS name, GET_LOCK(LEFT(CONCAT('${MIGRATIONS_TABLE}:', DATABASE()), 64), ?) AS ok`,
      [timeout],
    );
    if (!lock || Number(lock.ok) !== 1) {
      throw new StorageError('UNAVAILABLE', `timed out after ${timeout}s waiting for the schema migration lock`);
    }
    try {
      return await applyPending(conn, migrations, now);
    } finally {
      await conn.query('SELECT RELEASE_LOCK(?)', [lock.name]).catch(() => undefined);
    }
  });
}
