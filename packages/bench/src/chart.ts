// The PNG chart of a run, drawn without a browser or system fonts: pixels in
// an RGBA buffer (lines, rectangles, a 5×7 bitmap font), encoded by png.ts.
// Top panel: throughput over time; bottom panel: latency distribution.
import { GLYPH_ADVANCE, glyph } from './font';
import { encodePng } from './png';
import type { HistogramBin } from './stats';

type RGB = readonly [number, number, number];

const WHITE: RGB = [255, 255, 255];
const BLACK: RGB = [30, 30, 30];
const GREY: RGB = [120, 120, 120];
const GRID: RGB = [228, 228, 228];
const BAR: RGB = [70, 130, 180];
export const PALETTE: readonly RGB[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
];
const MARKERS: readonly RGB[] = [
  [44, 160, 44],
  [255, 127, 14],
  [214, 39, 40],
];

export class Canvas {
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: RGB = WHITE,
  ) {
    this.data = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) {
      this.data[i * 4] = background[0];
      this.data[i * 4 + 1] = background[1];
      this.data[i * 4 + 2] = background[2];
      this.data[i * 4 + 3] = 255;
    }
  }

  pixel(x: number, y: number, c: RGB): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const o = (y * this.width + x) * 4;
    this.data[o] = c[0];
    this.data[o + 1] = c[1];
    this.data[o + 2] = c[2];
  }

  rect(x: number, y: number, w: number, h: number, c: RGB): void {
    for (let yy = Math.round(y); yy < Math.round(y + h); yy++) for (let xx = Math.round(x); xx < Math.round(x + w); xx++) this.pixel(xx, yy, c);
  }

  /** A straight line, `thick` pixels wide. */
  line(x0: number, y0: number, x1: number, y1: number, c: RGB, thick = 1): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    const r = (thick - 1) / 2;
    for (let i = 0; i <= steps; i++) {
      const x = x0 + ((x1 - x0) * i) / steps;
      const y = y0 + ((y1 - y0) * i) / steps;
      if (thick <= 1) this.pixel(x, y, c);
      else this.rect(x - r, y - r, thick, thick, c);
    }
  }

  dashedVLine(x: number, y0: number, y1: number, c: RGB): void {
    for (let y = y0; y <= y1; y++) if (Math.floor(y / 4) % 2 === 0) this.rect(x - 1, y, 2, 1, c);
  }

  /** Text with its top-left corner at (x, y); each font pixel is scale×scale. */
  text(x: number, y: number, s: string, c: RGB, scale = 2): void {
    let cx = x;
    for (const ch of s) {
      const g = glyph(ch);
      for (let row = 0; row < g.length; row++) for (let col = 0; col < g[row].length; col++) if (g[row][col]) this.rect(cx + col * scale, y + row * scale, scale, scale, c);
      cx += GLYPH_ADVANCE * scale;
    }
  }

  textWidth(s: string, scale = 2): number {
    return [...s].length * GLYPH_ADVANCE * scale - scale;
  }

  toPng(): Buffer {
    return encodePng(this.width, this.height, this.data);
  }
}

/** Round numbers for axis ticks: about `count` of them covering [0, max]. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < max) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

/** 1234 -> "1.2K", 0.5 -> "0.5". */
export function shortNumber(v: number): string {
  const a = Math.abs(v);
  const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(x < 10 ? 1 : 0).replace(/\.0$/, ''));
  if (a >= 1e9) return `${fmt(v / 1e9)}G`;
  if (a >= 1e6) return `${fmt(v / 1e6)}M`;
  if (a >= 1e3) return `${fmt(v / 1e3)}K`;
  if (a > 0 && a < 0.01) return v.toExponential(0);
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(3)));
}

export interface ChartInput {
  title: string;
  subtitle: string;
  timeline: { title: string; seconds: number[]; series: Record<string, number[]>; unit: string };
  distribution: { title: string; bins: HistogramBin[]; markers: Array<{ label: string; ms: number }> };
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function renderChart(input: ChartInput, width = 1200, height = 860): Buffer {
  const c = new Canvas(width, height);
  c.text(20, 16, input.title, BLACK, 3);
  c.text(20, 46, input.subtitle, GREY, 2);
  drawTimeline(c, { x: 90, y: 110, w: width - 130, h: 300 }, input.timeline);
  drawDistribution(c, { x: 90, y: 510, w: width - 130, h: 280 }, input.distribution);
  return c.toPng();
}

function drawFrame(c: Canvas, b: Box): void {
  c.line(b.x, b.y + b.h, b.x + b.w, b.y + b.h, BLACK, 2);
  c.line(b.x, b.y, b.x, b.y + b.h, BLACK, 2);
}

function drawTimeline(c: Canvas, b: Box, t: ChartInput['timeline']): void {
  c.text(b.x, b.y - 34, t.title, BLACK, 2);
  const names = Object.keys(t.series);
  const n = t.seconds.length;
  const maxY = Math.max(1, ...names.flatMap((k) => t.series[k]));
  const yTicks = niceTicks(maxY);
  const yMax = yTicks[yTicks.length - 1];
  const xMax = n > 0 ? t.seconds[n - 1] + t.seconds[0] : 1;
  const xTicks = niceTicks(xMax, 10);
  const xScale = (s: number) => b.x + (s / xTicks[xTicks.length - 1]) * b.w;
  const yScale = (v: number) => b.y + b.h - (v / yMax) * b.h;
  for (const v of yTicks) {
    const y = yScale(v);
    c.line(b.x, y, b.x + b.w, y, GRID);
    const label = shortNumber(v);
    c.text(b.x - 10 - c.textWidth(label), y - 7, label, GREY);
  }
  for (const s of xTicks) {
    const x = xScale(s);
    c.line(x, b.y + b.h, x, b.y + b.h + 6, BLACK);
    const label = shortNumber(s);
    c.text(x - c.textWidth(label) / 2, b.y + b.h + 12, label, GREY);
  }
  const xLabel = 'SECONDS';
  c.text(b.x + b.w - c.textWidth(xLabel), b.y + b.h + 32, xLabel, GREY);
  c.text(10, b.y - 34, t.unit, GREY);
  drawFrame(c, b);
  names.forEach((name, i) => {
    const color = PALETTE[i % PALETTE.length];
    const thick = Math.max(2, 2 * (names.length - i)); // earlier series wider, so equal lines stay visible
    const values = t.series[name];
    if (values.length === 1) c.rect(xScale(t.seconds[0]) - thick, yScale(values[0]) - thick, 2 * thick, 2 * thick, color);
    for (let k = 1; k < values.length; k++) c.line(xScale(t.seconds[k - 1]), yScale(values[k - 1]), xScale(t.seconds[k]), yScale(values[k]), color, thick);
  });
  // Legend, top right, one line per series.
  let ly = b.y + 6;
  for (const [i, name] of names.entries()) {
    const w = c.textWidth(name);
    const lx = b.x + b.w - w - 10;
    c.rect(lx - 26, ly + 5, 18, 4, PALETTE[i % PALETTE.length]);
    c.text(lx, ly, name, BLACK);
    ly += 22;
  }
}

function drawDistribution(c: Canvas, b: Box, d: ChartInput['distribution']): void {
  c.text(b.x, b.y - 34, d.title, BLACK, 2);
  drawFrame(c, b);
  if (d.bins.length === 0) {
    c.text(b.x + 20, b.y + b.h / 2, 'NO SAMPLES', GREY);
    return;
  }
  const lo = Math.max(0.001, d.bins[0].fromMs || d.bins[0].toMs / 1.5);
  const hi = Math.max(lo * 1.01, d.bins[d.bins.length - 1].toMs);
  const lx = (v: number) => b.x + ((Math.log(Math.max(v, lo)) - Math.log(lo)) / (Math.log(hi) - Math.log(lo))) * b.w;
  const maxCount = Math.max(...d.bins.map((x) => x.count));
  const yTicks = niceTicks(maxCount, 4);
  const yMax = yTicks[yTicks.length - 1];
  const yScale = (v: number) => b.y + b.h - (v / yMax) * b.h;
  for (const v of yTicks) {
    const y = yScale(v);
    c.line(b.x + 1, y, b.x + b.w, y, GRID);
    const label = shortNumber(v);
    c.text(b.x - 10 - c.textWidth(label), y - 7, label, GREY);
  }
  c.text(10, b.y - 34, 'COUNT', GREY);
  for (const bin of d.bins) {
    const x0 = lx(Math.max(bin.fromMs, lo));
    const x1 = lx(bin.toMs);
    if (bin.count > 0) c.rect(x0, yScale(bin.count), Math.max(1, x1 - x0 - 1), b.y + b.h - yScale(bin.count), BAR);
  }
  // Log-scale ticks at 1, 2, 5 × powers of ten.
  const ticks: number[] = [];
  for (let p = Math.floor(Math.log10(lo)); p <= Math.ceil(Math.log10(hi)); p++) for (const m of [1, 2, 5]) ticks.push(m * Math.pow(10, p));
  const inRange = ticks.filter((v) => v >= lo && v <= hi);
  let shown = inRange.length > 12 ? inRange.filter((v) => String(v).replace(/0|\./g, '').startsWith('1')) : inRange;
  if (shown.length < 2) shown = [...new Set([Number(lo.toPrecision(2)), ...shown, Number(hi.toPrecision(2))])];
  for (const v of shown) {
    const x = lx(v);
    c.line(x, b.y + b.h, x, b.y + b.h + 6, BLACK);
    const label = shortNumber(v);
    c.text(x - c.textWidth(label) / 2, b.y + b.h + 12, label, GREY);
  }
  const xLabel = 'MILLISECONDS (LOG SCALE)';
  c.text(b.x + b.w - c.textWidth(xLabel), b.y + b.h + 32, xLabel, GREY);
  // Percentile markers, labels stacked so they never overlap.
  d.markers.forEach((m, i) => {
    const x = lx(m.ms);
    const color = MARKERS[i % MARKERS.length];
    c.dashedVLine(x, b.y, b.y + b.h, color);
    const label = `${m.label} ${shortNumber(m.ms)}`;
    const w = c.textWidth(label);
    const tx = x + 6 + w <= b.x + b.w ? x + 6 : Math.max(b.x + 4, x - 6 - w);
    c.text(tx, b.y + 6 + i * 20, label, color);
  });
}
