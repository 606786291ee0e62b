import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { issueToken, verifyToken } from '@tt/auth';
import { buildAdminApi, type AdminApiOptions } from './server';
import { deriveOperatorKey, issueOperatorToken } from './operator-token';
import { fakeBackends, type Call } from './testing/fakes';
import { operatorLoginThrottle } from '../throttle';
import { createLoginHttpHandler } from '../http-api';
import { MsgServerRegistry } from '../msg-server-registry';

const SECRET = 'test-secret-0123456789';
const WRITES = new Set(['createOperator', 'updateOperator', 'createApiKey', 'revokeApiKey', 'createUser', 'updateUser', 'createDepartment', 'updateDepartment', 'deleteDepartment', 'kickUser', 'sendMessage', 'notify', 'recallMessage', 'groupAction', 'drain', 'appendAudit']);

let app: FastifyInstance;
let backends: ReturnType<typeof fakeBackends>;
let registry: Registry;
let server: http.Server | undefined;

interface InjectOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  payload?: unknown;
}

/**
 * A request through a real http server that hands it to the API as login_server
 * does (Fastify's inject needs an ES module jest cannot load here).
 */
async function inject(opts: InjectOptions) {
  if (!server) {
    const api = app;
    server = http.createServer((req, res) => api.routing(req, res));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  }
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  let body: string | undefined;
  if (opts.payload !== undefined) {
    body = typeof opts.payload === 'string' ? opts.payload : JSON.stringify(opts.payload);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  }
  const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${opts.url}`, { method: opts.method ?? 'GET', headers, body });
  const text = await res.text();
  return { statusCode: res.status, headers: Object.fromEntries(res.headers.entries()), json: () => JSON.parse(text), text };
}

async function build(overrides: Partial<AdminApiOptions> = {}) {
  backends = fakeBackends();
  registry = new Registry();
  app = await buildAdminApi({
    store: backends.recordedStore,
    cluster: backends.recordedCluster,
    jwtSecret: SECRET,
    tokenTtlSeconds: 900,
    rateLimitPerMinute: 0,
    corsOrigins: [],
    metricsRegistry: registry,
    operatorCacheMs: 0,
    ...overrides,
  });
}

async function login(name: string, password: string) {
  const res = await inject({ method: 'POST', url: '/api/v1/auth/login', payload: { name, password } });
  return res;
}

async function tokenOf(name: 'root' | 'eve') {
  const res = await login(name, name === 'root' ? 'rootpw' : 'evepw');
  expect(res.statusCode).toBe(200);
  return `Bearer ${res.json().token as string}`;
}

function writesIn(calls: Call[]) {
  return calls.filter((c) => WRITES.has(c.method));
}

/** The calls a request made beyond checking who is asking. */
function actionsIn(calls: Call[]) {
  return calls.filter((c) => c.method !== 'listOperators' && c.method !== 'checkApiKey');
}

async function closeApp() {
  if (server) await new Promise((r) => server!.close(r));
  server = undefined;
  await app?.close();
}

afterEach(closeApp);

describe('operator API: auth', () => {
  beforeEach(() => build());

  test('log-in gives a token that opens the API; a wrong password is 401', async () => {
    const ok = await login('root', 'rootpw');
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ operator: { name: 'root', role: 'admin' }, expiresAt: expect.any(Number) });
    expect(ok.json().operator.password).toBeUndefined();
    const me = await inject({ url: '/api/v1/auth/me', headers: { authorization: `Bearer ${ok.json().token}` } });
    expect(me.json()).toEqual({ actor: 'operator:root', name: 'root', role: 'admin' });

    const bad = await login('root', 'nope');
    expect(bad.statusCode).toBe(401);
    expect(bad.json()).toEqual({ error: { code: 'invalid_credentials', message: 'wrong name or password' } });
  });

  test('no token, a bad token, an expired token: 401 and nothing is called', async () => {
    backends.calls.length = 0;
    for (const authorization of [undefined, 'Bearer x.y.z', 'Basic abc', 'Bearer ttk_unknown']) {
      const res = await inject({ method: 'POST', url: '/api/v1/users', headers: authorization ? { authorization } : {}, payload: { name: 'a', password: 'b' } });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toMatch(/unauthorized|invalid_token|invalid_api_key/);
    }
    const expired = await issueOperatorToken({ operatorId: 1, name: 'root', role: 'admin' }, deriveOperatorKey(SECRET), 60, () => Date.now() - 3600_000);
    const res = await inject({ url: '/api/v1/users', headers: { authorization: `Bearer ${expired.token}` } });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('token_expired');
    expect(backends.calls.filter((c) => c.method !== 'checkApiKey')).toEqual([]);
  });

  test('a chat access token is refused here, and an operator token is refused as a chat token', async () => {
    const chat = await issueToken({ userId: 1, name: 'root' }, { secret: SECRET, ttlSeconds: 600 });
    const res = await inject({ url: '/api/v1/users', headers: { authorization: `Bearer ${chat.token}` } });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('invalid_token');

    const operatorToken = (await login('root', 'rootpw')).json().token as string;
    await expect(verifyToken(operatorToken, SECRET)).rejects.toMatchObject({ code: 'INVALID' });
  });

  test('a viewer may read but a write is 403 and changes nothing', async () => {
    const viewer = await tokenOf('eve');
    expect((await inject({ url: '/api/v1/users', headers: { authorization: viewer } })).statusCode).toBe(200);
    backends.calls.length = 0;
    const attempts = [
      { method: 'POST' as const, url: '/api/v1/users', payload: { name: 'x', password: 'y' } },
      { method: 'PATCH' as const, url: '/api/v1/users/100', payload: { disabled: true } },
      { method: 'DELETE' as const, url: '/api/v1/groups/7' },
      { method: 'POST' as const, url: '/api/v1/cluster/msg-servers/ms-1/drain' },
      { method: 'GET' as const, url: '/api/v1/operators' },
    ];
    for (const a of attempts) {
      const res = await inject({ ...a, headers: { authorization: viewer } });
      expect(res.statusCode).toBe(403);
      expect(res.json().error.code).toBe('forbidden');
    }
    expect(writesIn(backends.calls)).toEqual([]);
  });

  test('a disabled operator loses access even with a live token', async () => {
    const admin = await tokenOf('root');
    backends.store.operators[0]!.disabled = true;
    const res = await inject({ url: '/api/v1/users', headers: { authorization: admin } });
    expect(res.statusCode).toBe(401);
  });

  test('API keys: created once, usable with their role, revoked keys refused', async () => {
    const admin = await tokenOf('root');
    const created = await inject({ method: 'POST', url: '/api/v1/api-keys', headers: { authorization: admin }, payload: { name: 'ci', role: 'viewer' } });
    expect(created.statusCode).toBe(201);
    const { key, info } = created.json();
    expect(key).toMatch(/^ttk_/);
    const listed = await inject({ url: '/api/v1/api-keys', headers: { authorization: admin } });
    expect(JSON.stringify(listed.json())).not.toContain(key);

    expect((await inject({ url: '/api/v1/users', headers: { authorization: `Bearer ${key}` } })).statusCode).toBe(200);
    expect((await inject({ method: 'POST', url: '/api/v1/users', headers: { authorization: `Bearer ${key}` }, payload: { name: 'k', password: 'p' } })).statusCode).toBe(403);
    expect((await inject({ method: 'DELETE', url: `/api/v1/api-keys/${info.id}`, headers: { authorization: admin } })).statusCode).toBe(200);
    expect((await inject({ url: '/api/v1/users', headers: { authorization: `Bearer ${key}` } })).statusCode).toBe(401);
    const audit = backends.store.audit.map((e) => [e.action, e.detail]);
    expect(audit.map((a) => a[0])).toEqual(['apikey.create', 'apikey.revoke']);
    expect(JSON.stringify(audit)).not.toContain(key);
  });

  test('failed log-ins back off per name and per address (429 with Retry-After), and the wait ends', async () => {
    await closeApp();
    let now = 1_000_000;
    const settings = { accountFailures: 3, addressFailures: 5, windowSeconds: 900, baseDelayMs: 60_000, maxDelayMs: 600_000 };
    await build({ loginThrottle: operatorLoginThrottle(settings, { now: () => now }) });
    for (let i = 0; i < 3; i++) expect((await login('root', 'wrong')).statusCode).toBe(401);
    // The right password during the wait is refused too, without being checked.
    const limited = await login('root', 'rootpw');
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('60');
    expect(limited.json().error.code).toBe('too_many_failed_logins');
    // Another name from the same address: free until the address has 5 failures.
    expect((await login('eve', 'wrong')).statusCode).toBe(401);
    expect((await login('eve', 'wrong')).statusCode).toBe(401);
    expect((await login('eve', 'evepw')).statusCode).toBe(429);
    now += 60_000;
    expect((await login('root', 'rootpw')).statusCode).toBe(200);
    expect((await login('eve', 'evepw')).statusCode).toBe(200);
  });

  test('without AUTH_JWT_SECRET log-in answers 503', async () => {
    await closeApp();
    await build({ jwtSecret: '' });
    const res = await login('root', 'rootpw');
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('not_configured');
  });
});

describe('operator API: validation and errors', () => {
  let admin: string;
  beforeEach(async () => {
    await build({ bodyLimitBytes: 4096 });
    admin = await tokenOf('root');
    backends.calls.length = 0;
  });

  test.each([
    ['unknown field', { name: 'ann', password: 'p', colour: 'red' }, 'unknown_field', 'body.colour'],
    ['wrong type', { name: 'ann', password: 'p', sex: 'male' }, 'invalid_field', 'body.sex'],
    ['number as a string (no silent coercion)', { name: 'ann', password: 'p', departId: '3' }, 'invalid_field', 'body.departId'],
    ['missing field', { name: 'ann' }, 'missing_field', 'body.password'],
  ])('%s: 400 naming the field, nothing called', async (_what, payload, code, field) => {
    const res = await inject({ method: 'POST', url: '/api/v1/users', headers: { authorization: admin }, payload });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toMatchObject({ code, field });
    expect(actionsIn(backends.calls)).toEqual([]);
  });

  test('nested unknown field and bad query parameter', async () => {
    const send = await inject({ method: 'POST', url: '/api/v1/messages', headers: { authorization: admin }, payload: { to: { roomId: 2 }, text: 'x' } });
    expect(send.statusCode).toBe(400);
    expect(send.json().error.field).toBe('body.to.roomId');
    const list = await inject({ url: '/api/v1/users?limit=abc', headers: { authorization: admin } });
    expect(list.statusCode).toBe(400);
    expect(list.json().error.field).toBe('query.limit');
    const extra = await inject({ url: '/api/v1/users?colour=red', headers: { authorization: admin } });
    expect(extra.json().error).toMatchObject({ code: 'unknown_field', field: 'query.colour' });
    const badId = await inject({ url: '/api/v1/users/abc', headers: { authorization: admin } });
    expect(badId.json().error.field).toBe('params.id');
    expect(actionsIn(backends.calls)).toEqual([]);
  });

  test('too-large body: 413; bad JSON: 400; other media types: 415; nothing called', async () => {
    const big = await inject({ method: 'POST', url: '/api/v1/users', headers: { authorization: admin, 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'a', password: 'b', nick: 'x'.repeat(10_000) }) });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('body_too_large');
    const badJson = await inject({ method: 'POST', url: '/api/v1/users', headers: { authorization: admin, 'content-type': 'application/json' }, payload: '{"name":' });
    expect(badJson.statusCode).toBe(400);
    const xml = await inject({ method: 'POST', url: '/api/v1/users', headers: { authorization: admin, 'content-type': 'application/xml' }, payload: '<a/>' });
    expect(xml.statusCode).toBe(415);
    expect(actionsIn(backends.calls)).toEqual([]);
  });

  test('unknown route 404, wrong method 405 with Allow, backend refusals keep their status', async () => {
    const missing = await inject({ url: '/api/v1/nothing-here', headers: { authorization: admin } });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('not_found');
    const wrong = await inject({ method: 'PUT', url: '/api/v1/users', headers: { authorization: admin } });
    expect(wrong.statusCode).toBe(405);
    expect(wrong.headers.allow).toBe('GET, POST');
    const dup = await inject({ method: 'POST', url: '/api/v1/operators', headers: { authorization: admin }, payload: { name: 'eve', password: 'x', role: 'admin' } });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toEqual({ error: { code: 'name_taken', message: 'operator eve exists' } });
    const noUser = await inject({ url: '/api/v1/users/999', headers: { authorization: admin } });
    expect(noUser.statusCode).toBe(404);
  });

  test('a backend crash is a 500 in the same shape, with no detail', async () => {
    backends.store.listDepartments = async () => {
      throw new Error('db exploded: secret detail');
    };
    const res = await inject({ url: '/api/v1/departments', headers: { authorization: admin } });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({ error: { code: 'internal_error', message: 'internal error' } });
  });
});

describe('operator API: routes and audit', () => {
  let admin: string;
  beforeEach(async () => {
    await build();
    admin = await tokenOf('root');
  });
  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    inject({ method, url: `/api/v1${url}`, headers: { authorization: admin, ...headers }, ...(payload !== undefined ? { payload: payload as object } : {}) });

  test('users: create, update, disable kicks, password, kick, devices, list with online', async () => {
    const created = await call('POST', '/users', { name: 'ann', password: 'secret', nick: 'Ann', departId: 0 });
    expect(created.statusCode).toBe(201);
    const id = created.json().id as number;
    backends.cluster.online.set(id, [{ msgServerId: 'ms-1', front: 'ws', clientType: 8 }]);
    const list = await call('GET', '/users?search=an&limit=10');
    expect(list.json().items[0]).toMatchObject({ name: 'ann', online: true });
    expect((await call('GET', `/users/${id}/devices`)).json()).toEqual({ userId: id, online: true, devices: [{ msgServerId: 'ms-1', front: 'ws', clientType: 8 }] });

    backends.calls.length = 0;
    const disabled = await call('PATCH', `/users/${id}`, { disabled: true });
    expect(disabled.json().disabled).toBe(true);
    expect(actionsIn(backends.calls).map((c) => c.method)).toEqual(['updateUser', 'kickUser', 'appendAudit']);
    expect((await call('POST', `/users/${id}/password`, { password: 'n3w' })).statusCode).toBe(204);
    expect((await call('POST', `/users/${id}/kick`)).json()).toEqual({ closed: 0 });

    const actions = backends.store.audit.map((e) => e.action);
    expect(actions).toEqual(['user.create', 'user.disable', 'user.password', 'user.kick']);
    expect(backends.store.audit.every((e) => e.actor === 'operator:root')).toBe(true);
    expect(backends.store.audit.map((e) => e.detail).join()).not.toMatch(/secret|n3w|password"/);
    expect(backends.store.audit[1]!.detail).toBe(JSON.stringify({ disabled: true, kicked: 1 }));

    const audit = await call('GET', '/audit?limit=2');
    expect(audit.json()).toMatchObject({ items: [{ action: 'user.kick' }, { action: 'user.password' }], total: 4 });
  });

  test('import: JSON and CSV, with a report of rejected rows', async () => {
    await call('POST', '/users', { name: 'taken', password: 'x' });
    const json = await call('POST', '/users/import', [{ name: 'a1', password: 'p' }, { name: 'a2' }, { name: 'taken', password: 'p' }, { name: 'a3', password: 'p', shoe: 9 }]);
    expect(json.statusCode).toBe(200);
    expect(json.json().accepted).toEqual([{ row: 1, id: expect.any(Number), name: 'a1' }]);
    expect(json.json().rejected).toEqual([
      { row: 2, code: 'invalid_row', reason: 'password is required' },
      { row: 3, name: 'taken', code: 'name_taken', reason: 'user taken exists' },
      { row: 4, code: 'invalid_row', reason: 'unknown field shoe' },
    ]);
    const csv = await inject({
      method: 'POST',
      url: '/api/v1/users/import',
      headers: { authorization: admin, 'content-type': 'text/csv' },
      payload: 'name,password,nick,sex\nc1,p,Cee,1\nc2,p,,x\n',
    });
    expect(csv.statusCode).toBe(200);
    expect(csv.json().accepted.map((a: { name: string }) => a.name)).toEqual(['c1']);
    expect(csv.json().rejected).toEqual([{ row: 2, code: 'invalid_row', reason: 'sex must be integer' }]);
    const broken = await inject({ method: 'POST', url: '/api/v1/users/import', headers: { authorization: admin, 'content-type': 'text/csv' }, payload: 'name,password\n"unterminated' });
    expect(broken.statusCode).toBe(400);
    expect(broken.json().error.code).toBe('invalid_csv');
  });

  test('departments, groups, messages, cluster', async () => {
    const dep = await call('POST', '/departments', { name: 'Eng' });
    expect(dep.statusCode).toBe(201);
    expect((await call('PATCH', `/departments/${dep.json().id}`, { priority: 2 })).json().priority).toBe(2);
    expect((await call('GET', '/departments')).json().items).toHaveLength(1);
    expect((await call('DELETE', `/departments/${dep.json().id}`)).statusCode).toBe(204);

    expect((await call('GET', '/groups?limit=5')).json().items[0].id).toBe(7);
    expect((await call('GET', '/groups/7')).json().memberIds).toEqual([100, 101]);
    expect((await call('GET', '/groups/8')).statusCode).toBe(404);
    backends.calls.length = 0;
    expect((await call('POST', '/groups', { name: 'G', ownerId: 100, memberIds: [101] })).statusCode).toBe(201);
    expect((await call('POST', '/groups/7/members', { memberIds: [102] })).statusCode).toBe(200);
    expect((await call('DELETE', '/groups/7/members', { memberIds: [102] })).statusCode).toBe(200);
    expect((await call('DELETE', '/groups/7/members?memberIds=101&memberIds=102')).statusCode).toBe(200);
    expect((await call('DELETE', '/groups/7/members')).statusCode).toBe(400);
    expect((await call('POST', '/groups/7/transfer', { ownerId: 101 })).statusCode).toBe(200);
    expect((await call('PATCH', '/groups/7', { name: 'New' })).statusCode).toBe(200);
    expect((await call('DELETE', '/groups/7')).statusCode).toBe(204);
    const actions = actionsIn(backends.calls).filter((c) => c.method === 'groupAction').map((c) => (c.args[0] as { action: string; memberIds?: number[] }));
    expect(actions.map((a) => a.action)).toEqual(['create', 'add', 'remove', 'remove', 'transfer', 'update', 'dismiss']);
    expect(actions[3]!.memberIds).toEqual([101, 102]);

    const sent = await call('POST', '/messages', { to: { userId: 5 }, text: 'hello' });
    expect(sent.statusCode).toBe(201);
    expect(sent.json()).toEqual({ messageId: 'si_0_5:9', msgId: 9 });
    expect((await call('POST', '/messages', { to: {}, text: 'x' })).statusCode).toBe(400);
    expect((await call('POST', '/notifications', { userIds: [1, 2], content: 'canteen' })).json()).toEqual({ addressed: 2 });
    expect((await call('POST', '/notifications', { content: 'nobody' })).statusCode).toBe(400);
    expect((await call('POST', '/messages/si_1_2:5/recall')).statusCode).toBe(204);
    expect((await call('POST', '/messages/garbage/recall')).statusCode).toBe(400);
    backends.calls.length = 0;
    const found = await call('GET', '/messages?conversation=si_1_2&since=0&until=2000&limit=10');
    expect(found.json().items[0].messageId).toBe('si_1_2:5');
    expect(actionsIn(backends.calls)[0]!.args[0]).toEqual({ conversation: { sessionType: 1, userA: 1, userB: 2 }, since: 0, until: 2000, limit: 10 });

    expect((await call('GET', '/cluster/msg-servers')).json().items[0].id).toBe('ms-1');
    expect((await call('GET', '/cluster/stats')).json().onlineUsers).toBe(3);
    expect((await call('POST', '/cluster/msg-servers/ms-1/drain')).statusCode).toBe(204);
    expect((await call('POST', '/cluster/msg-servers/ms-9/drain')).statusCode).toBe(404);

    expect(backends.store.audit.map((e) => e.action)).toEqual(expect.arrayContaining(['department.create', 'group.dismiss', 'message.send', 'notification.send', 'message.recall', 'msgserver.drain']));
  });

  test('metrics count requests by route, method and status', async () => {
    await call('GET', '/cluster/stats');
    const text = await registry.metrics();
    expect(text).toMatch(/tt_admin_api_requests_total\{route="\/api\/v1\/cluster\/stats",method="GET",status="200"\} 1/);
    expect(text).toContain('tt_admin_api_request_seconds_bucket');
  });
});

describe('operator API: OpenAPI, rate limit, CORS, mounting', () => {
  test('the OpenAPI 3.1 document lists every route with an operationId', async () => {
    await build();
    const res = await inject({ url: '/api/v1/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    const operations: { path: string; method: string; operationId: string }[] = [];
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, { operationId: string; tags: string[]; responses: object }>>))
      for (const [method, op] of Object.entries(item)) {
        expect(op.operationId).toEqual(expect.any(String));
        expect(op.tags.length).toBeGreaterThan(0);
        operations.push({ path, method, operationId: op.operationId });
      }
    const ids = operations.map((o) => o.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    // Every route Fastify knows is in the document.
    const routes = app.printRoutes({ commonPrefix: false });
    const routeCount = [...routes.matchAll(/\(([A-Z, ]+)\)/g)].reduce((n, m) => n + m[1]!.split(',').length, 0);
    expect(operations.length).toBe(routeCount);
    expect(routeCount).toBe(41);
    expect(doc.paths['/api/v1/users/{id}'].patch.requestBody.content['application/json'].schema.additionalProperties).toBe(false);
    expect(Object.keys(doc.paths['/api/v1/users/import'].post.requestBody.content).sort()).toEqual(['application/json', 'text/csv']);
    expect(doc.paths['/api/v1/auth/login'].post.security).toEqual([]);
  });

  test('rate limit per client: 429 with Retry-After in the error shape', async () => {
    await build({ rateLimitPerMinute: 3 });
    for (let i = 0; i < 3; i++) expect((await inject({ url: '/api/v1/openapi.json' })).statusCode).toBe(200);
    const res = await inject({ url: '/api/v1/openapi.json' });
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBeDefined();
    expect(res.json().error.code).toBe('rate_limited');
  });

  test('CORS: no headers by default; only configured origins', async () => {
    await build();
    const none = await inject({ url: '/api/v1/openapi.json', headers: { origin: 'https://evil.example' } });
    expect(none.headers['access-control-allow-origin']).toBeUndefined();
    await closeApp();
    await build({ corsOrigins: ['https://ops.example'] });
    const ok = await inject({ url: '/api/v1/openapi.json', headers: { origin: 'https://ops.example' } });
    expect(ok.headers['access-control-allow-origin']).toBe('https://ops.example');
    const other = await inject({ url: '/api/v1/openapi.json', headers: { origin: 'https://evil.example' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  test("mounted in login_server's http server; without backends /api/ answers 503", async () => {
    await build();
    const registryOfServers = new MsgServerRegistry();
    const serve = async (adminApi?: http.RequestListener) => {
      const server = http.createServer(createLoginHttpHandler({ registry: registryOfServers, msfsUrl: '', discoveryUrl: '', adminApi }));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return server;
    };
    const mounted = await serve((req, res) => app.routing(req, res));
    const off = await serve();
    try {
      const base = (s: http.Server) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
      const doc = await fetch(`${base(mounted)}/api/v1/openapi.json`);
      expect(doc.status).toBe(200);
      const logged = await fetch(`${base(mounted)}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'root', password: 'rootpw' }) });
      expect(logged.status).toBe(200);
      expect((await fetch(`${base(mounted)}/msg_server`)).status).toBe(200);
      const down = await fetch(`${base(off)}/api/v1/users`);
      expect(down.status).toBe(503);
      expect(await down.json()).toEqual({ error: { code: 'not_configured', message: 'the operator API is not configured on this login_server' } });
    } finally {
      await new Promise((r) => mounted.close(r));
      await new Promise((r) => off.close(r));
    }
  });
});
