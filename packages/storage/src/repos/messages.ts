import { BatchStatement, runBatch, SqlDatabase, SqlDialect, SqlExecutor, SqlValue } from '../db';
import { isStorageError, StorageError } from '../errors';
import {
  ClientMsgRef,
  ConversationKey,
  GroupMemberStatus,
  HighPriorityPage,
  NewMessage,
  RecallOutcome,
  RecallRequest,
  SaveMessageResult,
  SessionType,
  SessionStatus,
  SessionTypeValue,
  StoredMessage,
  SyncEntry,
  SyncEventKind,
  SyncOptions,
  SyncPage,
  UserSeq,
} from '../model';
import { retryOnConflict } from '../retry';
import { asBuffer, chunks, conversationKey, messageSessionType, placeholders, sessionType, text, u32 } from '../validate';
import { Batcher } from '@tt/batching';

interface MessageRow {
  msg_id: number;
  from_id: number;
  to_id: number;
  msg_type: number;
  content: unknown;
  created: number;
  extra: unknown;
  status: number;
  recalled_by: number;
  recalled_at_ms: number;
}

/** im_message.status */
const MessageStatus = { NORMAL: 0, RECALLED: 1 } as const;

function toMessage(r: MessageRow): StoredMessage {
  const m: StoredMessage = {
    msgId: Number(r.msg_id),
    fromId: Number(r.from_id),
    toId: Number(r.to_id),
    msgType: Number(r.msg_type),
    data: asBuffer(r.content),
    createTime: Number(r.created),
  };
  if (r.extra !== null && r.extra !== undefined) m.extra = asBuffer(r.extra);
  if (Number(r.status) === MessageStatus.RECALLED) m.recalled = { by: Number(r.recalled_by), atMs: Number(r.recalled_at_ms) };
  return m;
}

const MESSAGE_COLUMNS = 'msg_id, from_id, to_id, msg_type, content, created, extra, status, recalled_by, recalled_at_ms';
const KEY_WHERE = 'session_type = ? AND id_a = ? AND id_b = ?';
const ID_CHUNK = 500;
const CONFLICT_RETRIES = 4;

/**
 * A batch of messages is written with a handful of set-based statements, whatever its size:
 * (0) one look-up of the batch's client_msg_ids (repeats are answered, not written); (1) every
 * conversation's counter advances by its number of messages in the batch, in one upsert that also
 * records the latest-message summary; the rows stay exclusively locked until commit, which
 * serialises concurrent writers of a conversation across processes; (2) the new counters are read
 * back (our own locked rows), giving each message its id; (3) one multi-row insert of the messages;
 * (4) the senders' and (5) the recipients' recent sessions as multi-row upserts, one row per
 * (user, session) with the batch's totals; (6) every user's sync counter advances by their number of
 * events in the batch (one upsert) and is read back; (7) one multi-row insert of the sync pointer
 * rows, one per run: a user's consecutive seqs pointing at consecutive msg_ids of one conversation
 * (a member of a group gets one row for all of the batch's messages in it); only when the batch holds
 * high-priority messages, one multi-row insert of their participants' stream rows; (8) the client_msg_id rows. Multi-row statements are chunked to stay
 * under the drivers' parameter limits; rows are sorted wherever they lock existing rows.
 */
function bumpCounters(dialect: SqlDialect, rows: number): string {
  return cachedSql('bumpCounters', dialect, rows, () => {
    const insert = `INSERT INTO im_conversation (session_type, id_a, id_b, last_msg_id, last_from_id, last_msg_type, last_msg_data, updated) VALUES ${values(rows, 8)}`;
    return dialect === 'mysql'
      ? `${insert} ON DUPLICATE KEY UPDATE last_msg_id = last_msg_id + VALUES(last_msg_id), last_from_id = VALUES(last_from_id),
         last_msg_type = VALUES(last_msg_type), last_msg_data = VALUES(last_msg_data), updated = VALUES(updated)`
      : `${insert} ON CONFLICT (session_type, id_a, id_b) DO UPDATE SET last_msg_id = last_msg_id + excluded.last_msg_id, last_from_id = excluded.last_from_id,
         last_msg_type = excluded.last_msg_type, last_msg_data = excluded.last_msg_data, updated = excluded.updated`;
  });
}

function readCounters(rows: number): string {
  return cachedSql('readCounters', 'mysql', rows, () => `SELECT session_type, id_a, id_b, last_msg_id FROM im_conversation WHERE (session_type, id_a, id_b) IN (${values(rows, 3)})`);
}

function insertMessages(rows: number): string {
  return cachedSql('insertMessages', 'mysql', rows, () => `INSERT INTO im_message (session_type, id_a, id_b, msg_id, from_id, to_id, msg_type, content, created, extra) VALUES ${values(rows, 10)}`);
}

/** Senders' own recent sessions: undeleted, moved to the top, own message counts as read. */
function upsertSenders(dialect: SqlDialect, rows: number): string {
  return cachedSql('upsertSenders', dialect, rows, () => {
    const row = `(?, ?, ?, ${SessionStatus.OK}, 0, ?, ?, ?)`;
    const insert = `INSERT INTO im_recent_session (user_id, session_type, peer_id, status, unread_cnt, read_msg_id, created, updated) VALUES ${Array(rows).fill(row).join(', ')}`;
    return dialect === 'mysql'
      ? `${insert} ON DUPLICATE KEY UPDATE status = ${SessionStatus.OK}, read_msg_id = GREATEST(read_msg_id, VALUES(read_msg_id)), updated = VALUES(updated)`
      : `${insert} ON CONFLICT (user_id, session_type, peer_id) DO UPDATE SET status = ${SessionStatus.OK},
         read_msg_id = max(read_msg_id, excluded.read_msg_id), updated = excluded.updated`;
  });
}

/** Recipients' recent sessions: undeleted, moved to the top, unread + their messages in the batch. */
function upsertRecipients(dialect: SqlDialect, rows: number): string {
  return cachedSql('upsertRecipients', dialect, rows, () => {
    const row = `(?, ?, ?, ${SessionStatus.OK}, ?, 0, ?, ?)`;
    const insert = `INSERT INTO im_recent_session (user_id, session_type, peer_id, status, unread_cnt, read_msg_id, created, updated) VALUES ${Array(rows).fill(row).join(', ')}`;
    return dialect === 'mysql'
      ? `${insert} ON DUPLICATE KEY UPDATE status = ${SessionStatus.OK}, unread_cnt = unread_cnt + VALUES(unread_cnt), updated = VALUES(updated)`
      : `${insert} ON CONFLICT (user_id, session_type, peer_id) DO UPDATE SET status = ${SessionStatus.OK}, unread_cnt = unread_cnt + excluded.unread_cnt, updated = excluded.updated`;
  });
}

/** Users' sync counters advance by their number of new events. */
function bumpSeqs(dialect: SqlDialect, rows: number): string {
  return cachedSql('bumpSeqs', dialect, rows, () => {
    const insert = `INSERT INTO im_user_seq (user_id, last_seq) VALUES ${values(rows, 2)}`;
    return dialect === 'mysql'
      ? `${insert} ON DUPLICATE KEY UPDATE last_seq = last_seq + VALUES(last_seq)`
      : `${insert} ON CONFLICT (user_id) DO UPDATE SET last_seq = last_seq + excluded.last_seq RETURNING user_id, last_seq`;
  });
}

function readSeqs(rows: number): string {
  return cachedSql('readSeqs', 'mysql', rows, () => `SELECT user_id, last_seq FROM im_user_seq WHERE user_id IN (${placeholders(rows)})`);
}

/** A pointer row: (user_id, seq, kind, session_type, id_a, id_b, msg_id, created, run_len); seq and msg_id are the run's last. */
const POINTER_COLUMNS = 9;
function insertPointers(rows: number): string {
  return cachedSql('insertPointers', 'mysql', rows, () => `INSERT INTO im_user_sync (user_id, seq, kind, session_type, id_a, id_b, msg_id, created, run_len) VALUES ${values(rows, POINTER_COLUMNS)}`);
}

/** A high-priority stream row: (user_id, session_type, id_a, id_b, msg_id, created); the id is the cursor. */
const PRIORITY_COLUMNS = 6;
function insertPriorityRows(rows: number): string {
  return cachedSql('insertPriority', 'mysql', rows, () => `INSERT INTO im_priority_msg (user_id, session_type, id_a, id_b, msg_id, created) VALUES ${values(rows, PRIORITY_COLUMNS)}`);
}

function insertClientMsgs(rows: number): string {
  return cachedSql('insertClientMsgs', 'mysql', rows, () => `INSERT INTO im_client_msg (from_id, client_msg_id, session_type, id_a, id_b, msg_id, seq, created) VALUES ${values(rows, 8)}`);
}

function findClientMsgs(rows: number): string {
  return cachedSql(
    'findClientMsgs',
    'mysql',
    rows,
    () => `SELECT d.from_id AS d_from_id, d.client_msg_id, d.session_type, d.seq, ${MESSAGE_COLUMNS.split(', ').map((c) => `m.${c}`).join(', ')}
       FROM im_client_msg d
       JOIN im_message m ON m.session_type = d.session_type AND m.id_a = d.id_a AND m.id_b = d.id_b AND m.msg_id = d.msg_id
       WHERE (d.from_id, d.client_msg_id) IN (${values(rows, 2)})`,
  );
}

/** "(?, ?), (?, ?)" for `rows` rows of `columns` parameters. */
function values(rows: number, columns: number): string {
  return Array(rows).fill(`(${placeholders(columns)})`).join(', ');
}

/** Multi-row statements are built once per (statement, dialect, row count); most batches repeat the same few sizes. */
const sqlCache = new Map<string, string>();
function cachedSql(name: string, dialect: SqlDialect, rows: number, build: () => string): string {
  const key = `${name}:${dialect}:${rows}`;
  let sql = sqlCache.get(key);
  if (sql === undefined) {
    if (sqlCache.size > 2000) sqlCache.clear();
    sql = build();
    sqlCache.set(key, sql);
  }
  return sql;
}

/** Rows per multi-row statement (keeps parameters well under SQLite's and MySQL's limits). */
const ROWS_PER_STATEMENT = 400;
/** Sync counters per upsert (2 parameters each). */
const SEQ_ROWS_PER_STATEMENT = 1000;
/** Sync pointer rows per insert: the bulk of a group message's rows (8 parameters each). */
const POINTER_ROWS_PER_STATEMENT = 2000;

/** Collects sync pointer rows and inserts them POINTER_ROWS_PER_STATEMENT at a time (flat parameters, no row objects). */
class PointerWriter {
  private params: SqlValue[] = [];
  private rows = 0;

  constructor(private readonly tx: SqlExecutor) {}

  /** Adds a row; true when a statement's worth is waiting (then flush). */
  add(userId: number, seq: number, kind: number, key: ConversationKey, msgId: number, created: number): boolean {
    this.params.push(userId, seq, kind, key.sessionType, key.idA, key.idB, msgId, created, 1);
    return ++this.rows >= POINTER_ROWS_PER_STATEMENT;
  }

  async flush(): Promise<void> {
    if (this.rows === 0) return;
    const [sql, params] = [insertPointers(this.rows), this.params];
    this.params = [];
    this.rows = 0;
    await this.tx.execute(sql, params);
  }
}

/**
 * Advances the sync counters of these users by their counts (one upsert, users ascending so
 * concurrent writers lock them in the same order) and reads them back: each user's first new seq.
 */
async function allocateSeqs(tx: SqlExecutor, counts: Map<number, number>): Promise<Map<number, number>> {
  const users = [...counts.keys()].sort((a, b) => a - b);
  const first = new Map<number, number>();
  const got = (rows: Array<{ user_id: number; last_seq: number }>) => {
    for (const r of rows) {
      const user = Number(r.user_id);
      first.set(user, Number(r.last_seq) - counts.get(user)! + 1);
    }
  };
  for (const chunk of chunks(users, SEQ_ROWS_PER_STATEMENT)) {
    const params = chunk.flatMap((u) => [u, counts.get(u)!]);
    // SQLite returns the new counters from the upsert itself; MySQL reads its locked rows back.
    if (tx.dialect === 'sqlite') got(await tx.query(bumpSeqs(tx.dialect, chunk.length), params));
    else {
      await tx.execute(bumpSeqs(tx.dialect, chunk.length), params);
      got(await tx.query(readSeqs(chunk.length), chunk));
    }
  }
  if (first.size !== users.length) throw new StorageError('INTERNAL', 'sync counter update returned no seq');
  return first;
}

const keyString = (k: ConversationKey) => `${k.sessionType}:${k.idA}:${k.idB}`;
const conversationHash = (k: ConversationKey) => (Math.imul(Math.imul(k.sessionType, 0x9e3779b1) ^ k.idA, 0x85ebca6b) ^ k.idB) >>> 0;
const clientKey = (from: number, clientMsgId: string) => `${from}\u0000${clientMsgId}`;
const forUpdate = (ex: SqlExecutor) => (ex.dialect === 'mysql' ? ' FOR UPDATE' : '');

/** Compares rows so every writer locks them in the same order (fewer deadlocks between batches). */
function byNumbers(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const minMsgId = (opts: MessageVisibilityOptions): number => u32('minMsgIdExclusive', opts.minMsgIdExclusive ?? 0);

/** A seq (or a unix-ms time): a non-negative safe integer. */
function u53(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new StorageError('INVALID_ARGUMENT', `${field} must be a non-negative integer`);
  return value;
}

export interface MessageVisibilityOptions {
  /**
   * Only messages with msg_id > minMsgIdExclusive: pass a group member's join_msg_id so they never
   * see what was said before they joined. Default 0 (everything).
   */
  minMsgIdExclusive?: number;
}

export interface ListMessagesOptions extends MessageVisibilityOptions {
  /** Return messages with msg_id <= msgIdBegin; 0 means "from the newest". */
  msgIdBegin: number;
  count: number;
}

export interface ListGroupMessagesOptions {
  /** Return messages with msg_id <= msgIdBegin; 0 means "from the newest". */
  msgIdBegin: number;
  count: number;
  /** Only messages with msg_id > afterMsgId (the reader's join_msg_id). Default 0. */
  afterMsgId?: number;
}

/** Sync page size when none is asked for, and the largest. */
export const DEFAULT_SYNC_LIMIT = 100;
export const MAX_SYNC_LIMIT = 500;
/** Longest client_msg_id (characters). */
export const MAX_CLIENT_MSG_ID = 128;
/** High-priority page size when none is asked for, and the largest. */
export const DEFAULT_PRIORITY_LIMIT = 100;
export const MAX_PRIORITY_LIMIT = 500;
/** Largest history page, and most msg_ids one hide names. */
export const MAX_HISTORY_LIMIT = 500;
export const MAX_HIDE_IDS = 500;

interface PreparedMessage {
  key: ConversationKey;
  type: SessionTypeValue;
  from: number;
  to: number;
  msgType: number;
  data: Buffer;
  created: number;
  recipients: number[];
  recipientPeer: number;
  clientMsgId: string | null;
  extra: Buffer | null;
  /** Listed in the participants' high-priority streams (never for a chat room). */
  highPriority: boolean;
}

/** Validates a message and works out who it touches, before it joins a batch. */
function prepareMessage(msg: NewMessage): PreparedMessage {
  const type = messageSessionType(msg.sessionType);
  const from = u32('fromUserId', msg.fromUserId);
  const to = u32('toId', msg.toId);
  const msgType = u32('msgType', msg.msgType);
  const created = u32('createTime', msg.createTime);
  if (!(msg.data instanceof Uint8Array)) throw new StorageError('INVALID_ARGUMENT', 'data must be a Uint8Array');
  if (msg.extra !== undefined && msg.extra !== null && !(msg.extra instanceof Uint8Array)) throw new StorageError('INVALID_ARGUMENT', 'extra must be a Uint8Array');
  const clientMsgId = msg.clientMsgId === undefined || msg.clientMsgId === null || msg.clientMsgId === '' ? null : text('clientMsgId', msg.clientMsgId, MAX_CLIENT_MSG_ID);
  let recipients: number[];
  if (type === SessionType.SINGLE) {
    recipients = to === from ? [] : [to];
  } else if (type === SessionType.ROOM) {
    recipients = []; // nothing is stored per member of a chat room
  } else {
    if (!msg.recipientIds) throw new StorageError('INVALID_ARGUMENT', 'group messages need recipientIds (the member list)');
    // Sorted so concurrent group saves lock recipient rows in the same order.
    recipients = [...new Set(msg.recipientIds.map((id) => u32('recipientIds[]', id)))].filter((id) => id !== from).sort((a, b) => a - b);
  }
  return {
    key: conversationKey(type, from, to),
    type,
    from,
    to,
    msgType,
    data: asBuffer(msg.data),
    created,
    recipients,
    // The sender's peer is the other user (single) or the group; a recipient's peer is the sender (single) or the group.
    recipientPeer: type === SessionType.SINGLE ? from : to,
    clientMsgId,
    extra: msg.extra ? asBuffer(msg.extra) : null,
    highPriority: msg.highPriority === true && type !== SessionType.ROOM,
  };
}

function storedOf(m: PreparedMessage, msgId: number): StoredMessage {
  const stored: StoredMessage = { msgId, fromId: m.from, toId: m.to, msgType: m.msgType, data: m.data, createTime: m.created };
  if (m.extra) stored.extra = m.extra;
  return stored;
}

/** Most messages one transaction carries. */
const MAX_BATCH = 200;
/** Messages kept per chat room when none is configured. */
export const DEFAULT_ROOM_HISTORY_LIMIT = 200;

export class MessageRepository {
  private readonly writer: Batcher<PreparedMessage, SaveMessageResult>;
  private readonly roomHistoryLimit: number;

  constructor(
    private readonly db: SqlDatabase,
    options: { onBatch?: (size: number) => void; roomHistoryLimit?: number } = {},
  ) {
    this.roomHistoryLimit = u32('roomHistoryLimit', options.roomHistoryLimit ?? DEFAULT_ROOM_HISTORY_LIMIT);
    // SQLite has one writer; MySQL commits a few batches at once. A conversation always uses the
    // same lane (one transaction in flight), so its messages are numbered in the order they were
    // submitted: two concurrent transactions could otherwise lock its counter in either order.
    this.writer = new Batcher((batch) => this.writeBatch(batch), {
      lanes: db.dialect === 'sqlite' ? 1 : 4,
      laneOf: (m) => conversationHash(m.key),
      maxBatch: MAX_BATCH,
      retryAloneOnFailure: true,
      onBatch: options.onBatch,
    });
  }

  /**
   * Stores one message atomically: assigns the next msg_id of the conversation (1, 2, 3, ... with
   * no gaps, race-free across processes), updates the conversation's latest-message summary,
   * inserts the message, upserts the sender's and recipients' recent sessions, and appends the
   * message to the sync stream of the sender and of every recipient (each gets their next seq).
   * Single chat: the recipient is toId. Group chat: toId is the group id and the recipients are
   * `recipientIds` (the sender is skipped). Chat room: toId is the room; nobody gets a seq or a
   * recent session (never unread), and only the room's newest roomHistoryLimit messages are kept.
   * Nothing is written if any step fails.
   * With a clientMsgId already used by the sender (by an earlier save, here or in another process),
   * nothing is written and the answer is the original's (`duplicate: true`).
   */
  async saveMessage(msg: NewMessage): Promise<SaveMessageResult> {
    return this.writer.submit(prepareMessage(msg));
  }

  /** Writes a batch in one transaction, in order; all or nothing. */
  private async writeBatch(batch: PreparedMessage[]): Promise<SaveMessageResult[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.transaction((tx) => this.writeAll(tx, batch));
      } catch (err) {
        // MySQL may pick us as a deadlock victim, or another process stored one of our client_msg_ids
        // first; the whole transaction was rolled back, so retrying is safe (and then finds the original).
        if (!isStorageError(err, 'CONFLICT') || attempt >= CONFLICT_RETRIES) throw err;
        await sleep(5 * (attempt + 1) * Math.random());
      }
    }
  }

  private async writeAll(tx: SqlExecutor, batch: PreparedMessage[]): Promise<SaveMessageResult[]> {
    const results: SaveMessageResult[] = new Array(batch.length);
    // (0) Repeats of an earlier client_msg_id get the original's answer; a repeat inside the batch,
    // its first occurrence's.
    let fresh = batch;
    let freshAt: number[] | null = null;
    const repeats: Array<[at: number, firstAt: number]> = [];
    if (batch.some((m) => m.clientMsgId !== null)) {
      const known = await this.findClientMsgs(tx, batch);
      const firstAt = new Map<string, number>();
      fresh = [];
      freshAt = [];
      batch.forEach((m, i) => {
        if (m.clientMsgId !== null) {
          const k = clientKey(m.from, m.clientMsgId);
          const original = known.get(k);
          if (original) return void (results[i] = original);
          const first = firstAt.get(k);
          if (first !== undefined) return void repeats.push([i, first]);
          firstAt.set(k, i);
        }
        fresh.push(m);
        freshAt!.push(i);
      });
      if (fresh.length === 0) return results;
    }
    const written = await this.writeFresh(tx, fresh);
    written.forEach((r, j) => (results[freshAt ? freshAt[j] : j] = r));
    for (const [at, first] of repeats) {
      const r = results[first];
      results[at] = { msgId: r.msgId, createTime: r.createTime, seqs: r.seqs.slice(0, 1), duplicate: true, original: storedOf(batch[first], r.msgId) };
    }
    return results;
  }

  /** Originals of the batch's client_msg_ids, by clientKey. */
  private async findClientMsgs(tx: SqlExecutor, batch: PreparedMessage[]): Promise<Map<string, SaveMessageResult>> {
    const wanted = new Map<string, [number, string]>();
    for (const m of batch) if (m.clientMsgId !== null) wanted.set(clientKey(m.from, m.clientMsgId), [m.from, m.clientMsgId]);
    const found = new Map<string, SaveMessageResult>();
    for (const chunk of chunks([...wanted.values()], ROWS_PER_STATEMENT)) {
      const rows = await tx.query<MessageRow & { d_from_id: number; client_msg_id: string; session_type: number; seq: number }>(findClientMsgs(chunk.length), chunk.flat());
      for (const r of rows) {
        const original = toMessage(r);
        found.set(clientKey(Number(r.d_from_id), String(r.client_msg_id)), {
          msgId: original.msgId,
          createTime: original.createTime,
          seqs: Number(r.seq) ? [{ userId: original.fromId, seq: Number(r.seq) }] : [], // chat rooms have no seqs
          duplicate: true,
          original,
        });
      }
    }
    return found;
  }

  /**
   * Writes the batch in two round trips on MySQL (SqlExecutor.batch: one multi-statement query
   * each, the first also begins the transaction and the last commits it), statement by statement
   * on SQLite: first every counter moves (conversations, users'
   * sync seqs) and is read back, then the rows that depend on them are written.
   */
  private async writeFresh(tx: SqlExecutor, batch: PreparedMessage[]): Promise<SaveMessageResult[]> {
    // (1) Each conversation's counter moves by its number of messages; its summary is its last message.
    const conversations = new Map<string, { key: ConversationKey; count: number; last: PreparedMessage; lastMsgId: number }>();
    for (const m of batch) {
      const k = keyString(m.key);
      const c = conversations.get(k);
      if (c) {
        c.count += 1;
        c.last = m;
      } else conversations.set(k, { key: m.key, count: 1, last: m, lastMsgId: 0 });
    }
    const convs = [...conversations.values()].sort((a, b) => byNumbers([a.key.sessionType, a.key.idA, a.key.idB], [b.key.sessionType, b.key.idA, b.key.idB]));
    // (2) Every user's sync counter moves by their number of messages in the batch (sent or received).
    // user -> flat (position in the batch, slot in that message's seqs: 0 the sender, 1.. its recipients), in batch order
    const byUser = new Map<number, number[]>();
    const involve = (user: number, at: number, slot: number) => {
      const list = byUser.get(user);
      if (list) list.push(at, slot);
      else byUser.set(user, [at, slot]);
    };
    batch.forEach((m, at) => {
      if (m.type === SessionType.ROOM) return;
      involve(m.from, at, 0);
      m.recipients.forEach((user, i) => involve(user, at, i + 1));
    });
    const users = [...byUser.keys()].sort((a, b) => a - b);
    const entryCount = (user: number) => byUser.get(user)!.length / 2;

    // Round trip 1: bump both kinds of counters, read them back.
    const first: BatchStatement[] = [];
    for (const chunk of chunks(convs, ROWS_PER_STATEMENT)) {
      first.push({ sql: bumpCounters(tx.dialect, chunk.length), params: chunk.flatMap((c) => [c.key.sessionType, c.key.idA, c.key.idB, c.count, c.last.from, c.last.msgType, c.last.data, c.last.created]) });
    }
    // SQLite returns the new sync counters from the upsert itself; MySQL reads its locked rows back.
    const seqReads: number[] = [];
    for (const chunk of chunks(users, SEQ_ROWS_PER_STATEMENT)) {
      const params = chunk.flatMap((u) => [u, entryCount(u)]);
      if (tx.dialect === 'sqlite') seqReads.push(first.push({ sql: bumpSeqs(tx.dialect, chunk.length), params, rows: true }) - 1);
      else first.push({ sql: bumpSeqs(tx.dialect, chunk.length), params });
    }
    const counterReads: number[] = [];
    for (const chunk of chunks(convs, ROWS_PER_STATEMENT)) {
      counterReads.push(first.push({ sql: readCounters(chunk.length), params: chunk.flatMap((c) => [c.key.sessionType, c.key.idA, c.key.idB]), rows: true }) - 1);
    }
    if (tx.dialect === 'mysql') for (const chunk of chunks(users, SEQ_ROWS_PER_STATEMENT)) seqReads.push(first.push({ sql: readSeqs(chunk.length), params: chunk, rows: true }) - 1);
    const read = await runBatch(tx, first);

    for (const i of counterReads) {
      for (const r of read[i] as Array<{ session_type: number; id_a: number; id_b: number; last_msg_id: number }>) {
        conversations.get(`${Number(r.session_type)}:${Number(r.id_a)}:${Number(r.id_b)}`)!.lastMsgId = Number(r.last_msg_id);
      }
    }
    // A batch's messages of one conversation get consecutive ids, in batch order.
    const nextId = new Map<string, number>();
    const convIndex = new Map<string, number>(); // conversation -> its order of first appearance in the batch
    for (const [k, c] of conversations) {
      if (!c.lastMsgId) throw new StorageError('INTERNAL', 'conversation counter update returned no id');
      nextId.set(k, c.lastMsgId - c.count + 1);
      convIndex.set(k, convIndex.size);
    }
    const convAt = new Array<number>(batch.length);
    const ids = batch.map((m, at) => {
      const k = keyString(m.key);
      convAt[at] = convIndex.get(k)!;
      const id = nextId.get(k)!;
      nextId.set(k, id + 1);
      return id;
    });
    const firstSeq = new Map<number, number>();
    for (const i of seqReads) {
      for (const r of read[i] as Array<{ user_id: number; last_seq: number }>) {
        const user = Number(r.user_id);
        firstSeq.set(user, Number(r.last_seq) - entryCount(user) + 1);
      }
    }
    if (firstSeq.size !== users.length) throw new StorageError('INTERNAL', 'sync counter update returned no seq');

    const rows = batch.map((m, i) => ({ m, id: ids[i] }));
    // A message's seqs list its sender first, then its recipients (filled in below).
    const results: SaveMessageResult[] = rows.map(({ m, id }) => ({ msgId: id, createTime: m.created, seqs: new Array<UserSeq>(m.type === SessionType.ROOM ? 0 : m.recipients.length + 1) }));

    // Round trip 2: the rows.
    const second: BatchStatement[] = [];
    // (3) The messages.
    for (const chunk of chunks(rows, ROWS_PER_STATEMENT)) {
      second.push({ sql: insertMessages(chunk.length), params: chunk.flatMap(({ m, id }) => [m.key.sessionType, m.key.idA, m.key.idB, id, m.from, m.to, m.msgType, m.data, m.created, m.extra]) });
    }
    // (4) Senders' recent sessions, one row per (sender, session): read up to their newest message.
    const senders = new Map<string, { user: number; type: number; peer: number; maxId: number; created: number; updated: number }>();
    for (const { m, id } of rows) {
      if (m.type === SessionType.ROOM) continue; // a room is never a recent session
      const k = `${m.from}:${m.type}:${m.to}`;
      const s = senders.get(k);
      if (!s) senders.set(k, { user: m.from, type: m.type, peer: m.to, maxId: id, created: m.created, updated: m.created });
      else if (id > s.maxId) [s.maxId, s.updated] = [id, m.created];
    }
    const senderRows = [...senders.values()].sort((a, b) => byNumbers([a.user, a.type, a.peer], [b.user, b.type, b.peer]));
    for (const chunk of chunks(senderRows, ROWS_PER_STATEMENT)) {
      second.push({ sql: upsertSenders(tx.dialect, chunk.length), params: chunk.flatMap((s) => [s.user, s.type, s.peer, s.maxId, s.created, s.updated]) });
    }
    // (5) Recipients' recent sessions, one row per (recipient, session): unread + its messages.
    const recipients = new Map<string, { user: number; type: number; peer: number; count: number; created: number; updated: number }>();
    for (const m of batch) {
      for (const user of m.recipients) {
        const k = `${user}:${m.type}:${m.recipientPeer}`;
        const r = recipients.get(k);
        if (!r) recipients.set(k, { user, type: m.type, peer: m.recipientPeer, count: 1, created: m.created, updated: m.created });
        else {
          r.count += 1;
          if (m.created < r.created) r.created = m.created;
          if (m.created > r.updated) r.updated = m.created;
        }
      }
    }
    const recipientRows = [...recipients.values()].sort((a, b) => byNumbers([a.user, a.type, a.peer], [b.user, b.type, b.peer]));
    for (const chunk of chunks(recipientRows, ROWS_PER_STATEMENT)) {
      second.push({ sql: upsertRecipients(tx.dialect, chunk.length), params: chunk.flatMap((r) => [r.user, r.type, r.peer, r.count, r.created, r.updated]) });
    }
    // (6) Each user's seqs, and the pointer rows, user by user (in key order: each user's rows share
    // B-tree pages). A user's entries are numbered conversation by conversation (in order of first
    // appearance in the batch), msg_id order within one, so each run of consecutive msg_ids of one
    // conversation is one row: a group member gets one row for the batch's messages in the group.
    let pointerParams: SqlValue[] = [];
    let pointerRows = 0;
    const flushPointers = () => {
      if (pointerRows === 0) return;
      second.push({ sql: insertPointers(pointerRows), params: pointerParams });
      pointerParams = [];
      pointerRows = 0;
    };
    const addRun = (user: number, lastSeq: number, lastAt: number, length: number) => {
      const { m, id } = rows[lastAt];
      pointerParams.push(user, lastSeq, SyncEventKind.MESSAGE, m.key.sessionType, m.key.idA, m.key.idB, id, m.created, length);
      if (++pointerRows >= POINTER_ROWS_PER_STATEMENT) flushPointers();
    };
    for (const user of users) {
      const entries = byUser.get(user)!;
      const n = entries.length / 2;
      let order: number[] | null = null; // entry indexes in numbering order; null: batch order already is
      for (let k = 1; k < n; k++) {
        if (convAt[entries[2 * k]] !== convAt[entries[0]]) {
          order = Array.from({ length: n }, (_, i) => i).sort((a, b) => convAt[entries[2 * a]] - convAt[entries[2 * b]] || entries[2 * a] - entries[2 * b]);
          break;
        }
      }
      let seq = firstSeq.get(user)!;
      let runLength = 0;
      let runLastAt = -1;
      for (let k = 0; k < n; k++) {
        const e = order ? order[k] : k;
        const at = entries[2 * e];
        results[at].seqs[entries[2 * e + 1]] = { userId: user, seq };
        if (runLength > 0 && convAt[at] === convAt[runLastAt] && ids[at] === ids[runLastAt] + 1) runLength++;
        else {
          if (runLength > 0) addRun(user, seq - 1, runLastAt, runLength);
          runLength = 1;
        }
        runLastAt = at;
        seq++;
      }
      addRun(user, seq - 1, runLastAt, runLength);
    }
    flushPointers();
    // (6b) High-priority messages: one stream row per participant (the sender, then the recipients),
    // in batch order. Nothing at all when the batch has none (the common case). Every participant's
    // sync counter row is locked since round trip 1, so a user's cursors (auto-increment ids taken
    // now) commit in ascending order: a reader never sees a cursor before a smaller one commits.
    if (rows.some(({ m }) => m.highPriority)) {
      const priority: SqlValue[][] = [];
      for (const { m, id } of rows) {
        if (!m.highPriority) continue;
        for (const user of [m.from, ...m.recipients]) priority.push([user, m.key.sessionType, m.key.idA, m.key.idB, id, m.created]);
      }
      for (const chunk of chunks(priority, POINTER_ROWS_PER_STATEMENT)) second.push({ sql: insertPriorityRows(chunk.length), params: chunk.flat() });
    }
    // (7) client_msg_ids. Another process saving the same one concurrently makes this insert fail
    // (unique key) once it commits: CONFLICT, so the batch is retried and then answers with its message.
    const claimed = rows.flatMap(({ m, id }, i) => (m.clientMsgId === null ? [] : [[m.from, m.clientMsgId, m.key.sessionType, m.key.idA, m.key.idB, id, results[i].seqs[0]?.seq ?? 0, m.created] as SqlValue[]]));
    // (8) Chat rooms keep their newest roomHistoryLimit messages.
    for (const c of convs) {
      const keepFrom = c.lastMsgId - this.roomHistoryLimit;
      if (c.key.sessionType === SessionType.ROOM && keepFrom > 0) {
        second.push({ sql: `DELETE FROM im_message WHERE ${KEY_WHERE} AND msg_id <= ?`, params: [c.key.sessionType, c.key.idA, c.key.idB, keepFrom] });
      }
    }
    for (const chunk of chunks(claimed, ROWS_PER_STATEMENT)) second.push({ sql: insertClientMsgs(chunk.length), params: chunk.flat() });
    try {
      await runBatch(tx, second, { commit: true });
    } catch (err) {
      if (claimed.length > 0 && isStorageError(err, 'DUPLICATE')) throw new StorageError('CONFLICT', 'a client_msg_id of the batch was stored concurrently', { cause: err });
      throw err;
    }
    return results;
  }

  /**
   * Forgets client_msg_ids stored before `createdBefore` (unix seconds), at most `limit` rows per
   * call (oldest first): a resend after that is a new message. Returns how many were deleted.
   */
  async pruneClientMsgIds(createdBefore: number, limit: number): Promise<number> {
    const before = u32('createdBefore', createdBefore);
    const n = u32('limit', limit);
    const res =
      this.db.dialect === 'mysql'
        ? await this.db.execute('DELETE FROM im_client_msg WHERE created < ? ORDER BY created LIMIT ?', [before, n])
        : await this.db.execute('DELETE FROM im_client_msg WHERE (from_id, client_msg_id) IN (SELECT from_id, client_msg_id FROM im_client_msg WHERE created < ? ORDER BY created LIMIT ?)', [before, n]);
    return res.affectedRows;
  }

  /** The user's newest sync seq (0 if none yet). */
  async maxSeq(userId: number): Promise<number> {
    const rows = await this.db.query<{ last_seq: number }>('SELECT last_seq FROM im_user_seq WHERE user_id = ?', [u32('userId', userId)]);
    return rows[0] ? Number(rows[0].last_seq) : 0;
  }

  /**
   * The user's sync entries with minSeq <= seq <= maxSeq, oldest first, at most `limit` (see
   * SyncOptions for the defaults), with the user's newest seq and whether the range holds more.
   * Two indexed reads: the pointer rows (runs) covering the range, then their messages.
   */
  async sync(userId: number, opts: SyncOptions = {}): Promise<SyncPage> {
    const user = u32('userId', userId);
    const min = Math.max(1, u53('minSeq', opts.minSeq ?? 0));
    const requestedMax = u53('maxSeq', opts.maxSeq ?? 0);
    const askedLimit = u32('limit', opts.limit ?? 0);
    const limit = askedLimit === 0 ? DEFAULT_SYNC_LIMIT : Math.min(askedLimit, MAX_SYNC_LIMIT);
    // Pointer rows commit with their counter, so every seq up to the counter read first is there.
    const maxSeq = await this.maxSeq(user);
    const upper = requestedMax === 0 ? maxSeq : Math.min(requestedMax, maxSeq);
    if (upper < min) return { entries: [], maxSeq, hasMore: false };
    // Each run ending at or after min and starting at or before upper holds at least one wanted seq,
    // so limit + 1 runs are enough to fill the page and tell whether more follow.
    const runs = await this.db.query<{ seq: number; run_len: number; kind: number; session_type: number; id_a: number; id_b: number; msg_id: number }>(
      `SELECT seq, run_len, kind, session_type, id_a, id_b, msg_id FROM im_user_sync
       WHERE user_id = ? AND seq >= ? AND seq + 1 - run_len <= ? ORDER BY seq LIMIT ?`,
      [user, min, upper, limit + 1],
    );
    // The wanted part of each run: seqs lo..hi, i.e. msg_ids lastId - (last - lo) .. lastId - (last - hi).
    const parts: Array<{ lo: number; hi: number; last: number; kind: number; type: SessionTypeValue; key: ConversationKey; lastId: number }> = [];
    let taken = 0;
    let hasMore = false;
    for (const r of runs) {
      const last = Number(r.seq);
      const lo = Math.max(min, last + 1 - Number(r.run_len));
      let hi = Math.min(upper, last);
      if (hi < lo) continue;
      if (taken >= limit) {
        hasMore = true;
        break;
      }
      if (taken + (hi - lo + 1) > limit) {
        hi = lo + (limit - taken) - 1;
        hasMore = true;
      }
      taken += hi - lo + 1;
      const type = sessionType(Number(r.session_type));
      parts.push({ lo, hi, last, kind: Number(r.kind), type, key: { sessionType: type, idA: Number(r.id_a), idB: Number(r.id_b) }, lastId: Number(r.msg_id) });
    }
    const messages = await this.messagesInRanges(parts.map((p) => ({ key: p.key, from: p.lastId - (p.last - p.lo), to: p.lastId - (p.last - p.hi) })));
    const entries: SyncEntry[] = [];
    for (const p of parts) {
      for (let seq = p.lo; seq <= p.hi; seq++) {
        const found = messages.get(`${keyString(p.key)}:${p.lastId - (p.last - seq)}`);
        if (!found) continue; // its message is gone
        const recall = p.kind === SyncEventKind.RECALL;
        entries.push({ seq, kind: recall ? 'recall' : 'message', sessionType: p.type, message: recall ? { ...found, data: Buffer.alloc(0) } : found });
      }
    }
    return { entries, maxSeq, hasMore };
  }

  /** The messages with from <= msg_id <= to of each range's conversation, by "<conversation key>:<msg_id>". */
  private async messagesInRanges(ranges: Array<{ key: ConversationKey; from: number; to: number }>): Promise<Map<string, StoredMessage>> {
    const found = new Map<string, StoredMessage>();
    for (const chunk of chunks(ranges, ROWS_PER_STATEMENT / 4)) {
      const rows = await this.db.query<MessageRow & { session_type: number; id_a: number; id_b: number }>(
        `SELECT session_type, id_a, id_b, ${MESSAGE_COLUMNS} FROM im_message WHERE ${chunk.map(() => `(${KEY_WHERE} AND msg_id BETWEEN ? AND ?)`).join(' OR ')}`,
        chunk.flatMap((r) => [r.key.sessionType, r.key.idA, r.key.idB, r.from, r.to]),
      );
      for (const r of rows) found.set(`${Number(r.session_type)}:${Number(r.id_a)}:${Number(r.id_b)}:${Number(r.msg_id)}`, toMessage(r));
    }
    return found;
  }

  /**
   * Recalls a message: allowed to its sender until windowSeconds after its createTime, and to a
   * group's owner (im_group.creator_id) or a chat room's creator (im_room.creator_id) at any time.
   * In one transaction: the message is marked recalled (by, at) and a recall entry is appended to
   * the sync stream of every participant (single chat: both users; group: its current members and
   * the recaller), each with their next seq; chat rooms have no sync streams (seqs: []).
   * Recalling a recalled message changes nothing ('already_recalled').
   */
  async recall(req: RecallRequest & { moderator?: boolean }): Promise<RecallOutcome> {
    const type = messageSessionType(req.sessionType);
    const user = u32('userId', req.userId);
    const key = conversationKey(type, user, u32('peerId', req.peerId));
    const msgId = u32('msgId', req.msgId);
    const window = u32('windowSeconds', req.windowSeconds);
    const nowMs = u53('nowMs', req.nowMs ?? Date.now());
    return retryOnConflict(() =>
      this.db.transaction(async (tx): Promise<RecallOutcome> => {
        const [row] = await tx.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM im_message WHERE ${KEY_WHERE} AND msg_id = ?${forUpdate(tx)}`, [key.sessionType, key.idA, key.idB, msgId]);
        if (!row) return { result: 'not_found' };
        const message = toMessage(row);
        const bySender = message.fromId === user;
        // The sender may recall again what is already recalled (an idempotent retry); others need the owner's right.
        // A moderator (an operator) may recall anything; userId then only names the conversation.
        let allowed = req.moderator === true || (bySender && (nowMs <= (message.createTime + window) * 1000 || !!message.recalled));
        if (!allowed && type !== SessionType.SINGLE) {
          const table = type === SessionType.GROUP ? 'im_group' : 'im_room';
          const [owner] = await tx.query<{ creator_id: number }>(`SELECT creator_id FROM ${table} WHERE id = ?`, [key.idA]);
          allowed = !!owner && Number(owner.creator_id) === user;
        }
        if (!allowed) return { result: bySender ? 'too_late' : 'not_allowed' };
        if (message.recalled) return { result: 'already_recalled', sessionType: type, message };
        const recalledBy = req.moderator === true ? 0 : user;
        await tx.execute(`UPDATE im_message SET status = ?, recalled_by = ?, recalled_at_ms = ? WHERE ${KEY_WHERE} AND msg_id = ?`, [
          MessageStatus.RECALLED,
          recalledBy,
          nowMs,
          key.sessionType,
          key.idA,
          key.idB,
          msgId,
        ]);
        message.recalled = { by: recalledBy, atMs: nowMs };
        if (type === SessionType.ROOM) return { result: 'recalled', sessionType: type, message, seqs: [] };
        let others: number[];
        if (type === SessionType.SINGLE) others = [message.fromId, message.toId];
        else {
          const members = await tx.query<{ user_id: number }>(`SELECT user_id FROM im_group_member WHERE group_id = ? AND status = ${GroupMemberStatus.MEMBER}`, [key.idA]);
          others = members.map((m) => Number(m.user_id));
        }
        // A moderator is no participant: only the conversation's own users get a recall entry.
        const participants =
          req.moderator === true ? [...new Set(others)].sort((a, b) => a - b) : [user, ...[...new Set(others)].filter((id) => id !== user).sort((a, b) => a - b)];
        const first = await allocateSeqs(tx, new Map(participants.map((id) => [id, 1])));
        const pointers = new PointerWriter(tx);
        const created = Math.floor(nowMs / 1000);
        const seqs: UserSeq[] = [];
        for (const id of participants) {
          const seq = first.get(id)!;
          seqs.push({ userId: id, seq });
          if (pointers.add(id, seq, SyncEventKind.RECALL, key, msgId, created)) await pointers.flush();
        }
        await pointers.flush();
        return { result: 'recalled', sessionType: type, message, seqs };
      }),
    );
  }

  /** Messages of the conversation between userId and peerId (user or group), newest first. */
  async listMessages(type: number, userId: number, peerId: number, opts: ListMessagesOptions): Promise<StoredMessage[]> {
    const key = conversationKey(messageSessionType(type), userId, peerId);
    const begin = u32('msgIdBegin', opts.msgIdBegin);
    const count = u32('count', opts.count);
    const min = minMsgId(opts);
    if (count === 0) return [];
    const params: SqlValue[] = [key.sessionType, key.idA, key.idB];
    let where = KEY_WHERE;
    if (begin > 0) {
      where += ' AND msg_id <= ?';
      params.push(begin);
    }
    if (min > 0) {
      where += ' AND msg_id > ?';
      params.push(min);
    }
    params.push(count);
    const rows = await this.db.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM im_message WHERE ${where} ORDER BY msg_id DESC LIMIT ?`,
      params,
    );
    return rows.map(toMessage);
  }

  /** Messages of a group conversation, newest first; `afterMsgId` hides what a member may not see. */
  async listGroupMessages(groupId: number, opts: ListGroupMessagesOptions): Promise<StoredMessage[]> {
    return this.listMessages(SessionType.GROUP, 0, groupId, { msgIdBegin: opts.msgIdBegin, count: opts.count, minMsgIdExclusive: opts.afterMsgId ?? 0 });
  }

  /**
   * The conversation's newest msg_id (0 if it has no messages, or if the newest is not above
   * `minMsgIdExclusive`).
   */
  async latestMsgId(type: number, userId: number, peerId: number, opts: MessageVisibilityOptions = {}): Promise<number> {
    const key = conversationKey(messageSessionType(type), userId, peerId);
    const min = minMsgId(opts);
    const rows = await this.db.query<{ last_msg_id: number }>(
      `SELECT last_msg_id FROM im_conversation WHERE ${KEY_WHERE}`,
      [key.sessionType, key.idA, key.idB],
    );
    const latest = rows[0] ? Number(rows[0].last_msg_id) : 0;
    return latest > min ? latest : 0;
  }

  /** The messages with these msg_ids (missing or hidden by `minMsgIdExclusive` ones skipped), ascending by msg_id. */
  async getByIds(type: number, userId: number, peerId: number, msgIds: readonly number[], opts: MessageVisibilityOptions = {}): Promise<StoredMessage[]> {
    const key = conversationKey(messageSessionType(type), userId, peerId);
    const min = minMsgId(opts);
    const unique = [...new Set(msgIds.map((id) => u32('msgIds[]', id)))].filter((id) => id > min);
    const out: StoredMessage[] = [];
    for (let i = 0; i < unique.length; i += ID_CHUNK) {
      const chunk = unique.slice(i, i + ID_CHUNK);
      const rows = await this.db.query<MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM im_message WHERE ${KEY_WHERE} AND msg_id IN (${chunk.map(() => '?').join(', ')})`,
        [key.sessionType, key.idA, key.idB, ...chunk],
      );
      out.push(...rows.map(toMessage));
    }
    return out.sort((a, b) => a.msgId - b.msgId);
  }

  /**
   * The user's high-priority stream after cursor `afterCursor` (0: from the start), oldest first, at
   * most `limit` (0: DEFAULT_PRIORITY_LIMIT; at most MAX_PRIORITY_LIMIT), with the user's newest
   * cursor. Recalled messages stay, flagged (StoredMessage.recalled).
   */
  async highPrioritySince(userId: number, afterCursor: number, limit: number): Promise<HighPriorityPage> {
    const user = u32('userId', userId);
    const after = u53('afterCursor', afterCursor);
    const asked = u32('limit', limit);
    const n = asked === 0 ? DEFAULT_PRIORITY_LIMIT : Math.min(asked, MAX_PRIORITY_LIMIT);
    const rows = await this.db.query<MessageRow & { priority_id: number; session_type: number }>(
      `SELECT p.id AS priority_id, p.session_type, ${MESSAGE_COLUMNS.split(', ').map((c) => `m.${c}`).join(', ')}
       FROM im_priority_msg p
       JOIN im_message m ON m.session_type = p.session_type AND m.id_a = p.id_a AND m.id_b = p.id_b AND m.msg_id = p.msg_id
       WHERE p.user_id = ? AND p.id > ? ORDER BY p.id LIMIT ?`,
      [user, after, n],
    );
    const [last] = await this.db.query<{ last: number | null }>('SELECT MAX(id) AS last FROM im_priority_msg WHERE user_id = ?', [user]);
    return {
      entries: rows.map((r) => ({ cursor: Number(r.priority_id), sessionType: sessionType(Number(r.session_type)), message: toMessage(r) })),
      lastCursor: Number(last?.last ?? 0),
    };
  }

  /**
   * Hides messages of the conversation between userId and peerId from the user's own history (OMTP
   * delete; others still see them). Unknown msg_ids are ignored; hiding again changes nothing.
   * Returns the msg_ids now hidden, ascending.
   */
  async hide(userId: number, type: number, peerId: number, msgIds: readonly number[]): Promise<number[]> {
    const user = u32('userId', userId);
    const key = conversationKey(sessionType(type), user, u32('peerId', peerId));
    const wanted = [...new Set(msgIds.map((id) => u32('msgIds[]', id)))].filter((id) => id > 0);
    if (wanted.length > MAX_HIDE_IDS) throw new StorageError('INVALID_ARGUMENT', `at most ${MAX_HIDE_IDS} msg_ids at once`);
    if (wanted.length === 0) return [];
    const found = await this.db.query<{ msg_id: number }>(
      `SELECT msg_id FROM im_message WHERE ${KEY_WHERE} AND msg_id IN (${placeholders(wanted.length)})`,
      [key.sessionType, key.idA, key.idB, ...wanted],
    );
    const ids = found.map((r) => Number(r.msg_id)).sort((a, b) => a - b);
    if (ids.length === 0) return [];
    const created = Math.floor(Date.now() / 1000);
    const insert = `INTO im_msg_hidden (user_id, session_type, id_a, id_b, msg_id, created) VALUES ${values(ids.length, 6)}`;
    await this.db.execute(
      this.db.dialect === 'mysql' ? `INSERT IGNORE ${insert}` : `INSERT ${insert} ON CONFLICT (user_id, session_type, id_a, id_b, msg_id) DO NOTHING`,
      ids.flatMap((id) => [user, key.sessionType, key.idA, key.idB, id, created]),
    );
    return ids;
  }

  /** The message `fromId` sent with this client_msg_id (while it is remembered), from the sender's side; null if none. */
  async findClientMsg(fromId: number, clientMsgId: string): Promise<ClientMsgRef | null> {
    const from = u32('fromId', fromId);
    const id = text('clientMsgId', clientMsgId, MAX_CLIENT_MSG_ID);
    if (id === '') return null;
    const [row] = await this.db.query<{ session_type: number; id_a: number; id_b: number; msg_id: number }>(
      'SELECT session_type, id_a, id_b, msg_id FROM im_client_msg WHERE from_id = ? AND client_msg_id = ?',
      [from, id],
    );
    if (!row) return null;
    const type = messageSessionType(Number(row.session_type));
    const [a, b] = [Number(row.id_a), Number(row.id_b)];
    return { sessionType: type, peerId: type === SessionType.SINGLE ? (a === from ? b : a) : a, msgId: Number(row.msg_id) };
  }

  /**
   * A page of the conversation between userId and peerId (a user, or a group) as the user sees it:
   * the newest `limit` (at most MAX_HISTORY_LIMIT) messages with msg_id < beforeMsgId (0: from the
   * newest), oldest first; recalled ones flagged, ones the user hid left out. In a group only an
   * active member sees anything, and only what was sent after they joined: null when the user is
   * not a member.
   */
  async historyFor(userId: number, type: number, peerId: number, beforeMsgId: number, limit: number): Promise<StoredMessage[] | null> {
    const user = u32('userId', userId);
    const session = sessionType(type);
    const key = conversationKey(session, user, u32('peerId', peerId));
    const before = u32('beforeMsgId', beforeMsgId);
    const n = Math.min(u32('limit', limit), MAX_HISTORY_LIMIT);
    let after = 0;
    if (session === SessionType.GROUP) {
      const [member] = await this.db.query<{ status: number; join_msg_id: number }>('SELECT status, join_msg_id FROM im_group_member WHERE group_id = ? AND user_id = ?', [key.idA, user]);
      if (!member || Number(member.status) !== GroupMemberStatus.MEMBER) return null;
      after = Number(member.join_msg_id);
    }
    if (n === 0) return [];
    const params: SqlValue[] = [key.sessionType, key.idA, key.idB, after];
    let where = `${KEY_WHERE} AND msg_id > ?`;
    if (before > 0) {
      where += ' AND msg_id < ?';
      params.push(before);
    }
    params.push(user, n);
    const rows = await this.db.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM im_message m WHERE ${where}
         AND NOT EXISTS (SELECT 1 FROM im_msg_hidden h WHERE h.user_id = ? AND h.session_type = m.session_type AND h.id_a = m.id_a AND h.id_b = m.id_b AND h.msg_id = m.msg_id)
       ORDER BY msg_id DESC LIMIT ?`,
      params,
    );
    return rows.map(toMessage).reverse();
  }
}
