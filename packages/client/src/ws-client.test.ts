// WsImClient against a tiny WebSocket server in the test (a real socket on
// 127.0.0.1): frame encoding and decoding, request/response matching by
// sequence, pushes, acks, closes, and the login_server helpers.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { IM } from '@tt/proto';
import { decodeFrame, encodeFrame, fetchToken, groupConversationId, ok, parseMessageId, singleConversationId, WsImClient, WsResponseError, wsUrlVia } from './ws-client';

const Ws = IM.Ws;
const C = IM.Ws.CommandType;
const E = IM.Ws.ErrorCode;

interface Received {
  command: number;
  sequence: number;
  timestamp: number;
  body: Uint8Array;
  isBinary: boolean;
  raw: Buffer;
}

/** A test server: records every frame, answers through `handler` (default: nothing). */
class FakeFront {
  readonly frames: Received[] = [];
  readonly sockets: WebSocket[] = [];
  handler: (f: Received, ws: WebSocket) => void = () => undefined;
  private waiters: Array<() => void> = [];
  constructor(readonly wss: WebSocketServer) {
    wss.on('connection', (ws) => {
      this.sockets.push(ws);
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        let f: Received;
        if (!isBinary) f = { command: -1, sequence: 0, timestamp: 0, body: new Uint8Array(0), isBinary, raw: data };
        else {
          try {
            f = { ...decodeFrame(data), isBinary, raw: data };
          } catch {
            f = { command: -2, sequence: 0, timestamp: 0, body: data, isBinary, raw: data };
          }
        }
        this.frames.push(f);
        this.handler(f, ws);
        for (const w of this.waiters.splice(0)) w();
      });
    });
  }
  static async start(): Promise<FakeFront> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    return new FakeFront(wss);
  }
  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}/ws`;
  }
  async waitFrames(n: number): Promise<void> {
    const end = Date.now() + 3000;
    while (this.frames.length < n) {
      if (Date.now() > end) throw new Error(`only ${this.frames.length} of ${n} frames arrived`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
  close(): Promise<void> {
    for (const s of this.wss.clients) s.terminate();
    return new Promise((r) => this.wss.close(() => r()));
  }
}

const reply = (ws: WebSocket, command: number, sequence: number, body: Uint8Array) => ws.send(encodeFrame({ command, sequence, body }));

let front: FakeFront;
let client: WsImClient | undefined;
beforeEach(async () => {
  front = await FakeFront.start();
});
afterEach(async () => {
  client?.close();
  client = undefined;
  await front.close();
});

test('auth: the request is one WebSocketMessage with the AuthRequest in its body; the response is matched by sequence', async () => {
  front.handler = (f, ws) => {
    if (f.command === C.CMD_AUTH_REQ) reply(ws, C.CMD_AUTH_RSP, f.sequence, Ws.AuthResponse.encode({ errorCode: E.ERR_SUCCESS, maxSeq: 42 }).finish());
  };
  client = await WsImClient.connect(front.url);
  const before = Date.now();
  const res = await client.auth('alice', 'tok-1');
  expect(res.errorCode).toBe(E.ERR_SUCCESS);
  expect(res.maxSeq).toBe(42);
  expect(client.userId).toBe('alice');
  expect(client.maxSeq).toBe(42);
  const f = front.frames[0];
  expect(f.isBinary).toBe(true);
  expect(f.command).toBe(C.CMD_AUTH_REQ);
  expect(f.sequence).toBeGreaterThan(0);
  expect(f.timestamp).toBeGreaterThanOrEqual(before - 1);
  expect(Ws.AuthRequest.decode(f.body)).toMatchObject({ userId: 'alice', token: 'tok-1', platform: 'Web' });
});

test('a refused auth comes back as the error code; ok() turns it into a WsResponseError naming the code', async () => {
  front.handler = (f, ws) => {
    reply(ws, C.CMD_AUTH_RSP, f.sequence, Ws.AuthResponse.encode({ errorCode: E.ERR_TOKEN_EXPIRED, errorMsg: 'expired' }).finish());
    ws.close(1008, 'auth failed');
  };
  client = await WsImClient.connect(front.url);
  const res = await client.auth('bob', 'old', 'iOS');
  expect(res.errorCode).toBe(E.ERR_TOKEN_EXPIRED);
  expect(client.userId).toBe('');
  expect(() => ok(res, 'auth of bob')).toThrow(WsResponseError);
  expect(() => ok(res, 'auth of bob')).toThrow('auth of bob: ERR_TOKEN_EXPIRED (101) expired');
  expect(await client.waitForClose(2000)).toEqual({ code: 1008, reason: 'auth failed' });
  expect(client.closed).toBe(true);
  await expect(client.heartbeat()).rejects.toThrow(/closed/);
});

test('responses answered out of order resolve the request with the same sequence', async () => {
  const held: Received[] = [];
  front.handler = (f, ws) => {
    held.push(f);
    if (held.length < 3) return;
    for (const h of held.reverse()) {
      if (h.command === C.CMD_HEARTBEAT_REQ) reply(ws, C.CMD_HEARTBEAT_RSP, h.sequence, Ws.HeartbeatResponse.encode({ serverTime: 1000 + h.sequence }).finish());
      if (h.command === C.CMD_SYNC_REQ) {
        const q = Ws.SyncRequest.decode(h.body);
        reply(ws, C.CMD_SYNC_RSP, h.sequence, Ws.SyncResponse.encode({ serverMaxSeq: q.minSeq * 10, hasMore: q.limit === 5, messages: [{ messageId: `sg_1:${q.minSeq}`, seq: q.minSeq }] }).finish());
      }
    }
  };
  client = await WsImClient.connect(front.url);
  const [hb, s1, s2] = await Promise.all([client.heartbeat(), client.sync(3, 0, 5), client.sync(7, 9, 0)]);
  const seqs = front.frames.map((f) => f.sequence);
  expect(new Set(seqs).size).toBe(3);
  expect(hb.serverTime).toBe(1000 + front.frames[0].sequence);
  expect(s1).toMatchObject({ serverMaxSeq: 30, hasMore: true });
  expect(s1.messages[0].messageId).toBe('sg_1:3');
  expect(s2).toMatchObject({ serverMaxSeq: 70, hasMore: false });
  expect(Ws.SyncRequest.decode(front.frames[2].body)).toMatchObject({ minSeq: 7, maxSeq: 9, limit: 0 });
});

test('a response with the wrong command or an undecodable body rejects, and is recorded', async () => {
  front.handler = (f, ws) => {
    if (f.command === C.CMD_HEARTBEAT_REQ) reply(ws, C.CMD_SYNC_RSP, f.sequence, new Uint8Array(0));
    if (f.command === C.CMD_SYNC_REQ) reply(ws, C.CMD_SYNC_RSP, f.sequence, Buffer.from([0x1a, 0x05, 0x01]));
  };
  client = await WsImClient.connect(front.url);
  await expect(client.heartbeat()).rejects.toThrow('CMD_HEARTBEAT_REQ (5) (sequence 1) answered by CMD_SYNC_RSP (301), expected CMD_HEARTBEAT_RSP (6)');
  await expect(client.sync(1)).rejects.toThrow(/did not decode/);
  expect(client.decodeErrors).toHaveLength(2);
});

test('requestRaw returns whatever frame carries the sequence (unknown commands, bad bodies)', async () => {
  front.handler = (f, ws) => reply(ws, f.command + 1, f.sequence, Ws.ReadReceiptResponse.encode({ errorCode: E.ERR_INVALID_PARAM }).finish());
  client = await WsImClient.connect(front.url);
  const frame = await client.requestRaw(777, Buffer.from([0xff, 0xff]));
  expect(frame.command).toBe(778);
  expect(Ws.ReadReceiptResponse.decode(frame.body).errorCode).toBe(E.ERR_INVALID_PARAM);
  expect(front.frames[0]).toMatchObject({ command: 777 });
  expect(Buffer.from(front.frames[0].body)).toEqual(Buffer.from([0xff, 0xff]));
});

test('a request without an answer times out', async () => {
  client = await WsImClient.connect(front.url);
  await expect(client.heartbeat(100)).rejects.toThrow('no response to CMD_HEARTBEAT_REQ (5) (sequence 1) within 100 ms');
});

test('sendText: UTF-8 content, the target fields, client_msg_id and extra; the response carries message_id and seq', async () => {
  front.handler = (f, ws) => {
    const q = Ws.SendMessageRequest.decode(f.body);
    reply(ws, C.CMD_SEND_MSG_RSP, f.sequence, Ws.SendMessageResponse.encode({ messageId: `${q.conversationId || 'si_a_b'}:5`, seq: 9, serverTime: 123 }).finish());
  };
  client = await WsImClient.connect(front.url);
  const res = await client.sendText({ receiverId: 'bob' }, 'héllo 你好 👋', { clientMsgId: 'c-1', extra: { mentions: '@all' } });
  expect(res).toMatchObject({ errorCode: 0, messageId: 'si_a_b:5', seq: 9, serverTime: 123 });
  const q = Ws.SendMessageRequest.decode(front.frames[0].body);
  expect(front.frames[0].command).toBe(C.CMD_SEND_MSG_REQ);
  expect(q).toMatchObject({ receiverId: 'bob', groupId: '', conversationId: '', clientMsgId: 'c-1', messageType: 1, extra: { mentions: '@all' } });
  expect(Buffer.from(q.content).toString('utf8')).toBe('héllo 你好 👋');
  expect(q.sendTime).toBeGreaterThan(0);
  await client.sendText({ groupId: 42 }, 'g');
  await client.send({ conversationId: 'sg_42', messageType: 8, content: Buffer.from([0, 1, 2]) });
  expect(Ws.SendMessageRequest.decode(front.frames[1].body)).toMatchObject({ groupId: '42', receiverId: '' });
  const third = Ws.SendMessageRequest.decode(front.frames[2].body);
  expect(third).toMatchObject({ conversationId: 'sg_42', messageType: 8 });
  expect([...third.content]).toEqual([0, 1, 2]);
});

test('pushes: buffered before a wait, claimed once, listed by pushes(); CMD_PUSH_MSG acked automatically', async () => {
  client = await WsImClient.connect(front.url);
  const server = front.sockets[0] ?? (await new Promise<WebSocket>((r) => front.wss.once('connection', r)));
  const push = (n: number) => reply(server, C.CMD_PUSH_MSG, 0, Ws.PushMessage.encode({ messageId: `si_a_b:${n}`, conversationId: 'si_a_b', senderId: 'a', content: Buffer.from(`m${n}`), seq: 100 + n }).finish());
  push(1);
  push(2);
  reply(server, C.CMD_TYPING_STATUS_PUSH, 0, Ws.TypingStatusPush.encode({ conversationId: 'si_a_b', userId: 'a', status: 1 }).finish());
  await front.waitFrames(2); // the two acks
  const first = await client.waitForPush(C.CMD_PUSH_MSG);
  expect(first.messageId).toBe('si_a_b:1');
  expect(Buffer.from(first.content).toString()).toBe('m1');
  const typing = await client.waitForPush(C.CMD_TYPING_STATUS_PUSH, (t) => t.status === 1);
  expect(typing.userId).toBe('a');
  const second = await client.waitForPush(C.CMD_PUSH_MSG);
  expect(second.seq).toBe(102);
  // One not yet arrived.
  const later = client.waitForPush(C.CMD_PUSH_MSG, (m) => m.seq === 105, 2000);
  push(4);
  push(5);
  expect((await later).messageId).toBe('si_a_b:5');
  expect((await client.waitForPush(C.CMD_PUSH_MSG)).seq).toBe(104); // skipped by the predicate, still unclaimed
  expect(client.pushes(C.CMD_PUSH_MSG).map((m) => m.seq)).toEqual([101, 102, 104, 105]);
  await front.waitFrames(4);
  const acks = front.frames.filter((f) => f.command === C.CMD_MSG_ACK);
  expect(acks.map((f) => f.sequence)).toEqual([0, 0, 0, 0]);
  expect(acks.map((f) => Ws.MessageAck.decode(f.body))).toEqual([
    expect.objectContaining({ messageId: 'si_a_b:1', seq: 101 }),
    expect.objectContaining({ messageId: 'si_a_b:2', seq: 102 }),
    expect.objectContaining({ messageId: 'si_a_b:4', seq: 104 }),
    expect.objectContaining({ messageId: 'si_a_b:5', seq: 105 }),
  ]);
  expect(client.decodeErrors).toEqual([]);
});

test('every push type decodes; autoAck false sends no acks; a kick notice then a close', async () => {
  client = await WsImClient.connect(front.url, { autoAck: false });
  const server = front.sockets[0];
  reply(server, C.CMD_PUSH_MSG, 0, Ws.PushMessage.encode({ messageId: 'sg_3:1', groupId: '3', seq: 1 }).finish());
  reply(server, C.CMD_REVOKE_MSG_PUSH, 0, Ws.RevokeMessagePush.encode({ messageId: 'sg_3:1', conversationId: 'sg_3', revokedBy: 'x', revokedTime: 5 }).finish());
  reply(server, C.CMD_READ_RECEIPT_PUSH, 0, Ws.ReadReceiptPush.encode({ messageIds: ['sg_3:1'], conversationId: 'sg_3', userId: 'y', readTime: 6 }).finish());
  reply(server, C.CMD_KICK_NOTIFY, 0, Ws.ErrorNotice.encode({ errorCode: E.ERR_AUTH_FAILED, errorMsg: 'another login' }).finish());
  setTimeout(() => server.close(4000, 'kicked'), 50);
  expect((await client.waitForPush(C.CMD_REVOKE_MSG_PUSH)).revokedBy).toBe('x');
  expect((await client.waitForPush(C.CMD_READ_RECEIPT_PUSH)).messageIds).toEqual(['sg_3:1']);
  expect((await client.waitForPush(C.CMD_KICK_NOTIFY)).errorMsg).toBe('another login');
  expect((await client.waitForPush(C.CMD_PUSH_MSG)).groupId).toBe('3');
  expect(await client.waitForClose(2000)).toEqual({ code: 4000, reason: 'kicked' });
  await expect(client.waitForPush(C.CMD_PUSH_MSG, () => true, 500)).rejects.toThrow(/closed \(4000\)/);
  expect(front.frames.filter((f) => f.command === C.CMD_MSG_ACK)).toHaveLength(0);
});

test('a wait is rejected when the connection closes; read receipts, typing, revoke and ack encode their fields', async () => {
  front.handler = (f, ws) => {
    if (f.command !== C.CMD_MSG_ACK) reply(ws, f.command + 1, f.sequence, Ws.RevokeMessageResponse.encode({ errorCode: f.command === C.CMD_REVOKE_MSG_REQ ? E.ERR_PERMISSION_DENIED : 0 }).finish());
  };
  client = await WsImClient.connect(front.url);
  expect((await client.readReceipt('si_a_b', ['si_a_b:1', 'si_a_b:2'])).errorCode).toBe(0);
  expect((await client.typing('si_a_b', 1)).errorCode).toBe(0);
  const rv = await client.revoke('si_a_b:2', 'si_a_b');
  expect(rv.errorCode).toBe(E.ERR_PERMISSION_DENIED);
  client.ack('si_a_b:2', 8);
  await front.waitFrames(4);
  expect(Ws.ReadReceiptRequest.decode(front.frames[0].body)).toMatchObject({ conversationId: 'si_a_b', messageIds: ['si_a_b:1', 'si_a_b:2'] });
  expect(Ws.TypingStatusRequest.decode(front.frames[1].body)).toMatchObject({ conversationId: 'si_a_b', status: 1 });
  expect(Ws.RevokeMessageRequest.decode(front.frames[2].body)).toMatchObject({ messageId: 'si_a_b:2', conversationId: 'si_a_b' });
  expect(front.frames[3]).toMatchObject({ command: C.CMD_MSG_ACK, sequence: 0 });
  expect(Ws.MessageAck.decode(front.frames[3].body)).toMatchObject({ messageId: 'si_a_b:2', seq: 8 });
  const waiting = client.waitForPush(C.CMD_PUSH_MSG, () => true, 5000);
  front.sockets[0].close(1001, 'going away');
  await expect(waiting).rejects.toThrow(/closed \(1001 going away\)/);
});

test('sendRaw sends text frames as text and bytes as binary; close() reaches the server with its code', async () => {
  client = await WsImClient.connect(front.url);
  const closed = new Promise<number>((r) => front.sockets[0].once('close', (code: number) => r(code)));
  client.sendRaw('hello');
  client.sendRaw(Buffer.from([1, 2, 3]));
  await front.waitFrames(1);
  expect(front.frames[0]).toMatchObject({ isBinary: false });
  expect(front.frames[0].raw.toString()).toBe('hello');
  client.close(1000, 'bye');
  expect(await closed).toBe(1000);
  expect(await client.waitForClose()).toEqual({ code: 1000, reason: 'bye' });
});

test('connect fails clearly when the upgrade is refused', async () => {
  await expect(WsImClient.connect(front.url.replace('/ws', '/nope'))).rejects.toThrow(/HTTP 400|closed before it opened|Unexpected server response/);
});

test('conversation and message ids', () => {
  expect(singleConversationId('bob', 'alice')).toBe('si_alice_bob');
  expect(singleConversationId('alice', 'bob')).toBe('si_alice_bob');
  expect(singleConversationId('abe', 'Zed')).toBe('si_Zed_abe'); // byte order: 'Z' < 'a'
  expect(singleConversationId('é', 'z')).toBe('si_z_é'); // UTF-8 bytes, not UTF-16 code units alone
  expect(singleConversationId('b_x', 'b')).toBe('si_b_b_x');
  expect(groupConversationId(42)).toBe('sg_42');
  expect(parseMessageId('si_alice_bob:17')).toEqual({ conversationId: 'si_alice_bob', msgId: 17 });
  expect(parseMessageId('nonsense')).toBeUndefined();
  expect(parseMessageId('sg_1:x')).toBeUndefined();
});

test('fetchToken and wsUrlVia ask login_server', async () => {
  const seen: Array<{ method?: string; url?: string; body: string }> = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, body });
      res.setHeader('content-type', 'application/json');
      if (req.url === '/auth/token') {
        const q = JSON.parse(body);
        if (q.password === 'pw') res.end(JSON.stringify({ code: 0, token: `t-${q.user_id}`, expires_in: 3600 }));
        else res.writeHead(401).end(JSON.stringify({ code: 100, msg: 'bad password' }));
      } else res.end(JSON.stringify({ code: 0, url: 'ws://127.0.0.1:8081/ws' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  try {
    expect(await fetchToken(url, 'alice', 'pw')).toBe('t-alice');
    await expect(fetchToken(url, 'alice', 'nope')).rejects.toThrow(/HTTP 401.*bad password/);
    expect(await wsUrlVia(url)).toBe('ws://127.0.0.1:8081/ws');
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/auth/token' });
    expect(JSON.parse(seen[0].body)).toEqual({ user_id: 'alice', password: 'pw' });
    expect(seen[2]).toMatchObject({ method: 'GET', url: '/msg_server?protocol=ws' });
  } finally {
    server.close();
  }
});
