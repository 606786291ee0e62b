import { encodePdu } from '@tt/codec';
import { IM } from '@tt/proto';
import type { StatusChange } from '@tt/presence';
import type { ConnectionRegistry } from './connection-registry';
import { isMobileClient } from './domain/client-type';

const { BuddyListCmdID, ServiceID } = IM.BaseDefine;

/**
 * IMUserStatNotify to every PC client, as TeamTalk's PC clients expect for
 * the whole organisation, without the original's quadratic cost in a login
 * storm: changes are coalesced per user over a short window, each notify is
 * encoded once, and each PC connection gets one write per window.
 */
export class StatusNotifier {
  private readonly pending = new Map<number, number>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly batchMs: number,
    private readonly onFlush: (users: number, connections: number) => void = () => {},
  ) {}

  statusChanged({ userId, status }: StatusChange): void {
    this.pending.set(userId, status);
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.batchMs);
      this.timer.unref();
    }
  }

  flush(): void {
    this.timer = undefined;
    if (this.pending.size === 0) return;
    const pdus: Buffer[] = [];
    for (const [userId, status] of this.pending) {
      const body = IM.Buddy.IMUserStatNotify.encode({ userStat: { userId, status } }).finish();
      pdus.push(encodePdu(ServiceID.SID_BUDDY_LIST, BuddyListCmdID.CID_BUDDY_LIST_STATUS_NOTIFY, 0, body));
    }
    const users = this.pending.size;
    this.pending.clear();
    const batch = Buffer.concat(pdus);
    let connections = 0;
    for (const conn of this.registry.loggedIn()) {
      // IMUserStatNotify is TeamTalk's, for its PC clients.
      if (conn.front.name !== 'teamtalk' || isMobileClient(conn.identity!.clientType)) continue;
      conn.write(batch);
      connections += 1;
    }
    this.onFlush(users, connections);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
