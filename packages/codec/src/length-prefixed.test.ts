import { FrameError, LengthPrefixedSplitter, MAX_PINNED_BYTES, type LengthPrefixedFormat } from './index';

/** Where a frame lies: bytes start..end of `bytes`. */
interface Place {
  bytes: Buffer;
  start: number;
  end: number;
}
type Format = LengthPrefixedFormat<Place>;
const place = (bytes: Buffer, start: number, end: number): Place => ({ bytes, start, end });

/** A frame of `format`: the length field, the rest of the header filled with `tag`, then the body. */
function frame(format: { headerBytes: number; lengthIncludesHeader: boolean }, body: Buffer, tag = 0): Buffer {
  const out = Buffer.alloc(format.headerBytes + body.length, tag);
  out.writeUInt32BE(format.lengthIncludesHeader ? out.length : body.length, 0);
  body.copy(out, format.headerBytes);
  return out;
}

/** Bodies of the frames cut from `chunks` (copied: views may point into reused chunks). */
function split(splitter: LengthPrefixedSplitter<Place>, headerBytes: number, chunks: Buffer[]): string[] {
  const out: string[] = [];
  for (const chunk of chunks) splitter.push(chunk, ({ bytes, start, end }) => out.push(bytes.subarray(start + headerBytes, end).toString()));
  return out;
}

function randomChunks(stream: Buffer, seed: number, maxSize: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let off = 0; off < stream.length; ) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const size = 1 + (seed % maxSize);
    chunks.push(stream.subarray(off, off + size));
    off += size;
  }
  return chunks;
}

const formats: Array<[string, Format]> = [
  ['length counts the header (16)', { headerBytes: 16, lengthIncludesHeader: true, minLength: 16, maxLength: 1 << 20, frame: place }],
  ['length counts the body only (12)', { headerBytes: 12, lengthIncludesHeader: false, minLength: 0, maxLength: 1 << 20, frame: place }],
  ['a bare 4-byte prefix counting itself', { headerBytes: 4, lengthIncludesHeader: true, minLength: 4, maxLength: 1 << 20, frame: place }],
  ['a bare 4-byte prefix counting the body', { headerBytes: 4, lengthIncludesHeader: false, minLength: 0, maxLength: 1 << 20, frame: place }],
];

describe('LengthPrefixedSplitter', () => {
  it.each(formats)('%s: same frames whatever the chunking', (_name, format) => {
    const bodies = Array.from({ length: 120 }, (_, i) => `body ${i} `.repeat(i % 9));
    const stream = Buffer.concat(bodies.map((b, i) => frame(format, Buffer.from(b), i & 0xff)));
    for (const chunks of [[stream], [...stream].map((x) => Buffer.from([x])), randomChunks(stream, 7, 50), randomChunks(stream, 42, 700)]) {
      const splitter = new LengthPrefixedSplitter(format);
      expect(split(splitter, format.headerBytes, chunks)).toEqual(bodies);
      expect(splitter.pendingBytes).toBe(0);
    }
  });

  it('hands no frame on while the reader holds back, and goes on where it stopped when pushed again', () => {
    const format = formats[0][1];
    const splitter = new LengthPrefixedSplitter(format);
    const stream = Buffer.concat(['a', 'b', 'c', 'd'].map((b) => frame(format, Buffer.from(b))));
    const out: string[] = [];
    let room = 1;
    const take = ({ bytes, start, end }: Place) => {
      out.push(bytes.subarray(start + format.headerBytes, end).toString());
      room -= 1;
    };
    splitter.push(stream, take, () => room === 0);
    expect(out).toEqual(['a']);
    expect(splitter.pendingBytes).toBe(stream.length - frame(format, Buffer.from('a')).length);
    room = 2;
    splitter.push(Buffer.alloc(0), take, () => room === 0);
    expect(out).toEqual(['a', 'b', 'c']);
    room = 5;
    splitter.push(Buffer.alloc(0), take, () => room === 0);
    expect(out).toEqual(['a', 'b', 'c', 'd']);
    expect(splitter.pendingBytes).toBe(0);
  });

  it('hands each frame as a view of the read that holds it, header included', () => {
    const format = formats[1][1];
    const a = frame(format, Buffer.from('one'), 0xaa);
    const b = frame(format, Buffer.from('two'), 0xbb);
    const chunk = Buffer.concat([a, b]);
    const seen: Place[] = [];
    new LengthPrefixedSplitter(format).push(chunk, (p) => seen.push(p));
    expect(seen).toHaveLength(2);
    expect(seen[0]).toEqual({ bytes: chunk, start: 0, end: a.length });
    expect(seen[0].bytes).toBe(chunk);
    expect(seen[1]).toEqual({ bytes: chunk, start: a.length, end: chunk.length });
  });

  it('keeps a trailing partial frame as a view of its read, or as a copy when much was handled before it', () => {
    const format = formats[0][1];
    const whole = frame(format, Buffer.alloc(100, 1));
    /** The completed last frame's body byte, when the read's bytes change after the split (a view sees it). */
    const keptByte = (framesBefore: number): number => {
      const splitter = new LengthPrefixedSplitter(format);
      const chunk = Buffer.concat([...Array<Buffer>(framesBefore).fill(whole), whole.subarray(0, 30)]);
      expect(split(splitter, 16, [chunk])).toHaveLength(framesBefore);
      expect(splitter.pendingBytes).toBe(30);
      chunk.fill(7, chunk.length - 10);
      let completed: Place | undefined;
      splitter.push(whole.subarray(30), (p) => (completed = p));
      return completed!.bytes[completed!.start + 29];
    };
    expect(keptByte(1)).toBe(7);
    expect(keptByte(Math.ceil(MAX_PINNED_BYTES / whole.length) + 1)).toBe(1);
  });

  it('completes a frame begun in an earlier read with only the bytes it lacks: the frames after it are views of the new read', () => {
    const format = formats[1][1];
    const a = frame(format, Buffer.from('first'));
    const b = frame(format, Buffer.from('second'));
    const c = frame(format, Buffer.from('third'));
    const first = a.subarray(0, 7);
    const second = Buffer.concat([a.subarray(7), b, c]);
    const seen: Place[] = [];
    const splitter = new LengthPrefixedSplitter(format);
    splitter.push(first, (p) => seen.push(p));
    splitter.push(second, (p) => seen.push(p));
    expect(seen.map(({ bytes, start, end }) => bytes.subarray(start + 12, end).toString())).toEqual(['first', 'second', 'third']);
    // The completed frame is a buffer of its own, exactly one frame long; the next ones lie in the read.
    expect(seen[0].bytes.length).toBe(a.length);
    expect(seen[0].bytes.buffer).not.toBe(second.buffer);
    expect(seen[1].bytes.buffer).toBe(second.buffer);
    expect(seen[2].bytes.buffer).toBe(second.buffer);
  });

  it('with borrowed reads cut anywhere, copies each frame once and keeps one spill buffer while held back', () => {
    const format = formats[1][1];
    const stream = Buffer.concat(Array.from({ length: 200 }, (_, i) => frame(format, Buffer.from(`m${i}`))));
    const splitter = new LengthPrefixedSplitter(format);
    const readBuffer = Buffer.alloc(97);
    const out: string[] = [];
    let budget = 0;
    const take = ({ bytes, start, end }: Place) => (out.push(bytes.subarray(start + 12, end).toString()), (budget -= 1));
    const spills = new Set<unknown>();
    for (let off = 0; off < stream.length; off += readBuffer.length) {
      const n = stream.copy(readBuffer, 0, off, off + readBuffer.length);
      budget = 3;
      splitter.push(readBuffer.subarray(0, n), take, () => budget <= 0, true);
      readBuffer.fill(0x78);
      while (splitter.pendingBytes > 0 && budget <= 0) {
        if (splitter['spill']) spills.add(splitter['spill']);
        budget = 3;
        splitter.push(Buffer.alloc(0), take, () => budget <= 0);
      }
    }
    expect(out).toEqual(Array.from({ length: 200 }, (_, i) => `m${i}`));
    expect(spills.size).toBe(1);
  });

  it.each(formats)('%s: same frames with borrowed reads, any chunking and any holding back', (_name, format) => {
    const bodies = Array.from({ length: 300 }, (_, i) => `b${i}:` + 'x'.repeat((i * 7919) % 53));
    const stream = Buffer.concat(bodies.map((b, i) => frame(format, Buffer.from(b), i & 0xff)));
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      let rnd = seed;
      const next = (n: number) => ((rnd = (rnd * 1103515245 + 12345) & 0x7fffffff), rnd % n);
      const splitter = new LengthPrefixedSplitter(format);
      const readBuffer = Buffer.alloc(200);
      const out: string[] = [];
      let budget = 0;
      const take = ({ bytes, start, end }: Place) => {
        out.push(bytes.subarray(start + format.headerBytes, end).toString());
        budget -= 1;
      };
      const held = () => budget <= 0;
      for (let off = 0; off < stream.length; ) {
        const n = stream.copy(readBuffer, 0, off, off + 1 + next(readBuffer.length));
        off += n;
        budget = next(6); // 0..5 frames this turn: often held back mid-read
        splitter.push(readBuffer.subarray(0, n), take, held, true);
        readBuffer.fill(0x5a); // the shared buffer is reused by the next read
        // Turns go by until the connection has taken what it holds (as it would before reading again);
        // with odd seeds the next read comes anyway (a transport that delivers while paused).
        while (seed % 2 === 0 && budget <= 0 && splitter.pendingBytes > 0) {
          const before = out.length;
          budget = 1 + next(5);
          splitter.push(Buffer.alloc(0), take, held);
          if (out.length === before) break; // only a partial frame is left: the next read completes it
        }
      }
      budget = Infinity;
      splitter.push(Buffer.alloc(0), take, held);
      expect(out.length).toBe(bodies.length);
      expect(out).toEqual(bodies);
      expect(splitter.pendingBytes).toBe(0);
    }
  });

  it('takes a large frame sent byte by byte without joining on every read', () => {
    const format = formats[2][1];
    const big = frame(format, Buffer.alloc(512 * 1024, 2));
    const splitter = new LengthPrefixedSplitter(format);
    let got = 0;
    const started = Date.now();
    for (let i = 0; i < big.length; i++) splitter.push(big.subarray(i, i + 1), () => got++);
    expect(got).toBe(1);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('throws a FrameError carrying the length as soon as the 4 length bytes are in', () => {
    const format: Format = { headerBytes: 12, lengthIncludesHeader: false, minLength: 1, maxLength: 100, frame: place };
    const over = new LengthPrefixedSplitter(format);
    over.push(Buffer.from([0, 0]), () => undefined);
    let error: unknown;
    try {
      over.push(Buffer.from([0, 101]), () => undefined);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(FrameError);
    expect((error as FrameError).length).toBe(101);
    expect((error as FrameError).message).toBe('frame length 101 is outside 1..100');
    // After whole frames in the same read, too.
    const good = frame(format, Buffer.from('ok'));
    expect(() => new LengthPrefixedSplitter(format).push(Buffer.concat([good, Buffer.from([0, 0, 0, 0])]), () => undefined)).toThrow('frame length 0 is outside 1..100');
  });

  it('accepts lengths exactly at the bounds', () => {
    const format: Format = { headerBytes: 4, lengthIncludesHeader: false, minLength: 1, maxLength: 8, frame: place };
    const frames = [frame(format, Buffer.from('a')), frame(format, Buffer.from('12345678'))];
    expect(split(new LengthPrefixedSplitter(format), 4, frames)).toEqual(['a', '12345678']);
  });

  it('throws the caller-made error for a bad length', () => {
    class MyError extends Error {}
    const splitter = new LengthPrefixedSplitter({ headerBytes: 4, lengthIncludesHeader: true, minLength: 5, maxLength: 10, lengthError: (length) => new MyError(`bad ${length}`), frame: place });
    expect(() => splitter.push(Buffer.from([0, 0, 0, 4]), () => undefined)).toThrow(new MyError('bad 4'));
  });

  it('checks a header once it is complete, before the body is in, and before the length', () => {
    const checked: number[] = [];
    const format: Format = {
      frame: place,
      headerBytes: 8,
      lengthIncludesHeader: false,
      minLength: 0,
      maxLength: 100,
      checkHeader: (bytes, start) => {
        checked.push(bytes[start + 7]);
        if (bytes[start + 7] === 0xee) throw new Error('bad header');
      },
    };
    const bad = frame(format, Buffer.alloc(50), 0xee);
    const splitter = new LengthPrefixedSplitter(format);
    splitter.push(bad.subarray(0, 5), () => undefined);
    expect(checked).toEqual([]);
    expect(() => splitter.push(bad.subarray(5, 9), () => undefined)).toThrow('bad header');
    // A bad header wins over a bad length when both are in.
    const both = Buffer.alloc(8, 0xee);
    both.writeUInt32BE(1000, 0);
    expect(() => new LengthPrefixedSplitter(format).push(both, () => undefined)).toThrow('bad header');
  });

  it('with a borrowed read (one buffer reused for every read) keeps nothing that points into it', () => {
    const format = formats[0][1];
    const splitter = new LengthPrefixedSplitter(format);
    const readBuffer = Buffer.alloc(64);
    const kept: Place[] = [];
    const stream = Buffer.concat([frame(format, Buffer.from('first')), frame(format, Buffer.from('second')), frame(format, Buffer.from('third'))]);
    // Reads of 30 bytes: the second frame is split, the third arrives while its predecessor's tail is kept.
    for (let off = 0; off < stream.length; off += 30) {
      const n = stream.copy(readBuffer, 0, off, off + 30);
      splitter.push(readBuffer.subarray(0, n), (p) => kept.push(p), undefined, true);
      readBuffer.fill(0x78); // the next read (or another socket's) overwrites it
    }
    expect(kept.map(({ bytes, start, end }) => bytes.subarray(start + 16, end).toString())).toEqual(['first', 'second', 'third']);
    expect(kept.every((p) => p.bytes.buffer !== readBuffer.buffer)).toBe(true);
  });

  it('with a borrowed read, frames held back are copied out of it and taken later', () => {
    const format = formats[0][1];
    const splitter = new LengthPrefixedSplitter(format);
    const readBuffer = Buffer.concat([frame(format, Buffer.from('a')), frame(format, Buffer.from('b'))]);
    const out: string[] = [];
    const take = ({ bytes, start, end }: Place) => out.push(bytes.subarray(start + 16, end).toString());
    let hold = false;
    splitter.push(readBuffer, (p) => (take(p), (hold = true)), () => hold, true);
    readBuffer.fill(0);
    hold = false;
    splitter.push(Buffer.alloc(0), take);
    expect(out).toEqual(['a', 'b']);
  });

  it('with borrowed reads held back again and again, keeps their rest in one buffer of its own, dropped once a read is taken whole', () => {
    const format = formats[0][1];
    const splitter = new LengthPrefixedSplitter(format);
    const readBuffer = Buffer.concat(Array.from({ length: 8 }, (_, i) => frame(format, Buffer.from(`f${i}`))));
    const out: string[] = [];
    let budget = 0;
    const take = ({ bytes, start, end }: Place) => (out.push(bytes.subarray(start + 16, end).toString()), (budget -= 1));
    const spills = new Set<unknown>();
    for (let read = 0; read < 3; read++) {
      budget = 3; // three frames a turn: each read of eight is held back twice
      splitter.push(readBuffer, take, () => budget <= 0, true);
      while (splitter.pendingBytes > 0) {
        spills.add(splitter['spill']);
        budget = 3;
        splitter.push(Buffer.alloc(0), take, () => budget <= 0);
      }
    }
    expect(out).toEqual([0, 1, 2].flatMap(() => Array.from({ length: 8 }, (_, i) => `f${i}`)));
    expect(spills.size).toBe(1);
    budget = 100;
    splitter.push(readBuffer, take, () => budget <= 0, true);
    expect(splitter['spill']).toBeUndefined();
  });

  it('refuses a format whose frames could be shorter than their header', () => {
    expect(() => new LengthPrefixedSplitter({ headerBytes: 16, lengthIncludesHeader: true, minLength: 15, maxLength: 100, frame: place })).toThrow(RangeError);
    expect(() => new LengthPrefixedSplitter({ headerBytes: 2, lengthIncludesHeader: false, minLength: 0, maxLength: 100, frame: place })).toThrow(RangeError);
  });
});
