// The Easemob contact-list REST calls over real HTTP on 127.0.0.1, with
// db_proxy's FriendSync and ResolveUsers played by an in-memory fake.
import * as http from 'node:http';
import { issueToken } from '@tt/auth';
import type { IM } from '@tt/proto';
import { createLoginHttpHandler } from './http-api';
import { MsgServerRegistry } from './msg-server-registry';
import type { FriendDirectory } from './easemob-contacts';

const SECRET = 'contacts-test-secret-0123456789ab';
const USERS: Record<number, string> = { 1: 'alice', 2: 'bob', 3: 'carol', 4: 'dave', 5: 'eve' };
/** alice's friends: carol and bob (remark "Bobby"), dave removed, 9 an account that no longer exists. */
const FRIENDS: Record<number, IM.DbProxy.IFriendEntry[]> = {
  1: [
    { friendId: 3, remark: '' },
    { friendId: 2, remark: 'Bobby' },
    { friendId: 4, remark: '', deleted: true },
    { friendId: 9, remark: '' },
  ],
};

interface Get {
  status: number;
  headers: http.IncomingHttpHeaders;
  json: Record<string, unknown>;
}

describe('GET /{org}/{app}/users/{user}/contacts…', () => {
  let server: http.Server;
  let port: number;
  let failing = false;
  const syncCalls: IM.DbProxy.ISinceReq[] = [];
  const fake: FriendDirectory = {
    friendSync: async (req) => {
      syncCalls.push(req);
      if (failing) throw new Error('db_proxy is down');
      return { friends: FRIENDS[req.userId] ?? [], now: 100 } as unknown as IM.DbProxy.FriendSyncRsp;
    },
    resolveUsers: async (req) => ({ users: (req.userIds ?? []).filter((id) => USERS[id]).map((userId) => ({ userId, name: USERS[userId] })) }) as unknown as IM.DbProxy.ResolveUsersRsp,
  } as FriendDirectory;

  beforeAll(async () => {
    const handler = createLoginHttpHandler({
      registry: new MsgServerRegistry(),
      msfsUrl: '',
      discoveryUrl: '',
      auth: { secret: SECRET, ttlSeconds: 3600, validateUser: async () => ({ userName: '', resultCode: 1 }) },
      contacts: fake,
    });
    server = http.createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  // An expired token: issued an hour ago for one second.
  const tokenOf = async (userId: number, expired = false) =>
    (await issueToken({ userId, name: USERS[userId] }, { secret: SECRET, ttlSeconds: expired ? 1 : 3600, now: expired ? () => Date.now() - 3_600_000 : undefined })).token;

  function request(method: string, path: string, token?: string): Promise<Get> {
    return new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = token ? { authorization: `Bearer ${token}` } : {};
      const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode!, headers: res.headers, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} });
        });
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('getContacts: the current friends by name in data, with remarks in entities; FriendSync since 0', async () => {
    const rsp = await request('GET', '/org/app/users/alice/contacts/users', await tokenOf(1));
    expect(rsp.status).toBe(200);
    expect(rsp.headers['access-control-allow-origin']).toBe('*');
    expect(rsp.json.data).toEqual(['bob', 'carol']);
    expect(rsp.json.entities).toEqual([
      { username: 'bob', remark: 'Bobby' },
      { username: 'carol', remark: '' },
    ]);
    expect(rsp.json.count).toBe(2);
    expect(syncCalls.at(-1)).toEqual({ userId: 1, since: 0 });
    const remarks = await request('GET', '/org/app/users/alice/contacts/users?needReturnRemark=true', await tokenOf(1));
    expect(remarks.json.entities).toEqual(rsp.json.entities);
  });

  it('a user without friends gets empty lists', async () => {
    const rsp = await request('GET', '/org/app/users/eve/contacts/users', await tokenOf(5));
    expect(rsp.status).toBe(200);
    expect(rsp.json).toMatchObject({ data: [], entities: [], count: 0 });
  });

  it('getContactsWithCursor: pages of limit, the cursor until the end', async () => {
    const token = await tokenOf(1);
    const first = await request('GET', '/org/app/users/alice/contacts?needReturnRemark=true&limit=1&cursor=', token);
    expect(first.status).toBe(200);
    expect(first.json.data).toEqual({ contacts: [{ username: 'bob', remark: 'Bobby' }], cursor: '1' });
    const second = await request('GET', '/org/app/users/alice/contacts?needReturnRemark=true&limit=1&cursor=1', token);
    expect(second.json.data).toEqual({ contacts: [{ username: 'carol', remark: '' }], cursor: '' });
    expect((await request('GET', '/org/app/users/alice/contacts?limit=0', token)).status).toBe(400);
    expect((await request('GET', '/org/app/users/alice/contacts?cursor=x', token)).status).toBe(400);
  });

  it('no token, a bad or expired token, or another user\'s list: 401 / 403 as Easemob errors', async () => {
    const none = await request('GET', '/org/app/users/alice/contacts/users');
    expect(none.status).toBe(401);
    expect(typeof none.json.error_description).toBe('string');
    expect((await request('GET', '/org/app/users/alice/contacts/users', 'not-a-jwt')).status).toBe(401);
    const expired = await request('GET', '/org/app/users/alice/contacts/users', await tokenOf(1, true));
    expect(expired.status).toBe(401);
    expect(expired.json.error_description).toMatch(/expired/);
    const other = await request('GET', '/org/app/users/alice/contacts/users', await tokenOf(2));
    expect(other.status).toBe(403);
    expect(other.json.error).toBe('forbidden_op');
    expect((await request('GET', '/org/app/users/%E0%A4%A/contacts/users', await tokenOf(1))).status).toBe(400);
  });

  it('OPTIONS is the CORS preflight; writing is refused; db_proxy down is 503', async () => {
    const pre = await request('OPTIONS', '/org/app/users/alice/contacts/users');
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-methods']).toContain('GET');
    expect(pre.headers['access-control-allow-headers']).toContain('authorization');
    const del = await request('DELETE', '/org/app/users/alice/contacts/users/bob', await tokenOf(1));
    expect(del.status).toBe(404);
    const post = await request('POST', '/org/app/users/alice/contacts/users', await tokenOf(1));
    expect(post.status).toBe(405);
    failing = true;
    try {
      const down = await request('GET', '/org/app/users/alice/contacts/users', await tokenOf(1));
      expect(down.status).toBe(503);
      expect(down.json.error).toBe('service_unavailable');
    } finally {
      failing = false;
    }
  });
});
