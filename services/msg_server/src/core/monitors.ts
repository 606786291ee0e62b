import { IM, type DbProxyClient } from '@tt/proto';
import type { Logger } from '@tt/observability';
import type { ClientConnection } from '../connection';
import type { Delivery } from '../delivery';

const { SessionType } = IM.BaseDefine;

/** A conversation named from no one's side: single (1, lower id, higher id), group (2, group, 0). */
export interface MonitoredSession {
  sessionType: number;
  idA: number;
  idB: number;
}

const keyOf = (s: MonitoredSession): string => `${s.sessionType}:${s.idA}:${s.idB}`;

/** The monitored-session key of a message from `fromId` to `toId`. */
export function monitoredSessionOf(sessionType: number, fromId: number, toId: number): MonitoredSession {
  if (sessionType === SessionType.SESSION_TYPE_SINGLE) return { sessionType, idA: Math.min(fromId, toId), idB: Math.max(fromId, toId) };
  return { sessionType, idA: toId, idB: 0 };
}

export interface MonitorsDeps {
  db: Pick<DbProxyClient, 'monitor' | 'monitorList'>;
  delivery: Delivery;
  log: Logger;
  /** How often the whole table is reloaded (catches grants revoked by ttctl while no msg_server was told). */
  reloadIntervalMs?: number;
}

/**
 * Session monitors (OMTP SESSION_MONITOR_*): who listens to which
 * conversation. Every msg_server keeps the whole table (monitors are few), so
 * the server storing a message knows at once whom to copy it to: loaded at
 * start, kept current by MonitorChangedEvent broadcasts, reloaded now and
 * then. Permission and the record of who monitored what live in db_proxy.
 */
export class SessionMonitors {
  private readonly bySession = new Map<string, Set<number>>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly deps: MonitorsDeps) {}

  start(): void {
    const reload = () => this.reload().catch((err) => this.deps.log.warn({ err }, 'session monitors not loaded; retrying'));
    void reload();
    this.timer = setInterval(reload, this.deps.reloadIntervalMs ?? 30_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async reload(): Promise<void> {
    const rsp = await this.deps.db.monitorList({ userId: 0 });
    this.bySession.clear();
    for (const e of rsp.entries) this.add(e.userId, e.session);
  }

  /** Users monitoring this conversation (none: an empty array, no allocation). */
  monitorsOf(session: MonitoredSession): readonly number[] {
    if (this.bySession.size === 0) return NO_ONE;
    const set = this.bySession.get(keyOf(session));
    return set ? [...set] : NO_ONE;
  }

  /** Applies a broadcast MonitorChangedEvent (user 0: reload everything). */
  apply(e: IM.Core.IMonitorChangedEvent): void {
    if (!e.userId) {
      void this.reload().catch((err) => this.deps.log.warn({ err }, 'session monitors not reloaded'));
      return;
    }
    const session = { sessionType: e.sessionType!, idA: e.idA!, idB: e.idB! };
    if (e.started) this.add(e.userId!, session);
    else this.remove(e.userId!, session);
  }

  /** Starts or stops listening, for the connection's user; every msg_server hears of it. */
  async change(conn: ClientConnection, session: MonitoredSession, start: boolean): Promise<IM.DbProxy.MonitorRsp> {
    const rsp = await this.deps.db.monitor({ userId: conn.userId, session, start });
    if (rsp.result === IM.DbProxy.MonitorResult.MONITOR_OK) {
      const event = { userId: conn.userId, ...session, started: start };
      this.apply(event);
      if (rsp.changed) this.deps.delivery.broadcast({ monitorChanged: event });
    }
    return rsp;
  }

  /** Reloads here and tells every other msg_server to reload (an operator changed grants). */
  async reloadEverywhere(): Promise<void> {
    await this.reload();
    this.deps.delivery.broadcast({ monitorChanged: { userId: 0, sessionType: 0, idA: 0, idB: 0, started: false } });
  }

  /** The sessions the user monitors. */
  async listFor(userId: number): Promise<IM.DbProxy.IMonitorEntry[]> {
    return (await this.deps.db.monitorList({ userId })).entries;
  }

  private add(userId: number, session: MonitoredSession): void {
    const key = keyOf(session);
    let set = this.bySession.get(key);
    if (!set) this.bySession.set(key, (set = new Set()));
    set.add(userId);
  }

  private remove(userId: number, session: MonitoredSession): void {
    const key = keyOf(session);
    const set = this.bySession.get(key);
    if (!set) return;
    set.delete(userId);
    if (set.size === 0) this.bySession.delete(key);
  }
}

const NO_ONE: readonly number[] = Object.freeze([]);
