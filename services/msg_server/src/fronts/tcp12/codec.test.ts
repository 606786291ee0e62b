import { gzipSync } from 'node:zlib';
import { IM } from '@tt/proto';
import { ConfigError, loadConfig, msgServerSpec } from '@tt/config';
import { BodyCipher, Flow, Tcp12BodyError, Tcp12FrameDecoder, Tcp12FrameError, encodeFrame, makeFlag, packBody, parseFlag, unpackBody } from './codec';

const { Status } = IM.Tcp12;
const KEY = 'a1'.repeat(32);

describe('tcp12 framing', () => {
  it('writes the header big-endian: len (body only), version, seq, command, flag, status', () => {
    const frame = encodeFrame(0x01020304, 4, makeFlag(1, 1, Flow.RESPONSE), 7, Buffer.from('abc'));
    expect([...frame.subarray(0, 12)]).toEqual([0, 0, 0, 3, 1, 1, 2, 3, 4, 4, 0b00010101, 7]);
    expect(frame.subarray(12).toString()).toBe('abc');
  });

  it('reads the connect flag bits 7..0 as reserved(2) compression(2) encrypt(2) flow(2)', () => {
    expect(parseFlag(0b11_10_01_10)).toEqual({ reserved: 3, compression: 2, encryption: 1, flow: 2 });
    expect(makeFlag(1, 3, 2)).toBe(0b00_01_11_10);
  });

  it('cuts frames out of a stream split anywhere', () => {
    const a = encodeFrame(1, 3, 0, 0, Buffer.alloc(0));
    const b = encodeFrame(2, 4, 0, 0, Buffer.from('hello'));
    const bytes = Buffer.concat([a, b]);
    const decoder = new Tcp12FrameDecoder(1024);
    const seen: Array<[number, number, string]> = [];
    for (let i = 0; i < bytes.length; i++) decoder.push(bytes.subarray(i, i + 1), (f) => seen.push([f.seq, f.command, f.body.toString()]));
    expect(seen).toEqual([
      [1, 3, ''],
      [2, 4, 'hello'],
    ]);
    expect(decoder.pendingBytes).toBe(0);
  });

  it('refuses reserved bits and lengths over the limit as soon as the header is in', () => {
    const decoder = new Tcp12FrameDecoder(16);
    expect(() => decoder.push(encodeFrame(1, 3, 0b01000000, 0, Buffer.alloc(0)), () => {})).toThrow(Tcp12FrameError);
    const header = encodeFrame(1, 4, 0, 0, Buffer.alloc(17)).subarray(0, 12);
    expect(() => new Tcp12FrameDecoder(16).push(header, () => {})).toThrow(/over the limit/);
  });
});

describe('tcp12 bodies', () => {
  const cipher = BodyCipher.fromHex(KEY)!;
  const unpack = (body: Buffer, compression: number, encryption: number, c: BodyCipher | null = cipher) => unpackBody(body, { reserved: 0, compression, encryption, flow: 0 }, c ?? undefined, 1 << 20);
  const statusOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      return (err as Tcp12BodyError).status;
    }
    return Status.OK;
  };

  it('gzip then AES on the way out, AES then gunzip on the way in', () => {
    const plain = Buffer.from('x'.repeat(1000));
    for (const [c, e] of [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
    ]) {
      const packed = packBody(plain, c, e, cipher);
      expect(unpack(packed, c, e)).toEqual(plain);
    }
    // gzip first: the compressed form is what gets encrypted.
    const both = packBody(plain, 1, 1, cipher);
    expect(both.length).toBeLessThan(100);
    expect(cipher.decrypt(both).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
  });

  it('each bad body has its status', () => {
    expect(statusOf(() => unpack(Buffer.from('not gzip'), 1, 0))).toBe(Status.BAD_GZIP);
    expect(statusOf(() => unpack(Buffer.alloc(32, 7), 0, 1))).toBe(Status.BAD_AES);
    expect(statusOf(() => unpack(Buffer.alloc(5), 0, 1))).toBe(Status.BAD_AES);
    expect(statusOf(() => unpack(Buffer.alloc(0), 0, 2))).toBe(Status.ENCRYPTION_NOT_SUPPORTED);
    expect(statusOf(() => unpack(Buffer.alloc(0), 0, 3))).toBe(Status.ENCRYPTION_NOT_SUPPORTED);
    expect(statusOf(() => unpack(Buffer.alloc(0), 2, 0))).toBe(Status.COMPRESSION_NOT_SUPPORTED);
    expect(statusOf(() => unpack(packBody(Buffer.from('hi'), 0, 1, cipher), 0, 1, null))).toBe(Status.ENCRYPTION_NOT_SUPPORTED);
    // A gzip bomb stops at the limit.
    const bomb = gzipSync(Buffer.alloc(4 << 20));
    expect(statusOf(() => unpackBody(bomb, { reserved: 0, compression: 1, encryption: 0, flow: 0 }, undefined, 1 << 20))).toBe(Status.BAD_GZIP);
  });

  it('the key is 64 hex digits or nothing', () => {
    expect(BodyCipher.fromHex('')).toBeUndefined();
    expect(() => BodyCipher.fromHex('abcd')).toThrow(/64 hex/);
  });
});

describe('tcp12 settings', () => {
  it('are validated at start-up: the AES key is 64 hex digits or empty, the port 0-65535', () => {
    expect(loadConfig(msgServerSpec, {}).MSG_SERVER_TCP12_PORT).toBe(8082);
    expect(loadConfig(msgServerSpec, { MSG_SERVER_TCP12_AES_KEY: KEY }).MSG_SERVER_TCP12_AES_KEY).toBe(KEY);
    let problems: string[] = [];
    try {
      loadConfig(msgServerSpec, { MSG_SERVER_TCP12_AES_KEY: 'secret', MSG_SERVER_TCP12_PORT: '70000' });
    } catch (err) {
      problems = (err as ConfigError).problems;
    }
    expect(problems).toEqual([expect.stringMatching(/^MSG_SERVER_TCP12_PORT: /), expect.stringMatching(/^MSG_SERVER_TCP12_AES_KEY: must be 64 hex digits/)].sort());
  });
});
