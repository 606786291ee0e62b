import { IM, type DbProxyClient } from '@tt/proto';
import type { ClientConnection } from '../connection';
import type { Delivery } from '../delivery';
import type { UserDirectory } from './user-directory';

export interface GroupAdminDeps {
  db: Pick<DbProxyClient, 'groupAdmin' | 'groupSync' | 'groupMembers'>;
  delivery: Delivery;
  directory: UserDirectory;
}

/**
 * Groups managed by their owner: create, add and remove members, dismiss,
 * hand over, change the group's info. db_proxy decides who may; every
 * member before and after the change hears of it (GroupChangedEvent), and
 * each front shows it as its protocol can (TeamTalk: a member-change notify;
 * OMTP: SYNC_DATA_CMD 3; WebSocket: a system message when dismissed).
 */
export class GroupAdmin {
  constructor(private readonly deps: GroupAdminDeps) {}

  async act(conn: ClientConnection, req: Omit<IM.DbProxy.IGroupAdminReq, 'operatorId'>): Promise<IM.DbProxy.GroupAdminRsp> {
    const rsp = await this.deps.db.groupAdmin({ ...req, operatorId: conn.userId } as IM.DbProxy.IGroupAdminReq);
    if (rsp.result === IM.DbProxy.GroupAdminResult.GROUP_ADMIN_OK && rsp.event) await this.announce(conn, rsp.event);
    return rsp;
  }

  /**
   * A change made by the system (the operator API: operator_id 0, no owner
   * permission needed); every member before and after hears of it.
   */
  async actAsSystem(req: Omit<IM.DbProxy.IGroupAdminReq, 'operatorId'>): Promise<IM.DbProxy.GroupAdminRsp> {
    const rsp = await this.deps.db.groupAdmin({ ...req, operatorId: 0 } as IM.DbProxy.IGroupAdminReq);
    if (rsp.result === IM.DbProxy.GroupAdminResult.GROUP_ADMIN_OK && rsp.event) await this.tell(rsp.event);
    return rsp;
  }

  /**
   * Tells every member before and after a change (and the operator's other
   * connections), in each front's terms. Also used for changes made through
   * TeamTalk's own group commands.
   */
  async announce(conn: ClientConnection, event: IM.Core.IGroupChangedEvent): Promise<void> {
    await this.tell(event, conn);
  }

  private async tell(event: IM.Core.IGroupChangedEvent, conn?: ClientConnection): Promise<void> {
    const audience = [...new Set([...(event.memberIds ?? []), ...(event.changedIds ?? []), ...(conn ? [conn.userId] : [])])];
    const names = await this.deps.directory.names([event.operatorId!, event.group!.creatorId!, ...audience]).catch(() => new Map<number, string>());
    await this.deps.delivery.toUsers(audience, { groupChanged: event, names: [...names].map(([userId, name]) => ({ userId, name })) }, conn?.id);
  }

  sync(userId: number, since: number): Promise<IM.DbProxy.GroupSyncRsp> {
    return this.deps.db.groupSync({ userId, since });
  }

  members(userId: number, groupId: number): Promise<IM.DbProxy.GroupMembersRsp> {
    return this.deps.db.groupMembers({ userId, groupId });
  }
}
