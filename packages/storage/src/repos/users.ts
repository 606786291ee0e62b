import { createHash } from 'node:crypto';
import { SqlDatabase, SqlValue } from '../db';
import { StorageError } from '../errors';
import { NewUser, User, UserPatch, UserStatus } from '../model';
import { hashPassword, isMd5Hex, ScryptParams, verifyAgainstDummy, verifyPasswordHash } from '../password';
import { text, u32, u8 } from '../validate';

export interface UserRow {
  id: number;
  name: string;
  nick: string;
  real_name: string;
  sex: number;
  avatar: string;
  phone: string;
  email: string;
  domain: string;
  depart_id: number;
  sign_info: string;
  status: number;
  created: number;
  updated: number;
  birthday_ms: number | string;
}

// Never select password_hash into a User: objects that might get logged must not carry it.
export const USER_COLUMNS = 'id, name, nick, real_name, sex, avatar, phone, email, domain, depart_id, sign_info, status, created, updated, birthday_ms';
const CHUNK = 500;

export function toUser(r: UserRow): User {
  return {
    id: Number(r.id),
    name: r.name,
    nick: r.nick,
    realName: r.real_name,
    sex: Number(r.sex),
    avatar: r.avatar,
    phone: r.phone,
    email: r.email,
    domain: r.domain,
    departId: Number(r.depart_id),
    signInfo: r.sign_info,
    status: Number(r.status),
    created: Number(r.created),
    updated: Number(r.updated),
    birthdayMs: Number(r.birthday_ms ?? 0),
  };
}

/** A birthday in milliseconds since the epoch: a whole number JavaScript holds exactly (0: not set). */
function birthdayMs(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new StorageError('INVALID_ARGUMENT', `${field} must be a non-negative integer (milliseconds)`);
  }
  return value;
}

/** Profile columns: [property, column, check]. */
const PROFILE_FIELDS: ReadonlyArray<[keyof UserPatch, string, (field: string, v: unknown) => SqlValue]> = [
  ['nick', 'nick', (f, v) => text(f, v, 64)],
  ['realName', 'real_name', (f, v) => text(f, v, 64)],
  ['sex', 'sex', u8],
  ['avatar', 'avatar', (f, v) => text(f, v, 255)],
  ['phone', 'phone', (f, v) => text(f, v, 32)],
  ['email', 'email', (f, v) => text(f, v, 128)],
  ['domain', 'domain', (f, v) => text(f, v, 64)],
  ['departId', 'depart_id', u32],
  ['signInfo', 'sign_info', (f, v) => text(f, v, 255)],
  ['status', 'status', u8],
  ['birthdayMs', 'birthday_ms', birthdayMs],
];

type LoginRow = UserRow & { password_hash: string };

/**
 * The account rows logins look up, fetched together: every name asked for in
 * one turn of the event loop goes into one `WHERE name IN (…)` query (a login
 * storm costs the database one statement per turn, not one per login). A lone
 * name is looked up as before. Rows are matched to names byte for byte; a
 * name without such a row (unknown, or one the collation matches otherwise,
 * e.g. with trailing spaces) is asked on its own, so every answer is exactly
 * what `WHERE name = ?` gives.
 */
export class LoginRowLoader {
  private pending = new Map<string, Array<{ resolve: (row: LoginRow | undefined) => void; reject: (err: unknown) => void }>>();
  private scheduled = false;

  constructor(private readonly db: SqlDatabase) {}

  load(name: string): Promise<LoginRow | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = this.pending.get(name);
      if (waiters) waiters.push({ resolve, reject });
      else this.pending.set(name, [{ resolve, reject }]);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.run());
      }
    });
  }

  private run(): void {
    const batch = this.pending;
    this.pending = new Map();
    this.scheduled = false;
    const names = [...batch.keys()];
    for (let i = 0; i < names.length; i += CHUNK) {
      const chunk = names.slice(i, i + CHUNK);
      this.fetch(chunk).then(
        (rows) => {
          for (const name of chunk) for (const w of batch.get(name)!) w.resolve(rows.get(name));
        },
        (err: unknown) => {
          for (const name of chunk) for (const w of batch.get(name)!) w.reject(err);
        },
      );
    }
  }

  private async fetch(names: string[]): Promise<Map<string, LoginRow | undefined>> {
    const found = new Map<string, LoginRow | undefined>();
    if (names.length === 1) {
      found.set(names[0], await this.one(names[0]));
      return found;
    }
    const rows = await this.db.query<LoginRow>(`SELECT ${USER_COLUMNS}, password_hash FROM im_user WHERE name IN (${names.map(() => '?').join(', ')})`, names);
    for (const row of rows) found.set(row.name, row);
    await Promise.all(names.filter((n) => !found.has(n)).map(async (n) => found.set(n, await this.one(n))));
    return found;
  }

  private async one(name: string): Promise<LoginRow | undefined> {
    return (await this.db.query<LoginRow>(`SELECT ${USER_COLUMNS}, password_hash FROM im_user WHERE name = ?`, [name]))[0];
  }
}

export class UserRepository {
  private readonly loginRows: LoginRowLoader;

  constructor(
    private readonly db: SqlDatabase,
    private readonly now: () => number,
    private readonly scrypt?: Partial<ScryptParams>,
  ) {
    this.loginRows = new LoginRowLoader(db);
  }

  /** Creates a user. Duplicate name -> StorageError 'DUPLICATE'; bad MD5 hex -> 'INVALID_ARGUMENT'. */
  async create(input: NewUser): Promise<User> {
    const name = text('name', input.name, 64, false);
    if (!isMd5Hex(input.passwordMd5Hex)) throw new StorageError('INVALID_ARGUMENT', 'password must be the 32-character hex MD5 of the plaintext');
    const user: User = {
      id: 0,
      name,
      nick: text('nick', input.nick ?? '', 64),
      realName: text('realName', input.realName ?? '', 64),
      sex: u8('sex', input.sex ?? 0),
      avatar: text('avatar', input.avatar ?? '', 255),
      phone: text('phone', input.phone ?? '', 32),
      email: text('email', input.email ?? '', 128),
      domain: text('domain', input.domain ?? '', 64),
      departId: u32('departId', input.departId ?? 0),
      signInfo: text('signInfo', input.signInfo ?? '', 255),
      status: u8('status', input.status ?? UserStatus.ACTIVE),
      created: 0,
      updated: 0,
      birthdayMs: 0,
    };
    if (await this.findByName(name)) throw new StorageError('DUPLICATE', `user name ${JSON.stringify(name)} is taken`);
    const passwordHash = await hashPassword(input.passwordMd5Hex, this.scrypt);
    user.created = user.updated = this.now();
    try {
      const res = await this.db.execute(
        `INSERT INTO im_user (name, password_hash, nick, real_name, sex, avatar, phone, email, domain, depart_id, sign_info, status, created, updated)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [user.name, passwordHash, user.nick, user.realName, user.sex, user.avatar, user.phone, user.email, user.domain, user.departId, user.signInfo, user.status, user.created, user.updated],
      );
      user.id = res.insertId;
    } catch (err) {
      if (err instanceof StorageError && err.code === 'DUPLICATE') {
        throw new StorageError('DUPLICATE', `user name ${JSON.stringify(name)} is taken`, { cause: err });
      }
      throw err;
    }
    return user;
  }

  /**
   * Updates profile fields / status and returns the updated user. `updated` always moves forward
   * (to now, or by one second if it is already at or past now) so an incremental user sync
   * (updated > the client's last time) sees every change, even two within one second.
   * Unknown id -> 'NOT_FOUND'.
   */
  async update(id: number, patch: UserPatch): Promise<User> {
    u32('id', id);
    const sets: string[] = [];
    const params: SqlValue[] = [];
    for (const [prop, column, check] of PROFILE_FIELDS) {
      const value = patch[prop];
      if (value === undefined) continue;
      sets.push(`${column} = ?`);
      params.push(check(prop, value));
    }
    const now = this.now();
    sets.push('updated = CASE WHEN updated < ? THEN ? ELSE updated + 1 END');
    params.push(now, now, id);
    await this.db.execute(`UPDATE im_user SET ${sets.join(', ')} WHERE id = ?`, params);
    const user = await this.findById(id);
    if (!user) throw new StorageError('NOT_FOUND', `no user ${id}`);
    return user;
  }

  /** Replaces the password. Unknown name -> 'NOT_FOUND'; bad MD5 hex -> 'INVALID_ARGUMENT'. */
  async setPassword(name: string, md5Hex: string): Promise<void> {
    const hash = await hashPassword(md5Hex, this.scrypt);
    const res = await this.db.execute('UPDATE im_user SET password_hash = ? WHERE name = ?', [hash, name]);
    if (res.affectedRows === 0) throw new StorageError('NOT_FOUND', `no user ${JSON.stringify(name)}`);
  }

  async findById(id: number): Promise<User | null> {
    const rows = await this.db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM im_user WHERE id = ?`, [u32('id', id)]);
    return rows[0] ? toUser(rows[0]) : null;
  }

  async findByName(name: string): Promise<User | null> {
    if (typeof name !== 'string') throw new StorageError('INVALID_ARGUMENT', 'name must be a string');
    const rows = await this.db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM im_user WHERE name = ?`, [name]);
    return rows[0] ? toUser(rows[0]) : null;
  }

  /** Users with these ids (unknown ids skipped), ordered by id. */
  async findByIds(ids: readonly number[]): Promise<User[]> {
    const unique = [...new Set(ids.map((id) => u32('id', id)))];
    const out: User[] = [];
    for (let i = 0; i < unique.length; i += CHUNK) {
      const chunk = unique.slice(i, i + CHUNK);
      const rows = await this.db.query<UserRow>(
        `SELECT ${USER_COLUMNS} FROM im_user WHERE id IN (${chunk.map(() => '?').join(', ')})`,
        chunk,
      );
      out.push(...rows.map(toUser));
    }
    return out.sort((a, b) => a.id - b.id);
  }

  /** Users with these account names (unknown names skipped), ordered by id. */
  async findByNames(names: readonly string[]): Promise<User[]> {
    // A name that cannot exist (not a string, empty, too long) is simply not found.
    const unique = [...new Set(names.filter((n) => typeof n === 'string' && n.length > 0 && [...n].length <= 64))];
    const out: User[] = [];
    for (let i = 0; i < unique.length; i += CHUNK) {
      const chunk = unique.slice(i, i + CHUNK);
      const rows = await this.db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM im_user WHERE name IN (${chunk.map(() => '?').join(', ')})`, chunk);
      out.push(...rows.map(toUser));
    }
    return out.sort((a, b) => a.id - b.id);
  }

  /** Users (any status) with updated > updatedAfter, oldest change first. */
  async listChangedSince(updatedAfter: number): Promise<User[]> {
    const rows = await this.db.query<UserRow>(
      `SELECT ${USER_COLUMNS} FROM im_user WHERE updated > ? ORDER BY updated, id`,
      [u32('updatedAfter', updatedAfter)],
    );
    return rows.map(toUser);
  }

  /** Highest `updated` of any user (0 when there is none): the time to hand a client after a full sync. */
  async maxUpdated(): Promise<number> {
    const rows = await this.db.query<{ m: number | null }>('SELECT MAX(updated) AS m FROM im_user');
    return Number(rows[0]?.m ?? 0);
  }

  /** Checks a client password (hex MD5) for this user. Unknown user or malformed input -> false. */
  async verifyPassword(user: Pick<User, 'id'>, md5Hex: string): Promise<boolean> {
    const rows = await this.db.query<{ password_hash: string }>('SELECT password_hash FROM im_user WHERE id = ?', [u32('id', user.id)]);
    const stored = rows[0]?.password_hash;
    if (stored === undefined) return verifyAgainstDummy(md5Hex, this.scrypt);
    return verifyPasswordHash(md5Hex, stored);
  }

  /**
   * Login check: the user if the name exists, is active and the password matches; otherwise null.
   * Takes about the same time whether or not the name exists.
   *
   * With `verified`, a successful check is remembered under a digest of the stored hash and the
   * password, so the slow KDF runs once per (password, hash) pair across all db_proxy replicas; a
   * password change changes the stored hash, so an old entry can never match again.
   */
  async authenticate(name: string, md5Hex: string, verified?: VerifiedCredentials): Promise<User | null> {
    const row = typeof name === 'string' ? await this.loginRows.load(name) : undefined;
    const key = row && verified && isMd5Hex(md5Hex) ? credentialDigest(row.password_hash, md5Hex) : undefined;
    const verdict = verified ? await verified.lookup(key).catch(() => 'check' as const) : 'check';
    if (verdict === 'refuse') return null;
    if (!row) return verifyAgainstDummy(md5Hex, this.scrypt).then(() => null);
    let ok = key !== undefined && verdict === 'verified';
    if (!ok) {
      ok = await verifyPasswordHash(md5Hex, row.password_hash);
      if (ok && key !== undefined) await verified!.markVerified(key).catch(() => undefined);
    }
    if (!ok || Number(row.status) !== UserStatus.ACTIVE) return null;
    return toUser(row);
  }
}

/** Where successful password checks are remembered (a shared cache); keys are opaque digests. */
export interface VerifiedCredentials {
  /**
   * Asked once the account is looked up, before any slow check. key: the digest of (stored hash, password),
   * undefined for an unknown account or a password that is not MD5 hex. 'verified': accept without the KDF;
   * 'check': run it; 'refuse': answer null without checking (the log-in throttle).
   */
  lookup(key: string | undefined): Promise<'verified' | 'check' | 'refuse'>;
  markVerified(key: string): Promise<void>;
}

function credentialDigest(storedHash: string, md5Hex: string): string {
  return createHash('sha256').update(storedHash).update('\0').update(md5Hex.toLowerCase()).digest('base64url');
}
