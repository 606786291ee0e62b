import { SqlDatabase } from '../db';
import { StorageError } from '../errors';
import { text, u32 } from '../validate';

/** What a webhook is called for. */
export const WEBHOOK_EVENTS = ['message.stored', 'user.login', 'user.logout', 'message.before_send'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** A webhook as stored (im_webhook). Times: unix seconds. */
export interface WebhookRecord {
  id: number;
  event: WebhookEvent;
  url: string;
  /** The HMAC-SHA256 key of X-TT-Signature. */
  secret: string;
  enabled: boolean;
  /** How long one call may take, ms. */
  timeoutMs: number;
  /** before_send only: let the message through when the URL times out or fails. */
  failOpen: boolean;
  created: number;
  updated: number;
}

export type NewWebhook = Pick<WebhookRecord, 'event' | 'url' | 'secret'> & Partial<Pick<WebhookRecord, 'enabled' | 'timeoutMs' | 'failOpen'>>;
export type WebhookPatch = Partial<Pick<WebhookRecord, 'event' | 'url' | 'secret' | 'enabled' | 'timeoutMs' | 'failOpen'>>;

export const WEBHOOK_LIMITS = {
  /** Webhooks in all (every one is called for each event of its kind). */
  maxWebhooks: 50,
  maxUrlChars: 2048,
  minSecretChars: 16,
  maxSecretChars: 256,
  minTimeoutMs: 100,
  maxTimeoutMs: 30_000,
  defaultTimeoutMs: 5000,
} as const;

interface WebhookRow {
  id: number;
  event: string;
  url: string;
  secret: string;
  enabled: number;
  timeout_ms: number;
  fail_open: number;
  created: number;
  updated: number;
}

const COLUMNS = 'id, event, url, secret, enabled, timeout_ms, fail_open, created, updated';

function toRecord(r: WebhookRow): WebhookRecord {
  return {
    id: Number(r.id),
    event: r.event as WebhookEvent,
    url: r.url,
    secret: r.secret,
    enabled: Number(r.enabled) !== 0,
    timeoutMs: Number(r.timeout_ms),
    failOpen: Number(r.fail_open) !== 0,
    created: Number(r.created),
    updated: Number(r.updated),
  };
}

export function webhookEvent(field: string, value: unknown): WebhookEvent {
  if (!WEBHOOK_EVENTS.includes(value as WebhookEvent)) throw new StorageError('INVALID_ARGUMENT', `${field} must be one of ${WEBHOOK_EVENTS.join(', ')}`);
  return value as WebhookEvent;
}

/** An absolute http(s) URL without credentials in it. */
export function webhookUrl(field: string, value: unknown): string {
  const url = text(field, value, WEBHOOK_LIMITS.maxUrlChars, false);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StorageError('INVALID_ARGUMENT', `${field} is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new StorageError('INVALID_ARGUMENT', `${field} must be an http or https URL`);
  if (parsed.username || parsed.password) throw new StorageError('INVALID_ARGUMENT', `${field} must not carry credentials (the signature authenticates the calls)`);
  return url;
}

function webhookSecret(field: string, value: unknown): string {
  const secret = text(field, value, WEBHOOK_LIMITS.maxSecretChars, false);
  if (secret.length < WEBHOOK_LIMITS.minSecretChars) throw new StorageError('INVALID_ARGUMENT', `${field} must be at least ${WEBHOOK_LIMITS.minSecretChars} characters`);
  return secret;
}

function timeoutMs(field: string, value: unknown): number {
  const ms = u32(field, value);
  if (ms < WEBHOOK_LIMITS.minTimeoutMs || ms > WEBHOOK_LIMITS.maxTimeoutMs) {
    throw new StorageError('INVALID_ARGUMENT', `${field} must be between ${WEBHOOK_LIMITS.minTimeoutMs} and ${WEBHOOK_LIMITS.maxTimeoutMs}`);
  }
  return ms;
}

function bool(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new StorageError('INVALID_ARGUMENT', `${field} must be true or false`);
  return value;
}

/** Webhook settings (im_webhook): operators edit them, msg_servers read them all. */
export class WebhookRepository {
  constructor(
    private readonly db: SqlDatabase,
    private readonly now: () => number,
  ) {}

  /** Every webhook, oldest first. */
  async list(): Promise<WebhookRecord[]> {
    return (await this.db.query<WebhookRow>(`SELECT ${COLUMNS} FROM im_webhook ORDER BY id`)).map(toRecord);
  }

  async findById(id: number): Promise<WebhookRecord | null> {
    const rows = await this.db.query<WebhookRow>(`SELECT ${COLUMNS} FROM im_webhook WHERE id = ?`, [u32('id', id)]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Adds a webhook; refused (CONFLICT) beyond WEBHOOK_LIMITS.maxWebhooks. */
  async create(w: NewWebhook): Promise<WebhookRecord> {
    const now = this.now();
    const record: WebhookRecord = {
      id: 0,
      event: webhookEvent('event', w.event),
      url: webhookUrl('url', w.url),
      secret: webhookSecret('secret', w.secret),
      enabled: w.enabled === undefined ? true : bool('enabled', w.enabled),
      timeoutMs: w.timeoutMs === undefined ? WEBHOOK_LIMITS.defaultTimeoutMs : timeoutMs('timeoutMs', w.timeoutMs),
      failOpen: w.failOpen === undefined ? true : bool('failOpen', w.failOpen),
      created: now,
      updated: now,
    };
    const count = await this.db.query<{ n: number }>('SELECT COUNT(*) AS n FROM im_webhook');
    if (Number(count[0]?.n ?? 0) >= WEBHOOK_LIMITS.maxWebhooks) throw new StorageError('CONFLICT', `at most ${WEBHOOK_LIMITS.maxWebhooks} webhooks`);
    const res = await this.db.execute('INSERT INTO im_webhook (event, url, secret, enabled, timeout_ms, fail_open, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', [
      record.event,
      record.url,
      record.secret,
      record.enabled ? 1 : 0,
      record.timeoutMs,
      record.failOpen ? 1 : 0,
      now,
      now,
    ]);
    record.id = res.insertId;
    return record;
  }

  /** Changes the fields given. Unknown id -> NOT_FOUND. */
  async update(id: number, patch: WebhookPatch): Promise<WebhookRecord> {
    const sets: string[] = [];
    const values: (string | number)[] = [];
    if (patch.event !== undefined) sets.push('event = ?'), values.push(webhookEvent('event', patch.event));
    if (patch.url !== undefined) sets.push('url = ?'), values.push(webhookUrl('url', patch.url));
    if (patch.secret !== undefined) sets.push('secret = ?'), values.push(webhookSecret('secret', patch.secret));
    if (patch.enabled !== undefined) sets.push('enabled = ?'), values.push(bool('enabled', patch.enabled) ? 1 : 0);
    if (patch.timeoutMs !== undefined) sets.push('timeout_ms = ?'), values.push(timeoutMs('timeoutMs', patch.timeoutMs));
    if (patch.failOpen !== undefined) sets.push('fail_open = ?'), values.push(bool('failOpen', patch.failOpen) ? 1 : 0);
    if (sets.length > 0) await this.db.execute(`UPDATE im_webhook SET ${sets.join(', ')}, updated = ? WHERE id = ?`, [...values, this.now(), u32('id', id)]);
    const record = await this.findById(id);
    if (!record) throw new StorageError('NOT_FOUND', `no webhook ${id}`);
    return record;
  }

  /** Removes a webhook. Unknown id -> NOT_FOUND. */
  async delete(id: number): Promise<void> {
    const res = await this.db.execute('DELETE FROM im_webhook WHERE id = ?', [u32('id', id)]);
    if (res.affectedRows === 0) throw new StorageError('NOT_FOUND', `no webhook ${id}`);
  }
}
