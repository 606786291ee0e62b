// Seed 001's framing (docs/fronts/tcp12.md, "Framing"): a 12-byte header
//   len u32 | version u8 | seq u32 | command u8 | connect flag u8 | status u8
// big-endian, then `len` bytes of body (len does not count the header).
// The connect flag: bits 7-6 reserved (must be 0), 5-4 compression,
// 3-2 encryption, 1-0 flow.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { LengthPrefixedSplitter } from '@tt/codec';
import { IM } from '@tt/proto';

export const TCP12_HEADER_LENGTH = 12;
/** The only protocol version this server speaks. */
export const TCP12_VERSION = 1;

export const Flow = { REQUEST: 0, RESPONSE: 1, NOTIFY: 2 } as const;
export const Compression = { NONE: 0, GZIP: 1 } as const;
export const Encryption = { NONE: 0, AES: 1, RSA: 2, E2E_RSA: 3 } as const;

const { Status } = IM.Tcp12;

export interface Tcp12Frame {
  version: number;
  seq: number;
  command: number;
  flags: number;
  status: number;
  body: Buffer;
}

export interface ConnectFlag {
  reserved: number;
  compression: number;
  encryption: number;
  flow: number;
}

export function parseFlag(flag: number): ConnectFlag {
  return { reserved: flag >> 6, compression: (flag >> 4) & 3, encryption: (flag >> 2) & 3, flow: flag & 3 };
}

export function makeFlag(compression: number, encryption: number, flow: number): number {
  return ((compression & 3) << 4) | ((encryption & 3) << 2) | (flow & 3);
}

/** One frame: header + body as given (already compressed/encrypted when the flag says so). */
export function encodeFrame(seq: number, command: number, flag: number, status: number, body: Uint8Array, version = TCP12_VERSION): Buffer {
  const out = Buffer.allocUnsafe(TCP12_HEADER_LENGTH + body.length);
  out.writeUInt32BE(body.length, 0);
  out[4] = version;
  out.writeUInt32BE(seq >>> 0, 5);
  out[9] = command;
  out[10] = flag;
  out[11] = status;
  out.set(body, TCP12_HEADER_LENGTH);
  return out;
}

/** The stream cannot be read any further (reserved bits, a length over the limit): the connection is closed. */
export class Tcp12FrameError extends Error {}

/**
 * Cuts a byte stream into frames (the shared LengthPrefixedSplitter: a
 * 12-byte header, its length counting the body only). Throws Tcp12FrameError
 * at the first header the connection cannot survive: reserved bits set (the
 * seed: close at once) or a body longer than maxBodyBytes.
 */
export class Tcp12FrameDecoder extends LengthPrefixedSplitter<Tcp12Frame> {
  constructor(maxBodyBytes: number) {
    super({
      headerBytes: TCP12_HEADER_LENGTH,
      lengthIncludesHeader: false,
      minLength: 0,
      maxLength: maxBodyBytes,
      lengthError: (length) => new Tcp12FrameError(`frame body of ${length} bytes is over the limit of ${maxBodyBytes}`),
      checkHeader: (bytes, start) => {
        const flag = bytes[start + 10];
        if (flag >> 6 !== 0) throw new Tcp12FrameError(`reserved bits of the connect flag are set (0x${flag.toString(16)})`);
      },
      frame: (bytes, start, end) => ({
        version: bytes[start + 4],
        seq: bytes.readUInt32BE(start + 5),
        command: bytes[start + 9],
        flags: bytes[start + 10],
        status: bytes[start + 11],
        body: bytes.subarray(start + TCP12_HEADER_LENGTH, end),
      }),
    });
  }
}

/** A body the server could not unpack: answered with this status (the connection stays). */
export class Tcp12BodyError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * AES-256-CBC with PKCS#7 padding; a fresh random 16-byte IV in front of
 * the ciphertext (body = IV ‖ ciphertext).
 */
export class BodyCipher {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new Error('the tcp12 AES key must be 32 bytes (64 hex digits)');
  }

  /** MSG_SERVER_TCP12_AES_KEY: 64 hex digits, or empty (AES off). */
  static fromHex(hex: string): BodyCipher | undefined {
    if (!hex) return undefined;
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error('MSG_SERVER_TCP12_AES_KEY must be 64 hex digits (an AES-256 key)');
    return new BodyCipher(Buffer.from(hex, 'hex'));
  }

  encrypt(plain: Uint8Array): Buffer {
    const iv = randomBytes(16);
    const cipher = createCipheriv('aes-256-cbc', this.key, iv);
    return Buffer.concat([iv, cipher.update(plain), cipher.final()]);
  }

  decrypt(data: Uint8Array): Buffer {
    if (data.length < 32 || data.length % 16 !== 0) throw new Error('not IV + whole AES blocks');
    const decipher = createDecipheriv('aes-256-cbc', this.key, data.subarray(0, 16));
    return Buffer.concat([decipher.update(data.subarray(16)), decipher.final()]);
  }
}

/**
 * The protobuf bytes of a received body: decrypted (when the flag says AES),
 * then gunzipped (when it says gzip) — the reverse of packBody. Throws
 * Tcp12BodyError with the status to answer.
 */
export function unpackBody(body: Buffer, flag: ConnectFlag, cipher: BodyCipher | undefined, maxBytes: number): Buffer {
  if (flag.encryption === Encryption.RSA || flag.encryption === Encryption.E2E_RSA) throw new Tcp12BodyError(Status.ENCRYPTION_NOT_SUPPORTED, 'RSA encryption (modes 2 and 3) is not supported: use 0 (none) or 1 (AES)');
  if (flag.compression > Compression.GZIP) throw new Tcp12BodyError(Status.COMPRESSION_NOT_SUPPORTED, `compression ${flag.compression} is reserved: use 0 (none) or 1 (gzip)`);
  let out = body;
  if (flag.encryption === Encryption.AES) {
    if (!cipher) throw new Tcp12BodyError(Status.ENCRYPTION_NOT_SUPPORTED, 'AES is not configured on this server');
    try {
      out = cipher.decrypt(out);
    } catch (err) {
      throw new Tcp12BodyError(Status.BAD_AES, `body does not decrypt: ${(err as Error).message}`);
    }
  }
  if (flag.compression === Compression.GZIP) {
    try {
      out = gunzipSync(out, { maxOutputLength: maxBytes });
    } catch (err) {
      throw new Tcp12BodyError(Status.BAD_GZIP, `body does not gunzip: ${(err as Error).message}`);
    }
  }
  return out;
}

/** A body as sent: gzipped first (when asked), then encrypted (when asked). */
export function packBody(body: Uint8Array, compression: number, encryption: number, cipher: BodyCipher | undefined): Buffer {
  let out = Buffer.from(body.buffer, body.byteOffset, body.length);
  if (compression === Compression.GZIP) out = gzipSync(out);
  if (encryption === Encryption.AES && cipher) out = cipher.encrypt(out);
  return out;
}
