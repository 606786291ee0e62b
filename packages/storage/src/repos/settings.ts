import { SqlDatabase } from '../db';
import { chunks, flag, placeholders, u32, u32List } from '../validate';

const ID_CHUNK = 500;

/** Per-user settings (im_user_setting); a user without a row has every setting at its default. */
export class UserSettingsRepository {
  constructor(
    private readonly db: SqlDatabase,
    private readonly now: () => number,
  ) {}

  /** 1: no offline pushes for this user; 0 (default): pushes on. */
  async setPushShield(userId: number, status: number): Promise<void> {
    const params = [u32('userId', userId), flag('status', status), this.now()];
    const insert = 'INSERT INTO im_user_setting (user_id, push_shield, updated) VALUES (?, ?, ?)';
    await this.db.execute(
      this.db.dialect === 'mysql'
        ? `${insert} ON DUPLICATE KEY UPDATE push_shield = VALUES(push_shield), updated = VALUES(updated)`
        : `${insert} ON CONFLICT (user_id) DO UPDATE SET push_shield = excluded.push_shield, updated = excluded.updated`,
      params,
    );
  }

  /** The user's push shield (0 when never set). */
  async pushShield(userId: number): Promise<0 | 1> {
    const rows = await this.db.query<{ push_shield: number }>('SELECT push_shield FROM im_user_setting WHERE user_id = ?', [u32('userId', userId)]);
    return Number(rows[0]?.push_shield ?? 0) === 1 ? 1 : 0;
  }

  /** Push shield of each requested user (every id is in the map; 0 when never set). */
  async pushShields(userIds: readonly number[]): Promise<Map<number, number>> {
    const ids = u32List('userIds', userIds);
    const out = new Map<number, number>(ids.map((id) => [id, 0]));
    for (const chunk of chunks(ids, ID_CHUNK)) {
      const rows = await this.db.query<{ user_id: number; push_shield: number }>(
        `SELECT user_id, push_shield FROM im_user_setting WHERE user_id IN (${placeholders(chunk.length)})`,
        chunk,
      );
      for (const r of rows) out.set(Number(r.user_id), Number(r.push_shield));
    }
    return out;
  }
}
