import { SqlDatabase } from '../db';
import { StorageError } from '../errors';
import { retryOnConflict } from '../retry';
import { text, u32 } from '../validate';

/** Longest MSync resource (device id) stored; the Web SDK's are about 40 characters. */
export const MAX_MSYNC_RESOURCE_CHARS = 128;

interface MsyncDeviceRow {
  resource: string;
  confirmed_seq: number;
  updated: number;
}

export type MsyncBindResult =
  /** The device is bound: it continues after confirmedSeq (its own, or initialSeq when new). */
  | { ok: true; confirmedSeq: number; isNew: boolean }
  /** A new device would exceed the limit: the user's other active devices. */
  | { ok: false; activeResources: string[] };

/**
 * MSync devices (im_msync_device): one row per (user, resource), holding the
 * user sync seq the device has confirmed, so that a device reconnecting to
 * any msg_server continues after it. `updated` says when the device was last
 * bound or confirmed; devices older than the caller's cut-off do not count
 * against the device limit.
 */
export class MsyncDeviceRepository {
  constructor(
    private readonly db: SqlDatabase,
    private readonly now: () => number,
  ) {}

  /**
   * Binds the device: an existing row is refreshed and its confirmed seq
   * returned; a new device is added (starting at initialSeq) unless the user
   * already has maxDevices other devices updated at or after activeSince.
   */
  async bind(userId: number, resource: string, opts: { initialSeq: number; maxDevices: number; activeSince: number }): Promise<MsyncBindResult> {
    const user = u32('userId', userId);
    const res = text('resource', resource, MAX_MSYNC_RESOURCE_CHARS, false);
    const initialSeq = seqOf('initialSeq', opts.initialSeq);
    const now = this.now();
    return retryOnConflict(
      () =>
        this.db.transaction(async (tx) => {
          const rows = await tx.query<MsyncDeviceRow>('SELECT resource, confirmed_seq, updated FROM im_msync_device WHERE user_id = ?', [user]);
          const own = rows.find((r) => r.resource === res);
          if (own) {
            await tx.execute('UPDATE im_msync_device SET updated = ? WHERE user_id = ? AND resource = ?', [now, user, res]);
            return { ok: true as const, confirmedSeq: Number(own.confirmed_seq), isNew: false };
          }
          const active = rows.filter((r) => Number(r.updated) >= opts.activeSince).map((r) => r.resource);
          if (opts.maxDevices > 0 && active.length >= opts.maxDevices) return { ok: false as const, activeResources: active };
          await tx.execute('INSERT INTO im_msync_device (user_id, resource, confirmed_seq, updated) VALUES (?, ?, ?, ?)', [user, res, initialSeq, now]);
          return { ok: true as const, confirmedSeq: initialSeq, isNew: true };
        }),
      ['DUPLICATE'],
    );
  }

  /** The device has everything up to seq; a confirmed seq never goes back. An unbound device: nothing. */
  async confirm(userId: number, resource: string, seq: number): Promise<void> {
    const user = u32('userId', userId);
    const res = text('resource', resource, MAX_MSYNC_RESOURCE_CHARS, false);
    const value = seqOf('seq', seq);
    const greatest = this.db.dialect === 'mysql' ? 'GREATEST' : 'MAX';
    await this.db.execute(
      `UPDATE im_msync_device SET confirmed_seq = ${greatest}(confirmed_seq, ?), updated = ? WHERE user_id = ? AND resource = ?`,
      [value, this.now(), user, res],
    );
  }

  /** Forgets the device (it logged out): it no longer counts against the limit. */
  async remove(userId: number, resource: string): Promise<void> {
    await this.db.execute('DELETE FROM im_msync_device WHERE user_id = ? AND resource = ?', [u32('userId', userId), text('resource', resource, MAX_MSYNC_RESOURCE_CHARS, false)]);
  }

  /** The user's devices, by resource. */
  async list(userId: number): Promise<Array<{ resource: string; confirmedSeq: number; updated: number }>> {
    const rows = await this.db.query<MsyncDeviceRow>('SELECT resource, confirmed_seq, updated FROM im_msync_device WHERE user_id = ? ORDER BY resource', [u32('userId', userId)]);
    return rows.map((r) => ({ resource: r.resource, confirmedSeq: Number(r.confirmed_seq), updated: Number(r.updated) }));
  }
}

function seqOf(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new StorageError('INVALID_ARGUMENT', `${field} must be a non-negative integer`);
  return value;
}
