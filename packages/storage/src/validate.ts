import { StorageError } from './errors';
import { ConversationKey, SessionType, SessionTypeValue } from './model';

const U32_MAX = 0xffffffff;

export function u32(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > U32_MAX) {
    throw new StorageError('INVALID_ARGUMENT', `${field} must be an unsigned 32-bit integer`);
  }
  return value;
}

export function u8(field: string, value: unknown): number {
  const v = u32(field, value);
  if (v > 255) throw new StorageError('INVALID_ARGUMENT', `${field} must be between 0 and 255`);
  return v;
}

/** Text column check; lengths in characters (code points) as MySQL VARCHAR counts them. */
export function text(field: string, value: unknown, maxChars: number, allowEmpty = true): string {
  if (typeof value !== 'string') throw new StorageError('INVALID_ARGUMENT', `${field} must be a string`);
  if (!allowEmpty && value.length === 0) throw new StorageError('INVALID_ARGUMENT', `${field} must not be empty`);
  if (value.length > maxChars && [...value].length > maxChars) {
    throw new StorageError('INVALID_ARGUMENT', `${field} is longer than ${maxChars} characters`);
  }
  return value;
}

/** A list of ids: each an unsigned 32-bit integer; returned de-duplicated and ascending. */
export function u32List(field: string, values: unknown): number[] {
  if (!Array.isArray(values)) throw new StorageError('INVALID_ARGUMENT', `${field} must be an array`);
  return [...new Set(values.map((v) => u32(`${field}[]`, v)))].sort((a, b) => a - b);
}

/** A 0/1 flag column (shield statuses). */
export function flag(field: string, value: unknown): 0 | 1 {
  if (value !== 0 && value !== 1) throw new StorageError('INVALID_ARGUMENT', `${field} must be 0 or 1`);
  return value;
}

/** Splits a list for `IN (...)` / multi-row VALUES statements. */
export function chunks<T>(values: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}

/** "?, ?, ?" for n parameters. */
export function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

/** A TeamTalk session type: recent sessions, unread counts and read positions know only these. */
export function sessionType(value: unknown): SessionTypeValue {
  if (value !== SessionType.SINGLE && value !== SessionType.GROUP) {
    throw new StorageError('INVALID_ARGUMENT', 'sessionType must be 1 (single) or 2 (group)');
  }
  return value;
}

/** The session type of a message: TeamTalk's two, or a chat room. */
export function messageSessionType(value: unknown): SessionTypeValue {
  if (value === SessionType.ROOM) return value;
  return sessionType(value);
}

/** Conversation key as seen from `userId` talking to `peerId` (a user, a group or a chat room). */
export function conversationKey(type: SessionTypeValue, userId: number, peerId: number): ConversationKey {
  messageSessionType(type);
  u32('userId', userId);
  u32('peerId', peerId);
  if (type === SessionType.GROUP || type === SessionType.ROOM) return { sessionType: type, idA: peerId, idB: 0 };
  return { sessionType: type, idA: Math.min(userId, peerId), idB: Math.max(userId, peerId) };
}

export function asBuffer(value: unknown): Buffer {
  if (value === null || value === undefined) return Buffer.alloc(0);
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  throw new StorageError('INTERNAL', 'unexpected BLOB value from driver');
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
