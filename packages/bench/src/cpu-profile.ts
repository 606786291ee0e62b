// Summaries of the V8 CPU profiles (`node --cpu-prof`) the started
// deployment's processes write with `pnpm bench … --cpu-prof`: where the
// samples fall, by source file and by function (self time). The .cpuprofile
// files themselves open in Chrome DevTools or speedscope as flame graphs.
import * as fs from 'node:fs';
import * as path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  startTime: number;
  endTime: number;
}

export interface Share {
  name: string;
  /** Share of all samples, 0..1. */
  share: number;
}

export interface CpuProfileSummary {
  samples: number;
  /** Wall time the profile covers, ms. */
  durationMs: number;
  /** Share of samples where the thread ran JavaScript, native code or GC (not idle). */
  busyShare: number;
  byFile: Share[];
  byFunction: Share[];
}

/** Shortens a script URL to what a reader recognises: the workspace path or the npm package path. */
function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const m = /\/(packages|services)\/.*$/.exec(url);
  if (m) return m[0].slice(1);
  return url.replace(/^file:\/\//, '');
}

function top(counts: Map<string, number>, total: number, limit: number): Share[] {
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, n]) => ({ name, share: n / total }));
}

export function summarizeCpuProfile(profile: CpuProfile, limit = 25): CpuProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const perNode = new Map<number, number>();
  for (const id of profile.samples) perNode.set(id, (perNode.get(id) ?? 0) + 1);
  const files = new Map<string, number>();
  const functions = new Map<string, number>();
  let idle = 0;
  for (const [id, n] of perNode) {
    const frame = byId.get(id);
    if (!frame) continue;
    if (frame.functionName === '(idle)') idle += n;
    // V8's pseudo-frames ((garbage collector), (program), (idle)) have no URL: they are their own "file".
    const file = frame.url ? shortUrl(frame.url) : frame.functionName;
    files.set(file, (files.get(file) ?? 0) + n);
    const fn = frame.url ? `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}` : frame.functionName;
    functions.set(fn, (functions.get(fn) ?? 0) + n);
  }
  const total = Math.max(1, profile.samples.length);
  return {
    samples: profile.samples.length,
    durationMs: (profile.endTime - profile.startTime) / 1000,
    busyShare: 1 - idle / total,
    byFile: top(files, total, limit),
    byFunction: top(functions, total, limit),
  };
}

const pct = (s: number) => `${(100 * s).toFixed(1)}%`;

export function renderCpuProfileSummary(role: string, s: CpuProfileSummary): string {
  const rows = (title: string, list: Share[]) => [`| ${title} | share of samples |`, '|---|---|', ...list.map((x) => `| \`${x.name}\` | ${pct(x.share)} |`)].join('\n');
  return [
    `## ${role}`,
    '',
    `${s.samples} samples over ${(s.durationMs / 1000).toFixed(1)} s; busy ${pct(s.busyShare)} of the time.`,
    '',
    rows('file (self time)', s.byFile),
    '',
    rows('function (self time)', s.byFunction),
    '',
  ].join('\n');
}

/** Summarises every .cpuprofile in dir into dir/summary.md; returns the summary's path, or undefined if there were none. */
export function summarizeProfileDir(dir: string): string | undefined {
  if (!fs.existsSync(dir)) return undefined;
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).sort();
  if (files.length === 0) return undefined;
  const parts = ['# CPU profiles', '', 'Self time by file and by function. Open the `.cpuprofile` files in Chrome DevTools (Performance) or speedscope for flame graphs.', ''];
  for (const f of files) {
    const profile = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as CpuProfile;
    parts.push(renderCpuProfileSummary(f.replace(/\.cpuprofile$/, ''), summarizeCpuProfile(profile)));
  }
  const out = path.join(dir, 'summary.md');
  fs.writeFileSync(out, parts.join('\n'));
  return out;
}
