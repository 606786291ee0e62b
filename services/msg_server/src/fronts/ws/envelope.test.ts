import { IM } from '@tt/proto';
import { encodeEnvelope, varintField } from './envelope';

describe('the WebSocket envelope, written by hand for speed, reads back as the seed\'s WebSocketMessage', () => {
  it.each([
    [202, 0, 0],
    [201, 7, 1],
    [101, 0xffffffff, 300],
    [5, 1, 1 << 20],
  ])('command %i, sequence %i, a %i-byte body', (command, sequence, bodySize) => {
    const body = Buffer.alloc(bodySize, 0x61);
    const timestamp = Date.now();
    const decoded = IM.Ws.WebSocketMessage.decode(encodeEnvelope(command, sequence, body, undefined, timestamp));
    expect(decoded.command).toBe(command);
    expect(decoded.sequence).toBe(sequence);
    expect(Buffer.from(decoded.body).equals(body)).toBe(true);
    expect(Number(decoded.timestamp)).toBe(timestamp);
  });

  it('a push body with the viewer\'s seq appended decodes with that seq', () => {
    const base = IM.Ws.PushMessage.encode({ messageId: 'si_a_b:1', senderId: 'a', content: Buffer.from('hi') }).finish();
    for (const seq of [1, 127, 128, 300_000, 2 ** 40]) {
      const frame = IM.Ws.WebSocketMessage.decode(encodeEnvelope(202, 0, base, varintField(11, seq), 1));
      const push = IM.Ws.PushMessage.decode(frame.body);
      expect(Number(push.seq)).toBe(seq);
      expect(push.messageId).toBe('si_a_b:1');
      expect(Buffer.from(push.content).toString()).toBe('hi');
    }
  });
});
