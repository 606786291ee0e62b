// Tcp12Connection over a real loopback socket: framing, packing of answers
// and notices, the frames it refuses, holding output until the LOGIN answer.
import * as net from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DEFAULT_CONNECTION_LIMITS } from '@tt/connection';
import { IM } from '@tt/proto';
import type { ConnectionEvents, ClientConnection } from '../../connection';
import type { Front } from '../front';
import { BodyCipher, Flow, Tcp12FrameDecoder, encodeFrame, makeFlag, type Tcp12Frame } from './codec';
import { Tcp12Connection } from './connection';

const { Status, IMCommand } = IM.Tcp12;
const cipher = BodyCipher.fromHex('7f'.repeat(32))!;

const front = { name: 'tcp12', frame: (cid: number, seq: number, body: Uint8Array) => encodeFrame(seq, cid, makeFlag(0, 0, Flow.RESPONSE), 0, body) } as unknown as Front;

const until = async (cond: () => boolean, ms = 2000) => {
  for (let i = 0; i < ms / 5 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(cond()).toBe(true);
};

async function pair() {
  const requests: Array<{ commandId: number; seqNum: number; body: Buffer }> = [];
  const log: string[] = [];
  const events: ConnectionEvents = {
    onRequest: (_c, r) => requests.push({ ...r, body: Buffer.from(r.body) }),
    onFrameError: (_c, err) => log.push(`frame:${err.message}`),
    onClose: () => log.push('close'),
  };
  let conn!: Tcp12Connection;
  const server = net.createServer((s) => (conn = new Tcp12Connection(1, front, s, { maxFrameBytes: 1024, limits: DEFAULT_CONNECTION_LIMITS, cipher, onRejected: (_c, _cmd, status) => log.push(`rejected:${status}`) }, events)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const frames: Tcp12Frame[] = [];
  const decoder = new Tcp12FrameDecoder(1 << 20);
  let clientClosed = false;
  client.on('data', (d: Buffer) => decoder.push(d, (f) => frames.push({ ...f, body: Buffer.from(f.body) })));
  client.on('close', () => (clientClosed = true));
  client.on('error', () => {});
  await until(() => conn !== undefined);
  return { conn: conn as Tcp12Connection & ClientConnection, client, requests, log, frames, closed: () => clientClosed, stop: () => (client.destroy(), server.close()) };
}

describe('Tcp12Connection', () => {
  it('hands on requests unpacked (AES, then gunzip), split anywhere; answers are packed like their request, notices like the mode set', async () => {
    const p = await pair();
    try {
      const body = Buffer.from('the body');
      const packed = cipher.encrypt(gzipSync(body));
      const bytes = Buffer.concat([encodeFrame(7, IMCommand.MS, makeFlag(1, 1, Flow.REQUEST), 0, packed), encodeFrame(8, IMCommand.PING, 0, 0, Buffer.alloc(0))]);
      for (let i = 0; i < bytes.length; i += 5) p.client.write(bytes.subarray(i, i + 5));
      await until(() => p.requests.length === 2);
      expect(p.requests.map((r) => [r.commandId, r.seqNum, r.body.toString()])).toEqual([
        [IMCommand.MS, 7, 'the body'],
        [IMCommand.PING, 8, ''],
      ]);
      p.conn.send(IMCommand.PING, IM.Tcp12.Ping, { time: 1 }, 8);
      p.conn.send(IMCommand.MS, IM.Tcp12.SendResponse, { messageId: 5 }, 7);
      p.conn.noticeMode = { compression: 1, encryption: 0 };
      p.conn.write(encodeFrame(0, IMCommand.MPS, makeFlag(0, 0, Flow.NOTIFY), 0, Buffer.from('notice')));
      await until(() => p.frames.length === 3);
      const [ping, ms, notice] = p.frames;
      expect([ping.seq, ping.flags]).toEqual([8, makeFlag(0, 0, Flow.RESPONSE)]);
      expect([ms.seq, ms.flags]).toEqual([7, makeFlag(1, 1, Flow.RESPONSE)]);
      expect(IM.Tcp12.SendResponse.decode(gunzipSync(cipher.decrypt(ms.body))).messageId).toBe(5);
      expect([notice.flags, gunzipSync(notice.body).toString()]).toEqual([makeFlag(1, 0, Flow.NOTIFY), 'notice']);
    } finally {
      p.stop();
    }
  });

  it('answers bad bodies with their status and keeps the connection; reserved bits close it', async () => {
    const p = await pair();
    try {
      p.client.write(encodeFrame(1, IMCommand.PING, makeFlag(1, 0, Flow.REQUEST), 0, Buffer.from('nope')));
      p.client.write(encodeFrame(2, IMCommand.PING, makeFlag(0, 2, Flow.REQUEST), 0, Buffer.alloc(0)));
      p.client.write(encodeFrame(3, IMCommand.PING, makeFlag(0, 0, Flow.NOTIFY), 0, Buffer.alloc(0)));
      await until(() => p.frames.length === 3);
      expect(p.frames.map((f) => [f.seq, f.status])).toEqual([
        [1, Status.BAD_GZIP],
        [2, Status.ENCRYPTION_NOT_SUPPORTED],
        [3, Status.BAD_REQUEST],
      ]);
      expect(IM.Tcp12.ErrorInfo.decode(p.frames[0].body).message).toMatch(/gunzip/);
      expect(p.requests).toEqual([]);
      p.client.write(encodeFrame(4, IMCommand.PING, 0b1000_0000, 0, Buffer.alloc(0)));
      await until(() => p.closed());
      expect(p.log).toEqual(['rejected:7', 'rejected:9', 'rejected:1', expect.stringMatching(/^frame:reserved bits/), 'close']);
    } finally {
      p.stop();
    }
  });

  it('holds output back until release, which sends its first frame ahead of what was held', async () => {
    const p = await pair();
    try {
      p.conn.hold();
      p.conn.write(encodeFrame(0, IMCommand.MPS, makeFlag(0, 0, Flow.NOTIFY), 0, Buffer.from('early push')));
      await new Promise((r) => setTimeout(r, 30));
      expect(p.frames).toEqual([]);
      p.conn.release(encodeFrame(9, IMCommand.LOGIN, makeFlag(0, 0, Flow.RESPONSE), 0, Buffer.alloc(0)));
      await until(() => p.frames.length === 2);
      expect(p.frames.map((f) => f.command)).toEqual([IMCommand.LOGIN, IMCommand.MPS]);
    } finally {
      p.stop();
    }
  });
});
