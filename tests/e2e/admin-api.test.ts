// The operator HTTP API (/api/v1, docs/API.md) end to end, in both modes:
// an operator signs in, manages users, departments and groups, sends and
// recalls messages, watches the cluster, and reads the audit log, while real
// TeamTalk and OMTP clients see the effects. Bad requests are refused with the
// right 4xx and change nothing. Every route called is checked against the
// OpenAPI document. In cluster mode there are two msg_servers and clients sit
// on both; the drain story runs last (it takes a msg_server away).
import * as http from 'node:http';
import * as omtp from '@tt/omtp';
import { IM } from '@tt/proto';
import { DEFAULT_CONTENT_KEY, OmtpClient, TeamTalkClient, decryptContent, fetchToken } from '@tt/client';
import { MODES, startDeployment, waitUntil, type Deployment, type Mode } from './support/deployment';
import { Fixture, PASSWORD, type TestUser } from './support/fixtures';

jest.setTimeout(90_000);

const { MessageCmdID, GroupCmdID, GroupModifyType, ClientType } = IM.BaseDefine;
const ROOT_PASSWORD = 'root-s3cret';

interface Answer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

interface CallOptions {
  /** Values for the `{name}` parts of the route. */
  params?: Record<string, string | number>;
  query?: Record<string, string | number | Array<string | number>>;
  /** JSON-encoded unless `raw` is given. */
  body?: unknown;
  raw?: { contentType: string; data: string };
  /** A token or API key; null: no Authorization header; default: the admin's token. */
  auth?: string | null;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';

describe.each<Mode>(MODES)('operator HTTP API (%s mode)', (mode) => {
  let d: Deployment;
  let f: Fixture;
  let api: string;
  let adminToken: string;
  const omtpClients: OmtpClient[] = [];
  /** `METHOD /template` of every route called, to compare with the OpenAPI document. */
  const called = new Set<string>();
  const t0 = Date.now();

  /** One API request by route template (`/users/{id}`); the answer's JSON body (or text). */
  async function call<T = any>(method: Method, template: string, opts: CallOptions = {}): Promise<Answer<T>> {
    called.add(`${method} ${template}`);
    let path = template;
    for (const [k, v] of Object.entries(opts.params ?? {})) path = path.replace(`{${k}}`, encodeURIComponent(String(v)));
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query ?? {})) for (const one of Array.isArray(v) ? v : [v]) search.append(k, String(one));
    const headers: Record<string, string> = {};
    const auth = opts.auth === undefined ? adminToken : opts.auth;
    if (auth !== null) headers.authorization = `Bearer ${auth}`;
    let body: string | undefined;
    if (opts.raw) {
      headers['content-type'] = opts.raw.contentType;
      body = opts.raw.data;
    } else if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.body);
    }
    const url = `${api}${path}${search.size > 0 ? `?${search}` : ''}`;
    // A body over the limit is answered 413 before it is all sent: read the answer as curl would, even
    // when the server stops reading (fetch gives up with EPIPE then, though the answer came).
    const res = body !== undefined && body.length > 64 * 1024 ? await sendLarge(url, method, headers, body) : await fetch(url, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  /** The call must answer `status`; its body. */
  async function expectStatus<T = any>(status: number, method: Method, template: string, opts: CallOptions = {}): Promise<T> {
    const res = await call<T>(method, template, opts);
    if (res.status !== status) throw new Error(`${method} ${template}: expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  const login = async (name: string, password: string) => call('POST', '/auth/login', { body: { name, password }, auth: null });

  /** Every item of a paged list, following nextCursor. */
  async function allPages<T>(template: string, query: Record<string, string | number>, opts: CallOptions = {}): Promise<{ items: T[]; pages: number }> {
    const items: T[] = [];
    let cursor = '';
    let pages = 0;
    do {
      const page = await expectStatus<{ items: T[]; nextCursor: string }>(200, 'GET', template, { ...opts, query: { ...query, ...(cursor ? { cursor } : {}) } });
      items.push(...page.items);
      cursor = page.nextCursor;
      if (++pages > 50) throw new Error('paging does not end');
    } while (cursor);
    return { items, pages };
  }

  /** The newest audit entry's id: unchanged when nothing was written. */
  const latestAuditId = async () => (await expectStatus<{ items: Array<{ id: number }> }>(200, 'GET', '/audit', { query: { limit: 1 } })).items[0]?.id ?? 0;

  /** A TeamTalk client logged in with a password on msg_server `which`; fails the test if refused. */
  async function ttLogin(name: string, password: string, which = 0, clientType: number = ClientType.CLIENT_TYPE_WINDOWS): Promise<TeamTalkClient> {
    const ms = d.msgServers[which % d.msgServers.length];
    const c = await TeamTalkClient.connect({ host: ms.host, port: ms.port });
    f.clients.push(c);
    const res = await c.login({ userName: name, password, clientType });
    if (res.resultCode !== 0) throw new Error(`login of ${name} refused: ${res.resultCode} ${res.resultString}`);
    return c;
  }

  /** The result code of a TeamTalk log-in (0: accepted). */
  async function ttLoginResult(name: string, password: string, which = 0): Promise<number> {
    const ms = d.msgServers[which % d.msgServers.length];
    const c = await TeamTalkClient.connect({ host: ms.host, port: ms.port });
    f.clients.push(c);
    const res = await c.login({ userName: name, password, clientType: ClientType.CLIENT_TYPE_WINDOWS });
    c.close();
    return res.resultCode;
  }

  const second = () => (d.msgServers.length > 1 ? 1 : 0);

  beforeAll(async () => {
    d = await startDeployment(mode, {
      msgServers: mode === 'cluster' ? 2 : 1,
      // TeamTalk clients decrypt text with the content key: the system's messages are stored encrypted with it.
      // The request budget is raised: this suite polls the API while it waits for live counters.
      env: { TT_CONTENT_KEY: DEFAULT_CONTENT_KEY, ADMIN_API_RATE_LIMIT: '100000' },
    });
    f = new Fixture(d, `api_${mode}_`);
    api = `${d.loginUrl}/api/v1`;
    await d.ttctl('admin', 'add', 'root', '--password', ROOT_PASSWORD);
    const res = await login('root', ROOT_PASSWORD);
    expect(res.status).toBe(200);
    adminToken = res.body.token;
  }, 90_000);

  afterAll(async () => {
    for (const c of omtpClients) c.destroy();
    f?.closeAll();
    await d?.stop();
  });

  afterEach(() => {
    expect(f.decodeErrors()).toEqual([]);
  });

  // ------------------------------------------------------------ auth

  it('an admin logs in; a viewer may read but every write is 403 and changes nothing; a disabled operator loses access', async () => {
    const me = await expectStatus(200, 'GET', '/auth/me');
    expect(me).toEqual({ actor: 'operator:root', name: 'root', role: 'admin' });

    const viewerOp = await expectStatus(201, 'POST', '/operators', { body: { name: 'watcher', password: 'watch-pw', role: 'viewer' } });
    expect(viewerOp).toMatchObject({ name: 'watcher', role: 'viewer', disabled: false });
    expect((await expectStatus(200, 'GET', '/operators')).items.map((o: { name: string }) => o.name).sort()).toEqual(['root', 'watcher']);
    const viewerLogin = await login('watcher', 'watch-pw');
    expect(viewerLogin.status).toBe(200);
    expect(viewerLogin.body.operator).toMatchObject({ name: 'watcher', role: 'viewer' });
    const viewer = viewerLogin.body.token as string;
    expect(await expectStatus(200, 'GET', '/auth/me', { auth: viewer })).toMatchObject({ actor: 'operator:watcher', role: 'viewer' });

    // Something to (not) change.
    const user = await expectStatus(201, 'POST', '/users', { body: { name: `vw_${mode}`, password: 'pw', nick: 'Before' } });
    const dept = await expectStatus(201, 'POST', '/departments', { body: { name: `Viewers ${mode}` } });
    const auditBefore = await latestAuditId();

    // Reads work.
    expect((await expectStatus(200, 'GET', '/users', { auth: viewer, query: { search: `vw_${mode}` } })).items).toHaveLength(1);
    await expectStatus(200, 'GET', '/users/{id}', { auth: viewer, params: { id: user.id } });
    await expectStatus(200, 'GET', '/departments', { auth: viewer });
    await expectStatus(200, 'GET', '/audit', { auth: viewer });
    // Writes are refused, and so is reading operator accounts and keys.
    const refused: Array<[Method, string, CallOptions]> = [
      ['POST', '/users', { body: { name: `vw2_${mode}`, password: 'pw' } }],
      ['PATCH', '/users/{id}', { params: { id: user.id }, body: { nick: 'After' } }],
      ['POST', '/users/{id}/password', { params: { id: user.id }, body: { password: 'changed' } }],
      ['POST', '/users/{id}/kick', { params: { id: user.id } }],
      ['DELETE', '/departments/{id}', { params: { id: dept.id } }],
      ['PATCH', '/departments/{id}', { params: { id: dept.id }, body: { name: 'renamed' } }],
      ['POST', '/groups', { body: { name: 'nope', ownerId: user.id } }],
      ['POST', '/messages', { body: { to: { userId: user.id }, text: 'from a viewer' } }],
      ['POST', '/operators', { body: { name: 'sneaky', password: 'pw', role: 'admin' } }],
      ['PATCH', '/operators/{id}', { params: { id: viewerOp.id }, body: { role: 'admin' } }],
      ['POST', '/api-keys', { body: { name: 'sneaky', role: 'admin' } }],
      ['GET', '/operators', {}],
      ['GET', '/api-keys', {}],
    ];
    for (const [method, template, opts] of refused) {
      const res = await call(method, template, { ...opts, auth: viewer });
      expect([`${method} ${template}`, res.status, res.body?.error?.code]).toEqual([`${method} ${template}`, 403, 'forbidden']);
    }
    expect(await expectStatus(200, 'GET', '/users/{id}', { params: { id: user.id } })).toMatchObject({ nick: 'Before', disabled: false });
    expect((await expectStatus(200, 'GET', '/users', { query: { search: `vw2_${mode}` } })).items).toHaveLength(0);
    expect((await expectStatus(200, 'GET', '/departments')).items.find((x: { id: number }) => x.id === dept.id)).toMatchObject({ name: `Viewers ${mode}` });
    expect((await expectStatus(200, 'GET', '/operators')).items.map((o: { name: string; role: string }) => `${o.name}:${o.role}`).sort()).toEqual(['root:admin', 'watcher:viewer']);
    expect(await latestAuditId()).toBe(auditBefore);
    // The old password still works for the TeamTalk client.
    expect(await ttLoginResult(`vw_${mode}`, 'pw')).toBe(0);

    // Disabling the viewer ends its access within seconds, even with the token already issued.
    expect(await expectStatus(200, 'PATCH', '/operators/{id}', { params: { id: viewerOp.id }, body: { disabled: true } })).toMatchObject({ disabled: true });
    await waitUntil(async () => (await call('GET', '/auth/me', { auth: viewer })).status === 401, 8000, 'the disabled viewer refused');
    expect((await login('watcher', 'watch-pw')).status).toBe(401);
  });

  it('wrong passwords are 401, repeated failures 429 with Retry-After; a chat access token is refused', async () => {
    // Wrong passwords: 401, then throttled per name with Retry-After.
    const wrong = await login('root', 'not-the-password');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_credentials');
    expect((await login('root', ROOT_PASSWORD)).status).toBe(200);
    const statuses: number[] = [];
    let throttled: Answer | undefined;
    for (let i = 0; i < 7; i++) {
      const res = await login('ghost', `guess-${i}`);
      statuses.push(res.status);
      if (res.status === 429) throttled ??= res;
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    expect(throttled!.body.error.code).toBe('too_many_failed_logins');
    expect(Number(throttled!.headers.get('retry-after'))).toBeGreaterThan(0);
    // Other accounts are not locked out by it.
    expect((await login('root', ROOT_PASSWORD)).status).toBe(200);

    // A chat user's access token is not an operator token.
    const [chatter] = await f.newUsers(1);
    const chatToken = await fetchToken(d.loginUrl, chatter.name, PASSWORD);
    const chat = await call('GET', '/auth/me', { auth: chatToken });
    expect(chat.status).toBe(401);
    expect(chat.body.error.code).toBe('invalid_token');
  });

  it('an API key is shown once, works, is listed without the secret, and is refused once revoked', async () => {
    const created = await expectStatus(201, 'POST', '/api-keys', { body: { name: 'hr-sync', role: 'admin' } });
    const key = created.key as string;
    expect(key).toMatch(/^ttk_/);
    expect(created.info).toMatchObject({ name: 'hr-sync', role: 'admin', createdBy: 'operator:root', revoked: 0 });
    expect(key.startsWith(created.info.prefix)).toBe(true);

    expect(await expectStatus(200, 'GET', '/auth/me', { auth: key })).toMatchObject({ actor: `key:${created.info.prefix}`, role: 'admin', name: 'hr-sync' });
    const dept = await expectStatus(201, 'POST', '/departments', { auth: key, body: { name: `Keyed ${mode}` } });
    const listed = await call('GET', '/api-keys');
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).not.toContain(key);
    expect(listed.body.items).toEqual([expect.objectContaining({ id: created.info.id, name: 'hr-sync', prefix: created.info.prefix, revoked: 0 })]);
    expect(listed.body.items[0].lastUsed).toBeGreaterThan(0);
    expect(listed.body.items[0]).not.toHaveProperty('key');

    const revoked = await expectStatus(200, 'DELETE', '/api-keys/{id}', { params: { id: created.info.id } });
    expect(revoked.revoked).toBeGreaterThan(0);
    const after = await call('GET', '/auth/me', { auth: key });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('invalid_api_key');
    expect((await call('DELETE', '/departments/{id}', { auth: key, params: { id: dept.id } })).status).toBe(401);
    expect((await expectStatus(200, 'GET', '/departments')).items.some((x: { id: number }) => x.id === dept.id)).toBe(true);
    expect((await call('DELETE', '/api-keys/{id}', { params: { id: 999_999 } })).status).toBe(404);

    const byKey = await expectStatus(200, 'GET', '/audit', { query: { actor: `key:${created.info.prefix}` } });
    expect(byKey.items).toEqual([expect.objectContaining({ action: 'department.create', target: `department:${dept.id}` })]);
  });

  // ------------------------------------------------------------ users

  it('users: create, get, search with paging, update, reset the password (the TeamTalk client logs in with it)', async () => {
    const prefix = `pg_${mode}_`;
    const alice = await expectStatus(201, 'POST', '/users', { body: { name: `${prefix}alice`, password: 'first-pw', nick: 'Alice', email: 'alice@example.com', sex: 2 } });
    expect(alice).toMatchObject({ name: `${prefix}alice`, nick: 'Alice', email: 'alice@example.com', sex: 2, disabled: false });
    expect(alice).not.toHaveProperty('password');
    const dup = await call('POST', '/users', { body: { name: `${prefix}alice`, password: 'x' } });
    expect(dup.status).toBe(409);
    expect(await expectStatus(200, 'GET', '/users/{id}', { params: { id: alice.id } })).toMatchObject({ id: alice.id, nick: 'Alice' });
    expect((await call('GET', '/users/{id}', { params: { id: 999_999 } })).status).toBe(404);

    for (const n of ['bob', 'carol', 'dave', 'erin']) await expectStatus(201, 'POST', '/users', { body: { name: `${prefix}${n}`, password: 'pw' } });
    const { items, pages } = await allPages<{ name: string; online: boolean }>('/users', { search: prefix, limit: 2 });
    expect(items.map((u) => u.name).sort()).toEqual(['alice', 'bob', 'carol', 'dave', 'erin'].map((n) => `${prefix}${n}`));
    expect(pages).toBe(3);
    expect(items.every((u) => u.online === false)).toBe(true);
    const first = await expectStatus(200, 'GET', '/users', { query: { search: prefix, limit: 2 } });
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).not.toBe('');
    expect([5, -1]).toContain(first.total);
    // Search also matches the e-mail address.
    expect((await expectStatus(200, 'GET', '/users', { query: { search: 'alice@example' } })).items.map((u: { id: number }) => u.id)).toEqual([alice.id]);

    const patched = await expectStatus(200, 'PATCH', '/users/{id}', { params: { id: alice.id }, body: { nick: 'Alice B.', phone: '555-0100' } });
    expect(patched).toMatchObject({ nick: 'Alice B.', phone: '555-0100', email: 'alice@example.com' });

    expect(await ttLoginResult(alice.name, 'first-pw')).toBe(0);
    await expectStatus(204, 'POST', '/users/{id}/password', { params: { id: alice.id }, body: { password: 'second-pw' } });
    expect(await ttLoginResult(alice.name, 'first-pw')).not.toBe(0);
    const c = await ttLogin(alice.name, 'second-pw', second());
    expect(c.userId).toBe(alice.id);
  });

  it('users: bulk import from JSON and CSV with a report of rejected rows', async () => {
    const p = `im_${mode}_`;
    await expectStatus(201, 'POST', '/users', { body: { name: `${p}taken`, password: 'pw' } });
    const json = await expectStatus(200, 'POST', '/users/import', {
      body: [
        { name: `${p}j1`, password: 'pw1', nick: 'J One' },
        { name: `${p}taken`, password: 'pw' },
        { name: `${p}j3`, password: 'pw', colour: 'red' },
        { password: 'no-name' },
        { name: `${p}j5`, password: 'pw5', sex: '1' },
        { name: `${p}j6`, password: 'pw6' },
      ],
    });
    expect(json.accepted.map((a: { row: number; name: string }) => [a.row, a.name])).toEqual([
      [1, `${p}j1`],
      [6, `${p}j6`],
    ]);
    expect(json.rejected.map((r: { row: number }) => r.row)).toEqual([2, 3, 4, 5]);
    expect(json.rejected[0]).toMatchObject({ row: 2, name: `${p}taken`, code: 'name_taken' });
    expect(json.rejected[1].reason).toContain('colour');
    expect(json.rejected[2].reason).toContain('name');
    expect(await ttLoginResult(`${p}j1`, 'pw1')).toBe(0);

    const csv = ['name,password,nick,departId', `${p}c1,cpw1,See One,0`, `,nopw,Nobody,`, `${p}c3,cpw3,,x`, `${p}c4,cpw4,See Four,`].join('\n');
    const fromCsv = await expectStatus(200, 'POST', '/users/import', { raw: { contentType: 'text/csv', data: csv } });
    expect(fromCsv.accepted.map((a: { row: number; name: string }) => [a.row, a.name])).toEqual([
      [1, `${p}c1`],
      [4, `${p}c4`],
    ]);
    expect(fromCsv.rejected.map((r: { row: number; code: string }) => [r.row, r.code])).toEqual([
      [2, 'invalid_row'],
      [3, 'invalid_row'],
    ]);
    const c1 = (await expectStatus(200, 'GET', '/users', { query: { search: `${p}c1` } })).items[0];
    expect(c1).toMatchObject({ nick: 'See One', departId: 0 });
    expect(await ttLoginResult(`${p}c4`, 'cpw4')).toBe(0);
    const broken = await call('POST', '/users/import', { raw: { contentType: 'text/csv', data: 'name,password\n"unterminated,x\n' } });
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe('invalid_csv');

    const imports = await expectStatus(200, 'GET', '/audit', { query: { action: 'user.import' } });
    expect(imports.items).toHaveLength(2);
    expect(imports.items.every((e: { actor: string }) => e.actor === 'operator:root')).toBe(true);
  });

  it('users: devices across msg_servers while connected; kick closes the connections; disable closes them at once and refuses log-ins until enabled', async () => {
    const [u] = await f.newUsers(1);
    const pc = await f.login(u, 0);
    const phone = await f.login(u, second(), ClientType.CLIENT_TYPE_ANDROID);
    await waitUntil(async () => (await expectStatus(200, 'GET', '/users/{id}/devices', { params: { id: u.id } })).devices.length === 2, 10_000, 'both devices seen');
    const seen = await expectStatus(200, 'GET', '/users/{id}/devices', { params: { id: u.id } });
    expect(seen).toMatchObject({ userId: u.id, online: true });
    expect(seen.devices.map((x: { clientType: number }) => x.clientType).sort((a: number, b: number) => a - b)).toEqual([ClientType.CLIENT_TYPE_WINDOWS, ClientType.CLIENT_TYPE_ANDROID].sort((a, b) => a - b));
    expect(new Set(seen.devices.map((x: { msgServerId: string }) => x.msgServerId)).size).toBe(d.msgServers.length);
    // Each device says which client protocol it speaks (both are TeamTalk clients here).
    expect(seen.devices.map((x: { front: string }) => x.front)).toEqual(['teamtalk', 'teamtalk']);
    expect((await expectStatus(200, 'GET', '/users', { query: { search: u.name } })).items[0]).toMatchObject({ id: u.id, online: true });
    expect((await call('GET', '/users/{id}/devices', { params: { id: 999_999 } })).status).toBe(404);

    const kicked = await expectStatus(200, 'POST', '/users/{id}/kick', { params: { id: u.id } });
    expect(kicked.closed).toBe(2);
    await Promise.all([pc.waitForClose(5000), phone.waitForClose(5000)]);
    await waitUntil(async () => !(await expectStatus(200, 'GET', '/users/{id}/devices', { params: { id: u.id } })).online, 10_000, 'devices gone after the kick');
    expect((await call('POST', '/users/{id}/kick', { params: { id: 999_999 } })).status).toBe(404);

    // A kicked user may log in again; a disabled one is cut off at once and may not.
    const again = await f.login(u, second());
    const closedAt = again.waitForClose(5000);
    const startedAt = Date.now();
    expect(await expectStatus(200, 'PATCH', '/users/{id}', { params: { id: u.id }, body: { disabled: true } })).toMatchObject({ disabled: true });
    await closedAt;
    expect(Date.now() - startedAt).toBeLessThan(3000);
    expect(await ttLoginResult(u.name, PASSWORD, 0)).not.toBe(0);
    await expect(fetchToken(d.loginUrl, u.name, PASSWORD)).rejects.toThrow();
    expect((await expectStatus(200, 'GET', '/users/{id}', { params: { id: u.id } })).disabled).toBe(true);

    expect(await expectStatus(200, 'PATCH', '/users/{id}', { params: { id: u.id }, body: { disabled: false } })).toMatchObject({ disabled: false });
    expect(await ttLoginResult(u.name, PASSWORD, second())).toBe(0);

    const disables = await expectStatus(200, 'GET', '/audit', { query: { action: 'user.disable' } });
    expect(disables.items[0]).toMatchObject({ actor: 'operator:root', target: `user:${u.id}` });
    expect(JSON.parse(disables.items[0].detail)).toMatchObject({ disabled: true, kicked: 1 });
  });

  // ------------------------------------------------------------ departments

  it('departments: create, update, delete (refused with 409 while users are in it)', async () => {
    const dept = await expectStatus(201, 'POST', '/departments', { body: { name: `Sales ${mode}`, priority: 3 } });
    expect(dept).toMatchObject({ name: `Sales ${mode}`, parentId: 0, priority: 3 });
    const sub = await expectStatus(201, 'POST', '/departments', { body: { name: `Sales EU ${mode}`, parentId: dept.id } });
    expect(sub.parentId).toBe(dept.id);
    expect(await expectStatus(200, 'PATCH', '/departments/{id}', { params: { id: dept.id }, body: { name: `Sales & Marketing ${mode}`, priority: 7 } })).toMatchObject({ name: `Sales & Marketing ${mode}`, priority: 7 });
    expect((await call('PATCH', '/departments/{id}', { params: { id: 999_999 }, body: { name: 'x' } })).status).toBe(404);

    const member = await expectStatus(201, 'POST', '/users', { body: { name: `dept_${mode}_member`, password: 'pw', departId: sub.id } });
    expect((await expectStatus(200, 'GET', '/users', { query: { departId: sub.id } })).items.map((u: { id: number }) => u.id)).toEqual([member.id]);
    const busy = await call('DELETE', '/departments/{id}', { params: { id: sub.id } });
    expect(busy.status).toBe(409);
    expect(busy.body.error.code).toEqual(expect.any(String));
    expect((await call('DELETE', '/departments/{id}', { params: { id: dept.id } })).status).toBe(409); // it has a sub-department
    expect((await expectStatus(200, 'GET', '/departments')).items.map((x: { id: number }) => x.id)).toEqual(expect.arrayContaining([dept.id, sub.id]));

    await expectStatus(200, 'PATCH', '/users/{id}', { params: { id: member.id }, body: { departId: 0 } });
    await expectStatus(204, 'DELETE', '/departments/{id}', { params: { id: sub.id } });
    await expectStatus(204, 'DELETE', '/departments/{id}', { params: { id: dept.id } });
    const left = (await expectStatus(200, 'GET', '/departments')).items.map((x: { id: number }) => x.id);
    expect(left).not.toContain(dept.id);
    expect(left).not.toContain(sub.id);
    expect((await call('DELETE', '/departments/{id}', { params: { id: dept.id } })).status).toBe(404);
  });

  // ------------------------------------------------------------ groups

  it('groups: create, add and remove members (a TeamTalk member is told), transfer, update, list with paging, dismiss', async () => {
    const [owner, m1, m2, m3] = await f.newUsers(4);
    const watcher = await f.login(m1, second());
    const group = await expectStatus(201, 'POST', '/groups', { body: { name: `Ops ${mode}`, ownerId: owner.id, memberIds: [m1.id], description: 'on call' } });
    expect(group).toMatchObject({ name: `Ops ${mode}`, ownerId: owner.id, memberCount: 2, description: 'on call' });
    const other = await expectStatus(201, 'POST', '/groups', { body: { name: `Ops backup ${mode}`, ownerId: m3.id } });

    const addHeard = watcher.waitFor<IM.Group.IMGroupChangeMemberNotify>(GroupCmdID.CID_GROUP_CHANGE_MEMBER_NOTIFY, (n) => n.groupId === group.id && n.changeType === GroupModifyType.GROUP_MODIFY_TYPE_ADD, 5000);
    expect(await expectStatus(200, 'POST', '/groups/{id}/members', { params: { id: group.id }, body: { memberIds: [m2.id, m3.id] } })).toMatchObject({ memberCount: 4 });
    const added = await addHeard;
    expect([...added.chgUserIdList].sort((a, b) => a - b)).toEqual([m2.id, m3.id].sort((a, b) => a - b));
    expect([...added.curUserIdList].sort((a, b) => a - b)).toEqual([owner.id, m1.id, m2.id, m3.id].sort((a, b) => a - b));

    const delHeard = watcher.waitFor<IM.Group.IMGroupChangeMemberNotify>(GroupCmdID.CID_GROUP_CHANGE_MEMBER_NOTIFY, (n) => n.groupId === group.id && n.changeType === GroupModifyType.GROUP_MODIFY_TYPE_DEL, 5000);
    expect(await expectStatus(200, 'DELETE', '/groups/{id}/members', { params: { id: group.id }, body: { memberIds: [m2.id] } })).toMatchObject({ memberCount: 3 });
    expect((await delHeard).chgUserIdList).toEqual([m2.id]);
    // The query form.
    expect(await expectStatus(200, 'DELETE', '/groups/{id}/members', { params: { id: group.id }, query: { memberIds: [m3.id] } })).toMatchObject({ memberCount: 2 });

    expect(await expectStatus(200, 'POST', '/groups/{id}/transfer', { params: { id: group.id }, body: { ownerId: m1.id } })).toMatchObject({ ownerId: m1.id });
    expect(await expectStatus(200, 'PATCH', '/groups/{id}', { params: { id: group.id }, body: { name: `Ops team ${mode}`, description: '24/7' } })).toMatchObject({ name: `Ops team ${mode}`, description: '24/7', ownerId: m1.id });
    const one = await expectStatus(200, 'GET', '/groups/{id}', { params: { id: group.id } });
    expect(one.group).toMatchObject({ id: group.id, name: `Ops team ${mode}`, ownerId: m1.id, memberCount: 2 });
    expect([...one.memberIds].sort((a: number, b: number) => a - b)).toEqual([owner.id, m1.id].sort((a, b) => a - b));

    const { items, pages } = await allPages<{ id: number }>('/groups', { search: `Ops`, limit: 1 });
    expect(items.map((g) => g.id).sort((a, b) => a - b)).toEqual([group.id, other.id].sort((a, b) => a - b));
    expect(pages).toBe(2);
    expect((await expectStatus(200, 'GET', '/groups', { query: { userId: m1.id } })).items.map((g: { id: number }) => g.id)).toEqual([group.id]);

    await expectStatus(204, 'DELETE', '/groups/{id}', { params: { id: group.id } });
    expect((await call('GET', '/groups/{id}', { params: { id: group.id } })).status).toBe(404);
    expect((await expectStatus(200, 'GET', '/groups', { query: { userId: m1.id } })).items).toEqual([]);
    expect((await call('POST', '/groups/{id}/members', { params: { id: 999_999 }, body: { memberIds: [m2.id] } })).status).toBe(404);
  });

  // ------------------------------------------------------------ messages

  it('messages: as the system to a user and as a user to a group; search by conversation, sender and time; moderation recall', async () => {
    const [alice, bob, owner] = await f.newUsers(3);
    const ca = await f.login(alice, second());
    const cb = await f.login(bob, 0);
    const since = Date.now() - 1000;

    const fromSystem = ca.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => decryptContent(m.msgData) === 'Maintenance at 22:00', 5000);
    const sys = await expectStatus(201, 'POST', '/messages', { body: { to: { userId: alice.id }, text: 'Maintenance at 22:00' } });
    expect(sys.msgId).toBeGreaterThan(0);
    const arrived = await fromSystem;
    expect(arrived.toSessionId).toBe(alice.id);

    const group = await expectStatus(201, 'POST', '/groups', { body: { name: `Chat ${mode}`, ownerId: owner.id, memberIds: [alice.id, bob.id] } });
    const inGroup = cb.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => decryptContent(m.msgData) === 'standup in 5', 5000);
    const g = await expectStatus(201, 'POST', '/messages', { body: { fromId: owner.id, to: { groupId: group.id }, text: 'standup in 5' } });
    expect(g.messageId).toBe(`sg_${group.id}:${g.msgId}`);
    expect((await inGroup).fromUserId).toBe(owner.id);
    // The system speaks to a group without joining it.
    const floor = await expectStatus(201, 'POST', '/groups', { body: { name: `Floor ${mode}`, ownerId: owner.id, memberIds: [bob.id] } });
    const fromSystemInGroup = cb.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => decryptContent(m.msgData) === 'fire drill at 3', 5000);
    await expectStatus(201, 'POST', '/messages', { body: { to: { groupId: floor.id }, text: 'fire drill at 3' } });
    expect((await fromSystemInGroup).toSessionId).toBe(floor.id);
    expect((await expectStatus(200, 'GET', '/groups/{id}', { params: { id: floor.id } })).memberIds.sort((x: number, y: number) => x - y)).toEqual([bob.id, owner.id].sort((x, y) => x - y));
    const dm = await expectStatus(201, 'POST', '/messages', { body: { fromId: bob.id, to: { userId: alice.id }, text: 'hi alice' } });
    const notMember = await call('POST', '/messages', { body: { fromId: 999_999, to: { userId: alice.id }, text: 'who?' } });
    expect(notMember.status).toBe(404);

    const byGroup = await expectStatus(200, 'GET', '/messages', { query: { conversation: `sg_${group.id}` } });
    expect(byGroup.items).toEqual([expect.objectContaining({ messageId: g.messageId, fromId: owner.id, fromName: owner.name, toId: group.id, sessionType: 2, text: 'standup in 5', kind: 'text', recalled: false })]);
    const byPair = await expectStatus(200, 'GET', '/messages', { query: { conversation: `si_${alice.id}_${bob.id}` } });
    expect(byPair.items.map((m: { text: string; messageId: string }) => [m.text, m.messageId])).toEqual([['hi alice', dm.messageId]]);
    // The conversation part of a message id (account names) finds the same messages.
    const byName = await expectStatus(200, 'GET', '/messages', { query: { conversation: dm.messageId.slice(0, dm.messageId.lastIndexOf(':')) } });
    expect(byName.items.map((m: { messageId: string }) => m.messageId)).toEqual([dm.messageId]);
    const bySender = await expectStatus(200, 'GET', '/messages', { query: { fromId: owner.id, since, until: Date.now() + 1000 } });
    expect(bySender.items.map((m: { messageId: string }) => m.messageId)).toEqual([g.messageId]);
    expect((await expectStatus(200, 'GET', '/messages', { query: { fromId: owner.id, since: Date.now() + 60_000 } })).items).toEqual([]);
    const bad = await call('GET', '/messages', { query: { since: 2000, until: 1000 } });
    expect(bad.status).toBe(400);

    // Moderation: recall the group message and the direct one; history shows both recalled.
    await expectStatus(204, 'POST', '/messages/{messageId}/recall', { params: { messageId: g.messageId } });
    expect((await expectStatus(200, 'GET', '/messages', { query: { conversation: `sg_${group.id}` } })).items[0]).toMatchObject({ messageId: g.messageId, recalled: true });
    await expectStatus(204, 'POST', '/messages/{messageId}/recall', { params: { messageId: dm.messageId } });
    expect((await expectStatus(200, 'GET', '/messages', { query: { conversation: `si_${alice.id}_${bob.id}` } })).items[0]).toMatchObject({ messageId: dm.messageId, recalled: true });
    expect((await call('POST', '/messages/{messageId}/recall', { params: { messageId: `sg_${group.id}:9999` } })).status).toBe(404);

    for (const action of ['message.send', 'message.recall']) {
      const entries = (await expectStatus(200, 'GET', '/audit', { query: { action } })).items;
      expect([action, entries.length > 0, entries.every((e: { actor: string }) => e.actor === 'operator:root')]).toEqual([action, true, true]);
    }
  });

  it('a business notification reaches an OMTP client', async () => {
    const [bob] = await f.newUsers(1);
    // On the second msg_server in cluster mode.
    const ms = d.msgServers[second()];
    const oc = await OmtpClient.connect(ms.host, ms.omtpPort!);
    omtpClients.push(oc);
    expect((await oc.login(bob.name, PASSWORD)).code).toBe(0);
    const note = oc.waitForPush(omtp.PackType.PT_MSG_BIZ_NOTIFY, omtp.MsgReq);
    expect(await expectStatus(200, 'POST', '/notifications', { body: { userIds: [bob.id], content: 'your parcel has arrived', from: 'mailroom' } })).toEqual({ addressed: 1 });
    expect((await note).body).toMatchObject({ sessionId: 'biz', to: bob.name, content: 'your parcel has arrived' });
    const needsTarget = await call('POST', '/notifications', { body: { content: 'to nobody' } });
    expect(needsTarget.status).toBe(400);
    expect(oc.decodeErrors).toEqual([]);

    const sent = (await expectStatus(200, 'GET', '/audit', { query: { action: 'notification.send' } })).items;
    expect(sent[0]).toMatchObject({ actor: 'operator:root', target: 'users:1' });
    expect(sent[0].detail).not.toContain('parcel');
  });

  // ------------------------------------------------------------ cluster

  it('cluster: msg_servers with connection counts; live counters show online users and messages per second', async () => {
    const [u, v] = await f.newUsers(2);
    await f.login(u, 0);
    await f.login(v, second());
    await waitUntil(async () => (await expectStatus(200, 'GET', '/cluster/msg-servers')).items.reduce((n: number, s: { connections: number }) => n + s.connections, 0) >= 2, 10_000, 'connections reported');
    const servers = (await expectStatus(200, 'GET', '/cluster/msg-servers')).items;
    expect(servers).toHaveLength(d.msgServers.length);
    for (const s of servers) {
      expect(s).toMatchObject({ draining: false, maxConnections: expect.any(Number) });
      expect(s.fronts.map((x: { protocol: string }) => x.protocol)).toContain('teamtalk');
      if (d.msgServers.length > 1) expect(s.connections).toBeGreaterThan(0);
    }

    for (let i = 0; i < 10; i++) await expectStatus(201, 'POST', '/messages', { body: { fromId: u.id, to: { userId: v.id }, text: `burst ${i}` } });
    await waitUntil(async () => {
      const stats = await expectStatus(200, 'GET', '/cluster/stats');
      return stats.onlineUsers >= 2 && stats.messagesPerSecond > 0;
    }, 15_000, 'online users and messages per second');
    const stats = await expectStatus(200, 'GET', '/cluster/stats');
    expect(stats.msgServers.map((s: { id: string }) => s.id).sort()).toEqual(servers.map((s: { id: string }) => s.id).sort());
  });

  // ------------------------------------------------------------ bad requests

  it('bad requests get the right 4xx and change nothing', async () => {
    const user = await expectStatus(201, 'POST', '/users', { body: { name: `bad_${mode}`, password: 'pw', nick: 'Steady', sex: 1 } });
    const audit = await latestAuditId();
    const departments = (await expectStatus(200, 'GET', '/departments')).items.length;
    const expectError = async (res: Answer, status: number, code: string, field?: string) => {
      expect([res.status, res.body?.error?.code]).toEqual([status, code]);
      if (field) expect(res.body.error.field).toBe(field);
      expect(typeof res.body.error.message).toBe('string');
    };

    // Unknown fields, named.
    const unknown = await call('POST', '/users', { body: { name: `bad2_${mode}`, password: 'pw', colour: 'red' } });
    await expectError(unknown, 400, 'unknown_field', 'body.colour');
    expect(unknown.body.error.message).toContain('colour');
    await expectError(await call('PATCH', '/users/{id}', { params: { id: user.id }, body: { nick: 'x', shoeSize: 9 } }), 400, 'unknown_field', 'body.shoeSize');
    await expectError(await call('POST', '/messages', { body: { to: { channel: 'x' }, text: 'hi' } }), 400, 'unknown_field', 'body.to.channel');
    await expectError(await call('GET', '/users', { query: { colour: 'red' } }), 400, 'unknown_field', 'query.colour');
    // Wrong types (never coerced in bodies).
    await expectError(await call('PATCH', '/users/{id}', { params: { id: user.id }, body: { sex: '2' } }), 400, 'invalid_field', 'body.sex');
    await expectError(await call('POST', '/groups', { body: { name: 'typed', ownerId: String(user.id) } }), 400, 'invalid_field', 'body.ownerId');
    await expectError(await call('POST', '/departments', { body: { name: 42 } }), 400, 'invalid_field', 'body.name');
    await expectError(await call('GET', '/users', { query: { limit: 'lots' } }), 400, 'invalid_field', 'query.limit');
    await expectError(await call('GET', '/users', { query: { limit: 500 } }), 400, 'invalid_field', 'query.limit');
    await expectError(await call('GET', '/users/{id}', { params: { id: 'abc' } }), 400, 'invalid_field', 'params.id');
    await expectError(await call('POST', '/users', { body: { name: `bad3_${mode}` } }), 400, 'missing_field', 'body.password');
    await expectError(await call('POST', '/users', { raw: { contentType: 'application/json', data: '{"name": "x", ' } }), 400, 'invalid_json');
    // Too large.
    const huge = await call('POST', '/departments', { body: { name: 'big', padding: 'x'.repeat(1024 * 1024 + 16) } });
    await expectError(huge, 413, 'body_too_large');
    const hugeImport = await call('POST', '/users/import', { raw: { contentType: 'text/csv', data: `name,password\n${`${'y'.repeat(60)},pw\n`.repeat(20_000)}` } });
    await expectError(hugeImport, 413, 'body_too_large');
    // No token, a bad token, a bad key.
    await expectError(await call('PATCH', '/users/{id}', { params: { id: user.id }, body: { nick: 'Hacked' }, auth: null }), 401, 'unauthorized');
    await expectError(await call('PATCH', '/users/{id}', { params: { id: user.id }, body: { nick: 'Hacked' }, auth: 'abc.def.ghi' }), 401, 'invalid_token');
    await expectError(await call('PATCH', '/users/{id}', { params: { id: user.id }, body: { nick: 'Hacked' }, auth: `${adminToken.slice(0, -4)}AAAA` }), 401, 'invalid_token');
    await expectError(await call('PATCH', '/users/{id}', { params: { id: user.id }, body: { nick: 'Hacked' }, auth: 'ttk_not_a_key' }), 401, 'invalid_api_key');
    await expectError(await call('GET', '/users', { auth: null }), 401, 'unauthorized');
    // Wrong method, no route.
    const wrongMethod = await call('PUT', '/users/{id}', { params: { id: user.id }, body: { nick: 'x' } });
    await expectError(wrongMethod, 405, 'method_not_allowed');
    expect(wrongMethod.headers.get('allow')).toContain('PATCH');
    called.delete('PUT /users/{id}');
    await expectError(await call('GET', '/nothing-here'), 404, 'not_found');
    called.delete('GET /nothing-here');

    // Nothing changed.
    expect(await expectStatus(200, 'GET', '/users/{id}', { params: { id: user.id } })).toMatchObject({ nick: 'Steady', sex: 1 });
    expect((await expectStatus(200, 'GET', '/users', { query: { search: `bad2_${mode}` } })).items).toEqual([]);
    expect((await expectStatus(200, 'GET', '/users', { query: { search: `bad3_${mode}` } })).items).toEqual([]);
    expect((await expectStatus(200, 'GET', '/users', { query: { search: 'yyyyyyyy' } })).items).toEqual([]);
    expect((await expectStatus(200, 'GET', '/departments')).items).toHaveLength(departments);
    expect(await latestAuditId()).toBe(audit);
  });

  // ------------------------------------------------------------ audit and OpenAPI

  it('every write above is in the audit log with its actor and action', async () => {
    const { items } = await allPages<{ actor: string; action: string; target: string; detail: string; at: number }>('/audit', { limit: 100 });
    const actions = new Set(items.map((e) => e.action));
    const expected = [
      'operator.create', 'operator.update', 'apikey.create', 'apikey.revoke',
      'user.create', 'user.update', 'user.password', 'user.import', 'user.disable', 'user.kick',
      'department.create', 'department.update', 'department.delete',
      'group.create', 'group.add', 'group.remove', 'group.transfer', 'group.update', 'group.dismiss',
      'message.send', 'message.recall', 'notification.send',
    ];
    expect(expected.filter((a) => !actions.has(a))).toEqual([]);
    for (const e of items) {
      expect(e.actor).toMatch(/^(operator:root|key:ttk_\S+|ttctl)$/);
      expect(e.at).toBeGreaterThanOrEqual(t0 - 1000);
      expect(() => JSON.parse(e.detail)).not.toThrow();
    }
    // Passwords are never recorded.
    expect(items.some((e) => /first-pw|second-pw|watch-pw|cpw1/.test(e.detail))).toBe(false);
    expect(items.filter((e) => e.action === 'user.password').every((e) => e.actor === 'operator:root')).toBe(true);
    // Newest first, filterable by actor.
    expect(items.map((e) => e.at)).toEqual([...items.map((e) => e.at)].sort((a, b) => b - a));
    const byRoot = await allPages<{ actor: string }>('/audit', { actor: 'operator:root', limit: 200 });
    expect(byRoot.items.every((e) => e.actor === 'operator:root')).toBe(true);
    expect(byRoot.items.length).toBe(items.filter((e) => e.actor === 'operator:root').length);
  });

  it('drains a msg_server (cluster mode; last: it takes a server away)', async () => {
    const servers = (await expectStatus(200, 'GET', '/cluster/msg-servers')).items as Array<{ id: string }>;
    expect((await call('POST', '/cluster/msg-servers/{id}/drain', { params: { id: 'no-such-server' } })).status).toBe(404);
    if (mode !== 'cluster') return;
    const [u] = await f.newUsers(1);
    const target = servers[0].id;
    const c = await f.login(u, 0);
    const onTarget = ((await waitForDevices(u.id)) as Array<{ msgServerId: string }>)[0].msgServerId === target;
    await expectStatus(204, 'POST', '/cluster/msg-servers/{id}/drain', { params: { id: target } });
    await waitUntil(async () => {
      const now = (await expectStatus(200, 'GET', '/cluster/msg-servers')).items as Array<{ id: string; draining: boolean }>;
      return !now.some((s) => s.id === target) || now.some((s) => s.id === target && s.draining);
    }, 20_000, 'the drained msg_server draining or gone');
    if (onTarget) await c.waitForClose(20_000);
    const drains = await expectStatus(200, 'GET', '/audit', { query: { action: 'msgserver.drain' } });
    expect(drains.items[0]).toMatchObject({ actor: 'operator:root', target: `msgserver:${target}` });
  });

  async function waitForDevices(userId: number): Promise<unknown[]> {
    let devices: unknown[] = [];
    await waitUntil(async () => {
      devices = (await expectStatus(200, 'GET', '/users/{id}/devices', { params: { id: userId } })).devices;
      return devices.length > 0;
    }, 10_000, 'the device seen');
    return devices;
  }

  it('GET /openapi.json is OpenAPI 3.1.0 and describes every route this suite called', async () => {
    const res = await call('GET', '/openapi.json', { auth: null });
    expect(res.status).toBe(200);
    const doc = res.body as { openapi: string; paths: Record<string, Record<string, { operationId?: string }>> };
    expect(doc.openapi).toBe('3.1.0');
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) for (const method of Object.keys(item)) documented.add(`${method.toUpperCase()} ${path.replace(/^\/api\/v1/, '')}`);
    expect([...called].filter((c) => !documented.has(c)).sort()).toEqual([]);
    // And the other way round: every documented route has a story here (webhooks have their own suite).
    expect([...documented].filter((c) => !called.has(c) && !/ \/webhooks\b/.test(c)).sort()).toEqual([]);
  });
});

/** One request whose answer counts even if the server closes before the whole body was written. */
function sendLarge(url: string, method: string, headers: Record<string, string>, body: string): Promise<{ status: number; headers: Headers; text(): Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
        resolve({ status: res.statusCode ?? 0, headers: h, text: async () => Buffer.concat(chunks).toString('utf8') });
      });
    });
    // A write error after the answer arrived is no failure; without an answer it is.
    req.on('error', (err) => setTimeout(() => reject(err), 1000));
    req.end(body);
  });
}
