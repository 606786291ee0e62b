// The bench's WebSocket connection against a tiny in-test front (a real
// socket on 127.0.0.1): auth, sends answered by message_id, pushes turned
// into deliveries with TeamTalk ids, acks, and the id/seq checks.
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { IM } from '@tt/proto';
import { ConnStats, type Delivery } from './conn';
import { decodePayload, encodeTextPayload } from './payload';
import { Directory, WsBenchConnection } from './ws-conn';

const Ws = IM.Ws;
const C = IM.Ws.CommandType;
const { MsgType } = IM.BaseDefine;

const frame = (command: number, sequence: number, body: Uint8Array) => Ws.WebSocketMessage.encode({ command, sequence, body, timestamp: Date.now() }).finish();

let wss: WebSocketServer;
let server: WebSocket;
let got: IM.Ws.WebSocketMessage[];
let handler: (m: IM.Ws.WebSocketMessage) => void;
let conn: WsBenchConnection;
let stats: ConnStats;
const dir = new Directory();
dir.add('alice', 11);
dir.add('bob', 12);
dir.add('carol', 13);

beforeEach(async () => {
  got = [];
  handler = () => undefined;
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const connected = new Promise<WebSocket>((r) => wss.once('connection', r));
  stats = new ConnStats();
  conn = await WsBenchConnection.connect({ url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`, stats, directory: dir, localAddress: '127.0.0.2' });
  server = await connected;
  server.on('message', (data: Buffer) => {
    const m = Ws.WebSocketMessage.decode(data);
    got.push(m);
    handler(m);
  });
});
afterEach(async () => {
  conn.close();
  for (const c of wss.clients) c.terminate();
  await new Promise((r) => wss.close(r));
});

const until = async (check: () => boolean) => {
  const end = Date.now() + 3000;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('auth names the account; the connection takes its TeamTalk id from the directory', async () => {
  handler = (m) => server.send(frame(C.CMD_AUTH_RSP, m.sequence, Ws.AuthResponse.encode({ maxSeq: 3 }).finish()));
  const res = await conn.auth('bob', 'tok', 'Android');
  expect(res.errorCode).toBe(0);
  expect(conn.userId).toBe(12);
  expect(conn.maxSeq).toBe(3);
  expect(Ws.AuthRequest.decode(got[0].body)).toMatchObject({ userId: 'bob', token: 'tok', platform: 'Android' });
});

test('sendMsg: receiver by name or group by id; answers go to onMsgAck (msg_id of message_id) or onMsgReject', async () => {
  const acks: Array<[number, number]> = [];
  const rejects: Array<[number, number]> = [];
  conn.onMsgAck = (seq, msgId) => acks.push([seq, msgId]);
  conn.onMsgReject = (seq, code) => rejects.push([seq, code]);
  handler = (m) => {
    const q = Ws.SendMessageRequest.decode(m.body);
    const rsp = q.groupId === '9' ? { errorCode: IM.Ws.ErrorCode.ERR_SEND_TOO_FAST } : { messageId: `si_alice_bob:${40 + m.sequence}`, seq: m.sequence };
    server.send(frame(C.CMD_SEND_MSG_RSP, m.sequence, Ws.SendMessageResponse.encode(rsp).finish()));
  };
  const s1 = conn.sendMsg(12, MsgType.MSG_TYPE_SINGLE_TEXT, Buffer.from('hi'));
  const s2 = conn.sendMsg(9, MsgType.MSG_TYPE_GROUP_TEXT, Buffer.from('all'));
  expect(s2).toBe(s1 + 1);
  await until(() => acks.length + rejects.length === 2);
  expect(acks).toEqual([[s1, 40 + s1]]);
  expect(rejects).toEqual([[s2, IM.Ws.ErrorCode.ERR_SEND_TOO_FAST]]);
  const q1 = Ws.SendMessageRequest.decode(got[0].body);
  expect(q1).toMatchObject({ receiverId: 'bob', groupId: '', messageType: 1 });
  expect(q1.clientMsgId).not.toBe('');
  expect(Buffer.from(q1.content).toString()).toBe('hi');
  expect(Ws.SendMessageRequest.decode(got[1].body)).toMatchObject({ receiverId: '', groupId: '9' });
  expect(stats.wsErrorResponses).toBe(1);
});

test('pushes become deliveries with TeamTalk ids, are acked, and have their ids and seq checked', async () => {
  handler = (m) => {
    if (m.command === C.CMD_AUTH_REQ) server.send(frame(C.CMD_AUTH_RSP, m.sequence, Ws.AuthResponse.encode({}).finish()));
  };
  await conn.auth('bob', 't', 'Web');
  const seen: Array<Omit<Delivery, 'msgData'> & { text: string }> = [];
  conn.onDeliver = (d) => seen.push({ fromUserId: d.fromUserId, toSessionId: d.toSessionId, msgId: d.msgId, msgType: d.msgType, text: Buffer.from(d.msgData).toString() });
  const payload = encodeTextPayload({ runTag: 5, stream: 1, seq: 2, sentAt: 3 }, 64);
  const push = (p: IM.Ws.IPushMessage) => server.send(frame(C.CMD_PUSH_MSG, 0, Ws.PushMessage.encode(p).finish()));
  push({ messageId: 'si_alice_bob:7', conversationId: 'si_alice_bob', senderId: 'alice', receiverId: 'bob', messageType: 1, content: payload, seq: 1 });
  push({ messageId: 'sg_9:3', conversationId: 'sg_9', senderId: 'carol', groupId: '9', messageType: 1, content: Buffer.from('g'), seq: 2 });
  push({ messageId: 'si_bob_carol:8', conversationId: 'si_alice_bob', senderId: 'carol', receiverId: 'bob', messageType: 1, content: Buffer.from('x'), seq: 2 }); // wrong conversation, seq not increasing
  push({ messageId: 'sg_9-4', conversationId: 'sg_9', senderId: 'carol', groupId: '9', messageType: 2, content: Buffer.from('y') }); // no seq, not a message_id
  push({ messageId: 'si_1_bob:9', conversationId: 'si_1_bob', senderId: '1', receiverId: 'bob', messageType: 1, content: Buffer.from('z'), seq: 5 }); // a user id, not an account name
  await until(() => seen.length === 5 && got.length === 6);
  expect(seen[0]).toMatchObject({ fromUserId: 11, toSessionId: 12, msgId: 7, msgType: MsgType.MSG_TYPE_SINGLE_TEXT });
  expect(decodePayload(Buffer.from(seen[0].text, 'latin1'), 5)).toMatchObject({ ok: true, payload: { stream: 1, seq: 2 } });
  expect(seen[1]).toEqual({ fromUserId: 13, toSessionId: 9, msgId: 3, msgType: MsgType.MSG_TYPE_GROUP_TEXT, text: 'g' });
  expect(seen[3]).toMatchObject({ msgId: 0, msgType: 0x102 });
  expect(seen[4]).toMatchObject({ fromUserId: -1, toSessionId: 12, msgId: 9 });
  expect(stats).toMatchObject({ wsIdErrors: 2, wsUnknownNames: 1, wsSeqRegressions: 1, wsMissingSeq: 1, decodeErrors: 0 });
  const acks = got.filter((m) => m.command === C.CMD_MSG_ACK);
  expect(acks.map((m) => m.sequence)).toEqual([0, 0, 0, 0, 0]);
  expect(acks.map((m) => Ws.MessageAck.decode(m.body).messageId)).toEqual(['si_alice_bob:7', 'sg_9:3', 'si_bob_carol:8', 'sg_9-4', 'si_1_bob:9']);
  expect(Ws.MessageAck.decode(acks[1].body).seq).toBe(2);
  expect(stats.byWsCommand.get(C.CMD_PUSH_MSG)).toBe(5);
});

test('a server close is counted with its code; pending requests fail', async () => {
  const pending = conn.auth('bob', 't', 'Web');
  let closed = false;
  conn.onClosed = () => (closed = true);
  server.close(1008, 'policy');
  await expect(pending).rejects.toThrow(/closed \(1008\)/);
  expect(closed).toBe(true);
  expect(stats.closedByServer).toBe(1);
  expect(stats.wsCloseCodes.get(1008)).toBe(1);
  expect(conn.closed).toBe(true);
});
