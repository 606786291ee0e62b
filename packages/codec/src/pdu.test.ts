import { encodePdu, decodePdu, FrameDecoder, FrameError, PDU_HEADER_LENGTH, type Pdu } from './index';

function collect(decoder: FrameDecoder, chunks: Buffer[]): Pdu[] {
  const out: Pdu[] = [];
  for (const chunk of chunks) decoder.push(chunk, (p) => out.push({ ...p, body: Buffer.from(p.body) }));
  return out;
}

describe('PDU framing', () => {
  it('writes the 16-byte big-endian header TeamTalk clients expect', () => {
    const pdu = encodePdu(0x0003, 0x0301, 0x1234, Buffer.from([1, 2, 3]));
    expect(pdu.length).toBe(19);
    expect([...pdu.subarray(0, 16)]).toEqual([0, 0, 0, 19, 0, 1, 0, 0, 0, 3, 0x03, 0x01, 0x12, 0x34, 0, 0]);
    expect(decodePdu(pdu)).toMatchObject({ serviceId: 3, commandId: 0x301, seqNum: 0x1234 });
  });

  it('an empty body gives length 16', () => {
    const pdu = encodePdu(7, 0x701, 0, Buffer.alloc(0));
    expect(pdu.readUInt32BE(0)).toBe(PDU_HEADER_LENGTH);
    expect(collect(new FrameDecoder(), [pdu])).toHaveLength(1);
  });

  it('reassembles PDUs delivered one byte at a time', () => {
    const a = encodePdu(1, 0x103, 1, Buffer.from('hello'));
    const b = encodePdu(3, 0x301, 2, Buffer.alloc(3000, 7));
    const stream = Buffer.concat([a, b]);
    const bytes = [...stream].map((x) => Buffer.from([x]));
    const got = collect(new FrameDecoder(), bytes);
    expect(got.map((p) => p.seqNum)).toEqual([1, 2]);
    expect(got[0].body.toString()).toBe('hello');
    expect(got[1].body.equals(Buffer.alloc(3000, 7))).toBe(true);
  });

  it('splits coalesced reads and keeps a trailing partial PDU for later', () => {
    const pdus = [1, 2, 3, 4].map((i) => encodePdu(3, 0x301, i, Buffer.alloc(i * 10, i)));
    const stream = Buffer.concat(pdus);
    const cut = stream.length - 7;
    const decoder = new FrameDecoder();
    const first = collect(decoder, [stream.subarray(0, cut)]);
    expect(first.map((p) => p.seqNum)).toEqual([1, 2, 3]);
    expect(decoder.pendingBytes).toBe(pdus[3].length - 7);
    const rest = collect(decoder, [stream.subarray(cut)]);
    expect(rest.map((p) => p.seqNum)).toEqual([4]);
    expect(decoder.pendingBytes).toBe(0);
  });

  it('handles random chunking of a long stream', () => {
    const pdus = Array.from({ length: 200 }, (_, i) => encodePdu(3, 0x301, i, Buffer.alloc((i * 37) % 500, i & 0xff)));
    const stream = Buffer.concat(pdus);
    const chunks: Buffer[] = [];
    let seed = 42;
    for (let off = 0; off < stream.length; ) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const size = 1 + (seed % 700);
      chunks.push(stream.subarray(off, off + size));
      off += size;
    }
    const got = collect(new FrameDecoder(), chunks);
    expect(got.map((p) => p.seqNum)).toEqual(pdus.map((_, i) => i));
    expect(got.every((p, i) => p.body.length === (i * 37) % 500)).toBe(true);
  });

  it.each([0, 1, 15])('rejects a length of %d (under the header size)', (length) => {
    const bad = Buffer.alloc(16);
    bad.writeUInt32BE(length, 0);
    expect(() => collect(new FrameDecoder(), [bad])).toThrow(FrameError);
  });

  it('rejects a length over the limit as soon as the length field is known', () => {
    const decoder = new FrameDecoder(1024);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(1025, 0);
    expect(() => collect(decoder, [head])).toThrow(/exceeds the limit of 1024/);
    const split = new FrameDecoder(1024);
    collect(split, [Buffer.from([0, 0])]);
    expect(() => collect(split, [Buffer.from([0xff, 0xff])])).toThrow(FrameError);
  });

  it('accepts a PDU exactly at the limit', () => {
    const pdu = encodePdu(3, 0x301, 9, Buffer.alloc(1024 - 16));
    expect(collect(new FrameDecoder(1024), [pdu])).toHaveLength(1);
  });

  it('decodePdu refuses a buffer whose length field disagrees', () => {
    const pdu = encodePdu(3, 0x301, 9, Buffer.alloc(4));
    expect(() => decodePdu(pdu.subarray(0, 18))).toThrow(FrameError);
  });
});
