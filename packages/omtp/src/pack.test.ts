// Flags, packs, frames and payload transforms.
import { createCipheriv } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { OmtpFrameDecoder, OmtpFrameError } from './frame';
import { composeFlags, compressOf, cryptoOf, decodePack, encodePack, Flags, framePack, hasFlag, hasReservedBits, packPayload, parseAesKey, parseFlags, PayloadError, unpackPayload, withTransforms } from './pack';
import { MsgReq, PackType } from './structs';
import { decodeStruct, encodeStruct, TarsDecodeError } from './tars';

const KEY = Buffer.alloc(32, 7);

describe('flags', () => {
  it('bit 0 is ACK, then DUP, COUNTER, OVERWRITE, REVOKE, HIGHPRJ, 3 bits COMPRESS, 3 bits CRYPTO', () => {
    expect([Flags.ACK, Flags.DUP, Flags.COUNTER, Flags.OVERWRITE, Flags.REVOKE, Flags.HIGHPRJ]).toEqual([1, 2, 4, 8, 16, 32]);
    expect(composeFlags({ ack: true, compress: 1, crypto: 1 })).toBe(1 | (1 << 6) | (1 << 9));
    expect(composeFlags({ compress: 7, crypto: 7 })).toBe(0b111111 << 6);
    expect(() => composeFlags({ compress: 8 })).toThrow(RangeError);
  });

  it('reads every part back', () => {
    const f = composeFlags({ dup: true, highPrj: true, revoke: true, compress: 2, crypto: 3 });
    expect(parseFlags(f)).toEqual({ ack: false, dup: true, counter: false, overwrite: false, revoke: true, highPrj: true, compress: 2, crypto: 3, reserved: false });
    expect(hasFlag(f, Flags.DUP)).toBe(true);
    expect(hasFlag(f, Flags.ACK)).toBe(false);
    expect(compressOf(f)).toBe(2);
    expect(cryptoOf(f)).toBe(3);
    expect(withTransforms(f | Flags.ACK, 1, 0)).toBe(Flags.ACK | Flags.DUP | Flags.REVOKE | Flags.HIGHPRJ | (1 << 6));
  });

  it('bits 12 and up, negative longs and values past 2^53 are reserved', () => {
    expect(hasReservedBits(4095)).toBe(false);
    expect(hasReservedBits(4096)).toBe(true);
    expect(hasReservedBits(2 ** 40 + 1)).toBe(true);
    expect(hasReservedBits(2 ** 53)).toBe(true);
    expect(hasReservedBits(2 ** 63)).toBe(true);
    expect(hasReservedBits(-1)).toBe(true);
    expect(parseFlags(2 ** 40 + 1).reserved).toBe(true);
    // Bits 0-11 of a large value are still read exactly (beyond 32-bit operators).
    expect(parseFlags(2 ** 40 + 1).ack).toBe(true);
  });
});

describe('packs and frames', () => {
  const header = { type: PackType.PT_MSG_SINGLE_CHAT, version: 1, flags: Flags.DUP, packId: 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6' };
  const payload = encodeStruct(MsgReq, { sessionId: '', from: 'alice', to: 'bob', contentType: 1, content: 'hi' });

  it('encodePack / decodePack round trip', () => {
    const pack = decodePack(encodePack(header, payload));
    expect(pack.header).toEqual(header);
    expect(decodeStruct(MsgReq, pack.payload)).toMatchObject({ from: 'alice', to: 'bob', content: 'hi' });
  });

  it('framePack: a big-endian length that counts itself', () => {
    const frame = framePack(header, payload);
    expect(frame.readUInt32BE(0)).toBe(frame.length);
    expect(frame.subarray(4)).toEqual(encodePack(header, payload));
  });

  it('a pack with an empty payload (PING)', () => {
    const frame = framePack({ type: PackType.PT_PING, version: 1, flags: 0, packId: 'p' }, Buffer.alloc(0));
    expect(decodePack(frame.subarray(4)).payload).toEqual(Buffer.alloc(0));
  });

  it('decodePack throws TarsDecodeError on garbage', () => {
    expect(() => decodePack(Buffer.from('hello world'))).toThrow(TarsDecodeError);
    expect(() => decodePack(Buffer.alloc(0))).toThrow(TarsDecodeError);
  });

  it('OmtpFrameDecoder splits a stream whatever the chunking', () => {
    const frames = [framePack(header, payload), framePack({ ...header, packId: 'b' }, Buffer.alloc(0)), framePack({ ...header, packId: 'c' }, Buffer.alloc(3000, 1))];
    const stream = Buffer.concat(frames);
    for (const step of [1, 3, 7, stream.length]) {
      const decoder = new OmtpFrameDecoder();
      const got: string[] = [];
      for (let i = 0; i < stream.length; i += step) decoder.push(stream.subarray(i, i + step), (p) => got.push(decodePack(p).header.packId));
      expect(got).toEqual([header.packId, 'b', 'c']);
      expect(decoder.pendingBytes).toBe(0);
    }
  });

  it('OmtpFrameDecoder takes a large frame sent byte by byte without copying it each time', () => {
    const frame = framePack(header, Buffer.alloc(512 * 1024, 2));
    const decoder = new OmtpFrameDecoder();
    let got = 0;
    const started = Date.now();
    for (let i = 0; i < frame.length; i++) decoder.push(frame.subarray(i, i + 1), () => got++);
    expect(got).toBe(1);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('OmtpFrameDecoder rejects a length below 5 or over the limit before the body arrives', () => {
    const small = Buffer.from([0, 0, 0, 4]);
    expect(() => new OmtpFrameDecoder().push(small, () => undefined)).toThrow(OmtpFrameError);
    const big = Buffer.from([0, 0x10, 0, 1]);
    expect(() => new OmtpFrameDecoder(1024 * 1024).push(big, () => undefined)).toThrow(/over the limit/);
  });
});

describe('payload transforms', () => {
  const plain = Buffer.from('a payload '.repeat(50));

  it.each([
    [0, 0],
    [1, 0],
    [0, 1],
    [1, 1],
  ])('compress %i, crypto %i round trip', (compress, crypto) => {
    const packed = packPayload(plain, { compress, crypto, key: KEY });
    if (compress || crypto) expect(packed).not.toEqual(plain);
    expect(unpackPayload(packed, composeFlags({ compress, crypto }), { key: KEY })).toEqual(plain);
  });

  it('compresses first, then encrypts (a fresh IV each time)', () => {
    const packed = packPayload(plain, { compress: 1, crypto: 1, key: KEY });
    const again = packPayload(plain, { compress: 1, crypto: 1, key: KEY });
    expect(packed.subarray(0, 16)).not.toEqual(again.subarray(0, 16));
    const decrypted = unpackPayload(packed, composeFlags({ crypto: 1 }), { key: KEY });
    expect(decrypted.subarray(0, 2)).toEqual(deflateSync(plain).subarray(0, 2)); // a zlib header
  });

  const codeOf = (fn: () => unknown): [string, number] => {
    try {
      fn();
    } catch (err) {
      if (err instanceof PayloadError) return [err.reason, err.code];
      throw err;
    }
    throw new Error('did not throw');
  };

  it('unsupported compression or encryption, or AES without a key: 415', () => {
    expect(codeOf(() => unpackPayload(plain, composeFlags({ compress: 2 })))).toEqual(['unsupported_compress', 415]);
    expect(codeOf(() => unpackPayload(plain, composeFlags({ crypto: 5 }), { key: KEY }))).toEqual(['unsupported_crypto', 415]);
    expect(codeOf(() => unpackPayload(plain, composeFlags({ crypto: 1 })))).toEqual(['no_key', 415]);
    expect(codeOf(() => packPayload(plain, { compress: 3 }))).toEqual(['unsupported_compress', 415]);
    expect(codeOf(() => packPayload(plain, { crypto: 1 }))).toEqual(['no_key', 415]);
  });

  it('bad zlib: 400; a payload that inflates past the cap: 413', () => {
    expect(codeOf(() => unpackPayload(Buffer.from('not zlib at all'), composeFlags({ compress: 1 })))).toEqual(['bad_zlib', 400]);
    const bomb = deflateSync(Buffer.alloc(10 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(20_000);
    const started = Date.now();
    expect(codeOf(() => unpackPayload(bomb, composeFlags({ compress: 1 }), { maxBytes: 1024 * 1024 }))).toEqual(['too_large', 413]);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(unpackPayload(deflateSync(Buffer.alloc(1000)), composeFlags({ compress: 1 }), { maxBytes: 1000 })).toHaveLength(1000);
  });

  it('bad AES (wrong key, not whole blocks, too short): 400', () => {
    // A fixed IV: with a random one a wrong key still yields valid padding about once in 256 runs.
    const iv = Buffer.alloc(16, 1);
    const cipher = createCipheriv('aes-256-cbc', KEY, iv);
    const packed = Buffer.concat([iv, cipher.update(plain), cipher.final()]);
    expect(unpackPayload(packed, composeFlags({ crypto: 1 }), { key: KEY })).toEqual(plain);
    const flags = composeFlags({ crypto: 1 });
    expect(codeOf(() => unpackPayload(packed, flags, { key: Buffer.alloc(32, 8) }))).toEqual(['bad_aes', 400]);
    expect(codeOf(() => unpackPayload(packed.subarray(0, packed.length - 1), flags, { key: KEY }))).toEqual(['bad_aes', 400]);
    expect(codeOf(() => unpackPayload(Buffer.alloc(16), flags, { key: KEY }))).toEqual(['bad_aes', 400]);
  });

  it('parseAesKey takes 64 hex digits, or nothing', () => {
    expect(parseAesKey('')).toBeUndefined();
    expect(parseAesKey('ab'.repeat(32))).toEqual(Buffer.alloc(32, 0xab));
    expect(() => parseAesKey('abc')).toThrow(/64 hex digits/);
  });
});
