import { decodePayload, encodePayload, PAYLOAD_MIN_BYTES } from './payload';

test('round trip, unique per stream and seq', () => {
  const a = encodePayload({ runTag: 7, stream: 3, seq: 41, sentAt: 1234.5 }, 64);
  expect(a.length).toBe(64);
  expect(decodePayload(a, 7)).toEqual({ ok: true, payload: { runTag: 7, stream: 3, seq: 41, sentAt: 1234.5 } });
  const b = encodePayload({ runTag: 7, stream: 3, seq: 42, sentAt: 1234.5 }, 64);
  expect(a.equals(b)).toBe(false);
  expect(encodePayload({ runTag: 1, stream: 0, seq: 0, sentAt: 0 }, 1).length).toBe(PAYLOAD_MIN_BYTES);
});

test('foreign and corrupt payloads are told apart', () => {
  const p = encodePayload({ runTag: 0xdeadbeef, stream: 1, seq: 2, sentAt: 3 }, 100);
  expect(decodePayload(p, 0x12345678)).toEqual({ ok: false, reason: 'foreign' });
  expect(decodePayload(Buffer.from('hello'), 0xdeadbeef)).toEqual({ ok: false, reason: 'foreign' });
  for (const i of [12, 20, 60, 99]) {
    const bad = Buffer.from(p);
    bad[i] ^= 1;
    expect(decodePayload(bad, 0xdeadbeef)).toEqual({ ok: false, reason: 'corrupt' });
  }
  expect(decodePayload(new Uint8Array(p), 0xdeadbeef).ok).toBe(true);
});
