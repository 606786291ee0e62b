// The operator API's storage (issue 15) on both backends: operators, API keys, the audit log, and
// the admin queries (user / group search with paging, department edits, history search).
import { createHash } from 'node:crypto';
import { GroupType, openStore, SessionType, type MessagePosition, type Store } from '../index';
import { testBackends, type TestBackend } from '../testing/backends';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

describe.each(testBackends('admin'))('operator API storage (%s)', (_name, makeBackend) => {
  let backend: TestBackend;
  let store: Store;
  let clock = 1_700_000_000;
  const now = () => clock;

  beforeAll(async () => {
    backend = makeBackend();
    store = await openStore(backend.config, { scrypt: { N: 1024 }, now });
  });

  afterAll(async () => {
    await store?.close();
    await backend?.cleanup();
  });

  test('operators: create, authenticate, update role / password / disabled; names are unique; bad input refused', async () => {
    const op = await store.operators.create('root', 'correct horse', 'admin');
    expect(op).toEqual({ id: op.id, name: 'root', role: 'admin', disabled: false, created: clock, updated: clock });
    await expect(store.operators.create('root', 'another password', 'viewer')).rejects.toMatchObject({ code: 'DUPLICATE' });
    await expect(store.operators.create('bad name', 'long enough', 'admin')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.operators.create('short', 'short', 'admin')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.operators.create('x', 'long enough', 'owner' as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });

    expect(await store.operators.authenticate('root', 'correct horse')).toEqual(op);
    expect(await store.operators.authenticate('root', 'wrong')).toBeNull();
    expect(await store.operators.authenticate('nobody', 'correct horse')).toBeNull();
    expect(await store.operators.authenticate('bad name', 'x')).toBeNull();

    clock += 5;
    const changed = await store.operators.update(op.id, { role: 'viewer', password: 'battery staple' });
    expect(changed).toMatchObject({ role: 'viewer', updated: clock, created: op.created });
    expect(await store.operators.authenticate('root', 'correct horse')).toBeNull();
    expect(await store.operators.authenticate('root', 'battery staple')).toMatchObject({ role: 'viewer' });

    await store.operators.update(op.id, { disabled: true });
    expect(await store.operators.authenticate('root', 'battery staple')).toBeNull();
    expect((await store.operators.findByName('root'))?.disabled).toBe(true);
    await store.operators.update(op.id, { disabled: false, role: 'admin' });
    expect(await store.operators.authenticate('root', 'battery staple')).toMatchObject({ role: 'admin', disabled: false });

    await expect(store.operators.update(op.id, {})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.operators.update(999_999, { role: 'admin' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await store.operators.create('viewer-1', 'password-1', 'viewer');
    expect((await store.operators.list()).map((o) => o.name)).toEqual(['root', 'viewer-1']);
  });

  test('API keys: shown once, stored hashed, checked, use noted, revoked', async () => {
    clock = 1_700_001_000;
    const { key, record } = await store.apiKeys.create('ci', 'viewer', 'operator:root');
    expect(key).toMatch(/^ttk_[A-Za-z0-9_-]{43}$/);
    expect(record).toMatchObject({ name: 'ci', role: 'viewer', createdBy: 'operator:root', prefix: key.slice(0, 12), lastUsed: 0, revoked: 0, created: clock });
    const [row] = await store.db.query<{ key_hash: string }>('SELECT key_hash FROM im_api_key WHERE id = ?', [record.id]);
    expect(row!.key_hash).toBe(createHash('sha256').update(key).digest('hex'));

    clock += 100;
    expect(await store.apiKeys.check(key)).toMatchObject({ id: record.id, lastUsed: clock });
    expect(await store.apiKeys.check(key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A'))).toBeNull();
    expect(await store.apiKeys.check('nonsense')).toBeNull();

    clock += 10;
    const revoked = await store.apiKeys.revoke(record.id);
    expect(revoked.revoked).toBe(clock);
    clock += 10;
    expect((await store.apiKeys.revoke(record.id)).revoked).toBe(revoked.revoked);
    expect(await store.apiKeys.check(key)).toBeNull();
    await expect(store.apiKeys.revoke(999_999)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const second = await store.apiKeys.create('deploy', 'admin', 'ttctl');
    expect((await store.apiKeys.list()).map((k) => k.id)).toEqual([second.record.id, record.id]);
  });

  test('audit log: appended, listed newest first with paging and filters; detail capped at 8 KB', async () => {
    for (let i = 0; i < 5; i++) await store.audit.append({ actor: i % 2 ? 'operator:a' : 'key:ttk_1234', action: i < 3 ? 'user.create' : 'group.dismiss', target: `user:${i}`, detail: JSON.stringify({ i }) });
    const first = await store.audit.list({ limit: 2 });
    expect(first.items.map((e) => e.target)).toEqual(['user:4', 'user:3']);
    expect(first.items[0]!.atMs).toBeGreaterThan(1_600_000_000_000);
    const second = await store.audit.list({ limit: 2, beforeId: first.next! });
    expect(second.items.map((e) => e.target)).toEqual(['user:2', 'user:1']);
    const last = await store.audit.list({ limit: 2, beforeId: second.next! });
    expect(last).toMatchObject({ next: null });
    expect(last.items.map((e) => e.target)).toEqual(['user:0']);
    expect((await store.audit.list({ limit: 10, actor: 'operator:a' })).items.map((e) => e.target)).toEqual(['user:3', 'user:1']);
    expect((await store.audit.list({ limit: 10, action: 'user.create', actor: 'operator:a' })).items.map((e) => e.target)).toEqual(['user:1']);
    await expect(store.audit.append({ actor: 'a', action: 'x', detail: 'é'.repeat(4097) })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.audit.append({ actor: '', action: 'x' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.audit.list({ limit: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  test('users: search in name, nick, real name, phone, email (any case; % and _ literal), by department, paged by id with a total', async () => {
    const dept = await store.departments.create({ name: 'sales' });
    const made = [];
    for (let i = 0; i < 5; i++) {
      made.push(await store.users.create({ name: `alice${i}`, passwordMd5Hex: md5('x'), nick: i === 2 ? 'Big_Boss' : '', email: i === 3 ? 'ALICE@EXAMPLE.COM' : '', departId: i < 2 ? dept.id : 0 }));
    }
    await store.users.create({ name: 'bob', passwordMd5Hex: md5('x'), phone: '555-0100', realName: '100% Bob' });

    const page1 = await store.admin.searchUsers({ search: 'ALICE', limit: 2 });
    expect(page1.total).toBe(5);
    expect(page1.items.map((u) => u.name)).toEqual(['alice0', 'alice1']);
    const page2 = await store.admin.searchUsers({ search: 'alice', limit: 2, afterId: page1.next! });
    expect(page2.items.map((u) => u.name)).toEqual(['alice2', 'alice3']);
    const page3 = await store.admin.searchUsers({ search: 'alice', limit: 2, afterId: page2.next! });
    expect(page3).toMatchObject({ next: null });
    expect(page3.items.map((u) => u.name)).toEqual(['alice4']);

    expect((await store.admin.searchUsers({ search: 'example.com', limit: 10 })).items.map((u) => u.name)).toEqual(['alice3']);
    expect((await store.admin.searchUsers({ search: 'g_b', limit: 10 })).items.map((u) => u.name)).toEqual(['alice2']);
    expect((await store.admin.searchUsers({ search: 'g_', limit: 10 })).items.map((u) => u.name)).toEqual(['alice2']);
    expect((await store.admin.searchUsers({ search: '0%', limit: 10 })).items.map((u) => u.name)).toEqual(['bob']);
    expect((await store.admin.searchUsers({ search: '0100', limit: 10 })).items.map((u) => u.name)).toEqual(['bob']);
    expect((await store.admin.searchUsers({ departId: dept.id, limit: 10 })).items.map((u) => u.id)).toEqual([made[0]!.id, made[1]!.id]);
    expect(await store.admin.searchUsers({ search: 'alice', departId: dept.id, limit: 1 })).toMatchObject({ total: 2, next: made[0]!.id });
    await expect(store.admin.searchUsers({ limit: 201 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.admin.searchUsers({ search: 'x'.repeat(65), limit: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  test('departments: update moves updated forward; no cycles; delete refused while users or sub-departments are in it', async () => {
    clock = 1_700_002_000;
    const top = await store.departments.create({ name: 'top' });
    const child = await store.departments.create({ name: 'child', parentId: top.id });
    const grandchild = await store.departments.create({ name: 'grandchild', parentId: child.id });
    const renamed = await store.admin.updateDepartment(top.id, { name: 'head office', priority: 3 });
    expect(renamed).toMatchObject({ name: 'head office', priority: 3, parentId: 0, updated: clock + 1 });
    await expect(store.admin.updateDepartment(top.id, { parentId: grandchild.id })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.admin.updateDepartment(top.id, { parentId: top.id })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.admin.updateDepartment(top.id, { parentId: 999_999 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.admin.updateDepartment(top.id, { name: 'child' })).rejects.toMatchObject({ code: 'DUPLICATE' });
    await expect(store.admin.updateDepartment(top.id, {})).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.admin.updateDepartment(999_999, { name: 'x' })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const user = await store.users.create({ name: 'in-grandchild', passwordMd5Hex: md5('x'), departId: grandchild.id });
    expect(await store.admin.deleteDepartment(child.id)).toEqual({ deleted: false, users: 0, subDepartments: 1 });
    expect(await store.admin.deleteDepartment(grandchild.id)).toEqual({ deleted: false, users: 1, subDepartments: 0 });
    await store.users.update(user.id, { departId: 0 });
    expect(await store.admin.deleteDepartment(grandchild.id)).toEqual({ deleted: true });
    expect(await store.admin.deleteDepartment(child.id)).toEqual({ deleted: true });
    await expect(store.admin.deleteDepartment(child.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store.admin.updateDepartment(child.id, { name: 'again' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await store.departments.findById(child.id))?.status).toBe(1);
    const listed = (await store.admin.listDepartments()).map((d) => d.name);
    expect(listed).toContain('head office');
    expect(listed).not.toContain('child');
  });

  test('groups: active groups paged by id, search in the name, by member, with member counts', async () => {
    const a = await store.groups.create({ type: GroupType.NORMAL, name: 'Ops Team', creatorId: 9001, memberIds: [9002, 9003] });
    const b = await store.groups.create({ type: GroupType.TEMPORARY, name: 'lunch', creatorId: 9002 });
    const c = await store.groups.create({ type: GroupType.NORMAL, name: 'ops-old', creatorId: 9001 });
    await store.groups.dismiss(c.id);
    const all = await store.admin.listGroups({ limit: 1 });
    expect(all.total).toBe(2);
    expect(all.items[0]).toMatchObject({ id: a.id, name: 'Ops Team', memberCount: 3, creatorId: 9001, type: 1, version: 1 });
    const next = await store.admin.listGroups({ limit: 1, afterId: all.next! });
    expect(next).toMatchObject({ next: null, items: [{ id: b.id, memberCount: 1, type: 2 }] });
    expect((await store.admin.listGroups({ search: 'OPS', limit: 10 })).items.map((g) => g.id)).toEqual([a.id]);
    expect((await store.admin.listGroups({ userId: 9002, limit: 10 })).items.map((g) => g.id)).toEqual([a.id, b.id]);
    await store.groups.changeMembers(a.id, 'remove', [9002]);
    expect((await store.admin.listGroups({ userId: 9002, limit: 10 })).items.map((g) => g.id)).toEqual([b.id]);
    expect((await store.admin.listGroups({ search: 'ops', limit: 10 })).items[0]).toMatchObject({ memberCount: 2 });
  });

  test('messages: by conversation, by sender across conversations, by time; newest first, paged without gaps or repeats', async () => {
    const [u1, u2, u3] = [7001, 7002, 7003];
    const g = await store.groups.create({ type: GroupType.NORMAL, name: 'history', creatorId: u1, memberIds: [u2, u3] });
    const sent: Array<{ key: string; created: number }> = [];
    const save = async (from: number, to: number, type: 1 | 2, created: number) => {
      const r = await store.messages.saveMessage({ sessionType: type, fromUserId: from, toId: to, msgType: type === 1 ? 1 : 0x11, data: Buffer.from(`m${sent.length}`), createTime: created, recipientIds: type === 2 ? [u1, u2, u3] : undefined });
      sent.push({ key: `${type}:${type === 1 ? Math.min(from, to) : to}:${r.msgId}`, created });
    };
    await save(u1, u2, 1, 1000);
    await save(u2, u1, 1, 1001);
    await save(u1, g.id, 2, 1001);
    await save(u1, u3, 1, 1001);
    await save(u1, u2, 1, 1002);
    await save(u3, g.id, 2, 1003);

    const conv = await store.admin.searchMessages({ conversation: { sessionType: SessionType.SINGLE, idA: u1, idB: u2 }, limit: 2 });
    expect(conv.items.map((m) => [m.fromId, m.data.toString()])).toEqual([[u1, 'm4'], [u2, 'm1']]);
    const conv2 = await store.admin.searchMessages({ conversation: { sessionType: SessionType.SINGLE, idA: u1, idB: u2 }, limit: 2, after: conv.next! });
    expect(conv2).toMatchObject({ next: null });
    expect(conv2.items.map((m) => m.data.toString())).toEqual(['m0']);
    expect((await store.admin.searchMessages({ conversation: { sessionType: SessionType.SINGLE, idA: u1, idB: u2 }, fromId: u1, limit: 10 })).items.map((m) => m.data.toString())).toEqual(['m4', 'm0']);

    // Sender u1 across conversations, one per page: every message once, newest first.
    const seen: string[] = [];
    let after: MessagePosition | undefined;
    for (;;) {
      const page = await store.admin.searchMessages({ fromId: u1, limit: 1, after });
      seen.push(...page.items.map((m) => m.data.toString()));
      if (!page.next) break;
      after = page.next;
    }
    // Within one second: groups (session type 2) before single chats.
    expect(seen).toEqual(['m4', 'm2', 'm3', 'm0']);
    expect((await store.admin.searchMessages({ fromId: u1, sinceSec: 1001, untilSec: 1001, limit: 10 })).items.map((m) => m.data.toString()).sort()).toEqual(['m2', 'm3']);
    const group = await store.admin.searchMessages({ conversation: { sessionType: SessionType.GROUP, idA: g.id, idB: 0 }, limit: 10 });
    expect(group.items.map((m) => [m.key, m.fromId, m.toId])).toEqual([
      [{ sessionType: 2, idA: g.id, idB: 0 }, u3, g.id],
      [{ sessionType: 2, idA: g.id, idB: 0 }, u1, g.id],
    ]);
    await expect(store.admin.searchMessages({ limit: 10 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(store.admin.searchMessages({ conversation: { sessionType: 3 as never, idA: 1, idB: 0 }, limit: 10 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
