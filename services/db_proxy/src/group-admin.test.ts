// Group administration through db_proxy's handlers (GroupAdmin, GroupSync, GroupMembers) on SQLite:
// every action's permission matrix, the arguments refused, the events answered, and the
// TeamTalk paths (member limit, dismissed groups).
import { IM, type DbProxyHandlers } from '@tt/proto';
import type { Store } from '@tt/storage';
import { md5, openTestDbProxy, wire, type TestDbProxy } from './testing';

const { GroupAdminAction: Action, GroupAdminResult: Result } = IM.DbProxy;
const { GroupChange } = IM.Core;
const { GroupModifyType } = IM.BaseDefine;

describe('db_proxy group administration (SQLite)', () => {
  let proxy: TestDbProxy;
  let store: Store;
  let h: DbProxyHandlers;
  const ids: Record<string, number> = {};
  const names = ['owner', 'member', 'outsider', 'newbie', 'other', 'tmpOwner', 'tmpMember'] as const;
  type Name = (typeof names)[number];
  const id = (name: Name) => ids[name]!;

  beforeAll(async () => {
    proxy = await openTestDbProxy('group-admin');
    ({ store, handlers: h } = proxy);
    for (const name of names) ids[name] = (await store.users.create({ name, passwordMd5Hex: md5('pw') })).id;
  });

  afterAll(async () => {
    await proxy?.close();
  });

  const admin = async (req: Partial<IM.DbProxy.IGroupAdminReq> & { action: IM.DbProxy.GroupAdminAction; operatorId: number }) =>
    wire(IM.DbProxy.GroupAdminRsp, (await h.groupAdmin(IM.DbProxy.GroupAdminReq.create(req))) as IM.DbProxy.GroupAdminRsp);
  const result = async (req: Parameters<typeof admin>[0]) => (await admin(req)).result ?? Result.GROUP_ADMIN_OK;
  const create = async (operator: Name, members: Name[], extra: Partial<IM.DbProxy.IGroupAdminReq> = {}) => {
    const rsp = await admin({ action: Action.GROUP_ACTION_CREATE, operatorId: id(operator), name: 'team', memberIds: members.map(id), ...extra });
    expect(rsp.result ?? 0).toBe(Result.GROUP_ADMIN_OK);
    return rsp.event.group.groupId as number;
  };
  const members = async (userId: number, groupId: number) =>
    wire(IM.DbProxy.GroupMembersRsp, (await h.groupMembers(IM.DbProxy.GroupRef.create({ userId, groupId }))) as IM.DbProxy.GroupMembersRsp);
  const sync = async (userId: number, since: number) => wire(IM.DbProxy.GroupSyncRsp, (await h.groupSync(IM.DbProxy.GroupSyncReq.create({ userId, since }))) as IM.DbProxy.GroupSyncRsp);
  const teamtalkChange = async (userId: number, groupId: number, changeType: IM.BaseDefine.GroupModifyType, memberIdList: number[]) =>
    ((await h.changeGroupMember(IM.Group.IMGroupChangeMemberReq.create({ userId, groupId, changeType, memberIdList }))) as unknown as { rsp: IM.Group.IIMGroupChangeMemberRsp }).rsp;
  const sorted = (...xs: number[]) => [...xs].sort((a, b) => a - b);

  it('CREATE: anyone; the creator owns it and is a member; the event names every member; defaults filled in', async () => {
    const rsp = await admin({ action: Action.GROUP_ACTION_CREATE, operatorId: id('outsider'), name: '研发群', avatar: 'http://a/g.png', description: 'about us', memberIds: [id('member'), id('member')] });
    expect(rsp.result ?? 0).toBe(Result.GROUP_ADMIN_OK);
    const ev = rsp.event;
    expect(ev).toMatchObject({ change: GroupChange.GROUP_CREATED, operatorId: id('outsider'), memberIds: sorted(id('member'), id('outsider')), changedIds: sorted(id('member'), id('outsider')) });
    expect(ev.group).toMatchObject({
      name: '研发群',
      avatar: 'http://a/g.png',
      description: 'about us',
      creatorId: id('outsider'),
      creatorName: 'outsider',
      memberLimit: 2000,
      type: 1,
      version: 1,
    });
    expect(ev.group.created).toBeGreaterThan(0);
    const temp = await admin({ action: Action.GROUP_ACTION_CREATE, operatorId: id('owner'), name: 'tmp', type: 2, memberLimit: 5 });
    expect(temp.event.group).toMatchObject({ type: 2, memberLimit: 5 });
    expect(temp.event.memberIds).toEqual([id('owner')]);
  });

  it('CREATE refuses: no name, text too long, bad limit or type (INVALID), unknown members (NOT_FOUND), no operator (an error)', async () => {
    const base = { action: Action.GROUP_ACTION_CREATE, operatorId: id('owner'), name: 'ok' };
    expect(await result({ ...base, name: '' })).toBe(Result.GROUP_ADMIN_INVALID);
    expect(await result({ ...base, name: '群'.repeat(86) })).toBe(Result.GROUP_ADMIN_INVALID); // 258 bytes
    expect(await result({ ...base, avatar: 'x'.repeat(256) })).toBe(Result.GROUP_ADMIN_INVALID);
    expect(await result({ ...base, description: 'x'.repeat(1025) })).toBe(Result.GROUP_ADMIN_INVALID);
    expect(await result({ ...base, memberLimit: 2001 })).toBe(Result.GROUP_ADMIN_INVALID);
    expect(await result({ ...base, memberLimit: 1, memberIds: [id('member')] })).toBe(Result.GROUP_ADMIN_INVALID);
    expect(await result({ ...base, type: 3 })).toBe(Result.GROUP_ADMIN_INVALID);
    expect(await result({ ...base, memberIds: [id('member'), 999_999] })).toBe(Result.GROUP_ADMIN_NOT_FOUND);
    expect(await result({ ...base, operatorId: 999_999 })).toBe(Result.GROUP_ADMIN_NOT_FOUND);
    // operator_id 0 is the system: it creates for an owner (new_owner_id), which it must name.
    expect(await result({ ...base, operatorId: 0 })).toBe(Result.GROUP_ADMIN_INVALID);
    await expect(admin({ action: Action.GROUP_ACTION_ADD_MEMBERS, operatorId: id('owner'), memberIds: [id('member')] })).rejects.toMatchObject({ code: 3 });
    await expect(admin({ action: 99 as IM.DbProxy.GroupAdminAction, operatorId: id('owner'), groupId: 1 })).rejects.toMatchObject({ code: 3 });
  });

  it('ADD_MEMBERS: the owner only in a normal group, any member in a temporary one; refusals', async () => {
    const g = await create('owner', ['member']);
    const add = (operator: Name, who: number[], groupId = g) => result({ action: Action.GROUP_ACTION_ADD_MEMBERS, operatorId: id(operator), groupId, memberIds: who });
    expect(await add('member', [id('newbie')])).toBe(Result.GROUP_ADMIN_NO_PERMISSION);
    expect(await add('outsider', [id('newbie')])).toBe(Result.GROUP_ADMIN_NO_PERMISSION);
    expect(await add('owner', [])).toBe(Result.GROUP_ADMIN_INVALID);
    expect(await add('owner', [id('member')])).toBe(Result.GROUP_ADMIN_INVALID); // nothing to change
    expect(await add('owner', [999_999])).toBe(Result.GROUP_ADMIN_NOT_FOUND);
    expect(await add('owner', [id('newbie')], 999_999)).toBe(Result.GROUP_ADMIN_NOT_FOUND);

    const ok = await admin({ action: Action.GROUP_ACTION_ADD_MEMBERS, operatorId: id('owner'), groupId: g, memberIds: [id('newbie'), id('member')] });
    expect(ok.event).toMatchObject({ change: GroupChange.GROUP_MEMBERS_ADDED, operatorId: id('owner'), memberIds: sorted(id('owner'), id('member'), id('newbie')), changedIds: [id('newbie')] });
    expect(ok.event.group.version).toBe(2);

    const t = await create('tmpOwner', ['tmpMember'], { type: 2 });
    expect(await add('tmpMember', [id('newbie')], t)).toBe(Result.GROUP_ADMIN_OK);
    expect(await add('outsider', [id('other')], t)).toBe(Result.GROUP_ADMIN_NO_PERMISSION);
  });

  it('ADD_MEMBERS past the member limit is FULL, and nothing is added', async () => {
    const g = await create('owner', ['member'], { memberLimit: 3 });
    expect(await result({ action: Action.GROUP_ACTION_ADD_MEMBERS, operatorId: id('owner'), groupId: g, memberIds: [id('newbie'), id('other')] })).toBe(Result.GROUP_ADMIN_FULL);
    expect((await members(id('owner'), g)).memberIds).toEqual(sorted(id('owner'), id('member')));
    expect(await result({ action: Action.GROUP_ACTION_ADD_MEMBERS, operatorId: id('owner'), groupId: g, memberIds: [id('newbie')] })).toBe(Result.GROUP_ADMIN_OK);
    expect(await result({ action: Action.GROUP_ACTION_ADD_MEMBERS, operatorId: id('owner'), groupId: g, memberIds: [id('other')] })).toBe(Result.GROUP_ADMIN_FULL);
  });

  it('REMOVE_MEMBERS: a member leaves; the owner removes others but never themselves; others are refused', async () => {
    const g = await create('owner', ['member', 'newbie', 'other']);
    const remove = (operator: Name, who: number[]) => result({ action: Action.GROUP_ACTION_REMOVE_MEMBERS, operatorId: id(operator), groupId: g, memberIds: who });
    expect(await remove('member', [id('newbie')])).toBe(Result.GROUP_ADMIN_NO_PERMISSION);
    expect(await remove('member', [id('member'), id('newbie')])).toBe(Result.GROUP_ADMIN_NO_PERMISSION);
    expect(await remove('owner', [id('owner')])).toBe(Result.GROUP_ADMIN_NO_PERMISSION);
    expect(await remove('owner', [id('member'), id('owner')])).toBe(Result.GROUP_ADMIN_NO_PERMISSION);
    expect(await remove('outsider', [id('outsider')])).toBe(Result.GROUP_ADMIN_NO_PERMISSION);
    expect(await remove('owner', [])).toBe(Result.GROUP_ADMIN_INVALID);
    expect(await remove('owner', [id('outsider')])).toBe(Result.GROUP_ADMIN_INVALID); // not a member: nothing to change
    expect(await remove('owner', [999_999])).toBe(Result.GROUP_ADMIN_NOT_FOUND);

    const left = await admin({ action: Action.GROUP_ACTION_REMOVE_MEMBERS, operatorId: id('member'), groupId: g, memberIds: [id('member')] });
    expect(left.event).toMatchObject({ change: GroupChange.GROUP_MEMBERS_REMOVED, operatorId: id('member'), memberIds: sorted(id('owner'), id('newbie'), id('other')), changedIds: [id('member')] });
    const kicked = await admin({ action: Action.GROUP_ACTION_REMOVE_MEMBERS, operatorId: id('owner'), groupId: g, memberIds: [id('newbie'), id('other')] });
    expect(kicked.event).toMatchObject({ memberIds: [id('owner')], changedIds: sorted(id('newbie'), id('other')) });
    expect(kicked.event.group.version).toBe(3);
  });

  it('TRANSFER: the owner to another member; refusals; afterwards the new owner rules', async () => {
    const g = await create('owner', ['member']);
    const transfer = (operator: Name, newOwnerId: number) => result({ action: Action.GROUP_ACTION_TRANSFER, operatorId: id(operator), groupId: g, newOwnerId });
    expect(await transfer('member', id('member'))).toBe(Result.GROUP_ADMIN_NO_PERMISSION);
    expect(await transfer('outsider', id('member'))).toBe(Result.GROUP_ADMIN_NO_PERMISSION);
    expect(await transfer('owner', id('owner'))).toBe(Result.GROUP_ADMIN_INVALID);
    expect(await transfer('owner', id('outsider'))).toBe(Result.GROUP_ADMIN_INVALID);
    expect(await transfer('owner', 0)).toBe(Result.GROUP_ADMIN_INVALID);
    expect(await transfer('owner', 999_999)).toBe(Result.GROUP_ADMIN_NOT_FOUND);

    const moved = await admin({ action: Action.GROUP_ACTION_TRANSFER, operatorId: id('owner'), groupId: g, newOwnerId: id('member') });
    expect(moved.event).toMatchObject({ change: GroupChange.GROUP_OWNER_CHANGED, memberIds: sorted(id('owner'), id('member')) });
    expect(moved.event.changedIds ?? []).toEqual([]);
    expect(moved.event.group).toMatchObject({ creatorId: id('member'), creatorName: 'member', version: 2 });
    expect(await transfer('owner', id('member'))).toBe(Result.GROUP_ADMIN_NO_PERMISSION);
    // The old owner is an ordinary member now: may leave.
    expect(await result({ action: Action.GROUP_ACTION_REMOVE_MEMBERS, operatorId: id('owner'), groupId: g, memberIds: [id('owner')] })).toBe(Result.GROUP_ADMIN_OK);
  });

  it('UPDATE_INFO: the owner changes the fields given; refusals', async () => {
    const g = await create('owner', ['member', 'newbie'], { avatar: 'http://a/1.png', description: 'old' });
    const update = (operator: Name, fields: Partial<IM.DbProxy.IGroupAdminReq>) => result({ action: Action.GROUP_ACTION_UPDATE_INFO, operatorId: id(operator), groupId: g, ...fields });
    expect(await update('member', { name: 'mine' })).toBe(Result.GROUP_ADMIN_NO_PERMISSION);
    expect(await update('outsider', { name: 'mine' })).toBe(Result.GROUP_ADMIN_NO_PERMISSION);
    expect(await update('owner', {})).toBe(Result.GROUP_ADMIN_INVALID);
    expect(await update('owner', { name: '', avatar: '', description: '', memberLimit: 0 })).toBe(Result.GROUP_ADMIN_INVALID);
    expect(await update('owner', { name: 'n'.repeat(256) })).toBe(Result.GROUP_ADMIN_INVALID);
    expect(await update('owner', { avatar: 'a'.repeat(256) })).toBe(Result.GROUP_ADMIN_INVALID);
    expect(await update('owner', { description: 'd'.repeat(1025) })).toBe(Result.GROUP_ADMIN_INVALID);
    expect(await update('owner', { memberLimit: 2001 })).toBe(Result.GROUP_ADMIN_INVALID);
    expect(await update('owner', { memberLimit: 2 })).toBe(Result.GROUP_ADMIN_INVALID); // 3 members
    expect(await update('owner', { name: 'x' }).then(() => update('owner', { name: 'y' }))).toBe(Result.GROUP_ADMIN_OK);

    const rsp = await admin({ action: Action.GROUP_ACTION_UPDATE_INFO, operatorId: id('owner'), groupId: g, description: 'new', memberLimit: 3 });
    expect(rsp.event).toMatchObject({ change: GroupChange.GROUP_INFO_UPDATED, operatorId: id('owner'), memberIds: sorted(id('owner'), id('member'), id('newbie')) });
    expect(rsp.event.changedIds ?? []).toEqual([]);
    expect(rsp.event.group).toMatchObject({ name: 'y', avatar: 'http://a/1.png', description: 'new', memberLimit: 3, version: 4 });
    // The new limit holds for TeamTalk clients too.
    expect((await teamtalkChange(id('owner'), g, GroupModifyType.GROUP_MODIFY_TYPE_ADD, [id('other')])).resultCode).toBe(4); // TOO_MANY
  });

  it('DISMISS: the owner only; the event names every member it had; afterwards the group is NOT_FOUND everywhere', async () => {
    const g = await create('owner', ['member', 'newbie']);
    const dismiss = (operator: Name) => result({ action: Action.GROUP_ACTION_DISMISS, operatorId: id(operator), groupId: g });
    expect(await dismiss('member')).toBe(Result.GROUP_ADMIN_NO_PERMISSION);
    expect(await dismiss('outsider')).toBe(Result.GROUP_ADMIN_NO_PERMISSION);
    const gone = await admin({ action: Action.GROUP_ACTION_DISMISS, operatorId: id('owner'), groupId: g });
    expect(gone.result ?? 0).toBe(Result.GROUP_ADMIN_OK);
    expect(gone.event).toMatchObject({ change: GroupChange.GROUP_DISMISSED, operatorId: id('owner'), changedIds: sorted(id('owner'), id('member'), id('newbie')) });
    expect(gone.event.memberIds ?? []).toEqual([]);
    expect(gone.event.group.version).toBe(2);

    expect(await dismiss('owner')).toBe(Result.GROUP_ADMIN_NOT_FOUND);
    expect(await result({ action: Action.GROUP_ACTION_ADD_MEMBERS, operatorId: id('owner'), groupId: g, memberIds: [id('other')] })).toBe(Result.GROUP_ADMIN_NOT_FOUND);
    expect(await result({ action: Action.GROUP_ACTION_REMOVE_MEMBERS, operatorId: id('member'), groupId: g, memberIds: [id('member')] })).toBe(Result.GROUP_ADMIN_NOT_FOUND);
    expect(await result({ action: Action.GROUP_ACTION_TRANSFER, operatorId: id('owner'), groupId: g, newOwnerId: id('member') })).toBe(Result.GROUP_ADMIN_NOT_FOUND);
    expect(await result({ action: Action.GROUP_ACTION_UPDATE_INFO, operatorId: id('owner'), groupId: g, name: 'again' })).toBe(Result.GROUP_ADMIN_NOT_FOUND);
    expect((await members(id('member'), g)).result).toBe(Result.GROUP_ADMIN_NOT_FOUND);
    // TeamTalk's change-member request: NOT_FOUND (3) too.
    expect((await teamtalkChange(id('owner'), g, GroupModifyType.GROUP_MODIFY_TYPE_ADD, [id('other')])).resultCode).toBe(3);
    expect((await teamtalkChange(id('owner'), g, GroupModifyType.GROUP_MODIFY_TYPE_DEL, [id('member')])).resultCode).toBe(3);
  });

  it('GroupMembers: members only', async () => {
    const g = await create('owner', ['member']);
    const rsp = await members(id('member'), g);
    expect(rsp.result ?? 0).toBe(Result.GROUP_ADMIN_OK);
    expect(rsp.memberIds).toEqual(sorted(id('owner'), id('member')));
    expect(rsp.group).toMatchObject({ groupId: g, creatorName: 'owner', memberLimit: 2000 });
    expect(await members(id('outsider'), g)).toMatchObject({ result: Result.GROUP_ADMIN_NO_PERMISSION });
    expect((await members(id('outsider'), g)).group).toBeUndefined();
    expect(await members(id('member'), 999_999)).toMatchObject({ result: Result.GROUP_ADMIN_NOT_FOUND });
    // user_id 0 is the system (an operator's notification to a group): it sees the members.
    expect(await h.groupMembers(IM.DbProxy.GroupRef.create({ userId: 0, groupId: g }))).toMatchObject({ result: Result.GROUP_ADMIN_OK, memberIds: [id('owner'), id('member')].sort((a, b) => a - b) });
  });

  it('GroupSync: current groups from 0; later only what changed, and the groups dismissed or left', async () => {
    const stay = await create('other', ['newbie']);
    const quit = await create('other', ['newbie']);
    const end = await create('other', ['newbie']);
    const first = await sync(id('newbie'), 0);
    expect(first.groups.map((g: { groupId: number }) => g.groupId)).toEqual(expect.arrayContaining([stay, quit, end]));
    expect(first.deletedGroupIds ?? []).toEqual([]);
    expect(first.now).toBeGreaterThan(0);
    expect(first.groups.find((g: { groupId: number }) => g.groupId === stay)).toMatchObject({ creatorName: 'other', memberLimit: 2000 });

    expect(await result({ action: Action.GROUP_ACTION_REMOVE_MEMBERS, operatorId: id('newbie'), groupId: quit, memberIds: [id('newbie')] })).toBe(Result.GROUP_ADMIN_OK);
    expect(await result({ action: Action.GROUP_ACTION_DISMISS, operatorId: id('other'), groupId: end })).toBe(Result.GROUP_ADMIN_OK);
    expect(await result({ action: Action.GROUP_ACTION_UPDATE_INFO, operatorId: id('other'), groupId: stay, name: 'renamed' })).toBe(Result.GROUP_ADMIN_OK);
    const next = await sync(id('newbie'), first.now);
    expect(next.groups.find((g: { groupId: number }) => g.groupId === stay)).toMatchObject({ name: 'renamed' });
    expect(next.groups.map((g: { groupId: number }) => g.groupId)).not.toContain(quit);
    expect(next.groups.map((g: { groupId: number }) => g.groupId)).not.toContain(end);
    expect(next.deletedGroupIds).toEqual(expect.arrayContaining([quit, end]));
    expect(next.now).toBeGreaterThanOrEqual(first.now);
    await expect(h.groupSync(IM.DbProxy.GroupSyncReq.create({ userId: 0, since: 0 }))).rejects.toMatchObject({ code: 3 });
  });

  it('TeamTalk change-member requests respect the group member limit (TOO_MANY) and the default', async () => {
    const g = await create('owner', ['member'], { memberLimit: 2 });
    expect((await teamtalkChange(id('owner'), g, GroupModifyType.GROUP_MODIFY_TYPE_ADD, [id('newbie')])).resultCode).toBe(4);
    // Already members do not count.
    expect((await teamtalkChange(id('owner'), g, GroupModifyType.GROUP_MODIFY_TYPE_DEL, [id('member')])).resultCode).toBe(0);
    const added = await teamtalkChange(id('owner'), g, GroupModifyType.GROUP_MODIFY_TYPE_ADD, [id('newbie'), id('owner')]);
    expect(added).toMatchObject({ resultCode: 0, chgUserIdList: [id('newbie')] });
  });
});
