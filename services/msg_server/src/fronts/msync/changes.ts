import { IM } from '@tt/proto';

/**
 * Friend and group changes as the metas the Easemob Web SDK turns into its
 * contact and group events (ROSTER and MUC namespaces). These changes have
 * no seq in the user's stream: the front sends each meta as it happens
 * (front.ts). The operations chosen are the ones the SDK's ROSTER and MUC
 * handlers map to the matching event; see docs/fronts/msync.md.
 */

const RosterOperation = IM.MSync.RosterBody.Operation;
const MucOperation = IM.MSync.MUCBody.Operation;
const { GroupChange } = IM.Core;

/** An account name by user id; undefined when it is not known (the meta is then not rendered). */
export type KnownName = (userId: number) => string | undefined;

/** A change as one viewer sees it: the meta's JIDs and payload, and the queue it is told under. */
export interface ChangeMeta {
  /** The JID the change is about (the friend, the group): the queue of the unrequested SYNC answer. */
  queue: IM.MSync.IJID;
  meta: Omit<IM.MSync.IMeta, 'id'>;
}

export interface ChangeDomains {
  user: string;
  group: string;
}

/**
 * A friendship seen by one of its two users: ACCEPT (the SDK's onContactAdded)
 * or REMOVE (onContactDeleted), from the other user to the viewer.
 */
export function friendChangeMeta(f: IM.Core.IFriendChangedEvent, viewerId: number, nameOf: KnownName, domains: ChangeDomains, nowMs: number): ChangeMeta | undefined {
  const viewer = nameOf(viewerId);
  const otherId = viewerId === f.userId ? f.friendId! : f.userId!;
  const other = nameOf(otherId);
  if (!viewer || !other) return undefined;
  const from = { name: other, domain: domains.user };
  const to = { name: viewer, domain: domains.user };
  const body: IM.MSync.IRosterBody = {
    operation: f.added ? RosterOperation.ACCEPT : RosterOperation.REMOVE,
    from,
    to: [to],
    biDirection: true,
  };
  return { queue: from, meta: { from, to, timestamp: nowMs, ns: IM.MSync.Meta.NameSpace.ROSTER, payload: IM.MSync.RosterBody.encode(body).finish() } };
}

/**
 * A group change seen by one member (before or after it). Who sees what:
 * - created: the creator's other devices CREATE, the members DIRECT_JOINED;
 * - members added: the added DIRECT_JOINED, the others PRESENCE;
 * - members removed: the removed KICK (LEAVE for one who left), the others ABSENCE;
 * - dismissed: DESTROY; owner changed: ASSIGN_OWNER from the new owner;
 * - info updated: UPDATE with the group's fields (event_info.ext).
 */
export function groupChangeMeta(g: IM.Core.IGroupChangedEvent, viewerId: number, nameOf: KnownName, domains: ChangeDomains, nowMs: number): ChangeMeta | undefined {
  const group = g.group;
  const viewer = nameOf(viewerId);
  const operator = nameOf(g.operatorId!);
  if (!group || !viewer || !operator) return undefined;
  const changedIds = g.changedIds ?? [];
  const viewerChanged = changedIds.includes(viewerId);
  const mucId = { name: String(group.groupId), domain: domains.group };
  const user = (name: string) => ({ name, domain: domains.user });
  const body: IM.MSync.IMUCBody = { mucId, from: user(operator), to: [user(viewer)], isChatroom: false, mucName: group.name ?? '' };

  switch (g.change) {
    case GroupChange.GROUP_CREATED:
      body.operation = viewerId === g.operatorId ? MucOperation.CREATE : MucOperation.DIRECT_JOINED;
      break;
    case GroupChange.GROUP_MEMBERS_ADDED:
    case GroupChange.GROUP_MEMBERS_REMOVED: {
      const added = g.change === GroupChange.GROUP_MEMBERS_ADDED;
      if (viewerChanged) {
        body.operation = added ? MucOperation.DIRECT_JOINED : viewerId === g.operatorId ? MucOperation.LEAVE : MucOperation.KICK;
        break;
      }
      // The others hear who came or went: one member as the sender, several as members.
      const names = changedIds.map(nameOf);
      if (names.length === 0 || names.some((n) => n === undefined)) return undefined;
      body.operation = added ? MucOperation.PRESENCE : MucOperation.ABSENCE;
      body.mucMemberCount = (g.memberIds ?? []).length;
      body.to = [];
      if (names.length === 1) body.from = user(names[0]!);
      else body.members = names as string[];
      break;
    }
    case GroupChange.GROUP_DISMISSED:
      body.operation = MucOperation.DESTROY;
      break;
    case GroupChange.GROUP_OWNER_CHANGED: {
      // The SDK reads the owner from the sender; the previous owner (the operator) is the recipient.
      const owner = group.creatorName || nameOf(group.creatorId!);
      if (!owner) return undefined;
      body.operation = MucOperation.ASSIGN_OWNER;
      body.from = user(owner);
      body.to = [user(operator)];
      break;
    }
    case GroupChange.GROUP_INFO_UPDATED:
      body.operation = MucOperation.UPDATE;
      body.eventInfo = { eventType: IM.MSync.MUCBody.EventInfo.EventType.EVENT_NONE, ext: JSON.stringify(groupFields(group)) };
      break;
    default:
      return undefined;
  }
  return { queue: mucId, meta: { from: mucId, to: user(viewer), timestamp: nowMs, ns: IM.MSync.Meta.NameSpace.MUC, payload: IM.MSync.MUCBody.encode(body).finish() } };
}

/** The group's fields under the keys the SDK reads from an UPDATE (it renames them: max_users → maxUsers…). */
function groupFields(group: IM.Core.IGroupDetail): Record<string, string | number> {
  return {
    name: group.name ?? '',
    description: group.description ?? '',
    avatar: group.avatar ?? '',
    max_users: group.memberLimit ?? 0,
    last_modified: (group.updated ?? 0) * 1000,
  };
}
