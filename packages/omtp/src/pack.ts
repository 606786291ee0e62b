// OMTP packs and frames (seed 004, docs/fronts/omtp.md): a frame is a 4-byte
// big-endian length that counts itself, then an OTIMPack in Tars. The
// header's flags (a Tars long) say whether the payload is an answer, a
// resend, … and how it is compressed and encrypted.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
import { OTIMPack, type OTIMHeader } from './structs';
import { decodeStruct, encodeStruct, type TarsInput } from './tars';

// ---------------------------------------------------------------- flags

/** Single-bit flags, bit 0 first (the seed's PT_FLAGS_BITS as C compilers lay it out). */
export const Flags = {
  ACK: 1 << 0,
  DUP: 1 << 1,
  COUNTER: 1 << 2,
  OVERWRITE: 1 << 3,
  REVOKE: 1 << 4,
  HIGHPRJ: 1 << 5,
  COMPRESS_SHIFT: 6,
  COMPRESS_MASK: 0b111 << 6,
  CRYPTO_SHIFT: 9,
  CRYPTO_MASK: 0b111 << 9,
  /** Bits 0-11: everything below the reserved bits. */
  KNOWN_MASK: (1 << 12) - 1,
} as const;

export const Compress = { NONE: 0, ZLIB: 1 } as const;
export const Crypto = { NONE: 0, AES: 1 } as const;

export interface FlagBits {
  ack: boolean;
  dup: boolean;
  counter: boolean;
  overwrite: boolean;
  revoke: boolean;
  highPrj: boolean;
  /** 0-7; 1 is zlib. */
  compress: number;
  /** 0-7; 1 is AES. */
  crypto: number;
  /** Any of bits 12-63 set (or a value JavaScript cannot hold exactly). */
  reserved: boolean;
}

/**
 * True when a flags value has reserved bits: bit 12 or above, a negative
 * long (bit 63), or a value past 2^53 that a JS number cannot hold exactly.
 */
export function hasReservedBits(flags: number): boolean {
  return !Number.isSafeInteger(flags) || flags < 0 || flags > Flags.KNOWN_MASK;
}

/** Bits 0-11 of a flags value (JS bitwise operators are 32-bit; the modulo keeps this exact for any safe integer). */
function lowBits(flags: number): number {
  return Number.isSafeInteger(flags) && flags >= 0 ? flags % 4096 : 0;
}

export function hasFlag(flags: number, bit: number): boolean {
  return (lowBits(flags) & bit) !== 0;
}

export function compressOf(flags: number): number {
  return (lowBits(flags) & Flags.COMPRESS_MASK) >> Flags.COMPRESS_SHIFT;
}

export function cryptoOf(flags: number): number {
  return (lowBits(flags) & Flags.CRYPTO_MASK) >> Flags.CRYPTO_SHIFT;
}

export function parseFlags(flags: number): FlagBits {
  const low = lowBits(flags);
  return {
    ack: (low & Flags.ACK) !== 0,
    dup: (low & Flags.DUP) !== 0,
    counter: (low & Flags.COUNTER) !== 0,
    overwrite: (low & Flags.OVERWRITE) !== 0,
    revoke: (low & Flags.REVOKE) !== 0,
    highPrj: (low & Flags.HIGHPRJ) !== 0,
    compress: (low & Flags.COMPRESS_MASK) >> Flags.COMPRESS_SHIFT,
    crypto: (low & Flags.CRYPTO_MASK) >> Flags.CRYPTO_SHIFT,
    reserved: hasReservedBits(flags),
  };
}

/** A flags value from its parts (reserved bits are never composed). */
export function composeFlags(bits: Partial<Omit<FlagBits, 'reserved'>>): number {
  const field = (v: number | undefined, name: string) => {
    const n = v ?? 0;
    if (!Number.isInteger(n) || n < 0 || n > 7) throw new RangeError(`${name} must be 0-7, got ${n}`);
    return n;
  };
  return (
    (bits.ack ? Flags.ACK : 0) |
    (bits.dup ? Flags.DUP : 0) |
    (bits.counter ? Flags.COUNTER : 0) |
    (bits.overwrite ? Flags.OVERWRITE : 0) |
    (bits.revoke ? Flags.REVOKE : 0) |
    (bits.highPrj ? Flags.HIGHPRJ : 0) |
    (field(bits.compress, 'compress') << Flags.COMPRESS_SHIFT) |
    (field(bits.crypto, 'crypto') << Flags.CRYPTO_SHIFT)
  );
}

/** `flags` with its compress and crypto fields replaced (other bits kept). */
export function withTransforms(flags: number, compress: number, crypto: number): number {
  const kept = lowBits(flags) & ~(Flags.COMPRESS_MASK | Flags.CRYPTO_MASK);
  return kept | composeFlags({ compress, crypto });
}

// ---------------------------------------------------------------- packs and frames

/** The length prefix's size; a frame's length counts it. */
export const FRAME_HEADER_BYTES = 4;
/** The smallest frame length accepted (the prefix and at least one byte of Tars). */
export const MIN_FRAME_LENGTH = 5;
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
export const OMTP_VERSION = 1;

/** The OTIMPack's Tars bytes (no length prefix). `payload` is sent as given: pack it first. */
export function encodePack(header: TarsInput<OTIMHeader>, payload: Uint8Array): Buffer {
  return encodeStruct(OTIMPack, { header, payload });
}

/** A whole frame: the 4-byte big-endian length (counting itself) and the OTIMPack. */
export function framePack(header: TarsInput<OTIMHeader>, payload: Uint8Array): Buffer {
  return frameBytes(encodePack(header, payload));
}

/** Puts the length prefix in front of already encoded OTIMPack bytes. */
export function frameBytes(pack: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + pack.length);
  out.writeUInt32BE(out.length, 0);
  out.set(pack, FRAME_HEADER_BYTES);
  return out;
}

/** An OTIMPack from its Tars bytes (no length prefix). Throws TarsDecodeError. */
export function decodePack(bytes: Uint8Array): OTIMPack {
  return decodeStruct(OTIMPack, bytes);
}

// ---------------------------------------------------------------- payload transforms

export type PayloadErrorReason = 'unsupported_compress' | 'unsupported_crypto' | 'no_key' | 'bad_zlib' | 'too_large' | 'bad_aes';

const REASON_CODE: Record<PayloadErrorReason, 400 | 413 | 415> = {
  unsupported_compress: 415,
  unsupported_crypto: 415,
  no_key: 415,
  bad_zlib: 400,
  too_large: 413,
  bad_aes: 400,
};

/** A payload that cannot be packed or unpacked as its flags say; `code` is the OMTP code to answer with. */
export class PayloadError extends Error {
  readonly code: 400 | 413 | 415;
  constructor(
    readonly reason: PayloadErrorReason,
    message: string,
  ) {
    super(message);
    this.name = 'PayloadError';
    this.code = REASON_CODE[reason];
  }
}

export interface PackOptions {
  /** 0 none, 1 zlib. */
  compress?: number;
  /** 0 none, 1 AES-256-CBC. */
  crypto?: number;
  /** The AES-256 key (32 bytes), needed when crypto is 1. */
  key?: Buffer;
}

export interface UnpackOptions {
  key?: Buffer;
  /** Largest inflated payload (bytes); past it: PayloadError 'too_large' (413). */
  maxBytes?: number;
}

/** An AES-256 key from 64 hex digits (MSG_SERVER_OMTP_AES_KEY); undefined for an empty string. */
export function parseAesKey(hex: string): Buffer | undefined {
  if (hex === '') return undefined;
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error('an OMTP AES key is 64 hex digits (AES-256)');
  return Buffer.from(hex, 'hex');
}

/** Compresses, then encrypts, as the options say. Throws PayloadError for an unsupported transform or a missing key. */
export function packPayload(bytes: Uint8Array, options: PackOptions = {}): Buffer {
  const compress = options.compress ?? Compress.NONE;
  const crypto = options.crypto ?? Crypto.NONE;
  checkSupported(compress, crypto, options.key);
  let out = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (compress === Compress.ZLIB) out = deflateSync(out);
  if (crypto === Crypto.AES) {
    const iv = randomBytes(16);
    const cipher = createCipheriv('aes-256-cbc', options.key!, iv);
    out = Buffer.concat([iv, cipher.update(out), cipher.final()]);
  }
  return out;
}

/** Decrypts, then inflates, as `flags` say. Throws PayloadError (415 unsupported, 413 too large, 400 undecodable). */
export function unpackPayload(bytes: Uint8Array, flags: number, options: UnpackOptions = {}): Buffer {
  const compress = compressOf(flags);
  const crypto = cryptoOf(flags);
  checkSupported(compress, crypto, options.key);
  let out = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (crypto === Crypto.AES) {
    // The IV and at least one block; CBC output is whole blocks.
    if (out.length < 32 || out.length % 16 !== 0) throw new PayloadError('bad_aes', `an AES payload of ${out.length} bytes is not an IV and whole blocks`);
    try {
      const decipher = createDecipheriv('aes-256-cbc', options.key!, out.subarray(0, 16));
      out = Buffer.concat([decipher.update(out.subarray(16)), decipher.final()]);
    } catch {
      throw new PayloadError('bad_aes', 'the payload does not decrypt (wrong key or bad padding)');
    }
  }
  if (compress === Compress.ZLIB) {
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_FRAME_BYTES;
    try {
      out = inflateSync(out, { maxOutputLength: maxBytes });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw new PayloadError('too_large', `the payload inflates past ${maxBytes} bytes`);
      throw new PayloadError('bad_zlib', `the payload does not inflate: ${(err as Error).message}`);
    }
  }
  return out;
}

function checkSupported(compress: number, crypto: number, key: Buffer | undefined): void {
  if (compress !== Compress.NONE && compress !== Compress.ZLIB) throw new PayloadError('unsupported_compress', `compression ${compress} is not supported`);
  if (crypto !== Crypto.NONE && crypto !== Crypto.AES) throw new PayloadError('unsupported_crypto', `encryption ${crypto} is not supported`);
  if (crypto === Crypto.AES && (!key || key.length !== 32)) throw new PayloadError('no_key', 'AES is not enabled (no AES-256 key)');
}
