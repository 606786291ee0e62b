import { decodePayload, encodePayload, encodeTextPayload, PAYLOAD_MIN_BYTES } from './payload';

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

test('the text form is ASCII (valid UTF-8), about the asked size, and decodes to the same payload', () => {
  const p = { runTag: 0xdeadbeef, stream: 5, seq: 300, sentAt: 98765.25 };
  const t = encodeTextPayload(p, 64);
  expect(t.length).toBe(64);
  expect([...t].every((b) => b >= 0x20 && b < 0x7f)).toBe(true);
  expect(t.subarray(0, 4).toString()).toBe('VFRC');
  expect(Buffer.from(t.toString('utf8'), 'utf8').equals(t)).toBe(true);
  expect(decodePayload(t, 0xdeadbeef)).toEqual({ ok: true, payload: p });
  expect(decodePayload(new Uint8Array(t), 0xdeadbeef).ok).toBe(true);
  expect(encodeTextPayload(p, 28).length).toBe(40); // at least a whole binary payload
  expect(decodePayload(t, 1)).toEqual({ ok: false, reason: 'foreign' });
  const bad = Buffer.from(t);
  bad[50] = bad[50] === 0x41 ? 0x42 : 0x41;
  expect(decodePayload(bad, 0xdeadbeef)).toEqual({ ok: false, reason: 'corrupt' });
});
