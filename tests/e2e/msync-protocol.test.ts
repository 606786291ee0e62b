// The MSync front (seed 002) at the protocol level, with our own small
// client: the TCP transport (4-byte big-endian length), the device queue and
// its durable key across msg_servers, meta-id de-duplication, the device
// limit, bad input, and login_server's Easemob REST surface. Both modes.
import { issueToken } from '@tt/auth';
import { IM } from '@tt/proto';
import { DEFAULT_CONTENT_KEY, MsyncClient, decryptContent, fetchToken } from '@tt/client';
import { MODES, describeLocal, startDeployment, type Deployment, type Mode } from './support/deployment';
import { Fixture, PASSWORD, type TestUser } from './support/fixtures';

jest.setTimeout(60_000);

const { Command } = IM.MSync.MSync;
const { ErrorCode } = IM.MSync.Status;
const { MessageCmdID } = IM.BaseDefine;
const BodyType = IM.MSync.MessageBody.Type;

describe.each<Mode>(MODES)('the MSync front (%s mode)', (mode) => {
  let d: Deployment;
  let f: Fixture;
  const clients: MsyncClient[] = [];
  let metaId = 1000n;

  beforeAll(async () => {
    d = await startDeployment(mode, {
      msgServers: mode === 'cluster' ? 2 : 1,
      env: { TT_CONTENT_KEY: DEFAULT_CONTENT_KEY, MSG_SERVER_MSYNC_MAX_DEVICES: '2', MSG_SERVER_MSYNC_NEW_DEVICE_BACKLOG: '1' },
    });
    f = new Fixture(d, `mp_${mode}_`);
  }, 90_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    f?.closeAll();
    await d?.stop();
  });

  const ms = (which: number) => d.msgServers[which % d.msgServers.length];
  const overWs = async (which = 0) => {
    const c = await MsyncClient.connectWs(ms(which).msyncUrl!);
    clients.push(c);
    return c;
  };
  const overTcp = async (which = 0) => {
    const c = await MsyncClient.connectTcp(ms(which).host, ms(which).msyncTcpPort!);
    clients.push(c);
    return c;
  };
  const device = async (user: TestUser, resource: string, opts: { which?: number; tcp?: boolean } = {}) => {
    const c = opts.tcp ? await overTcp(opts.which) : await overWs(opts.which);
    const token = await fetchToken(d.loginUrl, user.name, PASSWORD);
    const p = await c.provision({ name: user.name, resource, token });
    expect(p.status?.errorCode ?? 0).toBe(ErrorCode.OK);
    expect(p.resource).toBe(resource);
    return c;
  };
  const texts = (metas: Awaited<ReturnType<MsyncClient['pullAll']>>) => metas.filter((m) => m.body?.type !== BodyType.RECALL).map((m) => m.body?.contents[0]?.text);

  it('over TCP: a device sends (acked with a server id), a TeamTalk client gets it, the peer device is told (NOTICE) and pulls it', async () => {
    const [a, b, tt] = [await f.newUser(), await f.newUser(), await f.newUser()];
    const cA = await device(a, 'tcp_a', { tcp: true, which: 0 });
    const cB = await device(b, 'web_b', { which: 1 });
    const cTT = await f.login(tt, 1);

    const notice = cB.waitFor(Command.NOTICE);
    const ack = await cA.sendText(b.name, 'over tcp', { metaId: ++metaId });
    expect(ack.dl.status?.errorCode ?? 0).toBe(ErrorCode.OK);
    expect(ack.metaId).toBe(metaId);
    expect(ack.serverId).toBeGreaterThan(0n);
    const n = IM.MSync.CommNotice.decode((await notice).payload);
    expect(n.queue?.name).toBe(b.name);
    const unread = await cB.unread();
    expect(unread.unread[0]?.n).toBeGreaterThanOrEqual(1);
    const pulled = await cB.pull();
    expect(pulled.dl.isLast).toBe(false);
    const meta = pulled.metas.find((m) => m.body?.contents[0]?.text === 'over tcp')!;
    expect(meta.id).toBe(ack.serverId);
    expect(meta.meta.from).toMatchObject({ name: a.name });
    expect(meta.body).toMatchObject({ type: BodyType.CHAT, from: { name: a.name }, to: { name: b.name } });
    // Confirming with next_key ends the pull.
    expect((await cB.pull(Number(pulled.dl.nextKey))).dl.isLast).toBe(true);

    const arrival = cTT.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.fromUserId === a.id);
    await cA.sendText(tt.name, 'to teamtalk over tcp', { metaId: ++metaId });
    expect(decryptContent((await arrival).msgData)).toBe('to teamtalk over tcp');
    // The sender's own messages are not handed back to the device that sent them.
    expect(texts(await cA.pullAll())).toEqual([]);
  });

  it('a device continues from its confirmed key after a reconnect, on any msg_server; a new device starts near the newest', async () => {
    const [a, b] = [await f.newUser(), await f.newUser()];
    const cB = await device(b, 'sender');
    let cA = await device(a, 'phone', { which: 0 });
    await cB.sendText(a.name, 'one', { metaId: ++metaId });
    expect(texts(await cA.pullAll())).toEqual(['one']);
    cA.close();
    for (const t of ['two', 'three', 'four']) await cB.sendText(a.name, t, { metaId: ++metaId });

    cA = await device(a, 'phone', { which: 1 });
    expect(texts(await cA.pullAll())).toEqual(['two', 'three', 'four']);
    // A device that has not confirmed its last pull gets it again.
    await cB.sendText(a.name, 'five', { metaId: ++metaId });
    expect(texts((await cA.pull()).metas)).toEqual(['five']);
    cA.close();
    cA = await device(a, 'phone', { which: 0 });
    expect(texts(await cA.pullAll())).toEqual(['five']);

    // A new device of the user: MSG_SERVER_MSYNC_NEW_DEVICE_BACKLOG (1 here) back from the newest.
    const tablet = await device(a, 'tablet', { which: 1 });
    expect(texts(await tablet.pullAll())).toEqual(['five']);
  });

  it('a resend of a meta id is the same message (same server id, delivered once); a recall reaches the peer as a RECALL meta', async () => {
    const [a, b] = [await f.newUser(), await f.newUser()];
    const cA = await device(a, 'a1');
    const cB = await device(b, 'b1', { which: 1 });
    const id = ++metaId;
    const first = await cA.sendText(b.name, 'once', { metaId: id });
    const again = await cA.sendText(b.name, 'once', { metaId: id });
    expect(again.serverId).toBe(first.serverId);
    const got = await cB.pullAll();
    expect(texts(got)).toEqual(['once']);

    // 64-bit meta ids are echoed exactly.
    const big = (1n << 62n) + 12345n;
    expect((await cA.sendText(b.name, 'big id', { metaId: big })).metaId).toBe(big);

    const recalled = await cA.recall(b.name, first.serverId, { metaId: ++metaId });
    expect(recalled.dl.status?.errorCode ?? 0).toBe(ErrorCode.OK);
    const after = await cB.pullAll();
    const recall = after.find((m) => m.body?.type === BodyType.RECALL)!;
    expect(recall.ackMessageId).toBe(first.serverId);
    // The peer may not recall the sender's message; a server id of another conversation is refused.
    const second = await cA.sendText(b.name, 'not yours', { metaId: ++metaId });
    expect((await cB.recall(a.name, second.serverId, { metaId: ++metaId })).dl.status?.errorCode).toBe(ErrorCode.PERMISSION_DENIED);
    expect((await cA.recall(b.name, second.serverId ^ (1n << 40n), { metaId: ++metaId })).dl.status?.errorCode).toBe(ErrorCode.WRONG_PARAMETER);
  });

  it('at most MSG_SERVER_MSYNC_MAX_DEVICES devices (2 here): a third gets TOO_MANY_DEVICES; a LOGOUT frees its place', async () => {
    const a = await f.newUser();
    const one = await device(a, 'd1');
    await device(a, 'd2', { which: 1 });
    const third = await overWs();
    const token = await fetchToken(d.loginUrl, a.name, PASSWORD);
    expect((await third.provision({ name: a.name, resource: 'd3', token })).status?.errorCode).toBe(ErrorCode.TOO_MANY_DEVICES);
    await third.closed;
    const out = IM.MSync.Logout.decode((await one.logout()).payload);
    expect(out.status?.errorCode ?? 0).toBe(ErrorCode.OK);
    await device(a, 'd3');
  });

  it('bad input gets a Status or a close, never a crash', async () => {
    const a = await f.newUser();
    const token = await fetchToken(d.loginUrl, a.name, PASSWORD);

    // Commands before PROVISION: UNAUTHORIZED, then the connection is closed.
    const early = await overWs();
    const refused = await early.request(Command.SYNC, IM.MSync.CommSyncUL.encode({ key: 1 }).finish());
    expect(IM.MSync.CommSyncDL.decode(refused.payload).status?.errorCode).toBe(ErrorCode.UNAUTHORIZED);
    expect((await early.closed).code).toBe(1008);

    // A bad token, a wrong password, no credentials.
    const badToken = await overWs();
    expect((await badToken.provision({ name: a.name, resource: 'x', token: 'not.a.token' })).status?.errorCode).toBe(ErrorCode.UNAUTHORIZED);
    const badPassword = await overTcp();
    expect((await badPassword.provision({ name: a.name, resource: 'x', password: 'wrong' })).status?.errorCode).toBe(ErrorCode.UNAUTHORIZED);
    const password = await overTcp();
    expect((await password.provision({ name: a.name, resource: 'pw', password: PASSWORD })).status?.errorCode ?? 0).toBe(ErrorCode.OK);
    const nothing = await overWs();
    expect((await nothing.provision({ name: a.name, resource: 'x' })).status?.errorCode).toBe(ErrorCode.MISSING_PARAMETER);

    // Logged in: an unknown command and an unparsable payload get their Status; the connection lives on.
    const c = await overWs();
    expect((await c.provision({ name: a.name, resource: 'bad', token })).status?.errorCode ?? 0).toBe(ErrorCode.OK);
    expect(IM.MSync.CommSyncDL.decode((await c.request(9, new Uint8Array())).payload).status?.errorCode).toBe(ErrorCode.UNKNOWN_COMMAND);
    expect(IM.MSync.CommSyncDL.decode((await c.request(Command.SYNC, Buffer.from([0x0a, 0x05, 0x01]))).payload).status?.errorCode).toBe(ErrorCode.PB_PARSER_ERROR);
    expect((await c.sendText('nobody_here_at_all', 'hi', { metaId: ++metaId })).dl.status?.errorCode).toBe(ErrorCode.WRONG_PARAMETER);
    expect((await c.unread()).status?.errorCode ?? 0).toBe(ErrorCode.OK);

    // Not an MSync message: WebSocket 1007; a text frame: 1003.
    const garbage = await overWs();
    garbage.sendRaw(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
    expect((await garbage.closed).code).toBe(1007);
    const textFrame = await overWs();
    textFrame.sendRaw(Buffer.from('hello'), { text: true });
    expect((await textFrame.closed).code).toBe(1003);

    // TCP: a zero or oversized length, or garbage inside a good length, closes the connection.
    for (const bytes of [Buffer.from([0, 0, 0, 0]), Buffer.from([0x7f, 0xff, 0xff, 0xff]), Buffer.from([0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0x0f])]) {
      const t = await overTcp();
      t.sendRaw(bytes);
      await t.closed;
    }
    // The server still serves.
    expect((await c.unread()).status?.errorCode ?? 0).toBe(ErrorCode.OK);
  });

  it('login_server: GET /msg_server?protocol=msync names the WebSocket URL and the TCP address; POST /{org}/{app}/token speaks Easemob', async () => {
    const where = (await (await fetch(`${d.loginUrl}/msg_server?protocol=msync`)).json()) as { code: number; url: string; tcp: { host: string; port: number } };
    expect(where.code).toBe(0);
    expect(d.msgServers.map((m) => m.msyncUrl)).toContain(where.url);
    expect(d.msgServers.map((m) => m.msyncTcpPort)).toContain(where.tcp.port);

    const a = await f.newUser();
    const token = async (body: unknown) => {
      const res = await fetch(`${d.loginUrl}/ttorg/ttapp/token`, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://page.example' }, body: JSON.stringify(body) });
      return { status: res.status, cors: res.headers.get('access-control-allow-origin'), body: (await res.json()) as Record<string, unknown> };
    };
    const good = await token({ grant_type: 'password', username: a.name, password: PASSWORD, timestamp: Date.now() });
    expect(good).toMatchObject({ status: 200, cors: '*', body: { access_token: expect.any(String), expires_in: expect.any(Number) } });
    // The same JWT as POST /auth/token: it logs in on every front.
    const c = await overTcp();
    expect((await c.provision({ name: a.name, resource: 'rest', token: good.body.access_token as string })).status?.errorCode ?? 0).toBe(ErrorCode.OK);
    expect(await token({ grant_type: 'password', username: a.name, password: 'wrong' })).toMatchObject({ status: 400, body: { error: 'invalid_grant', error_description: expect.any(String) } });
    expect(await token({ grant_type: 'client_credentials' })).toMatchObject({ status: 400, body: { error_description: expect.any(String) } });
    const preflight = await fetch(`${d.loginUrl}/ttorg/ttapp/token`, { method: 'OPTIONS', headers: { origin: 'http://page.example', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
  });
});


describeLocal('the MSync front with one device per user (standalone)', () => {
  let d: Deployment;
  let f: Fixture;
  const clients: MsyncClient[] = [];

  beforeAll(async () => {
    d = await startDeployment('standalone', { env: { MSG_SERVER_MSYNC_MAX_DEVICES: '1' } });
    f = new Fixture(d, 'mp1_');
  }, 90_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await d?.stop();
  });

  const connect = async () => {
    const c = await MsyncClient.connectWs(d.msgServers[0].msyncUrl!);
    clients.push(c);
    return c;
  };

  it('a second device gets BIND_ANOTHER_DEVICE and is closed; the bound device gets back in; an expired token is TOKEN_EXPIRED', async () => {
    const a = await f.newUser();
    const token = await fetchToken(d.loginUrl, a.name, PASSWORD);
    expect((await (await connect()).provision({ name: a.name, resource: 'only', token })).status?.errorCode ?? 0).toBe(ErrorCode.OK);
    const second = await connect();
    const refused = await second.provision({ name: a.name, resource: 'other', token });
    expect(refused.status).toMatchObject({ errorCode: ErrorCode.BIND_ANOTHER_DEVICE, reason: expect.stringContaining('only') });
    expect((await second.closed).code).toBe(1008);
    expect((await (await connect()).provision({ name: a.name, resource: 'only', token })).status?.errorCode ?? 0).toBe(ErrorCode.OK);

    const expired = await issueToken({ userId: a.id, name: a.name }, { secret: d.authSecret!, ttlSeconds: 60, now: () => Date.now() - 3_600_000 });
    const late = await connect();
    expect((await late.provision({ name: a.name, resource: 'only', token: expired.token })).status?.errorCode).toBe(ErrorCode.TOKEN_EXPIRED);
  });
});
