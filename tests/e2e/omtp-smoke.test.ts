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
