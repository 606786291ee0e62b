import { SqlDatabase, SqlExecutor } from '../db';
import { StorageError } from '../errors';
import { MonitorAction, MonitorEntry, MonitoredSession, MonitorLogEntry, SessionType } from '../model';
import { retryOnConflict } from '../retry';
import { text, u32 } from '../validate';

/** Longest "by" (who granted or revoked) kept in the record. */
export const MAX_MONITOR_BY = 128;
/** Log page size when none is asked for, and the largest. */
export const DEFAULT_MONITOR_LOG_LIMIT = 100;
export const MAX_MONITOR_LOG_LIMIT = 1000;

const LOG_ACTIONS: ReadonlySet<string> = new Set<MonitorAction>(['grant', 'revoke', 'start', 'stop']);

interface SessionRow {
  user_id: number;
  session_type: number;
  id_a: number;
  id_b: number;
}

/** A monitored session as stored: single chat (1, a, b) with 0 < a < b; group (2, group, 0). */
function monitoredSession(s: MonitoredSession): MonitoredSession {
  if (!s) throw new StorageError('INVALID_ARGUMENT', 'session is required');
  const type = u32('session.sessionType', s.sessionType);
  const idA = u32('session.idA', s.idA);
  const idB = u32('session.idB', s.idB);
  if (type === SessionType.SINGLE) {
    if (idA === 0 || idA >= idB) throw new StorageError('INVALID_ARGUMENT', 'a monitored single chat needs 0 < idA < idB');
  } else if (type === SessionType.GROUP) {
    if (idA === 0 || idB !== 0) throw new StorageError('INVALID_ARGUMENT', 'a monitored group needs idA (the group) and idB 0');
  } else throw new StorageError('INVALID_ARGUMENT', 'a monitored session is single (1) or group (2)');
  return { sessionType: type, idA, idB };
}

const sessionOf = (r: SessionRow): MonitoredSession => ({ sessionType: Number(r.session_type), idA: Number(r.id_a), idB: Number(r.id_b) });

/**
 * Session monitors (OMTP SESSION_MONITOR_*): who may monitor (im_monitor_grant, set by operators),
 * who monitors which conversation now (im_session_monitor), and the record of every grant, revoke,
 * start and stop (im_monitor_log). Each change and its log line are one transaction.
 */
export class MonitorRepository {
  constructor(
    private readonly db: SqlDatabase,
    private readonly now: () => number,
  ) {}

  /** Gives the user the monitor permission; `by` is who did (for the record). Returns false if they had it already (nothing logged). */
  async grant(userId: number, by: string): Promise<boolean> {
    const user = u32('userId', userId);
    const byWhom = text('by', by, MAX_MONITOR_BY);
    return retryOnConflict(() =>
      this.db.transaction(async (tx) => {
        const now = this.now();
        const insert = 'INTO im_monitor_grant (user_id, granted_by, created) VALUES (?, ?, ?)';
        const res = await tx.execute(tx.dialect === 'mysql' ? `INSERT IGNORE ${insert}` : `INSERT ${insert} ON CONFLICT (user_id) DO NOTHING`, [user, byWhom, now]);
        if (res.affectedRows === 0) return false;
        await appendLog(tx, user, 'grant', null, byWhom, now);
        return true;
      }),
    );
  }

  /**
   * Takes the permission away and stops every monitor the user runs (each stop logged). Returns
   * false if they did not have it (nothing changed).
   */
  async revoke(userId: number, by: string): Promise<boolean> {
    const user = u32('userId', userId);
    const byWhom = text('by', by, MAX_MONITOR_BY);
    return retryOnConflict(() =>
      this.db.transaction(async (tx) => {
        const now = this.now();
        const res = await tx.execute('DELETE FROM im_monitor_grant WHERE user_id = ?', [user]);
        if (res.affectedRows === 0) return false;
        const active = await tx.query<SessionRow>('SELECT user_id, session_type, id_a, id_b FROM im_session_monitor WHERE user_id = ? ORDER BY session_type, id_a, id_b', [user]);
        if (active.length > 0) await tx.execute('DELETE FROM im_session_monitor WHERE user_id = ?', [user]);
        for (const r of active) await appendLog(tx, user, 'stop', sessionOf(r), '', now);
        await appendLog(tx, user, 'revoke', null, byWhom, now);
        return true;
      }),
    );
  }

  async isGranted(userId: number): Promise<boolean> {
    const rows = await this.db.query('SELECT user_id FROM im_monitor_grant WHERE user_id = ?', [u32('userId', userId)]);
    return rows.length > 0;
  }

  /** The user starts monitoring the session (the caller checks the permission). Returns false if they already did. */
  async start(userId: number, session: MonitoredSession): Promise<boolean> {
    const user = u32('userId', userId);
    const s = monitoredSession(session);
    return retryOnConflict(() =>
      this.db.transaction(async (tx) => {
        const now = this.now();
        const insert = 'INTO im_session_monitor (user_id, session_type, id_a, id_b, started) VALUES (?, ?, ?, ?, ?)';
        const res = await tx.execute(
          tx.dialect === 'mysql' ? `INSERT IGNORE ${insert}` : `INSERT ${insert} ON CONFLICT (user_id, session_type, id_a, id_b) DO NOTHING`,
          [user, s.sessionType, s.idA, s.idB, now],
        );
        if (res.affectedRows === 0) return false;
        await appendLog(tx, user, 'start', s, '', now);
        return true;
      }),
    );
  }

  /** The user stops monitoring the session. Returns false if they were not. */
  async stop(userId: number, session: MonitoredSession): Promise<boolean> {
    const user = u32('userId', userId);
    const s = monitoredSession(session);
    return retryOnConflict(() =>
      this.db.transaction(async (tx) => {
        const res = await tx.execute('DELETE FROM im_session_monitor WHERE user_id = ? AND session_type = ? AND id_a = ? AND id_b = ?', [user, s.sessionType, s.idA, s.idB]);
        if (res.affectedRows === 0) return false;
        await appendLog(tx, user, 'stop', s, '', this.now());
        return true;
      }),
    );
  }

  /** True if the user monitors the session now. */
  async isMonitoring(userId: number, session: MonitoredSession): Promise<boolean> {
    const s = monitoredSession(session);
    const rows = await this.db.query('SELECT user_id FROM im_session_monitor WHERE user_id = ? AND session_type = ? AND id_a = ? AND id_b = ?', [
      u32('userId', userId),
      s.sessionType,
      s.idA,
      s.idB,
    ]);
    return rows.length > 0;
  }

  /** The sessions the user monitors, oldest start first. */
  async listFor(userId: number): Promise<MonitorEntry[]> {
    const rows = await this.db.query<SessionRow & { started: number }>(
      'SELECT user_id, session_type, id_a, id_b, started FROM im_session_monitor WHERE user_id = ? ORDER BY started, session_type, id_a, id_b',
      [u32('userId', userId)],
    );
    return rows.map(toEntry);
  }

  /** Every active monitor, and the users holding the permission (ascending): what a msg_server loads. */
  async listAll(): Promise<{ entries: MonitorEntry[]; grantedUserIds: number[] }> {
    const rows = await this.db.query<SessionRow & { started: number }>('SELECT user_id, session_type, id_a, id_b, started FROM im_session_monitor ORDER BY user_id, session_type, id_a, id_b');
    const granted = await this.db.query<{ user_id: number }>('SELECT user_id FROM im_monitor_grant ORDER BY user_id');
    return { entries: rows.map(toEntry), grantedUserIds: granted.map((r) => Number(r.user_id)) };
  }

  /** The record, newest first: of one user, or of everyone with userId 0; limit 0: DEFAULT_MONITOR_LOG_LIMIT (at most MAX_MONITOR_LOG_LIMIT). */
  async log(userId: number, limit: number): Promise<MonitorLogEntry[]> {
    const user = u32('userId', userId);
    const asked = u32('limit', limit);
    const n = asked === 0 ? DEFAULT_MONITOR_LOG_LIMIT : Math.min(asked, MAX_MONITOR_LOG_LIMIT);
    const rows = await this.db.query<SessionRow & { action: string; by_whom: string; at: number }>(
      `SELECT user_id, action, session_type, id_a, id_b, by_whom, at FROM im_monitor_log${user === 0 ? '' : ' WHERE user_id = ?'} ORDER BY id DESC LIMIT ?`,
      user === 0 ? [n] : [user, n],
    );
    return rows.flatMap((r): MonitorLogEntry[] => {
      const action = String(r.action);
      if (!LOG_ACTIONS.has(action)) return []; // written by something newer
      const entry: MonitorLogEntry = { userId: Number(r.user_id), action: action as MonitorAction, by: String(r.by_whom), at: Number(r.at) };
      if (Number(r.session_type) !== 0) entry.session = sessionOf(r);
      return [entry];
    });
  }
}

function toEntry(r: SessionRow & { started: number }): MonitorEntry {
  return { userId: Number(r.user_id), session: sessionOf(r), started: Number(r.started) };
}

async function appendLog(tx: SqlExecutor, userId: number, action: MonitorAction, session: MonitoredSession | null, by: string, at: number): Promise<void> {
  await tx.execute('INSERT INTO im_monitor_log (user_id, action, session_type, id_a, id_b, by_whom, at) VALUES (?, ?, ?, ?, ?, ?, ?)', [
    userId,
    action,
    session?.sessionType ?? 0,
    session?.idA ?? 0,
    session?.idB ?? 0,
    by,
    at,
  ]);
}
