// OmtpClient against a tiny OMTP server in the test (a real socket on
// 127.0.0.1): framing whatever the chunking, answers matched by packId,
// pushes and waitFor, auto-ack, payload transforms, bad frames, close.
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  CommonResp,
  composeFlags,
  decodePack,
  decodeStruct,
  encodeStruct,
  Flags,
  framePack,
  KickOutReq,
  LoginReq,
  LoginResp,
  MsgAck,
  MsgReq,
  OmtpFrameDecoder,
  PackType,
  packPayload,
  unpackPayload,
  type OTIMPack,
} from '@tt/omtp';
import { OmtpClient } from './omtp-client';

const KEY_HEX = '11'.repeat(32);
const KEY = Buffer.from(KEY_HEX, 'hex');

/** A test server: records every pack it receives and answers through `handler`. */
class FakeOmtp {
  readonly packs: OTIMPack[] = [];
  readonly sockets: net.Socket[] = [];
  /** Return frames to write (each a whole frame). Default: an empty answer. */
  handler: (p: OTIMPack) => Buffer[] = (p) => [answer(p, Buffer.alloc(0))];
  /** Bytes per write (1 = byte by byte). 0: each batch of frames in one write. */
  chunk = 0;
  private constructor(readonly server: net.Server) {
    server.on('connection', (socket) => {
      this.sockets.push(socket);
      const decoder = new OmtpFrameDecoder();
      socket.on('data', (data: Buffer) => {
        try {
          decoder.push(data, (bytes) => {
            const p = decodePack(bytes);
            this.packs.push(p);
            this.write(socket, Buffer.concat(this.handler(p)));
          });
        } catch {
          socket.destroy();
        }
      });
      socket.on('error', () => undefined);
    });
  }
  static async start(): Promise<FakeOmtp> {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return new FakeOmtp(server);
  }
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }
  write(socket: net.Socket, bytes: Buffer): void {
    if (!this.chunk) return void socket.write(bytes);
    for (let i = 0; i < bytes.length; i += this.chunk) socket.write(bytes.subarray(i, i + this.chunk));
  }
  push(bytes: Buffer): void {
    for (const s of this.sockets) this.write(s, bytes);
  }
  async waitPacks(n: number): Promise<void> {
    const end = Date.now() + 3000;
    while (this.packs.length < n) {
      if (Date.now() > end) throw new Error(`only ${this.packs.length} of ${n} packs arrived`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** An answer frame to `p`: ACK=1, same type, version, packId; payload as given (flags may add transforms). */
function answer(p: OTIMPack, payload: Buffer, flags = 0): Buffer {
  return framePack({ type: p.header.type, version: p.header.version, flags: Flags.ACK | flags, packId: p.header.packId }, payload);
}

function pushFrame(type: number, packId: string, payload: Buffer, flags = 0): Buffer {
  return framePack({ type, version: 1, flags, packId }, payload);
}

let server: FakeOmtp;
let client: OmtpClient;

beforeEach(async () => {
  server = await FakeOmtp.start();
});

afterEach(async () => {
  client?.destroy();
  await server.stop();
});

describe('OmtpClient', () => {
  it('frames a request (length counting itself) and resolves with the answer of its packId', async () => {
    server.handler = (p) => {
      const req = decodeStruct(LoginReq, unpackPayload(p.payload, p.header.flags));
      // An unrelated answer first: the client must wait for its own packId.
      return [answer({ ...p, header: { ...p.header, packId: 'other' } }, Buffer.alloc(0)), answer(p, encodeStruct(LoginResp, { code: 0, clientId: req.userName, extraData: '{}' }))];
    };
    client = await OmtpClient.connect('127.0.0.1', server.port, { requestTimeoutMs: 2000 });
    const rsp = await client.login('alice', 'secret');
    expect(rsp).toEqual({ code: 0, clientId: 'alice', extraData: '{}' });
    expect(client.userName).toBe('alice');
    const sent = server.packs[0];
    expect(sent.header).toMatchObject({ type: PackType.PT_LOGIN, version: 1, flags: 0 });
    expect(decodeStruct(LoginReq, sent.payload)).toMatchObject({ userName: 'alice', password: 'secret', deviceType: 5 });
    expect(client.decodeErrors).toEqual([expect.stringContaining('answers no request')]);
  });

  it('reads frames split byte by byte and many frames in one write', async () => {
    server.chunk = 1;
    server.handler = (p) => [pushFrame(PackType.PT_SYNC_DATA_CMD, 'push-1', Buffer.alloc(0)), answer(p, encodeStruct(MsgAck, { code: 0, sessionId: 'si_alice_bob', seqId: 7, timestamp: 1_700_000_000_000 }))];
    client = await OmtpClient.connect('127.0.0.1', server.port);
    client.userName = 'alice';
    const ack = await client.sendSingle('bob', 'hello', { flags: Flags.HIGHPRJ, packId: 'm-1' });
    expect(ack).toEqual({ code: 0, sessionId: 'si_alice_bob', seqId: 7, timestamp: 1_700_000_000_000 });
    const sent = server.packs[0];
    expect(sent.header).toEqual({ type: PackType.PT_MSG_SINGLE_CHAT, version: 1, flags: Flags.HIGHPRJ, packId: 'm-1' });
    expect(decodeStruct(MsgReq, sent.payload)).toMatchObject({ from: 'alice', to: 'bob', content: 'hello', contentType: 1 });
    expect((await client.waitFor((p) => p.header.type === PackType.PT_SYNC_DATA_CMD)).header.packId).toBe('push-1');

    server.chunk = 0;
    const group = await client.sendGroup(42, 'hi all');
    expect(group.seqId).toBe(7);
    expect(decodeStruct(MsgReq, server.packs[1].payload).to).toBe('42');
  });

  it('keeps pushes, hands them to waitFor (earlier or later ones), and acks them when asked', async () => {
    client = await OmtpClient.connect('127.0.0.1', server.port, { autoAck: true });
    await client.ping();
    const msg = encodeStruct(MsgReq, { sessionId: 'si_a_b', seqId: 3, timestamp: 5, from: 'a', to: 'b', content: 'x' });
    server.push(Buffer.concat([pushFrame(PackType.PT_MSG_SINGLE_CHAT, 'p-1', msg), pushFrame(PackType.PT_KICKOUT, 'p-2', encodeStruct(KickOutReq, { deviceType: 5, deviceId: 'd' }))]));
    const kick = await client.waitForPush(PackType.PT_KICKOUT, KickOutReq);
    expect(kick.body).toEqual({ deviceType: 5, deviceId: 'd' });
    const first = await client.waitFor((p) => p.header.packId === 'p-1');
    expect(decodeStruct(MsgReq, first.payload).content).toBe('x');
    await expect(client.waitFor((p) => p.header.packId === 'p-1', 100)).rejects.toThrow(/no matching push/);
    expect(client.pushes.map((p) => p.header.packId)).toEqual(['p-1', 'p-2']);

    // Auto-acks: ACK=1, same type and packId; a message acked with a MsgAck.
    await server.waitPacks(3);
    const acks = server.packs.slice(1);
    expect(acks.map((p) => [p.header.type, p.header.flags, p.header.packId])).toEqual([
      [PackType.PT_MSG_SINGLE_CHAT, Flags.ACK, 'p-1'],
      [PackType.PT_KICKOUT, Flags.ACK, 'p-2'],
    ]);
    expect(decodeStruct(MsgAck, acks[0].payload)).toEqual({ code: 0, sessionId: 'si_a_b', seqId: 3, timestamp: 5 });
    expect(acks[1].payload).toHaveLength(0);
  });

  it('compresses and encrypts requests, and unpacks answers as their flags say', async () => {
    server.handler = (p) => {
      const plain = unpackPayload(p.payload, p.header.flags, { key: KEY });
      const req = decodeStruct(LoginReq, plain);
      const body = encodeStruct(LoginResp, { code: 0, clientId: req.userName });
      return [answer(p, packPayload(body, { compress: 1, crypto: 1, key: KEY }), composeFlags({ compress: 1, crypto: 1 }))];
    };
    client = await OmtpClient.connect('127.0.0.1', server.port, { aesKeyHex: KEY_HEX, compress: 1, crypto: 1 });
    expect((await client.login('carol', 'pw')).clientId).toBe('carol');
    expect(server.packs[0].header.flags).toBe(composeFlags({ compress: 1, crypto: 1 }));
    expect(client.received[0].rawPayload).not.toEqual(client.received[0].payload);
  });

  it('decodes the answer with the given struct, or the type\'s answer struct', async () => {
    server.handler = (p) => [answer(p, encodeStruct(CommonResp, { code: 415, desc: 'unknown packet type' }))];
    client = await OmtpClient.connect('127.0.0.1', server.port);
    const a = await client.request(99, undefined, undefined, { answer: CommonResp });
    expect(a.body).toEqual({ code: 415, desc: 'unknown packet type' });
    const read = await client.request(PackType.PT_MSG_READ, undefined, undefined);
    expect(read.body).toEqual({ code: 415, desc: 'unknown packet type' });
    // Reserved bits are sent as given.
    await client.request(PackType.PT_PING, undefined, undefined, { flags: 2 ** 20 });
    expect(server.packs[2].header.flags).toBe(2 ** 20);
  });

  it('collects frames it cannot read, and closes on a bad length', async () => {
    client = await OmtpClient.connect('127.0.0.1', server.port);
    await client.ping();
    const garbage = Buffer.from('not tars');
    const frame = Buffer.alloc(4 + garbage.length);
    frame.writeUInt32BE(frame.length, 0);
    garbage.copy(frame, 4);
    server.push(Buffer.concat([frame, pushFrame(PackType.PT_SYNC_DATA_CMD, 'after', Buffer.alloc(0))]));
    await client.waitFor((p) => p.header.packId === 'after');
    expect(client.decodeErrors).toEqual([expect.stringContaining('cannot decode OTIMPack')]);
    server.push(Buffer.from([0, 0, 0, 2]));
    await client.closed;
    expect(client.isClosed).toBe(true);
    expect(client.decodeErrors[1]).toMatch(/frame length 2/);
  });

  it('raw writes bytes as they are; a close rejects pending requests and resolves `closed`', async () => {
    server.handler = () => [];
    client = await OmtpClient.connect('127.0.0.1', server.port);
    client.raw(framePack({ type: PackType.PT_PING, version: 1, flags: 0, packId: 'raw-1' }, Buffer.alloc(0)));
    await server.waitPacks(1);
    expect(server.packs[0].header.packId).toBe('raw-1');
    const pending = client.request(PackType.PT_PING);
    await server.waitPacks(2);
    for (const s of server.sockets) s.destroy();
    await expect(pending).rejects.toThrow(/connection closed/);
    await client.closed;
    await expect(client.waitFor(() => true)).rejects.toThrow(/closed/);
  });

  it('a request with no answer times out', async () => {
    server.handler = () => [];
    client = await OmtpClient.connect('127.0.0.1', server.port, { requestTimeoutMs: 100 });
    await expect(client.ping()).rejects.toThrow(/no answer to PT_PING/);
  });
});
