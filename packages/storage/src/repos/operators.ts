import { createHash } from 'node:crypto';
import { SqlDatabase, SqlValue } from '../db';
import { StorageError } from '../errors';
import { OperatorAccount, OperatorRoleName } from '../model';
import { hashPassword, ScryptParams, verifyAgainstDummy, verifyPasswordHash } from '../password';
import { text, u32 } from '../validate';

interface OperatorRow {
  id: number;
  name: string;
  role: string;
  disabled: number;
  created: number;
  updated: number;
}

const COLUMNS = 'id, name, role, disabled, created, updated';
/** Operator passwords: long enough to resist guessing, short enough to bound the KDF's input. */
export const OPERATOR_PASSWORD_MIN_CHARS = 8;
export const OPERATOR_PASSWORD_MAX_CHARS = 256;
/** Account names: letters, digits and . _ - @ (they appear in audit actors and URLs). */
const OPERATOR_NAME_RE = /^[A-Za-z0-9._@-]{1,64}$/;

export function operatorRole(field: string, value: unknown): OperatorRoleName {
  if (value !== 'admin' && value !== 'viewer') throw new StorageError('INVALID_ARGUMENT', `${field} must be "admin" or "viewer"`);
  return value;
}

function operatorName(value: unknown): string {
  if (typeof value !== 'string' || !OPERATOR_NAME_RE.test(value)) {
    throw new StorageError('INVALID_ARGUMENT', 'name must be 1 to 64 letters, digits or . _ - @');
  }
  return value;
}

function operatorPassword(value: unknown): string {
  if (typeof value !== 'string') throw new StorageError('INVALID_ARGUMENT', 'password must be a string');
  const chars = [...value].length;
  if (chars < OPERATOR_PASSWORD_MIN_CHARS || chars > OPERATOR_PASSWORD_MAX_CHARS) {
    throw new StorageError('INVALID_ARGUMENT', `password must be ${OPERATOR_PASSWORD_MIN_CHARS} to ${OPERATOR_PASSWORD_MAX_CHARS} characters`);
  }
  return value;
}

/**
 * The password as the shared scrypt format takes it: its hex MD5, the same pre-hash TeamTalk
 * clients apply, so chat users and operators share one hash format and one verifier.
 */
const preHash = (password: string) => createHash('md5').update(password, 'utf8').digest('hex');

function toOperator(r: OperatorRow): OperatorAccount {
  return {
    id: Number(r.id),
    name: r.name,
    role: r.role === 'admin' ? 'admin' : 'viewer',
    disabled: Number(r.disabled) !== 0,
    created: Number(r.created),
    updated: Number(r.updated),
  };
}

/** Operator accounts of the HTTP API and console (im_operator): not chat users. */
export class OperatorRepository {
  constructor(
    private readonly db: SqlDatabase,
    private readonly now: () => number,
    private readonly scrypt?: Partial<ScryptParams>,
  ) {}

  /** Creates an enabled operator. Taken name -> 'DUPLICATE'; bad name, password or role -> 'INVALID_ARGUMENT'. */
  async create(name: string, password: string, role: OperatorRoleName): Promise<OperatorAccount> {
    const checkedName = operatorName(name);
    const checkedRole = operatorRole('role', role);
    const hash = await hashPassword(preHash(operatorPassword(password)), this.scrypt);
    const now = this.now();
    try {
      const res = await this.db.execute('INSERT INTO im_operator (name, password_hash, role, disabled, created, updated) VALUES (?, ?, ?, 0, ?, ?)', [
        checkedName,
        hash,
        checkedRole,
        now,
        now,
      ]);
      return { id: res.insertId, name: checkedName, role: checkedRole, disabled: false, created: now, updated: now };
    } catch (err) {
      if (err instanceof StorageError && err.code === 'DUPLICATE') {
        throw new StorageError('DUPLICATE', `operator name ${JSON.stringify(checkedName)} is taken`, { cause: err });
      }
      throw err;
    }
  }

  /**
   * The operator if the name exists, the account is enabled and the password matches; else null.
   * Takes about as long whether or not the name exists.
   */
  async authenticate(name: string, password: string): Promise<OperatorAccount | null> {
    const candidate = typeof password === 'string' && password.length <= OPERATOR_PASSWORD_MAX_CHARS * 4 ? preHash(password) : '';
    const rows =
      typeof name === 'string' && OPERATOR_NAME_RE.test(name)
        ? await this.db.query<OperatorRow & { password_hash: string }>(`SELECT ${COLUMNS}, password_hash FROM im_operator WHERE name = ?`, [name])
        : [];
    const row = rows[0];
    if (!row) return verifyAgainstDummy(candidate, this.scrypt).then(() => null);
    const ok = await verifyPasswordHash(candidate, row.password_hash);
    return ok && Number(row.disabled) === 0 ? toOperator(row) : null;
  }

  /** Every operator, by id. */
  async list(): Promise<OperatorAccount[]> {
    return (await this.db.query<OperatorRow>(`SELECT ${COLUMNS} FROM im_operator ORDER BY id`)).map(toOperator);
  }

  async findById(id: number): Promise<OperatorAccount | null> {
    const rows = await this.db.query<OperatorRow>(`SELECT ${COLUMNS} FROM im_operator WHERE id = ?`, [u32('id', id)]);
    return rows[0] ? toOperator(rows[0]) : null;
  }

  async findByName(name: string): Promise<OperatorAccount | null> {
    text('name', name, 64);
    const rows = await this.db.query<OperatorRow>(`SELECT ${COLUMNS} FROM im_operator WHERE name = ?`, [name]);
    return rows[0] ? toOperator(rows[0]) : null;
  }

  /** Changes role, password and/or the disabled flag. Unknown id -> 'NOT_FOUND'; nothing to change -> 'INVALID_ARGUMENT'. */
  async update(id: number, patch: { role?: OperatorRoleName; password?: string; disabled?: boolean }): Promise<OperatorAccount> {
    u32('id', id);
    const sets: string[] = [];
    const params: SqlValue[] = [];
    if (patch.role !== undefined) {
      sets.push('role = ?');
      params.push(operatorRole('role', patch.role));
    }
    if (patch.disabled !== undefined) {
      if (typeof patch.disabled !== 'boolean') throw new StorageError('INVALID_ARGUMENT', 'disabled must be true or false');
      sets.push('disabled = ?');
      params.push(patch.disabled ? 1 : 0);
    }
    if (patch.password !== undefined) {
      sets.push('password_hash = ?');
      params.push(await hashPassword(preHash(operatorPassword(patch.password)), this.scrypt));
    }
    if (sets.length === 0) throw new StorageError('INVALID_ARGUMENT', 'nothing to change');
    sets.push('updated = ?');
    params.push(this.now(), id);
    await this.db.execute(`UPDATE im_operator SET ${sets.join(', ')} WHERE id = ?`, params);
    const operator = await this.findById(id);
    if (!operator) throw new StorageError('NOT_FOUND', `no operator ${id}`);
    return operator;
  }
}
