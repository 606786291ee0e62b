// DbProxyAdminStore against a real db_proxy in this process (its handlers on a temp SQLite store,
// through the in-process gRPC client: protobuf round trips and gRPC statuses as over the network).
import { encryptContent } from '@tt/codec';
import { DbProxyService, type DbProxyClient } from '@tt/proto';
import { createLocalRpcClient, RpcError, RpcStatus } from '@tt/rpc';
import { GroupType } from '@tt/storage';
import { mapStorageError } from '../../../db_proxy/src/handlers';
import { openTestDbProxy, type TestDbProxy } from '../../../db_proxy/src/testing';
import { AdminError } from './backend';
import { DbProxyAdminStore, toAdminError } from './store';

const CONTENT_KEY = 'abcdefghijklmnopqrstuvwxyz012345';

describe('DbProxyAdminStore over db_proxy', () => {
  let proxy: TestDbProxy;
  let store: DbProxyAdminStore;
  let plain: DbProxyAdminStore;

  beforeAll(async () => {
    proxy = await openTestDbProxy('admin-store');
    const client = createLocalRpcClient<DbProxyClient>(DbProxyService, proxy.handlers, { mapError: mapStorageError });
    store = new DbProxyAdminStore(client, { contentKey: CONTENT_KEY });
    plain = new DbProxyAdminStore(client);
  });
  afterAll(() => proxy?.close());

  const refused = (p: Promise<unknown>, status: number, code: string) => expect(p).rejects.toEqual(expect.objectContaining({ name: 'AdminError', status, code }));

  test('operators and API keys', async () => {
    const op = await store.createOperator('admin', 'first admin pw', 'admin');
    expect(op).toEqual({ id: op.id, name: 'admin', role: 'admin', disabled: false, created: op.created, updated: op.updated });
    expect(await store.checkOperatorPassword('admin', 'first admin pw')).toEqual(op);
    expect(await store.checkOperatorPassword('admin', 'nope')).toBeNull();
    await refused(store.createOperator('admin', 'first admin pw', 'admin'), 409, 'name_taken');
    await refused(store.createOperator('x', 'short', 'viewer'), 400, 'invalid_field');
    await refused(store.updateOperator(9999, { disabled: true }), 404, 'not_found');
    expect(await store.updateOperator(op.id, { role: 'viewer' })).toMatchObject({ role: 'viewer' });
    expect(await store.listOperators()).toHaveLength(1);

    const { key, info } = await store.createApiKey('deploy', 'admin', 'operator:admin');
    expect(info).toMatchObject({ name: 'deploy', role: 'admin', createdBy: 'operator:admin', revoked: 0, prefix: key.slice(0, 12) });
    expect(await store.checkApiKey(key)).toMatchObject({ id: info.id });
    expect(await store.checkApiKey('ttk_guess')).toBeNull();
    expect((await store.revokeApiKey(info.id)).revoked).toBeGreaterThan(0);
    expect(await store.checkApiKey(key)).toBeNull();
    expect((await store.listApiKeys()).map((k) => k.id)).toEqual([info.id]);
  });

  test('audit log pages', async () => {
    await store.appendAudit({ actor: 'operator:admin', action: 'user.create', target: 'user:1', detail: '{"name":"a"}' });
    await store.appendAudit({ actor: 'ttctl', action: 'operator.add', target: 'operator:admin', detail: '{}' });
    const first = await store.listAudit({ limit: 1 });
    expect(first.items).toEqual([expect.objectContaining({ actor: 'ttctl', action: 'operator.add' })]);
    expect(first.items[0]!.at).toBeGreaterThan(1_600_000_000_000);
    expect(first.total).toBe(-1);
    const second = await store.listAudit({ limit: 1, cursor: first.nextCursor });
    expect(second).toMatchObject({ nextCursor: '', items: [{ actor: 'operator:admin', detail: '{"name":"a"}' }] });
    expect((await store.listAudit({ limit: 10, actor: 'ttctl' })).items).toHaveLength(1);
    await refused(store.listAudit({ limit: 10, cursor: 'bogus' }), 400, 'invalid_field');
  });

  test('users and departments', async () => {
    const dept = await store.createDepartment({ name: 'support', priority: 1 });
    expect(dept).toMatchObject({ name: 'support', parentId: 0, priority: 1 });
    const u = await store.createUser({ name: 'dora', password: 'secret', nick: 'Dora', departId: dept.id });
    expect(u).toMatchObject({ name: 'dora', nick: 'Dora', departId: dept.id, disabled: false, phone: '' });
    expect(await store.getUser('dora')).toEqual(u);
    expect(await store.getUser(u.id)).toEqual(u);
    expect(await store.getUser('nobody')).toBeNull();
    const disabled = await store.updateUser(u.id, { disabled: true, phone: '555' });
    expect(disabled).toMatchObject({ disabled: true, phone: '555', nick: 'Dora' });
    await refused(store.createUser({ name: 'dora', password: 'x' }), 409, 'name_taken');
    await refused(store.updateUser(u.id, { nick: 'n'.repeat(65) }), 400, 'invalid_field');
    await refused(store.deleteDepartment(dept.id), 409, 'conflict');
    const page = await store.listUsers({ search: 'DOR', limit: 10 });
    expect(page).toMatchObject({ total: 1, nextCursor: '', items: [{ id: u.id, disabled: true }] });
    expect((await store.updateDepartment(dept.id, { name: 'helpdesk' })).name).toBe('helpdesk');
    await store.updateUser(u.id, { departId: 0 });
    await store.deleteDepartment(dept.id);
    expect((await store.listDepartments()).map((d) => d.id)).not.toContain(dept.id);
    await refused(store.deleteDepartment(dept.id), 404, 'not_found');
  });

  test('groups', async () => {
    const g = await proxy.store.groups.create({ type: GroupType.NORMAL, name: 'Watchers', creatorId: 801, memberIds: [802, 803], description: 'd' });
    expect(await store.getGroup(g.id)).toEqual({
      group: expect.objectContaining({ id: g.id, name: 'Watchers', ownerId: 801, memberCount: 3, description: 'd', type: 1, version: 1 }),
      memberIds: [801, 802, 803],
    });
    expect(await store.getGroup(99_999)).toBeNull();
    expect((await store.listGroups({ userId: 803, limit: 10 })).items.map((x) => x.id)).toEqual([g.id]);
  });

  test('messages: text decrypted with the content key, else base64; audio as base64; conversation and sender searches', async () => {
    const a = await store.createUser({ name: 'ann', password: 'x' });
    const b = await store.createUser({ name: 'ben', password: 'x' });
    const now = Math.floor(Date.now() / 1000);
    await proxy.store.messages.saveMessage({ sessionType: 1, fromUserId: a.id, toId: b.id, msgType: 1, data: encryptContent('hello ben', CONTENT_KEY), createTime: now });
    const audio = Buffer.from([0, 0, 0, 2, 7, 7]);
    await proxy.store.messages.saveMessage({ sessionType: 1, fromUserId: b.id, toId: a.id, msgType: 2, data: audio, createTime: now });
    const page = await store.searchMessages({ conversation: { sessionType: 1, userA: a.id, userB: b.id }, limit: 10 });
    expect(page.items).toEqual([
      { messageId: 'si_ann_ben:2', sessionType: 1, fromId: b.id, fromName: 'ben', toId: a.id, msgId: 2, text: audio.toString('base64'), kind: 'audio', sentAt: now * 1000, recalled: false },
      { messageId: 'si_ann_ben:1', sessionType: 1, fromId: a.id, fromName: 'ann', toId: b.id, msgId: 1, text: 'hello ben', kind: 'text', sentAt: now * 1000, recalled: false },
    ]);
    const withoutKey = await plain.searchMessages({ fromId: a.id, since: now * 1000, until: now * 1000 + 999, limit: 10 });
    expect(withoutKey.items.map((m) => m.text)).toEqual([encryptContent('hello ben', CONTENT_KEY).toString('base64')]);
    await refused(store.searchMessages({ limit: 10 }), 400, 'invalid_field');
  });

  test('gRPC statuses map to the API refusals; other errors pass through', () => {
    expect(toAdminError(new RpcError(RpcStatus.UNAVAILABLE, 'down'))).toMatchObject({ status: 503, code: 'unavailable' });
    expect(toAdminError(new RpcError(RpcStatus.DEADLINE_EXCEEDED, 'slow'))).toBeInstanceOf(AdminError);
    const internal = new RpcError(RpcStatus.INTERNAL, 'boom');
    expect(toAdminError(internal)).toBe(internal);
  });
});
