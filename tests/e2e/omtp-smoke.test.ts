// A first look at the OMTP front (seed 004) in standalone mode: login, a
// single chat both ways with a TeamTalk client, a group, history. The full
// stories are in omtp.test.ts.
import * as omtp from '@tt/omtp';
import { IM } from '@tt/proto';
import { DEFAULT_CONTENT_KEY, OmtpClient, decryptContent } from '@tt/client';
import { startDeployment, type Deployment } from './support/deployment';
import { Fixture, PASSWORD } from './support/fixtures';

jest.setTimeout(60_000);
const { PackType: T } = omtp;

describe('OMTP front smoke (standalone)', () => {
  let d: Deployment;
  let f: Fixture;
  const clients: OmtpClient[] = [];
  beforeAll(async () => {
    d = await startDeployment('standalone', { env: { TT_CONTENT_KEY: DEFAULT_CONTENT_KEY } });
    f = new Fixture(d, 'osmoke_');
  }, 90_000);
  afterAll(async () => {
    for (const c of clients) c.close();
    f?.closeAll();
    await d?.stop();
  });

  it('logs in, chats with a TeamTalk client, and pulls history', async () => {
    const [a, b] = await f.newUsers(2);
    const ms = d.msgServers[0];
    const oa = await OmtpClient.connect(ms.host, ms.omtpPort!);
    clients.push(oa);
    const login = await oa.login(a.name, PASSWORD);
    expect(login).toMatchObject({ code: 0, clientId: a.name });
    const tb = await f.login(b, 0);
    const atTT = tb.waitFor<IM.Message.IMMsgData>(IM.BaseDefine.MessageCmdID.CID_MSG_DATA, (m) => m.fromUserId === a.id);
    const ack = await oa.sendSingle(b.name, 'hello from OMTP');
    expect(ack).toMatchObject({ code: 0, seqId: 1 });
    expect(decryptContent((await atTT).msgData)).toBe('hello from OMTP');
    const history = await oa.request(T.PT_HISTORY_MSG_PULL, omtp.HistoryMsgPullReq, { sessionId: ack.sessionId, seqId: 0, count: 10 });
    const body = history.body as omtp.HistoryMsgPullResp;
    expect(body.errorCode.code).toBe(0);
    expect(body.msgs).toHaveLength(1);
    expect(omtp.decodeStruct(omtp.MsgReq, body.msgs[0].payload)).toMatchObject({ content: 'hello from OMTP', from: a.name, to: b.name, seqId: 1 });
    expect(oa.decodeErrors).toEqual([]);
  });
});

describe('operators (standalone)', () => {
  let d: Deployment;
  let f: Fixture;
  const clients: OmtpClient[] = [];
  beforeAll(async () => {
    d = await startDeployment('standalone');
    f = new Fixture(d, 'oops_');
  }, 90_000);
  afterAll(async () => {
    for (const c of clients) c.close();
    await d?.stop();
  });

  it('ttctl notify reaches an online OMTP client as BIZ_NOTIFY; ttctl monitor grant lets a user listen in', async () => {
    const [a, b, m] = await f.newUsers(3);
    const ms = d.msgServers[0];
    const connect = async (name: string) => {
      const c = await OmtpClient.connect(ms.host, ms.omtpPort!);
      clients.push(c);
      expect((await c.login(name, PASSWORD)).code).toBe(0);
      return c;
    };
    const [ca, cb, cm] = [await connect(a.name), await connect(b.name), await connect(m.name)];
    const biz = ca.waitForPush(T.PT_MSG_BIZ_NOTIFY, omtp.MsgReq);
    expect(await d.ttctl('notify', '--user', a.name, 'payroll is out')).toMatch(/sent to 1 user/);
    expect((await biz).body).toMatchObject({ sessionId: 'biz', content: 'payroll is out', to: a.name, from: 'operator' });

    const session = (await ca.sendSingle(b.name, 'first')).sessionId;
    const refused = await cm.request(T.PT_SESSION_MONITOR_START, omtp.SessionMonitor, { sessionId: session });
    expect((refused.body as omtp.CommonErrorCode).code).toBe(403);
    await d.ttctl('monitor', 'grant', m.name);
    const started = await cm.request(T.PT_SESSION_MONITOR_START, omtp.SessionMonitor, { sessionId: session });
    expect((started.body as omtp.CommonErrorCode).code).toBe(0);
    const copy = cm.waitForPush(T.PT_MSG_SINGLE_CHAT, omtp.MsgReq);
    await cb.sendSingle(a.name, 'second');
    expect((await copy).body).toMatchObject({ from: b.name, to: a.name, content: 'second', sessionId: session });
    const synced = await cm.request(T.PT_SESSION_MONITOR_SYNC);
    expect((synced.body as omtp.HotSessionResp).sessions.map((s) => s.sessionId)).toEqual([session]);
    expect(await d.ttctl('monitor', 'log', '--user', m.name)).toMatch(/start/);
  });
});
