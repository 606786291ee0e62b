import { createCipheriv, createDecipheriv } from 'node:crypto';

/** The key stock TeamTalk clients ship with. */
export const DEFAULT_CONTENT_KEY = '12345678901234567890123456789012';

/**
 * msg_data as stock clients send it: AES-256-ECB over the plaintext padded
 * with zeros to whole blocks, its byte length big-endian in the last 4 bytes
 * (one more block when fewer than 4 bytes are free), then base64.
 */
export function encryptContent(plaintext: string, key: string = DEFAULT_CONTENT_KEY): Buffer {
  const text = Buffer.from(plaintext, 'utf8');
  let size = Math.ceil(text.length / 16) * 16;
  if (size - text.length < 4) size += 16;
  const padded = Buffer.alloc(size);
  text.copy(padded);
  padded.writeUInt32BE(text.length, size - 4);
  const cipher = createCipheriv('aes-256-ecb', Buffer.from(key, 'latin1'), null);
  cipher.setAutoPadding(false);
  const encrypted = Buffer.concat([cipher.update(padded), cipher.final()]);
  return Buffer.from(encrypted.toString('base64'), 'latin1');
}

export function decryptContent(data: Uint8Array, key: string = DEFAULT_CONTENT_KEY): string {
  const encrypted = Buffer.from(Buffer.from(data).toString('latin1'), 'base64');
  if (encrypted.length === 0 || encrypted.length % 16 !== 0) throw new Error('content is not whole AES blocks');
  const decipher = createDecipheriv('aes-256-ecb', Buffer.from(key, 'latin1'), null);
  decipher.setAutoPadding(false);
  const padded = Buffer.concat([decipher.update(encrypted), decipher.final()]);
  const length = padded.readUInt32BE(padded.length - 4);
  if (length > padded.length - 4) throw new Error('content length field is out of range');
  return padded.subarray(0, length).toString('utf8');
}
