import { IM, type DbProxyClient } from '@tt/proto';
import type { ClientConnection } from '../connection';
import type { Delivery } from '../delivery';
import type { UserDirectory } from './user-directory';

/** SYNC_DATA_CMD commands (OMTP): what a client should sync again. */
export const SyncData = { FRIENDS: 1, SESSIONS: 2, GROUPS: 3 } as const;

export interface SocialDeps {
  db: Pick<DbProxyClient, 'friendUpdate' | 'friendSync' | 'userAttrSet' | 'userAttrGet' | 'sessionAttrSet' | 'userProfiles' | 'userProfileUpdate' | 'groupMembers'>;
  delivery: Delivery;
  directory: UserDirectory;
}

/**
 * Friends, attributes and profiles, and the notifications that tell clients
 * to sync them. Friendships are mutual and made at once (no requests).
 */
export class Social {
  constructor(private readonly deps: SocialDeps) {}

  /** Adds and removes friends of the connection's user; both sides of every change hear of it. */
  async updateFriends(conn: ClientConnection, add: IM.DbProxy.IFriendEntry[], remove: number[]): Promise<IM.DbProxy.FriendUpdateRsp> {
    const userId = conn.userId;
    const rsp = await this.deps.db.friendUpdate({ userId, add, remove });
    if (!rsp.ok) return rsp;
    const changes: IM.Core.IFriendChangedEvent[] = [
      ...rsp.addedIds.map((friendId) => ({ userId, friendId, added: true })),
      ...rsp.removedIds.map((friendId) => ({ userId, friendId, added: false })),
    ];
    const names = await this.deps.directory.names([userId, ...changes.map((c) => c.friendId!), ...add.map((a) => a.friendId!)]).catch(() => new Map<number, string>());
    const named = [...names].map(([id, name]) => ({ userId: id, name }));
    for (const change of changes) await this.deps.delivery.toUsers([userId, change.friendId!], { friendChanged: change, names: named }, conn.id);
    // A remark change alone concerns only the user's own other devices: told to sync their friends.
    if (changes.length === 0 && add.length > 0) {
      const content = JSON.stringify({ friendId: names.get(add[0].friendId!) ?? String(add[0].friendId), added: true, remark: add[0].remark ?? '' });
      await this.deps.delivery.toUsers([userId], { notify: syncData(SyncData.FRIENDS, content) }, conn.id);
    }
    return rsp;
  }

  friendsSince(userId: number, since: number): Promise<IM.DbProxy.FriendSyncRsp> {
    return this.deps.db.friendSync({ userId, since });
  }

  async setUserAttribute(userId: number, targetId: number, name: string, value: string): Promise<void> {
    await this.deps.db.userAttrSet({ userId, targetId, name, value });
  }

  async userAttributes(userId: number): Promise<IM.DbProxy.IUserAttribute[]> {
    return (await this.deps.db.userAttrGet({ userId })).attributes;
  }

  /** Sets one of the user's session attributes; the user's other connections are told to sync sessions. */
  async setSessionAttribute(conn: ClientConnection, conversation: IM.Core.IConversationRef, name: string, value: string): Promise<IM.DbProxy.SessionAttrSetRsp> {
    const rsp = await this.deps.db.sessionAttrSet({ userId: conn.userId, conversation: conversation as IM.Core.ConversationRef, name, value });
    if (rsp.ok) {
      const content = JSON.stringify({ sessionType: conversation.sessionType, peerId: conversation.peerId, name, value });
      await this.deps.delivery.toUsers([conn.userId], { notify: syncData(SyncData.SESSIONS, content) }, conn.id);
    }
    return rsp;
  }

  async profiles(userIds: number[]): Promise<IM.DbProxy.IUserProfile[]> {
    return (await this.deps.db.userProfiles({ userIds })).profiles;
  }

  updateProfile(userId: number, patch: Omit<IM.DbProxy.IUserProfileUpdateReq, 'userId'>): Promise<IM.DbProxy.UserProfileUpdateRsp> {
    return this.deps.db.userProfileUpdate({ ...patch, userId } as IM.DbProxy.IUserProfileUpdateReq);
  }

  /**
   * An operator's business notification (OMTP BIZ_NOTIFY) to users, or to
   * every member of a group. Never stored: whoever is online hears of it.
   * Returns how many users it was addressed to.
   */
  async businessNotify(target: { userIds?: number[]; groupId?: number }, notice: { from: string; contentType: number; content: string }): Promise<number> {
    let userIds = target.userIds ?? [];
    if (target.groupId) {
      const members = await this.deps.db.groupMembers({ userId: 0, groupId: target.groupId });
      if (members.result === IM.DbProxy.GroupAdminResult.GROUP_ADMIN_NOT_FOUND) throw new Error(`no group ${target.groupId}`);
      userIds = members.memberIds;
    }
    if (userIds.length === 0) return 0;
    const event: IM.Core.ICoreEvent = {
      notify: { kind: IM.Core.NotifyEvent.Kind.BIZ, command: notice.contentType, content: notice.content, from: notice.from, groupId: target.groupId || undefined, sentAtMs: Date.now() },
    };
    await this.deps.delivery.toUsers(userIds, event);
    return userIds.length;
  }
}

export function syncData(command: number, content: string): IM.Core.INotifyEvent {
  return { kind: IM.Core.NotifyEvent.Kind.SYNC_DATA, command, content, sentAtMs: Date.now() };
}
