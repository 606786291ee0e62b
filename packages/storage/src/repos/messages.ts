import { SqlDatabase, SqlExecutor, SqlValue } from '../db';
import { isStorageError, StorageError } from '../errors';
import { ConversationKey, NewMessage, SessionType, SessionStatus, StoredMessage } from '../model';
import { asBuffer, conversationKey, sessionType, u32 } from '../validate';
import { Batcher } from '@tt/batching';

interface MessageRow {
  msg_id: number;
  from_id: number;
  to_id: number;
  msg_type: number;
  content: unknown;
  created: number;
}

function toMessage(r: MessageRow): StoredMessage {
  return {
    msgId: Number(r.msg_id),
    fromId: Number(r.from_id),
    toId: Number(r.to_id),
    msgType: Number(r.msg_type),
    data: asBuffer(r.content),
    createTime: Number(r.created),
  };
}

const MESSAGE_COLUMNS = 'msg_id, from_id, to_id, msg_type, content, created';
const KEY_WHERE = 'session_type = ? AND id_a = ? AND id_b = ?';
const ID_CHUNK = 500;
const CONFLICT_RETRIES = 4;

/**
 * A batch of messages is written with a handful of set-based statements, whatever its size:
 * (1) every conversation's counter advances by its number of messages in the batch, in one upsert
 * that also records the latest-message summary; the rows stay exclusively locked until commit, which
 * serialises concurrent writers of a conversation across processes; (2) the new counters are read
 * back (our own locked rows), giving each message its id; (3) one multi-row insert of the messages;
 * (4) the senders' and (5) the recipients' recent sessions as multi-row upserts. A row repeated in
 * one upsert is applied once per occurrence, so unread counts add up.
 */
function bumpCounters(dialect: 'mysql' | 'sqlite', rows: number): string {
  const values = Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
  const insert = `INSERT INTO im_conversation (session_type, id_a, id_b, last_msg_id, last_from_id, last_msg_type, last_msg_data, updated) VALUES ${values}`;
  return dialect === 'mysql'
    ? `${insert} ON DUPLICATE KEY UPDATE last_msg_id = last_msg_id + VALUES(last_msg_id), last_from_id = VALUES(last_from_id),
         last_msg_type = VALUES(last_msg_type), last_msg_data = VALUES(last_msg_data), updated = VALUES(updated)`
    : `${insert} ON CONFLICT (session_type, id_a, id_b) DO UPDATE SET last_msg_id = last_msg_id + excluded.last_msg_id, last_from_id = excluded.last_from_id,
         last_msg_type = excluded.last_msg_type, last_msg_data = excluded.last_msg_data, updated = excluded.updated`;
}

function readCounters(rows: number): string {
  const keys = Array.from({ length: rows }, () => '(?, ?, ?)').join(', ');
  return `SELECT session_type, id_a, id_b, last_msg_id FROM im_conversation WHERE (session_type, id_a, id_b) IN (${keys})`;
}

function insertMessages(rows: number): string {
  const values = Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
  return `INSERT INTO im_message (session_type, id_a, id_b, msg_id, from_id, to_id, msg_type, content, created) VALUES ${values}`;
}

/** Senders' own recent sessions: undeleted, moved to the top, own message counts as read. */
function upsertSenders(dialect: 'mysql' | 'sqlite', rows: number): string {
  const values = Array.from({ length: rows }, () => `(?, ?, ?, ${SessionStatus.OK}, 0, ?, ?, ?)`).join(', ');
  const insert = `INSERT INTO im_recent_session (user_id, session_type, peer_id, status, unread_cnt, read_msg_id, created, updated) VALUES ${values}`;
  return dialect === 'mysql'
    ? `${insert} ON DUPLICATE KEY UPDATE status = ${SessionStatus.OK}, read_msg_id = GREATEST(read_msg_id, VALUES(read_msg_id)), updated = VALUES(updated)`
    : `${insert} ON CONFLICT (user_id, session_type, peer_id) DO UPDATE SET status = ${SessionStatus.OK},
         read_msg_id = max(read_msg_id, excluded.read_msg_id), updated = excluded.updated`;
}

/** Recipients' recent sessions: undeleted, moved to the top, unread + 1. */
function upsertRecipients(dialect: 'mysql' | 'sqlite', rows: number): string {
  const values = Array.from({ length: rows }, () => `(?, ?, ?, ${SessionStatus.OK}, 1, 0, ?, ?)`).join(', ');
  const insert = `INSERT INTO im_recent_session (user_id, session_type, peer_id, status, unread_cnt, read_msg_id, created, updated) VALUES ${values}`;
  return dialect === 'mysql'
    ? `${insert} ON DUPLICATE KEY UPDATE status = ${SessionStatus.OK}, unread_cnt = unread_cnt + 1, updated = VALUES(updated)`
    : `${insert} ON CONFLICT (user_id, session_type, peer_id) DO UPDATE SET status = ${SessionStatus.OK}, unread_cnt = unread_cnt + 1, updated = excluded.updated`;
}

/** Rows per multi-row statement (keeps parameters well under SQLite's and MySQL's limits). */
const ROWS_PER_STATEMENT = 400;

async function executeInChunks<T>(tx: SqlExecutor, rows: T[], sql: (n: number) => string, params: (row: T) => SqlValue[]): Promise<void> {
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
    const chunk = rows.slice(i, i + ROWS_PER_STATEMENT);
    await tx.execute(sql(chunk.length), chunk.flatMap(params));
  }
}

const keyString = (k: ConversationKey) => `${k.sessionType}:${k.idA}:${k.idB}`;
const conversationHash = (k: ConversationKey) => (Math.imul(Math.imul(k.sessionType, 0x9e3779b1) ^ k.idA, 0x85ebca6b) ^ k.idB) >>> 0;

/** Compares rows so every writer locks them in the same order (fewer deadlocks between batches). */
function byNumbers(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const minMsgId = (opts: MessageVisibilityOptions): number => u32('minMsgIdExclusive', opts.minMsgIdExclusive ?? 0);

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

interface PreparedMessage {
  key: ConversationKey;
  type: number;
  from: number;
  to: number;
  msgType: number;
  data: Buffer;
  created: number;
  recipients: number[];
  recipientPeer: number;
}

/** Validates a message and works out who it touches, before it joins a batch. */
function prepareMessage(msg: NewMessage): PreparedMessage {
  const type = sessionType(msg.sessionType);
  const from = u32('fromUserId', msg.fromUserId);
  const to = u32('toId', msg.toId);
  const msgType = u32('msgType', msg.msgType);
  const created = u32('createTime', msg.createTime);
  if (!(msg.data instanceof Uint8Array)) throw new StorageError('INVALID_ARGUMENT', 'data must be a Uint8Array');
  let recipients: number[];
  if (type === SessionType.SINGLE) {
    recipients = to === from ? [] : [to];
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
  };
}

/** Most messages one transaction carries. */
const MAX_BATCH = 200;

export class MessageRepository {
  private readonly writer: Batcher<PreparedMessage, { msgId: number }>;

  constructor(
    private readonly db: SqlDatabase,
    options: { onBatch?: (size: number) => void } = {},
  ) {
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
   * inserts the message, and upserts the sender's and recipients' recent sessions.
   * Single chat: the recipient is toId. Group chat: toId is the group id and the recipients are
   * `recipientIds` (the sender is skipped). Nothing is written if any step fails.
   */
  async saveMessage(msg: NewMessage): Promise<{ msgId: number }> {
    return this.writer.submit(prepareMessage(msg));
  }

  /** Writes a batch in one transaction, in order; all or nothing. */
  private async writeBatch(batch: PreparedMessage[]): Promise<Array<{ msgId: number }>> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.transaction((tx) => this.writeAll(tx, batch));
      } catch (err) {
        // MySQL may pick us as a deadlock victim; the whole transaction was rolled back, so retrying is safe.
        if (!isStorageError(err, 'CONFLICT') || attempt >= CONFLICT_RETRIES) throw err;
        await sleep(5 * (attempt + 1) * Math.random());
      }
    }
  }

  private async writeAll(tx: SqlExecutor, batch: PreparedMessage[]): Promise<Array<{ msgId: number }>> {
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
    await executeInChunks(tx, convs, (n) => bumpCounters(tx.dialect, n), (c) => [c.key.sessionType, c.key.idA, c.key.idB, c.count, c.last.from, c.last.msgType, c.last.data, c.last.created]);
    // (2) Read the new counters back: ids are the last `count` values, in batch order.
    for (let i = 0; i < convs.length; i += ROWS_PER_STATEMENT) {
      const chunk = convs.slice(i, i + ROWS_PER_STATEMENT);
      const rows = await tx.query<{ session_type: number; id_a: number; id_b: number; last_msg_id: number }>(readCounters(chunk.length), chunk.flatMap((c) => [c.key.sessionType, c.key.idA, c.key.idB]));
      for (const r of rows) conversations.get(`${Number(r.session_type)}:${Number(r.id_a)}:${Number(r.id_b)}`)!.lastMsgId = Number(r.last_msg_id);
    }
    const nextId = new Map<string, number>();
    for (const [k, c] of conversations) {
      if (!c.lastMsgId) throw new StorageError('INTERNAL', 'conversation counter update returned no id');
      nextId.set(k, c.lastMsgId - c.count + 1);
    }
    const ids = batch.map((m) => {
      const k = keyString(m.key);
      const id = nextId.get(k)!;
      nextId.set(k, id + 1);
      return id;
    });
    // (3) The messages.
    const rows = batch.map((m, i) => ({ m, id: ids[i] }));
    await executeInChunks(tx, rows, insertMessages, ({ m, id }) => [m.key.sessionType, m.key.idA, m.key.idB, id, m.from, m.to, m.msgType, m.data, m.created]);
    // (4) Senders' and (5) recipients' recent sessions, in a fixed row order.
    const senders = rows.map(({ m, id }) => [m.from, m.type, m.to, id, m.created] as const).sort((a, b) => byNumbers(a, b));
    await executeInChunks(tx, senders, (n) => upsertSenders(tx.dialect, n), ([user, type, peer, id, created]) => [user, type, peer, id, created, created]);
    const recipients = batch.flatMap((m) => m.recipients.map((user) => [user, m.type, m.recipientPeer, m.created] as const)).sort((a, b) => byNumbers(a, b));
    await executeInChunks(tx, recipients, (n) => upsertRecipients(tx.dialect, n), ([user, type, peer, created]) => [user, type, peer, created, created]);
    return ids.map((msgId) => ({ msgId }));
  }

  /** Messages of the conversation between userId and peerId (user or group), newest first. */
  async listMessages(type: number, userId: number, peerId: number, opts: ListMessagesOptions): Promise<StoredMessage[]> {
    const key = conversationKey(sessionType(type), userId, peerId);
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
    const key = conversationKey(sessionType(type), userId, peerId);
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
    const key = conversationKey(sessionType(type), userId, peerId);
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
}
