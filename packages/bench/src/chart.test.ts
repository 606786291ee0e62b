import { inflateSync } from 'node:zlib';
import { niceTicks, renderChart, shortNumber } from './chart';
import { crc32, encodePng } from './png';
import { LatencyHistogram } from './stats';

/** Reads back a PNG written by encodePng: chunk CRCs, header, pixels. */
function readPng(file: Buffer): { width: number; height: number; rgba: Buffer } {
  expect([...file.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let off = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  const types: string[] = [];
  while (off < file.length) {
    const len = file.readUInt32BE(off);
    const type = file.toString('ascii', off + 4, off + 8);
    const data = file.subarray(off + 8, off + 8 + len);
    expect(file.readUInt32BE(off + 8 + len)).toBe(crc32(file.subarray(off + 4, off + 8), data));
    types.push(type);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([...data.subarray(8)]).toEqual([8, 6, 0, 0, 0]);
    }
    if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  expect(types).toEqual(['IHDR', 'IDAT', 'IEND']);
  const raw = inflateSync(Buffer.concat(idat));
  expect(raw.length).toBe((width * 4 + 1) * height);
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (width * 4 + 1)]).toBe(0);
    raw.copy(rgba, y * width * 4, y * (width * 4 + 1) + 1, (y + 1) * (width * 4 + 1));
  }
  return { width, height, rgba };
}

test('crc32 matches the reference value', () => {
  expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
  expect(crc32(Buffer.from('IEND'))).toBe(0xae426082);
});

test('encodePng round-trips pixels', () => {
  const rgba = new Uint8Array(3 * 2 * 4).map((_, i) => (i * 37) & 0xff);
  const back = readPng(encodePng(3, 2, rgba));
  expect(back.width).toBe(3);
  expect(back.height).toBe(2);
  expect([...back.rgba]).toEqual([...rgba]);
  expect(() => encodePng(3, 3, rgba)).toThrow();
});

test('ticks and labels', () => {
  expect(niceTicks(95)).toEqual([0, 20, 40, 60, 80, 100]);
  expect(niceTicks(0)).toEqual([0, 1]);
  expect(niceTicks(1.3, 5)).toEqual([0, 0.5, 1, 1.5]);
  expect(shortNumber(1500)).toBe('1.5K');
  expect(shortNumber(2_000_000)).toBe('2M');
  expect(shortNumber(0.25)).toBe('0.25');
});

test('renders a chart with data, and one without', () => {
  const h = new LatencyHistogram();
  for (let i = 1; i < 500; i++) h.record(i * 0.7);
  const png = renderChart({
    title: 'single-chat - standalone',
    subtitle: 'test',
    timeline: { title: 'THROUGHPUT', unit: 'PER S', seconds: [0.5, 1.5, 2.5], series: { sent: [10, 20, 15], delivered: [9, 21, 15] } },
    distribution: { title: 'LATENCY', bins: h.bins(40), markers: [{ label: 'P50', ms: h.percentile(0.5) }] },
  });
  const img = readPng(png);
  expect(img.width).toBe(1200);
  expect(img.height).toBe(860);
  // Something was drawn in the first series' colour (31, 119, 180).
  let blue = 0;
  for (let i = 0; i < img.rgba.length; i += 4) if (img.rgba[i] === 31 && img.rgba[i + 1] === 119 && img.rgba[i + 2] === 180) blue += 1;
  expect(blue).toBeGreaterThan(100);
  const empty = renderChart({ title: 'x', subtitle: '', timeline: { title: 't', unit: '', seconds: [], series: {} }, distribution: { title: 'd', bins: [], markers: [] } });
  expect(readPng(empty).width).toBe(1200);
});
