// login_server's HTTP API over real HTTP on 127.0.0.1: a real in-process login
// server (MemoryBus reports, the real handler), with db_proxy's ValidateUser
// played by a function that checks the MD5 the way db_proxy receives it.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { TOKEN_ISSUER, verifyToken } from '@tt/auth';
import { MemoryBus } from '@tt/bus';
import { Registry, createLogger } from '@tt/observability';
import { DbProxyService, IM, clusterSubjects, type DbProxyClient } from '@tt/proto';
import { createRpcClient } from '@tt/rpc';
import { startLoginServer, type RunningLoginServer } from './login-server';
import { defaultChatFiles } from './static-files';
import type { ValidateUser } from './http-api';

const SECRET = 'unit-test-secret-0123456789abcdef';
const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
const USERS: Record<string, { id: number; password: string }> = { alice: { id: 1001, password: 'pässword-1' }, bob: { id: 1002, password: 'hunter2' } };

/** Like db_proxy: result_code 0 + user_info when the MD5 matches, 1 otherwise. */
const fakeValidate: ValidateUser = async (req) => {
  const u = USERS[req.userName ?? ''];
  if (!u || md5(u.password) !== req.password) return { userName: req.userName!, resultCode: 1, resultString: 'user name or password is wrong' };
  return { userName: req.userName!, resultCode: 0, resultString: '', userInfo: { userId: u.id } as IM.BaseDefine.IUserInfo };
};

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A request exactly as written (no URL normalisation, unlike fetch). */
function raw(port: number, method: string, rawPath: string, body?: string | Buffer, headers: http.OutgoingHttpHeaders = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: rawPath, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

const postJson = (port: number, obj: unknown, headers: http.OutgoingHttpHeaders = {}) => raw(port, 'POST', '/auth/token', JSON.stringify(obj), { 'content-type': 'application/json', ...headers });

async function waitFor(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Harness {
  login: RunningLoginServer;
  bus: MemoryBus;
  port: number;
  chatDir: string;
  report(serverId: string, opts?: { connections?: number; fronts?: IM.Core.IFrontAddress[]; ip?: string; port?: number }): Promise<void>;
  close(): Promise<void>;
}

async function harness(opts: { secret?: string; validateUser?: ValidateUser } = {}): Promise<Harness> {
  const bus = new MemoryBus();
  const chatDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tt-chat-'));
  fs.writeFileSync(path.join(chatDir, 'index.html'), '<!doctype html><title>chat</title>');
  fs.writeFileSync(path.join(chatDir, 'app.js'), 'console.log(1);');
  fs.writeFileSync(path.join(chatDir, 'style.css'), 'body{}');
  fs.writeFileSync(path.join(chatDir, '.hidden'), 'no');
  fs.mkdirSync(path.join(chatDir, 'img'));
  fs.writeFileSync(path.join(chatDir, 'img', 'logo.svg'), '<svg/>');
  const login = await startLoginServer({
    bus,
    log: createLogger('test', { level: 'silent' }),
    metricsRegistry: new Registry(),
    subjectPrefix: 'tt',
    host: '127.0.0.1',
    port: 0,
    msfsUrl: 'http://files:8700',
    discoveryUrl: '',
    validateUser: opts.validateUser ?? fakeValidate,
    auth: { secret: opts.secret ?? SECRET, ttlSeconds: 3600 },
    chat: new Map([
      ['/chat/', path.join(chatDir, 'index.html')],
      ['/chat/index.html', path.join(chatDir, 'index.html')],
      ['/chat/app.js', path.join(chatDir, 'app.js')],
      ['/chat/style.css', path.join(chatDir, 'style.css')],
      ['/chat/img/logo.svg', path.join(chatDir, 'img', 'logo.svg')],
      ['/chat/img', path.join(chatDir, 'img')],
      ['/chat/gone.js', path.join(chatDir, 'gone.js')],
      ['/chat/proto/IM.Ws.proto', path.resolve(__dirname, '../../../proto/IM.Ws.proto')],
    ]),
  });
  const subjects = clusterSubjects('tt');
  return {
    login,
    bus,
    port: login.port,
    chatDir,
    report: async (serverId, r = {}) => {
      const msg = IM.Cluster.MsgServerReport.encode({
        serverId,
        info: { ip1: r.ip ?? '10.0.0.1', ip2: '10.0.0.2', port: r.port ?? 8000, maxConnCnt: 100, curConnCnt: r.connections ?? 0, hostName: serverId },
        ttlMs: 60_000,
        draining: false,
        startedAt: Date.now(),
        fronts: r.fronts ?? [],
      }).finish();
      bus.publish(subjects.msgServerReport, msg);
      await waitFor(() => login.registry.live().some((s) => s.serverId === serverId && s.connections === (r.connections ?? 0)), `report of ${serverId}`);
    },
    close: async () => {
      await login.close();
      await bus.close();
      fs.rmSync(chatDir, { recursive: true, force: true });
    },
  };
}

describe('POST /auth/token', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(() => h.close());

  it('issues a token for good credentials (JSON, user_id)', async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await postJson(h.port, { user_id: 'alice', password: 'pässword-1' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = JSON.parse(res.body);
    expect(body).toEqual({ code: 0, token: expect.any(String), expires_at: expect.any(Number), user_id: 'alice', uid: 1001 });
    expect(body.expires_at).toBeGreaterThanOrEqual(before + 3600);
    expect(body.expires_at).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 3600);
    await expect(verifyToken(body.token, SECRET)).resolves.toEqual({ userId: 1001, name: 'alice', expiresAt: body.expires_at });
    const claims = JSON.parse(Buffer.from(body.token.split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({ sub: 'alice', uid: 1001, iss: TOKEN_ISSUER });
  });

  it('accepts "username" and form-encoded bodies', async () => {
    const a = await postJson(h.port, { username: 'bob', password: 'hunter2' });
    expect(JSON.parse(a.body)).toMatchObject({ code: 0, user_id: 'bob', uid: 1002 });
    const b = await raw(h.port, 'POST', '/auth/token', 'user_id=alice&password=p%C3%A4ssword-1', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(b.status).toBe(200);
    expect(JSON.parse(b.body)).toMatchObject({ code: 0, user_id: 'alice', uid: 1001 });
    const c = await raw(h.port, 'POST', '/auth/token', 'username=bob&password=hunter2', { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' });
    expect(JSON.parse(c.body)).toMatchObject({ code: 0, user_id: 'bob' });
  });

  it('answers 401 for a wrong password or an unknown user, the same way', async () => {
    const wrong = await postJson(h.port, { user_id: 'alice', password: 'nope' });
    const unknown = await postJson(h.port, { user_id: 'mallory', password: 'nope' });
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.body)).toEqual({ code: 401, msg: expect.any(String) });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toBe(wrong.body);
  });

  it('answers 400 naming the field for bad bodies', async () => {
    const cases: Array<[string | Buffer, string, RegExp]> = [
      ['{"password":"x"}', 'application/json', /user_id/],
      ['{"user_id":"alice"}', 'application/json', /password/],
      ['{"user_id":42,"password":"x"}', 'application/json', /user_id/],
      ['{"user_id":"alice","password":""}', 'application/json', /password/],
      ['{"user_id":"alice","password":["x"]}', 'application/json', /password/],
      ['{not json', 'application/json', /JSON/],
      ['[1,2]', 'application/json', /object/],
      ['password=x', 'application/x-www-form-urlencoded', /user_id/],
    ];
    for (const [body, type, msg] of cases) {
      const res = await raw(h.port, 'POST', '/auth/token', body, { 'content-type': type });
      expect(res.status).toBe(400);
      const parsed = JSON.parse(res.body);
      expect(parsed.code).toBe(400);
      expect(parsed.msg).toMatch(msg);
    }
    const xml = await raw(h.port, 'POST', '/auth/token', '<a/>', { 'content-type': 'application/xml' });
    expect(xml.status).toBe(415);
  });

  it('refuses bodies over 16 KB (declared or streamed) and other methods', async () => {
    const big = JSON.stringify({ user_id: 'alice', password: 'x'.repeat(17 * 1024) });
    const declared = await raw(h.port, 'POST', '/auth/token', big, { 'content-type': 'application/json' });
    expect(declared.status).toBe(413);
    const chunked = await raw(h.port, 'POST', '/auth/token', big, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    expect(chunked.status).toBe(413);
    const get = await raw(h.port, 'GET', '/auth/token');
    expect(get.status).toBe(405);
    // Still serving afterwards.
    expect((await postJson(h.port, { user_id: 'bob', password: 'hunter2' })).status).toBe(200);
  });

  it("answers 429 with Retry-After when db_proxy's back-off refuses the attempt, and tells db_proxy the client's address", async () => {
    const asked: Array<{ name: string; ip: string }> = [];
    // db_proxy throttles (tested there and in tests/e2e/login-throttle.test.ts); here: its answer becomes HTTP's.
    const throttled: ValidateUser = async (req) => {
      asked.push({ name: req.userName!, ip: req.clientIp ?? '' });
      if (req.userName === 'alice') return { userName: 'alice', resultCode: 2, resultString: 'too many failed log-ins', retryAfterMs: 2500 };
      return fakeValidate(req);
    };
    const s = await harness({ validateUser: throttled });
    try {
      const blocked = await postJson(s.port, { user_id: 'alice', password: 'pässword-1' });
      expect(blocked.status).toBe(429);
      expect(JSON.parse(blocked.body)).toEqual({ code: 429, msg: 'too many failed log-ins, retry in 3 s' });
      expect(blocked.headers['retry-after']).toBe('3');
      expect((await postJson(s.port, { user_id: 'bob', password: 'hunter2' })).status).toBe(200);
      expect(asked).toEqual([
        { name: 'alice', ip: '127.0.0.1' },
        { name: 'bob', ip: '127.0.0.1' },
      ]);
    } finally {
      await s.close();
    }
  });

  it('answers 503 when the secret is not configured', async () => {
    const s = await harness({ secret: '' });
    try {
      const res = await postJson(s.port, { user_id: 'alice', password: 'pässword-1' });
      expect(res.status).toBe(503);
      expect(JSON.parse(res.body)).toEqual({ code: 503, msg: 'token issuing is not configured (AUTH_JWT_SECRET)' });
    } finally {
      await s.close();
    }
  });

  it('answers 503 when db_proxy cannot be reached (real gRPC client, nothing listening)', async () => {
    const closed = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const db = createRpcClient<DbProxyClient>(DbProxyService, `127.0.0.1:${closed}`, { timeoutMs: 300 });
    const s = await harness({ validateUser: (req) => db.validateUser(req) });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await postJson(s.port, { user_id: 'alice', password: 'pässword-1' });
        expect(res.status).toBe(503);
        expect(JSON.parse(res.body)).toEqual({ code: 503, msg: expect.stringMatching(/unavailable/) });
      }
    } finally {
      db.close();
      await s.close();
    }
  });

  it('CORS: preflight and answers for any origin', async () => {
    const pre = await raw(h.port, 'OPTIONS', '/auth/token', undefined, { origin: 'https://elsewhere.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    expect(pre.headers['access-control-allow-methods']).toMatch(/POST/);
    expect(pre.headers['access-control-allow-headers']).toMatch(/content-type/);
    const res = await postJson(h.port, { user_id: 'bob', password: 'hunter2' }, { origin: 'https://elsewhere.example' });
    expect(res.headers['access-control-allow-origin']).toBe('*');
    const denied = await postJson(h.port, { user_id: 'bob', password: 'x' }, { origin: 'https://elsewhere.example' });
    expect(denied.headers['access-control-allow-origin']).toBe('*');
    const ms = await raw(h.port, 'GET', '/msg_server', undefined, { origin: 'https://elsewhere.example' });
    expect(ms.headers['access-control-allow-origin']).toBe('*');
    const preMs = await raw(h.port, 'OPTIONS', '/msg_server', undefined, { origin: 'https://elsewhere.example' });
    expect(preMs.status).toBe(204);
    expect(preMs.headers['access-control-allow-methods']).toMatch(/GET/);
  });
});

describe('GET /msg_server', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(() => h.close());

  it('answers TeamTalk clients as before (no protocol, protocol=teamtalk)', async () => {
    await h.report('a', { connections: 5, fronts: [{ protocol: 'ws', port: 8081, path: '/ws' }] });
    const res = await raw(h.port, 'GET', '/msg_server');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers.connection).toBe('close');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    expect(res.body).toBe('{"code":0,"msg":"","priorIP":"10.0.0.1","backupIP":"10.0.0.2","port":"8000","msfsPrior":"http://files:8700","msfsBackup":"http://files:8700","discovery":""}');
    const tt = await raw(h.port, 'GET', '/msg_server?protocol=teamtalk');
    expect(JSON.parse(tt.body)).toMatchObject({ code: 0, port: '8000' });
  });

  it('?protocol=ws: the least-loaded live msg_server that has a ws front', async () => {
    expect(JSON.parse((await raw(h.port, 'GET', '/msg_server?protocol=ws')).body)).toEqual({ code: 1, msg: expect.any(String) });
    await h.report('tt-only', { connections: 0, ip: '10.0.0.9' });
    expect(JSON.parse((await raw(h.port, 'GET', '/msg_server?protocol=ws')).body)).toEqual({ code: 1, msg: expect.stringMatching(/ws/) });
    await h.report('busy', { connections: 50, ip: '10.0.0.3', fronts: [{ protocol: 'ws', port: 9000, path: '/other' }] });
    await h.report('idle', { connections: 10, ip: '10.0.0.4', fronts: [{ protocol: 'teamtalk', port: 8000 }, { protocol: 'ws', port: 8081, path: '/ws' }] });
    const res = await raw(h.port, 'GET', '/msg_server?protocol=ws');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(res.body)).toEqual({ code: 0, msg: '', protocol: 'ws', url: 'ws://10.0.0.4:8081/ws', priorIP: '10.0.0.4', port: '8081', path: '/ws' });
    // TeamTalk clients still get the least-loaded server of all.
    expect(JSON.parse((await raw(h.port, 'GET', '/msg_server')).body)).toMatchObject({ priorIP: '10.0.0.9' });
  });

  it('?protocol=ws: a front without a path gets /ws; IPv6 addresses are bracketed', async () => {
    await h.report('v6', { ip: 'fd00::1', fronts: [{ protocol: 'ws', port: 8081 }] });
    expect(JSON.parse((await raw(h.port, 'GET', '/msg_server?protocol=ws')).body)).toMatchObject({ code: 0, url: 'ws://[fd00::1]:8081/ws', path: '/ws', priorIP: 'fd00::1' });
  });

  it('?protocol=tcp12: the TCP address of the least-loaded live msg_server that has a tcp12 front', async () => {
    await h.report('ws-only', { connections: 0, ip: '10.0.0.9', fronts: [{ protocol: 'ws', port: 8081, path: '/ws' }] });
    expect(JSON.parse((await raw(h.port, 'GET', '/msg_server?protocol=tcp12')).body)).toEqual({ code: 1, msg: expect.stringMatching(/tcp12/) });
    await h.report('busy', { connections: 50, ip: '10.0.0.3', fronts: [{ protocol: 'tcp12', port: 9082 }] });
    await h.report('idle', { connections: 10, ip: '10.0.0.4', fronts: [{ protocol: 'teamtalk', port: 8000 }, { protocol: 'tcp12', port: 8082 }] });
    const res = await raw(h.port, 'GET', '/msg_server?protocol=tcp12');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ code: 0, msg: '', protocol: 'tcp12', priorIP: '10.0.0.4', backupIP: '10.0.0.2', port: '8082' });
  });

  it('an unknown protocol is a 400', async () => {
    await h.report('a');
    const res = await raw(h.port, 'GET', '/msg_server?protocol=xmpp');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ code: 400, msg: expect.stringMatching(/xmpp/) });
  });

  it('other paths and methods are 404 as before', async () => {
    expect((await raw(h.port, 'POST', '/msg_server', '')).status).toBe(404);
    expect((await raw(h.port, 'GET', '/')).status).toBe(404);
  });
});

describe('GET /chat/', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
  });
  afterAll(() => h.close());

  it('serves index.html at /chat/ and redirects /chat there', async () => {
    const res = await raw(h.port, 'GET', '/chat/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toBe('<!doctype html><title>chat</title>');
    const bare = await raw(h.port, 'GET', '/chat');
    expect(bare.status).toBe(308);
    expect(bare.headers.location).toBe('/chat/');
    const followed = await fetch(`http://127.0.0.1:${h.port}/chat`);
    expect(await followed.text()).toBe('<!doctype html><title>chat</title>');
    expect((await raw(h.port, 'GET', '/chat/index.html')).body).toBe(res.body);
  });

  it('serves files with their content types', async () => {
    const js = await raw(h.port, 'GET', '/chat/app.js');
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body).toBe('console.log(1);');
    expect((await raw(h.port, 'GET', '/chat/style.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    const svg = await raw(h.port, 'GET', '/chat/img/logo.svg');
    expect(svg.headers['content-type']).toBe('image/svg+xml');
    expect(svg.headers['x-content-type-options']).toBe('nosniff');
    const head = await raw(h.port, 'HEAD', '/chat/app.js');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe('15');
    expect(head.body).toBe('');
    expect((await raw(h.port, 'GET', '/chat/missing.js')).status).toBe(404);
    expect((await raw(h.port, 'GET', '/chat/gone.js')).status).toBe(404);
    expect((await raw(h.port, 'GET', '/chat/img')).status).toBe(404);
    expect((await raw(h.port, 'POST', '/chat/app.js', 'x')).status).toBe(405);
  });

  it('serves proto/IM.Ws.proto of the repository at /chat/proto/IM.Ws.proto', async () => {
    const res = await raw(h.port, 'GET', '/chat/proto/IM.Ws.proto');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.body).toBe(fs.readFileSync(path.resolve(__dirname, '../../../proto/IM.Ws.proto'), 'utf8'));
  });

  it('serves only the listed files: directory traversal, hidden files and links are refused', async () => {
    const secretFile = path.join(path.dirname(h.chatDir), `${path.basename(h.chatDir)}-secret.txt`);
    fs.writeFileSync(secretFile, 'TOP SECRET');
    fs.symlinkSync(secretFile, path.join(h.chatDir, 'link.txt'));
    try {
      const attempts = [
        `/chat/../${path.basename(secretFile)}`,
        `/chat/%2e%2e/${path.basename(secretFile)}`,
        `/chat/..%2f${path.basename(secretFile)}`,
        `/chat/%2E%2E%2F${path.basename(secretFile)}`,
        '/chat/img/../../../../../../etc/passwd',
        '/chat/..%5c..%5cetc%5cpasswd',
        '/chat/%2fetc%2fpasswd',
        '/chat//etc/passwd',
        '/chat/.hidden',
        '/chat/app.js%00.html',
        '/chat/%zz',
        '/chat/link.txt',
        '/chat/proto/../../package.json',
        '/chat/proto/IM.Cluster.proto',
        '/chat/proto/%2e%2e/package.json',
        '/chat/img/../app.js',
      ];
      for (const p of attempts) {
        const res = await raw(h.port, 'GET', p);
        expect({ p, status: res.status }).toEqual({ p, status: 404 });
        expect(res.body).not.toContain('TOP SECRET');
        expect(res.body).not.toContain('root:');
      }
    } finally {
      fs.rmSync(secretFile, { force: true });
    }
  });

  it('defaultChatFiles: the page of @tt/webchat, the protobufjs bundle and the schema', async () => {
    const files = defaultChatFiles();
    const bus = new MemoryBus();
    const login = await startLoginServer({
      bus,
      log: createLogger('test', { level: 'silent' }),
      metricsRegistry: new Registry(),
      subjectPrefix: 'tt',
      host: '127.0.0.1',
      port: 0,
      msfsUrl: '',
      discoveryUrl: '',
      validateUser: fakeValidate,
      auth: { secret: SECRET, ttlSeconds: 60 },
    });
    try {
      for (const [url, type] of [['/chat/', 'text/html'], ['/chat/app.js', 'text/javascript'], ['/chat/style.css', 'text/css'], ['/chat/vendor/protobuf.min.js', 'text/javascript'], ['/chat/proto/IM.Ws.proto', 'text/plain']]) {
        const res = await raw(login.port, 'GET', url);
        expect({ url, status: res.status }).toEqual({ url, status: 200 });
        expect(res.headers['content-type']).toMatch(new RegExp(`^${type}`));
        expect(res.body).toBe(fs.readFileSync(files.get(url)!, 'utf8'));
      }
      expect((await raw(login.port, 'GET', '/chat/proto/IM.Ws.proto')).body).toBe(fs.readFileSync(path.resolve(__dirname, '../../../proto/IM.Ws.proto'), 'utf8'));
    } finally {
      await login.close();
      await bus.close();
    }
  });
});

describe('Easemob REST: POST /{org}/{app}/token (the Easemob Web SDK\'s password login)', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(() => h.close());
  const post = (body: unknown, path = '/org1/app1/token') => raw(h.port, 'POST', path, typeof body === 'string' ? body : JSON.stringify(body), { 'content-type': 'application/json' });

  it('issues the same JWT as /auth/token as {access_token, expires_in}', async () => {
    const res = await post({ grant_type: 'password', username: 'alice', password: 'pässword-1', timestamp: Date.now() });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    const body = JSON.parse(res.body);
    expect(body).toMatchObject({ access_token: expect.any(String), expires_in: expect.any(Number), user: { username: 'alice', uuid: '1001' } });
    expect(body.expires_in).toBeGreaterThan(3500);
    await expect(verifyToken(body.access_token, SECRET)).resolves.toMatchObject({ userId: 1001, name: 'alice' });
  });

  it('errors are JSON with error_description (the SDK waits forever otherwise)', async () => {
    for (const [body, status, error] of [
      [{ grant_type: 'password', username: 'alice', password: 'wrong' }, 400, 'invalid_grant'],
      [{ grant_type: 'password', username: 'nobody', password: 'x' }, 400, 'invalid_grant'],
      [{ grant_type: 'client_credentials', client_id: 'x' }, 400, 'unsupported_grant_type'],
      [{ grant_type: 'password' }, 400, 'invalid_grant'],
      ['not json', 400, 'invalid_request'],
    ] as const) {
      const res = await post(body);
      expect(res.status).toBe(status);
      expect(JSON.parse(res.body)).toMatchObject({ error, error_description: expect.any(String) });
    }
    const get = await raw(h.port, 'GET', '/org1/app1/token');
    expect(get.status).toBe(405);
    expect(JSON.parse(get.body)).toMatchObject({ error_description: expect.any(String) });
  });

  it('answers the CORS preflight; other paths stay 404', async () => {
    const pre = await raw(h.port, 'OPTIONS', '/org1/app1/token', undefined, { origin: 'http://page', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    expect(pre.headers['access-control-allow-headers']).toContain('content-type');
    expect((await post({ grant_type: 'password', username: 'alice', password: 'pässword-1' }, '/org1/app1/users')).status).toBe(404);
    expect((await post({ grant_type: 'password', username: 'alice', password: 'pässword-1' }, '/a/b/c/token')).status).toBe(404);
  });
});

describe('GET /msg_server?protocol=msync', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(() => h.close());

  it('the MSync WebSocket URL and, from the same msg_server, its TCP address', async () => {
    expect(JSON.parse((await raw(h.port, 'GET', '/msg_server?protocol=msync')).body)).toEqual({ code: 1, msg: expect.stringMatching(/msync/) });
    await h.report('m', { connections: 0, ip: '10.0.0.5', fronts: [{ protocol: 'msync', port: 8083, path: '/ws' }, { protocol: 'msync-tcp', port: 8084 }] });
    expect(JSON.parse((await raw(h.port, 'GET', '/msg_server?protocol=msync')).body)).toEqual({
      code: 0, msg: '', protocol: 'msync', url: 'ws://10.0.0.5:8083/ws', priorIP: '10.0.0.5', port: '8083', path: '/ws', tcp: { host: '10.0.0.5', port: 8084 },
    });
  });
});
