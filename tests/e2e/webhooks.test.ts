// Webhooks (docs/API.md "Webhooks") end to end, in both modes: an operator
// registers URLs through the API; a small HTTP server on 127.0.0.1 receives
// message.stored and user.login/logout calls, signed with the webhook's
// secret; a receiver that fails is called again until it answers 2xx; a
// before_send webhook rejects a message (TeamTalk: no ack, WebSocket: an
// error, nothing stored) and a slow one lets messages through (fail-open) or
// refuses them (fail-closed).
import { createHmac } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { IM } from '@tt/proto';
import { deleteJobStreams } from '@tt/bus';
import { clusterSubjects } from '@tt/proto';
import { DEFAULT_CONTENT_KEY, WsImClient, encryptContent, fetchToken } from '@tt/client';
import { MODES, startDeployment, waitUntil, type Deployment, type Mode } from './support/deployment';
import { Fixture, PASSWORD } from './support/fixtures';

jest.setTimeout(90_000);

const { MessageCmdID, MsgType } = IM.BaseDefine;
const ROOT_PASSWORD = 'root-s3cret';
/** msg_servers read the settings at once when the API changes them; this covers the bus round trip. */
const SETTLE_MS = 1000;

interface Call {
  path: string;
  event: string;
  signature: string;
  raw: string;
  body: { event: string; at: number; data: Record<string, any> };
  answered: number;
}

/** The receiver: records every call; what it answers depends on the path. */
class Receiver {
  readonly calls: Call[] = [];
  private server!: http.Server;
  url = '';
  private flakyFailures = 0;

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const path = req.url ?? '';
        const call: Call = { path, event: String(req.headers['x-tt-event']), signature: String(req.headers['x-tt-signature']), raw, body: JSON.parse(raw), answered: 200 };
        this.calls.push(call);
        const answer = (status: number, body = '') => {
          call.answered = status;
          res.writeHead(status, { 'content-type': 'application/json' }).end(body);
        };
        if (path === '/flaky') return this.flakyFailures++ < 2 ? answer(500, '{"error":"down"}') : answer(200);
        if (path === '/gate') {
          const text = String(call.body.data.text ?? '');
          return answer(200, JSON.stringify(text.includes('forbidden') ? { allow: false, reason: 'no forbidden words' } : { allow: true }));
        }
        if (path === '/slow') return void setTimeout(() => answer(200, '{"allow":true}'), 3000).unref();
        answer(200, '{}');
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  of(path: string, event?: string): Call[] {
    return this.calls.filter((c) => c.path === path && (!event || c.event === event));
  }

  close(): void {
    this.server.closeAllConnections();
    this.server.close();
  }
}

const hmac = (secret: string, raw: string) => `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;

describe.each<Mode>(MODES)('webhooks (%s mode)', (mode) => {
  let d: Deployment;
  let f: Fixture;
  let api: string;
  let token: string;
  const receiver = new Receiver();
  const prefix = `ttwh${randomBytes(4).toString('hex')}`;
  const wsClients: WsImClient[] = [];

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${api}${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  async function expectStatus(status: number, method: string, path: string, body?: unknown): Promise<any> {
    const res = await call(method, path, body);
    if (res.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));

  /** Texts of the stored messages a user sent (the API decrypts them with the content key). */
  const storedTexts = async (fromId: number): Promise<string[]> => (await expectStatus(200, 'GET', `/messages?fromId=${fromId}&limit=200`)).items.map((m: { text: string }) => m.text);

  async function wsLogin(name: string): Promise<WsImClient> {
    const c = await WsImClient.connect(d.msgServers[0].wsUrl!);
    wsClients.push(c);
    const auth = await c.auth(name, await fetchToken(d.loginUrl, name, PASSWORD), 'Web');
    if (auth.errorCode) throw new Error(`ws auth of ${name}: ${auth.errorCode} ${auth.errorMsg}`);
    return c;
  }

  /** Sends a TeamTalk text; resolves with the ack, or null when none came within `ms`. */
  async function ttSend(c: Awaited<ReturnType<Fixture['login']>>, toId: number, text: string, ms = 2500): Promise<IM.Message.IMMsgDataAck | null> {
    try {
      return await c.request<IM.Message.IMMsgDataAck>(MessageCmdID.CID_MSG_DATA, IM.Message.IMMsgData, { fromUserId: c.userId, toSessionId: toId, msgId: 0, createTime: Math.floor(Date.now() / 1000), msgType: MsgType.MSG_TYPE_SINGLE_TEXT, msgData: encryptContent(text) }, ms);
    } catch {
      return null;
    }
  }

  beforeAll(async () => {
    await receiver.start();
    d = await startDeployment(mode, { env: { TT_CONTENT_KEY: DEFAULT_CONTENT_KEY, ADMIN_API_RATE_LIMIT: '100000', ...(mode === 'cluster' ? { TT_SUBJECT_PREFIX: prefix } : {}) } });
    f = new Fixture(d, `wh_${mode}_`);
    api = `${d.loginUrl}/api/v1`;
    await d.ttctl('admin', 'add', 'root', '--password', ROOT_PASSWORD);
    const res = await fetch(`${api}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'root', password: ROOT_PASSWORD }) });
    token = ((await res.json()) as { token: string }).token;
  }, 90_000);

  afterAll(async () => {
    for (const c of wsClients) c.close();
    f?.closeAll();
    await d?.stop();
    receiver.close();
    if (mode === 'cluster') {
      const s = clusterSubjects(prefix);
      await deleteJobStreams('nats://127.0.0.1:4222', s.webhookStream, s.webhookJobs).catch(() => {});
    }
  });

  it('registers webhooks (admin writes, audited; the secret is shown once) and refuses bad ones', async () => {
    const created = await expectStatus(201, 'POST', '/webhooks', { event: 'user.login', url: `${receiver.url}/made` });
    expect(created).toMatchObject({ event: 'user.login', enabled: true, timeoutMs: 5000, failOpen: true });
    expect(created.secret).toMatch(/^whsec_/);
    const listed = (await expectStatus(200, 'GET', '/webhooks')).items;
    expect(listed.find((w: { id: number }) => w.id === created.id)).not.toHaveProperty('secret');
    expect((await expectStatus(200, 'PATCH', `/webhooks/${created.id}`, { enabled: false })).enabled).toBe(false);
    await expectStatus(204, 'DELETE', `/webhooks/${created.id}`);
    await expectStatus(404, 'DELETE', `/webhooks/${created.id}`);
    expect((await call('POST', '/webhooks', { event: 'message.sent', url: `${receiver.url}/x` })).status).toBe(400);
    expect((await call('POST', '/webhooks', { event: 'user.login', url: 'ftp://example.com/x' })).status).toBe(400);
    expect((await call('POST', '/webhooks', { event: 'user.login', url: `${receiver.url}/x`, secret: 'short' })).status).toBe(400);
    expect((await call('POST', '/webhooks', { event: 'user.login', url: `${receiver.url}/x`, timeoutMs: 1 })).status).toBe(400);
    const audit = (await expectStatus(200, 'GET', '/audit?limit=10')).items.map((e: { action: string; detail: string }) => e);
    expect(audit.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['webhook.create', 'webhook.update', 'webhook.delete']));
    expect(JSON.stringify(audit)).not.toContain('whsec_');
  });

  it('message.stored, user.login and user.logout arrive signed with the secret', async () => {
    const secret = 'a-shared-secret-of-the-receiver';
    const hooks = [];
    for (const event of ['message.stored', 'user.login', 'user.logout']) hooks.push(await expectStatus(201, 'POST', '/webhooks', { event, url: `${receiver.url}/ok`, secret }));
    await settle();
    const [ann, ben] = await f.newUsers(2);
    const annTT = await f.login(ann);
    await waitUntil(() => receiver.of('/ok', 'user.login').some((c) => c.body.data.userId === ann.id), 10_000, 'user.login of ann');
    expect(await ttSend(annTT, ben.id, 'hello hooks')).not.toBeNull();
    await waitUntil(() => receiver.of('/ok', 'message.stored').some((c) => c.body.data.fromId === ann.id), 10_000, 'message.stored');
    const stored = receiver.of('/ok', 'message.stored').find((c) => c.body.data.fromId === ann.id)!;
    expect(stored.body).toMatchObject({ event: 'message.stored', data: { fromId: ann.id, toId: ben.id, sessionType: 1, kind: 'text', text: 'hello hooks', fromName: ann.name, toName: ben.name } });
    expect(stored.body.data.messageId).toMatch(/^si_.+:\d+$/);
    expect(Math.abs(stored.body.at - Date.now())).toBeLessThan(60_000);
    annTT.close();
    await waitUntil(() => receiver.of('/ok', 'user.logout').some((c) => c.body.data.userId === ann.id), 10_000, 'user.logout of ann');
    const login = receiver.of('/ok', 'user.login').find((c) => c.body.data.userId === ann.id)!;
    expect(login.body.data).toMatchObject({ userId: ann.id, front: 'teamtalk' });
    for (const c of receiver.of('/ok')) expect(c.signature).toBe(hmac(secret, c.raw));
    for (const h of hooks) await expectStatus(204, 'DELETE', `/webhooks/${h.id}`);
  });

  it('a failing receiver is called again with back-off until it answers 2xx', async () => {
    const hook = await expectStatus(201, 'POST', '/webhooks', { event: 'message.stored', url: `${receiver.url}/flaky` });
    await settle();
    const [cat, dan] = await f.newUsers(2);
    const catTT = await f.login(cat);
    expect(await ttSend(catTT, dan.id, 'retry me')).not.toBeNull();
    await waitUntil(() => receiver.of('/flaky').some((c) => c.answered === 200), 20_000, 'the third attempt');
    const attempts = receiver.of('/flaky');
    expect(attempts.map((c) => c.answered)).toEqual([500, 500, 200]);
    // The same body each time, signed with the secret made at creation.
    expect(new Set(attempts.map((c) => c.raw)).size).toBe(1);
    for (const c of attempts) expect(c.signature).toBe(hmac(hook.secret, c.raw));
    await expectStatus(204, 'DELETE', `/webhooks/${hook.id}`);
  });

  it('before_send rejects a message: TeamTalk gets no ack, WebSocket an error, nothing is stored', async () => {
    const hook = await expectStatus(201, 'POST', '/webhooks', { event: 'message.before_send', url: `${receiver.url}/gate`, timeoutMs: 2000 });
    await settle();
    const [eve, fay] = await f.newUsers(2);
    const eveTT = await f.login(eve);
    expect(await ttSend(eveTT, fay.id, 'this is forbidden')).toBeNull();
    expect(await ttSend(eveTT, fay.id, 'this is fine')).not.toBeNull();
    const fayWs = await wsLogin(fay.name);
    const refused = await fayWs.sendText({ receiverId: eve.name }, 'forbidden from the web');
    expect(refused.errorCode).toBe(IM.Ws.ErrorCode.ERR_PERMISSION_DENIED);
    expect(refused.errorMsg).toContain('no forbidden words');
    expect((await fayWs.sendText({ receiverId: eve.name }, 'fine from the web')).errorCode).toBe(0);
    expect(await storedTexts(eve.id)).toEqual(['this is fine']);
    expect(await storedTexts(fay.id)).toEqual(['fine from the web']);
    // The gate saw all four, signed.
    expect(receiver.of('/gate').map((c) => c.body.data.text).sort()).toEqual(['fine from the web', 'forbidden from the web', 'this is fine', 'this is forbidden']);
    for (const c of receiver.of('/gate')) expect(c.signature).toBe(hmac(hook.secret, c.raw));

    // A receiver too slow to answer: fail-open lets messages through, fail-closed refuses them.
    await expectStatus(200, 'PATCH', `/webhooks/${hook.id}`, { url: `${receiver.url}/slow`, timeoutMs: 300, failOpen: true });
    await settle();
    expect(await ttSend(eveTT, fay.id, 'open when slow')).not.toBeNull();
    await expectStatus(200, 'PATCH', `/webhooks/${hook.id}`, { failOpen: false });
    await settle();
    expect(await ttSend(eveTT, fay.id, 'closed when slow')).toBeNull();
    const closed = await fayWs.sendText({ receiverId: eve.name }, 'closed from the web');
    expect(closed.errorCode).toBe(IM.Ws.ErrorCode.ERR_PERMISSION_DENIED);
    expect(await storedTexts(eve.id)).toEqual(expect.arrayContaining(['this is fine', 'open when slow']));
    expect(await storedTexts(eve.id)).not.toContain('closed when slow');
    expect(await storedTexts(fay.id)).toEqual(['fine from the web']);

    // Gone: messages are stored without asking.
    await expectStatus(204, 'DELETE', `/webhooks/${hook.id}`);
    await settle();
    expect(await ttSend(eveTT, fay.id, 'no gate now')).not.toBeNull();
  });
});
