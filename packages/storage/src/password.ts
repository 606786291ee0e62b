import { randomBytes, scrypt, ScryptOptions, timingSafeEqual } from 'node:crypto';
import { StorageError } from './errors';

/**
 * Password storage. TeamTalk clients send the lowercase hex MD5 of the plaintext password; we never
 * see the plaintext. We store scrypt(md5hex lowercased, random 16-byte salt) as
 * `scrypt$N$r$p$saltB64$hashB64`.
 */
export interface ScryptParams {
  /** CPU/memory cost, a power of two. Default 16384. */
  N: number;
  /** Block size. Default 8. */
  r: number;
  /** Parallelism. Default 1. */
  p: number;
  /** Derived key length in bytes. Default 32. */
  keyLen: number;
}

export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ N: 16384, r: 8, p: 1, keyLen: 32 });

const MD5_HEX_RE = /^[0-9a-fA-F]{32}$/;
const SALT_BYTES = 16;
// Bounds for parameters read back from the database (a corrupted/hostile row must not make us burn memory).
const MAX_N = 1 << 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_KEY_LEN = 128;

export function isMd5Hex(value: unknown): value is string {
  return typeof value === 'string' && MD5_HEX_RE.test(value);
}

function scryptAsync(password: string, salt: Buffer, keyLen: number, p: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N: p.N, r: p.r, p: p.p, maxmem: 256 * p.N * p.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keyLen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function checkParams(p: ScryptParams): boolean {
  const isInt = (v: number, min: number, max: number) => Number.isInteger(v) && v >= min && v <= max;
  return isInt(p.N, 2, MAX_N) && (p.N & (p.N - 1)) === 0 && isInt(p.r, 1, MAX_R) && isInt(p.p, 1, MAX_P) && isInt(p.keyLen, 16, MAX_KEY_LEN);
}

export function resolveScryptParams(overrides?: Partial<ScryptParams>): ScryptParams {
  const p = { ...DEFAULT_SCRYPT_PARAMS, ...overrides };
  if (!checkParams(p)) throw new StorageError('INVALID_ARGUMENT', 'invalid scrypt parameters');
  return p;
}

/** Hashes a client password (hex MD5). Throws StorageError 'INVALID_ARGUMENT' if it is not 32 hex chars. */
export async function hashPassword(md5Hex: string, params?: Partial<ScryptParams>): Promise<string> {
  if (!isMd5Hex(md5Hex)) throw new StorageError('INVALID_ARGUMENT', 'password must be the 32-character hex MD5 of the plaintext');
  const p = resolveScryptParams(params);
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(md5Hex.toLowerCase(), salt, p.keyLen, p);
  return `scrypt$${p.N}$${p.r}$${p.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** Checks a client password (hex MD5) against a stored hash. Malformed input or hash -> false, never throws. */
export async function verifyPasswordHash(md5Hex: string, stored: string): Promise<boolean> {
  if (!isMd5Hex(md5Hex) || typeof stored !== 'string') return false;
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, pp, saltB64, hashB64] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hashB64, 'base64');
  const salt = Buffer.from(saltB64, 'base64');
  const params: ScryptParams = { N: Number(n), r: Number(r), p: Number(pp), keyLen: expected.length };
  if (!checkParams(params) || salt.length === 0) return false;
  let actual: Buffer;
  try {
    actual = await scryptAsync(md5Hex.toLowerCase(), salt, params.keyLen, params);
  } catch {
    return false;
  }
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

const dummyHashes = new Map<string, Promise<string>>();

/** Burns roughly the time of a real verification (used when the user does not exist). */
export async function verifyAgainstDummy(md5Hex: string, params?: Partial<ScryptParams>): Promise<false> {
  const p = resolveScryptParams(params);
  const key = `${p.N}$${p.r}$${p.p}$${p.keyLen}`;
  let hash = dummyHashes.get(key);
  if (!hash) {
    hash = hashPassword('0'.repeat(32), p);
    dummyHashes.set(key, hash);
  }
  await verifyPasswordHash(isMd5Hex(md5Hex) ? md5Hex : 'f'.repeat(32), await hash);
  return false;
}
