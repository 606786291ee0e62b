import { decryptContent, encryptContent } from './content-cipher';

describe('TeamTalk message content encryption', () => {
  it.each(['', 'hi', 'exactly twelve', '0123456789abcdef', '你好，世界 — multi-byte text'])('round-trips %j', (text) => {
    const data = encryptContent(text);
    expect(decryptContent(data)).toBe(text);
  });

  it('adds a block when fewer than 4 bytes are free for the length', () => {
    // 13 bytes leave 3 free in one block: two blocks of ciphertext, 32 bytes -> 44 base64 chars.
    expect(Buffer.from(encryptContent('x'.repeat(13)).toString(), 'base64').length).toBe(32);
    expect(Buffer.from(encryptContent('x'.repeat(12)).toString(), 'base64').length).toBe(16);
  });

  it('refuses bytes that are not ciphertext', () => {
    expect(() => decryptContent(Buffer.from('not base64 blocks'))).toThrow();
  });
});
