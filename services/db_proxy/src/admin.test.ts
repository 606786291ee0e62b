// db_proxy's operator API calls (IM.Admin, issue 15) through the in-process client: requests and
// answers take their protobuf round trips and storage errors their gRPC statuses, as over gRPC.
import { DbProxyService, type DbProxyClient } from '@tt/proto';
import { createLocalRpcClient, RpcStatus } from '@tt/rpc';
import { GroupType } from '@tt/storage';
import { mapStorageError } from './handlers';
import { md5, openTestDbProxy, type TestDbProxy } from './testing';

describe('db_proxy admin calls', () => {
  let proxy: TestDbProxy;
  let db: DbProxyClient;

  beforeAll(async () => {
    proxy = await openTestDbProxy('admin');
    db = createLocalRpcClient<DbProxyClient>(DbProxyService, proxy.handlers, { mapError: mapStorageError });
  });
  afterAll(() => proxy?.close());

  const rejectsWith = (p: Promise<unknown>, code: number, message?: RegExp) => expect(p).rejects.toMatchObject({ code, ...(message ? { message: expect.stringMatching(message) } : {}) });

  test('operators: create, check, list, update; a taken name, a bad role or a short password are refused', async () => {
    const op = await db.adminOperatorCreate({ name: 'root', password: 'sup3r secret', role: 'admin' });
    expect(op).toMatchObject({ name: 'root', role: 'admin', disabled: false });
    expect((await db.adminOperatorCheck({ name: 'root', password: 'sup3r secret' })).operator).toMatchObject({ id: op.id, role: 'admin' });
    expect((await db.adminOperatorCheck({ name: 'root', password: 'wrong password' })).operator).toBeNull();
    await rejectsWith(db.adminOperatorCreate({ name: 'root', password: 'sup3r secret', role: 'admin' }), RpcStatus.ALREADY_EXISTS);
    await rejectsWith(db.adminOperatorCreate({ name: 'eve', password: 'sup3r secret', role: 'owner' }), RpcStatus.INVALID_ARGUMENT, /^role/);
    await rejectsWith(db.adminOperatorCreate({ name: 'eve', password: 'short', role: 'viewer' }), RpcStatus.INVALID_ARGUMENT, /^password/);

    expect(await db.adminOperatorUpdate({ id: op.id, disabled: true })).toMatchObject({ disabled: true, role: 'admin' });
    expect((await db.adminOperatorCheck({ name: 'root', password: 'sup3r secret' })).operator).toBeNull();
    expect(await db.adminOperatorUpdate({ id: op.id, disabled: false, role: 'viewer', password: 'an0ther secret' })).toMatchObject({ disabled: false, role: 'viewer' });
    expect((await db.adminOperatorCheck({ name: 'root', password: 'an0ther secret' })).operator).toMatchObject({ role: 'viewer' });
    await rejectsWith(db.adminOperatorUpdate({ id: op.id }), RpcStatus.INVALID_ARGUMENT, /nothing to change/);
    await rejectsWith(db.adminOperatorUpdate({ id: 4242, role: 'admin' }), RpcStatus.NOT_FOUND);
    expect((await db.adminOperatorList({})).operators.map((o) => o.name)).toEqual(['root']);
  });

  test('API keys: created once in full, checked, listed by prefix, revoked', async () => {
    const { key, info } = await db.adminApiKeyCreate({ name: 'ci', role: 'viewer', createdBy: 'operator:root' });
    expect(key.startsWith(info.prefix)).toBe(true);
    expect((await db.adminApiKeyCheck({ key })).info).toMatchObject({ id: info.id, role: 'viewer' });
    expect((await db.adminApiKeyList({})).keys).toEqual([expect.objectContaining({ id: info.id, prefix: info.prefix })]);
    expect((await db.adminApiKeyRevoke({ id: info.id })).revoked).toBeGreaterThan(0);
    expect((await db.adminApiKeyCheck({ key })).info).toBeNull();
    await rejectsWith(db.adminApiKeyRevoke({ id: 999 }), RpcStatus.NOT_FOUND);
    await rejectsWith(db.adminApiKeyCreate({ name: 'x', role: 'root', createdBy: 'ttctl' }), RpcStatus.INVALID_ARGUMENT);
  });

  test('audit log: appended and paged newest first through opaque cursors; a forged cursor is refused', async () => {
    for (const target of ['user:1', 'user:2', 'user:3']) await db.adminAuditAppend({ actor: 'operator:root', action: 'user.create', target, detail: '{}' });
    const first = await db.adminAuditList({ limit: 2 });
    expect(first.entries.map((e) => e.target)).toEqual(['user:3', 'user:2']);
    expect(first.entries[0]!.atMs).toBeGreaterThan(0);
    const second = await db.adminAuditList({ limit: 2, cursor: first.nextCursor });
    expect(second.entries.map((e) => e.target)).toEqual(['user:1']);
    expect(second.nextCursor).toBe('');
    await rejectsWith(db.adminAuditList({ limit: 2, cursor: 'abc' }), RpcStatus.INVALID_ARGUMENT, /^cursor/);
    await rejectsWith(db.adminAuditList({ limit: 500 }), RpcStatus.INVALID_ARGUMENT, /^limit/);
    await rejectsWith(db.adminAuditAppend({ actor: 'a', action: 'b', detail: 'x'.repeat(8193) }), RpcStatus.INVALID_ARGUMENT, /^detail/);
  });

  test('chat users: created with a plain password clients log in with; updated, disabled, found, listed', async () => {
    const dept = await db.adminDepartmentCreate({ name: 'engineering' });
    const user = await db.adminUserCreate({ name: 'carol', password: 'pa55word', nick: 'Carol', departId: dept.id });
    expect(user).toMatchObject({ name: 'carol', nick: 'Carol', departId: dept.id, disabled: false, realName: '' });
    expect(await proxy.store.users.authenticate('carol', md5('pa55word'))).toMatchObject({ id: user.id });
    await rejectsWith(db.adminUserCreate({ name: 'carol', password: 'x' }), RpcStatus.ALREADY_EXISTS);
    await rejectsWith(db.adminUserCreate({ name: 'dave', password: '' }), RpcStatus.INVALID_ARGUMENT, /^password/);
    await rejectsWith(db.adminUserCreate({ name: 'dave', password: 'x', departId: 999 }), RpcStatus.INVALID_ARGUMENT, /^departId/);
    await rejectsWith(db.adminUserCreate({ name: 'dave', password: 'x', nick: 'n'.repeat(65) }), RpcStatus.INVALID_ARGUMENT, /^nick/);

    const updated = await db.adminUserUpdate({ id: user.id, email: 'carol@example.com', password: 'n3w pass', disabled: true });
    expect(updated).toMatchObject({ email: 'carol@example.com', nick: 'Carol', disabled: true });
    expect(await proxy.store.users.authenticate('carol', md5('n3w pass'))).toBeNull(); // disabled
    expect((await db.adminUserUpdate({ id: user.id, disabled: false })).disabled).toBe(false);
    expect(await proxy.store.users.authenticate('carol', md5('n3w pass'))).toMatchObject({ id: user.id });
    await rejectsWith(db.adminUserUpdate({ id: user.id }), RpcStatus.INVALID_ARGUMENT, /nothing to change/);
    await rejectsWith(db.adminUserUpdate({ id: 999, nick: 'x' }), RpcStatus.NOT_FOUND);

    expect((await db.adminUserGet({ name: 'carol' })).user).toMatchObject({ id: user.id });
    expect((await db.adminUserGet({ id: user.id })).user).toMatchObject({ name: 'carol' });
    expect((await db.adminUserGet({ name: 'nobody' })).user).toBeNull();
    await rejectsWith(db.adminUserGet({}), RpcStatus.INVALID_ARGUMENT);

    await db.adminUserCreate({ name: 'carl', password: 'x' });
    const page = await db.adminUserList({ search: 'CAR', limit: 1 });
    expect(page).toMatchObject({ total: 2, users: [{ name: 'carol' }] });
    expect((await db.adminUserList({ search: 'car', limit: 1, cursor: page.nextCursor })).users.map((u) => u.name)).toEqual(['carl']);
    expect((await db.adminUserList({ departId: dept.id, limit: 10 })).users.map((u) => u.name)).toEqual(['carol']);
  });

  test('departments: update, delete refused (FAILED_PRECONDITION) while users or sub-departments are in it', async () => {
    const parent = await db.adminDepartmentCreate({ name: 'ops', priority: 2 });
    const child = await db.adminDepartmentCreate({ name: 'ops-night', parentId: parent.id });
    await rejectsWith(db.adminDepartmentCreate({ name: 'x', parentId: 999 }), RpcStatus.INVALID_ARGUMENT, /^parentId/);
    await rejectsWith(db.adminDepartmentCreate({ name: 'ops' }), RpcStatus.ALREADY_EXISTS);
    expect(await db.adminDepartmentUpdate({ id: child.id, name: 'ops-late', priority: 5 })).toMatchObject({ name: 'ops-late', priority: 5, parentId: parent.id });
    await rejectsWith(db.adminDepartmentUpdate({ id: parent.id, parentId: child.id }), RpcStatus.INVALID_ARGUMENT);
    await rejectsWith(db.adminDepartmentDelete({ id: parent.id }), RpcStatus.FAILED_PRECONDITION, /1 sub-department/);
    const user = await db.adminUserCreate({ name: 'night-owl', password: 'x', departId: child.id });
    await rejectsWith(db.adminDepartmentDelete({ id: child.id }), RpcStatus.FAILED_PRECONDITION, /1 user/);
    await db.adminUserUpdate({ id: user.id, departId: 0 });
    await db.adminDepartmentDelete({ id: child.id });
    await db.adminDepartmentDelete({ id: parent.id });
    await rejectsWith(db.adminDepartmentDelete({ id: parent.id }), RpcStatus.NOT_FOUND);
    expect((await db.adminDepartmentList({})).departments.map((d) => d.name)).not.toContain('ops');
  });

  test('groups: listed with paging, search and by member; one group with its members; dismissed ones are gone', async () => {
    const g1 = await proxy.store.groups.create({ type: GroupType.NORMAL, name: 'Alpha', creatorId: 501, memberIds: [502] });
    const g2 = await proxy.store.groups.create({ type: GroupType.NORMAL, name: 'beta', creatorId: 502 });
    const page = await db.adminGroupList({ limit: 1 });
    expect(page).toMatchObject({ total: 2, groups: [{ id: g1.id, name: 'Alpha', ownerId: 501, memberCount: 2, type: 1 }] });
    expect((await db.adminGroupList({ limit: 1, cursor: page.nextCursor })).groups.map((g) => g.id)).toEqual([g2.id]);
    expect((await db.adminGroupList({ limit: 10, search: 'ALP' })).groups.map((g) => g.id)).toEqual([g1.id]);
    expect((await db.adminGroupList({ limit: 10, userId: 502 })).groups.map((g) => g.id)).toEqual([g1.id, g2.id]);
    expect(await db.adminGroupGet({ id: g1.id })).toMatchObject({ group: { id: g1.id, memberCount: 2 }, memberIds: [501, 502] });
    await proxy.store.groups.dismiss(g2.id);
    expect((await db.adminGroupGet({ id: g2.id })).group).toBeNull();
  });

  test('messages: searched by conversation and by sender, named with the WebSocket ids, content as stored', async () => {
    const a = await db.adminUserCreate({ name: 'zed', password: 'x' });
    const b = await db.adminUserCreate({ name: 'amy_b', password: 'x' });
    const data = Buffer.from('encrypted-looking-bytes');
    const t = Math.floor(Date.now() / 1000);
    await proxy.store.messages.saveMessage({ sessionType: 1, fromUserId: a.id, toId: b.id, msgType: 1, data, createTime: t });
    await proxy.store.messages.saveMessage({ sessionType: 1, fromUserId: b.id, toId: a.id, msgType: 2, data: Buffer.from([0, 0, 0, 1, 9]), createTime: t + 1 });
    const found = await db.adminMessageSearch({ sessionType: 1, userA: b.id, userB: a.id, limit: 10 });
    expect(found.messages.map((m) => [m.messageId, m.fromName, m.kind, m.msgId])).toEqual([
      ['si_amy_b_zed:2', 'amy_b', 'audio', 2],
      ['si_amy_b_zed:1', 'zed', 'text', 1],
    ]);
    expect(Buffer.from(found.messages[1]!.content).equals(data)).toBe(true);
    expect(found.messages[1]!.sentAtMs).toBe(t * 1000);
    const bySender = await db.adminMessageSearch({ fromId: a.id, sinceMs: t * 1000, untilMs: t * 1000 + 999, limit: 10 });
    expect(bySender.messages.map((m) => m.msgId)).toEqual([1]);
    expect((await db.adminMessageSearch({ fromId: a.id, sinceMs: (t + 1) * 1000, limit: 10 })).messages).toEqual([]);
    const paged = await db.adminMessageSearch({ sessionType: 1, userA: a.id, userB: b.id, limit: 1 });
    expect((await db.adminMessageSearch({ sessionType: 1, userA: a.id, userB: b.id, limit: 1, cursor: paged.nextCursor })).messages.map((m) => m.msgId)).toEqual([1]);
    await rejectsWith(db.adminMessageSearch({ limit: 10 }), RpcStatus.INVALID_ARGUMENT);
    await rejectsWith(db.adminMessageSearch({ sessionType: 1, userA: a.id, userB: a.id, limit: 10 }), RpcStatus.INVALID_ARGUMENT, /userA/);
    await rejectsWith(db.adminMessageSearch({ sessionType: 1, userA: a.id, userB: b.id, limit: 10, cursor: '1.2.3' }), RpcStatus.INVALID_ARGUMENT, /^cursor/);
  });
});
