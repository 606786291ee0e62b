import { IM } from '@tt/proto';
import { ContentCodec } from '../../core/content';
import { UserDirectory } from '../../core/user-directory';
import { GROUP_DOMAIN, MsyncFront, USER_DOMAIN } from './front';
import { findField } from './wire';

const { GroupChange } = IM.Core;
const RosterOp = IM.MSync.RosterBody.Operation;
const MucOp = IM.MSync.MUCBody.Operation;
const NS = IM.MSync.Meta.NameSpace;

const ALICE = 1;
const BOB = 2;
const CAROL = 3;
const DAVE = 4;
const NAMES: Record<number, string> = { [ALICE]: 'alice', [BOB]: 'bob', [CAROL]: 'carol', [DAVE]: 'dave' };
const names = (...ids: number[]) => ids.map((userId) => ({ userId, name: NAMES[userId] }));

function makeFront(): MsyncFront {
  const directory = new UserDirectory({ resolveUsers: async () => ({ users: [] }) } as never);
  return new MsyncFront({ idleTimeoutMs: 1000 }, new ContentCodec(undefined), directory);
}

/** One viewer's frame, decoded down to the meta: the envelope, the SYNC answer, the meta and its raw id. */
function render(front: MsyncFront, event: IM.Core.ICoreEvent, viewerId: number) {
  const frame = front.renderer(event)?.(viewerId);
  if (!frame) return undefined;
  const envelope = IM.MSync.MSync.decode(frame);
  const dl = IM.MSync.CommSyncDL.decode(envelope.payload);
  expect(dl.metas).toHaveLength(1);
  return { envelope, dl, meta: dl.metas[0], metaId: findField(findField(envelope.payload, 4).bytes!, 1).varint };
}

function roster(front: MsyncFront, event: IM.Core.ICoreEvent, viewerId: number) {
  const r = render(front, event, viewerId)!;
  expect(r.meta.ns).toBe(NS.ROSTER);
  return { ...r, body: IM.MSync.RosterBody.decode(r.meta.payload!) };
}

function muc(front: MsyncFront, event: IM.Core.ICoreEvent, viewerId: number) {
  const r = render(front, event, viewerId)!;
  expect(r.meta.ns).toBe(NS.MUC);
  return { ...r, body: IM.MSync.MUCBody.decode(r.meta.payload!) };
}

const jid = (name: string, domain = USER_DOMAIN) => expect.objectContaining({ name, domain });

describe('MSync ROSTER: friend changes', () => {
  const front = makeFront();

  it('a friendship added: both users get ACCEPT (onContactAdded) from the other one, as an unrequested SYNC answer', () => {
    const event: IM.Core.ICoreEvent = { friendChanged: { userId: ALICE, friendId: BOB, added: true }, names: names(ALICE, BOB) };
    const forAlice = roster(front, event, ALICE);
    expect(forAlice.envelope.command).toBe(IM.MSync.MSync.Command.SYNC);
    expect(forAlice.dl.status?.errorCode).toBe(IM.MSync.Status.ErrorCode.OK);
    expect(forAlice.dl.isLast).toBe(true);
    expect(forAlice.dl.queue).toEqual(jid('bob'));
    expect(forAlice.body.operation).toBe(RosterOp.ACCEPT);
    expect(forAlice.body.operation).toBe(4);
    expect(forAlice.body.from).toEqual(jid('bob'));
    expect(forAlice.body.to).toEqual([jid('alice')]);
    expect(forAlice.meta.to).toEqual(jid('alice'));
    expect(forAlice.metaId).toBeGreaterThan(0n);

    const forBob = roster(front, event, BOB);
    expect(forBob.body.operation).toBe(RosterOp.ACCEPT);
    expect(forBob.body.from).toEqual(jid('alice'));
    expect(forBob.body.to).toEqual([jid('bob')]);
  });

  it('a friendship removed: REMOVE (onContactDeleted) on both sides', () => {
    const event: IM.Core.ICoreEvent = { friendChanged: { userId: ALICE, friendId: BOB, added: false }, names: names(ALICE, BOB) };
    const forBob = roster(front, event, BOB);
    expect(forBob.body.operation).toBe(RosterOp.REMOVE);
    expect(forBob.body.operation).toBe(3);
    expect(forBob.body.from).toEqual(jid('alice'));
    expect(forBob.body.to).toEqual([jid('bob')]);
    expect(roster(front, event, ALICE).body.from).toEqual(jid('bob'));
  });

  it('a user whose name is not known gets nothing rather than a wrong JID; cached names are used', () => {
    const unnamed = makeFront();
    expect(unnamed.renderer({ friendChanged: { userId: ALICE, friendId: BOB, added: true } })?.(ALICE)).toBeUndefined();
    const directory = new UserDirectory({ resolveUsers: async () => ({ users: [] }) } as never);
    directory.remember(ALICE, 'alice');
    directory.remember(BOB, 'bob');
    const cached = new MsyncFront({ idleTimeoutMs: 1000 }, new ContentCodec(undefined), directory);
    expect(roster(cached, { friendChanged: { userId: ALICE, friendId: BOB, added: true } }, BOB).body.from).toEqual(jid('alice'));
  });
});

describe('MSync MUC: group changes', () => {
  const front = makeFront();
  const group = (over: Partial<IM.Core.IGroupDetail> = {}): IM.Core.IGroupDetail => ({
    groupId: 42, name: 'team', avatar: 'http://a/b.png', creatorId: ALICE, description: 'the team', memberLimit: 200, type: 1, version: 3, created: 1000, updated: 2000, creatorName: 'alice', ...over,
  });
  const changed = (change: IM.Core.GroupChange, memberIds: number[], changedIds: number[], over: Partial<IM.Core.IGroupChangedEvent> = {}): IM.Core.ICoreEvent => ({
    groupChanged: { change, operatorId: ALICE, group: group(), memberIds, changedIds, ...over },
    names: names(ALICE, BOB, CAROL, DAVE),
  });

  it('created: the creator CREATE, the members DIRECT_JOINED with the group name', () => {
    const event = changed(GroupChange.GROUP_CREATED, [ALICE, BOB], [ALICE, BOB]);
    const forAlice = muc(front, event, ALICE);
    expect(forAlice.body.operation).toBe(MucOp.CREATE);
    expect(forAlice.dl.queue).toEqual(jid('42', GROUP_DOMAIN));
    expect(forAlice.body.mucId).toEqual(jid('42', GROUP_DOMAIN));
    expect(forAlice.body.isChatroom).toBe(false);
    const forBob = muc(front, event, BOB);
    expect(forBob.body.operation).toBe(MucOp.DIRECT_JOINED);
    expect(forBob.body.operation).toBe(19);
    expect(forBob.body.from).toEqual(jid('alice'));
    expect(forBob.body.to).toEqual([jid('bob')]);
    expect(forBob.body.mucName).toBe('team');
  });

  it('members added: the newcomer DIRECT_JOINED, the others PRESENCE (one: from; several: members)', () => {
    const one = changed(GroupChange.GROUP_MEMBERS_ADDED, [ALICE, BOB, CAROL], [CAROL]);
    expect(muc(front, one, CAROL).body.operation).toBe(MucOp.DIRECT_JOINED);
    const seen = muc(front, one, BOB).body;
    expect(seen.operation).toBe(MucOp.PRESENCE);
    expect(seen.operation).toBe(17);
    expect(seen.from).toEqual(jid('carol'));
    expect(seen.members).toEqual([]);
    expect(seen.mucMemberCount).toBe(3);

    const two = changed(GroupChange.GROUP_MEMBERS_ADDED, [ALICE, BOB, CAROL, DAVE], [CAROL, DAVE]);
    const both = muc(front, two, BOB).body;
    expect(both.operation).toBe(MucOp.PRESENCE);
    expect(both.members).toEqual(['carol', 'dave']);
    expect(both.mucMemberCount).toBe(4);
  });

  it('members removed: the removed KICK, one who left LEAVE, the others ABSENCE', () => {
    const kicked = changed(GroupChange.GROUP_MEMBERS_REMOVED, [ALICE, BOB], [CAROL]);
    const forCarol = muc(front, kicked, CAROL).body;
    expect(forCarol.operation).toBe(MucOp.KICK);
    expect(forCarol.operation).toBe(10);
    expect(forCarol.from).toEqual(jid('alice'));
    expect(forCarol.to).toEqual([jid('carol')]);
    const forBob = muc(front, kicked, BOB).body;
    expect(forBob.operation).toBe(MucOp.ABSENCE);
    expect(forBob.operation).toBe(18);
    expect(forBob.from).toEqual(jid('carol'));
    expect(forBob.mucMemberCount).toBe(2);

    const left = changed(GroupChange.GROUP_MEMBERS_REMOVED, [ALICE], [BOB], { operatorId: BOB });
    expect(muc(front, left, BOB).body.operation).toBe(MucOp.LEAVE);
    expect(muc(front, left, ALICE).body.operation).toBe(MucOp.ABSENCE);
  });

  it('dismissed: DESTROY for every member it had', () => {
    const event = changed(GroupChange.GROUP_DISMISSED, [], [ALICE, BOB]);
    for (const viewer of [ALICE, BOB]) {
      const body = muc(front, event, viewer).body;
      expect(body.operation).toBe(MucOp.DESTROY);
      expect(body.operation).toBe(1);
      expect(body.from).toEqual(jid('alice'));
    }
  });

  it('owner changed: ASSIGN_OWNER from the new owner to the previous one', () => {
    const event = changed(GroupChange.GROUP_OWNER_CHANGED, [ALICE, BOB], [], { group: group({ creatorId: BOB, creatorName: 'bob' }) });
    const body = muc(front, event, BOB).body;
    expect(body.operation).toBe(MucOp.ASSIGN_OWNER);
    expect(body.operation).toBe(20);
    expect(body.from).toEqual(jid('bob'));
    expect(body.to).toEqual([jid('alice')]);
  });

  it('info updated: UPDATE with the fields the SDK reads from event_info.ext', () => {
    const body = muc(front, changed(GroupChange.GROUP_INFO_UPDATED, [ALICE, BOB], []), BOB).body;
    expect(body.operation).toBe(MucOp.UPDATE);
    expect(body.operation).toBe(14);
    expect(JSON.parse(body.eventInfo!.ext!)).toEqual({ name: 'team', description: 'the team', avatar: 'http://a/b.png', max_users: 200, last_modified: 2_000_000 });
  });

  it('an event naming a user without a known name is not rendered; other events are untouched', () => {
    const event: IM.Core.ICoreEvent = { groupChanged: { change: GroupChange.GROUP_DISMISSED, operatorId: ALICE, group: group(), memberIds: [], changedIds: [BOB] } };
    expect(front.renderer(event)?.(BOB)).toBeUndefined();
    expect(front.renderer({ notify: { kind: IM.Core.NotifyEvent.Kind.BIZ, command: 1, content: 'x', sentAtMs: 1 } })).toBeUndefined();
  });
});
