import { SqlDatabase } from '../db';
import { DeviceToken } from '../model';
import { retryOnConflict } from '../retry';
import { chunks, placeholders, text, u32, u32List, u8 } from '../validate';

interface DeviceTokenRow {
  user_id: number;
  client_type: number;
  token: string;
  updated: number;
}

const ID_CHUNK = 500;
/** Longest token stored (APNs tokens are 64 hex characters, FCM tokens about 160). */
const MAX_TOKEN_CHARS = 512;

/** Push tokens of mobile clients (im_device_token): at most one per (user, client type), each token used by one row only. */
export class DeviceTokenRepository {
  constructor(
    private readonly db: SqlDatabase,
    private readonly now: () => number,
  ) {}

  /**
   * Records the token of the user's client of this type, in one transaction. The token is first
   * taken away from any other (user, client type): a phone re-registered by another user must stop
   * getting the previous user's pushes. An empty token deletes the row.
   */
  async set(userId: number, clientType: number, token: string): Promise<void> {
    const user = u32('userId', userId);
    const type = u8('clientType', clientType);
    const value = text('token', token, MAX_TOKEN_CHARS);
    // DUPLICATE: two users registering the same token at once; the retry sees the winner's row and moves it.
    await retryOnConflict(
      () =>
        this.db.transaction(async (tx) => {
          if (value === '') {
            await tx.execute('DELETE FROM im_device_token WHERE user_id = ? AND client_type = ?', [user, type]);
            return;
          }
          await tx.execute('DELETE FROM im_device_token WHERE token = ? AND (user_id <> ? OR client_type <> ?)', [value, user, type]);
          const insert = 'INSERT INTO im_device_token (user_id, client_type, token, updated) VALUES (?, ?, ?, ?)';
          await tx.execute(
            tx.dialect === 'mysql'
              ? `${insert} ON DUPLICATE KEY UPDATE token = VALUES(token), updated = VALUES(updated)`
              : `${insert} ON CONFLICT (user_id, client_type) DO UPDATE SET token = excluded.token, updated = excluded.updated`,
            [user, type, value, this.now()],
          );
        }),
      ['DUPLICATE'],
    );
  }

  /** Tokens of these users, ordered by user id then client type. */
  async listForUsers(userIds: readonly number[]): Promise<DeviceToken[]> {
    const out: DeviceToken[] = [];
    for (const chunk of chunks(u32List('userIds', userIds), ID_CHUNK)) {
      const rows = await this.db.query<DeviceTokenRow>(
        `SELECT user_id, client_type, token, updated FROM im_device_token WHERE user_id IN (${placeholders(chunk.length)}) ORDER BY user_id, client_type`,
        chunk,
      );
      out.push(...rows.map((r) => ({ userId: Number(r.user_id), clientType: Number(r.client_type), token: r.token, updated: Number(r.updated) })));
    }
    return out;
  }

  /** Deletes a token wherever it is (e.g. reported dead by APNs/FCM). Returns false if it was not stored. */
  async removeToken(token: string): Promise<boolean> {
    const value = text('token', token, MAX_TOKEN_CHARS);
    if (value === '') return false;
    const res = await this.db.execute('DELETE FROM im_device_token WHERE token = ?', [value]);
    return res.affectedRows > 0;
  }
}
