import { createHash, randomBytes } from 'node:crypto';
import { SqlDatabase } from '../db';
import { StorageError } from '../errors';
import { ApiKeyRecord, OperatorRoleName } from '../model';
import { text, u32 } from '../validate';
import { operatorRole } from './operators';

interface ApiKeyRow {
  id: number;
  name: string;
  prefix: string;
  role: string;
  created_by: string;
  created: number;
  last_used: number;
  revoked: number;
}

const COLUMNS = 'id, name, prefix, role, created_by, created, last_used, revoked';
/** Keys look like `ttk_<43 base64url characters>` (32 random bytes). */
const KEY_PREFIX = 'ttk_';
const KEY_RE = /^ttk_[A-Za-z0-9_-]{43}$/;
/** Characters of the key kept in clear, to tell keys apart in lists: `ttk_` and 8 more. */
const SHOWN_CHARS = 12;
/** last_used is written at most this often per key (seconds), so a busy key does not write on every call. */
const LAST_USED_RESOLUTION = 60;

// The keys are 256 random bits, so a fast hash cannot be brute-forced: no KDF needed.
const hashKey = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');

function toRecord(r: ApiKeyRow): ApiKeyRecord {
  return {
    id: Number(r.id),
    name: r.name,
    prefix: r.prefix,
    role: r.role === 'admin' ? 'admin' : 'viewer',
    createdBy: r.created_by,
    created: Number(r.created),
    lastUsed: Number(r.last_used),
    revoked: Number(r.revoked),
  };
}

/** API keys for programs calling the operator API (im_api_key): only their SHA-256 is kept. */
export class ApiKeyRepository {
  constructor(
    private readonly db: SqlDatabase,
    private readonly now: () => number,
  ) {}

  /** Makes a new key; `key` is the only time the whole key is seen. */
  async create(name: string, role: OperatorRoleName, createdBy: string): Promise<{ key: string; record: ApiKeyRecord }> {
    const record: ApiKeyRecord = {
      id: 0,
      name: text('name', name, 64, false),
      prefix: '',
      role: operatorRole('role', role),
      createdBy: text('createdBy', createdBy, 128, false),
      created: this.now(),
      lastUsed: 0,
      revoked: 0,
    };
    const key = KEY_PREFIX + randomBytes(32).toString('base64url');
    record.prefix = key.slice(0, SHOWN_CHARS);
    const res = await this.db.execute('INSERT INTO im_api_key (name, prefix, key_hash, role, created_by, created, last_used, revoked) VALUES (?, ?, ?, ?, ?, ?, 0, 0)', [
      record.name,
      record.prefix,
      hashKey(key),
      record.role,
      record.createdBy,
      record.created,
    ]);
    record.id = res.insertId;
    return { key, record };
  }

  /** Every key (revoked ones too), newest first. */
  async list(): Promise<ApiKeyRecord[]> {
    return (await this.db.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM im_api_key ORDER BY id DESC`)).map(toRecord);
  }

  async findById(id: number): Promise<ApiKeyRecord | null> {
    const rows = await this.db.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM im_api_key WHERE id = ?`, [u32('id', id)]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Revokes a key (revoking it again keeps the first time). Unknown id -> 'NOT_FOUND'. */
  async revoke(id: number): Promise<ApiKeyRecord> {
    await this.db.execute('UPDATE im_api_key SET revoked = ? WHERE id = ? AND revoked = 0', [this.now(), u32('id', id)]);
    const record = await this.findById(id);
    if (!record) throw new StorageError('NOT_FOUND', `no API key ${id}`);
    return record;
  }

  /** The key's record if it exists and is not revoked (its use is noted); else null. Malformed keys are simply not found. */
  async check(key: string): Promise<ApiKeyRecord | null> {
    if (typeof key !== 'string' || !KEY_RE.test(key)) return null;
    const rows = await this.db.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM im_api_key WHERE key_hash = ?`, [hashKey(key)]);
    const row = rows[0];
    if (!row || Number(row.revoked) !== 0) return null;
    const record = toRecord(row);
    const now = this.now();
    if (now - record.lastUsed >= LAST_USED_RESOLUTION) {
      await this.db.execute('UPDATE im_api_key SET last_used = ? WHERE id = ?', [now, record.id]);
      record.lastUsed = now;
    }
    return record;
  }
}
