// Results of a run: one JSON (everything), one Markdown summary, one PNG chart.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { renderChart } from './chart';
import type { ScenarioResult } from './context';
import { REPO_ROOT } from './deployment';
import type { ServerSnapshot } from './metrics';

export interface MachineFacts {
  cpus: number;
  cpuModel: string;
  memoryBytes: number;
  node: string;
  platform: string;
  release: string;
  arch: string;
  loadAverage: number[];
  gitCommit?: string;
  gitDirty?: boolean;
}

export function machineFacts(): MachineFacts {
  const cpus = os.cpus();
  const facts: MachineFacts = {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
    memoryBytes: os.totalmem(),
    node: process.version,
    platform: os.platform(),
    release: os.release(),
    arch: os.arch(),
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
  try {
    facts.gitCommit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    facts.gitDirty = execFileSync('git', ['status', '--porcelain'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim().length > 0;
  } catch {
    /* not a git checkout */
  }
  return facts;
}

export interface BenchResult {
  schema: 'tt-bench/1';
  scenario: string;
  runId: string;
  startedAt: string;
  finishedAt: string;
  machine: MachineFacts;
  deployment: {
    mode: string;
    started: boolean;
    loginUrl: string;
    adminUrls: string[];
    settings: Record<string, string>;
  };
  options: Record<string, unknown>;
  users?: Record<string, unknown>;
  headline: Record<string, number | string>;
  counts: Record<string, number>;
  latencyMs: ScenarioResult['latency'];
  checks: ScenarioResult['checks'];
  timeline: ScenarioResult['timeline'];
  distribution: ScenarioResult['distribution'];
  details?: Record<string, unknown>;
  server: { samples: ServerSnapshot[]; scrapeFailures: number; lastScrapeError?: string };
  generator: Record<string, unknown> & { connections: unknown };
  warnings: string[];
}

export interface WrittenFiles {
  json: string;
  markdown: string;
  png: string;
}

const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;

export function renderMarkdown(r: BenchResult, pngName: string): string {
  const m = r.machine;
  const lines: string[] = [];
  lines.push(`# ${r.scenario} — ${r.deployment.mode}${r.checks.passed ? '' : ' (CHECKS FAILED)'}`);
  lines.push('');
  lines.push(`Run \`${r.runId}\`, ${r.startedAt} → ${r.finishedAt}. Checks: **${r.checks.passed ? 'passed' : 'failed'}**.`);
  lines.push('');
  lines.push('| result | value |');
  lines.push('|---|---|');
  for (const [k, v] of Object.entries(r.headline)) lines.push(`| ${k} | ${v} |`);
  lines.push('');
  if (!r.checks.passed) {
    lines.push('Failed checks:');
    lines.push('');
    for (const f of r.checks.failures) lines.push(`- ${f}`);
    lines.push('');
  }
  lines.push(`![throughput over time and latency distribution](${pngName})`);
  lines.push('');
  lines.push('## Latency (ms)');
  lines.push('');
  lines.push('| of | count | p50 | p95 | p99 | p99.9 | max | mean |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const [k, s] of Object.entries(r.latencyMs)) lines.push(`| ${k} | ${s.count} | ${s.p50} | ${s.p95} | ${s.p99} | ${s.p999} | ${s.max} | ${s.mean} |`);
  lines.push('');
  lines.push('## Counts');
  lines.push('');
  lines.push(Object.entries(r.counts).map(([k, v]) => `${k} ${v}`).join(' · '));
  lines.push('');
  const samples = r.server.samples;
  if (samples.length > 0) {
    const first = samples[0];
    const last = samples[samples.length - 1];
    const peak = samples.reduce((a, b) => (b.rssBytes > a.rssBytes ? b : a));
    const seconds = (last.t - first.t) / 1000;
    const cpu = seconds > 0 ? ((last.cpuSeconds - first.cpuSeconds) / seconds) * 100 : 0;
    lines.push('## msg_server (from /metrics)');
    lines.push('');
    lines.push(`RSS ${mib(first.rssBytes)} → ${mib(last.rssBytes)} (peak ${mib(peak.rssBytes)}), heap used ${mib(first.heapUsedBytes)} → ${mib(last.heapUsedBytes)}, CPU ${cpu.toFixed(1)} % of one core on average over ${seconds.toFixed(1)} s, ${samples.length} samples.`);
    lines.push('');
  }
  lines.push('## Load generator');
  lines.push('');
  const g = r.generator as Record<string, number>;
  lines.push(`CPU ${g.cpuPercentOfOneCore} % of one core, max RSS ${mib(g.maxRssBytes)}, event-loop delay p99 ${g.eventLoopDelayP99Ms} ms (a busy generator inflates latencies).`);
  lines.push('');
  lines.push('## Machine and deployment');
  lines.push('');
  lines.push(`${m.cpus} × ${m.cpuModel}, ${mib(m.memoryBytes)} memory, Node ${m.node}, ${m.platform} ${m.release} ${m.arch}, load average at start ${m.loadAverage.join(' ')}${m.gitCommit ? `, commit ${m.gitCommit}${m.gitDirty ? ' (with local changes)' : ''}` : ''}.`);
  lines.push('');
  lines.push(`Mode **${r.deployment.mode}**${r.deployment.started ? ' (started by the harness)' : ''}, login_server ${r.deployment.loginUrl}.`);
  if (Object.keys(r.deployment.settings).length > 0) lines.push(`Settings: ${Object.entries(r.deployment.settings).map(([k, v]) => `\`${k}=${v}\``).join(', ')}.`);
  if (r.users) lines.push(`Users: ${Object.entries(r.users).map(([k, v]) => `${k} ${v}`).join(', ')}.`);
  lines.push('');
  lines.push(`Command: \`pnpm bench ${commandLine(r.options)}\``);
  lines.push('');
  if (r.warnings.length > 0) {
    lines.push('## Warnings');
    lines.push('');
    for (const w of r.warnings) lines.push(`- ${w}`);
    lines.push('');
  }
  return lines.join('\n');
}

function commandLine(options: Record<string, unknown>): string {
  const parts: string[] = [String(options.scenario)];
  for (const [k, v] of Object.entries(options)) {
    if (k === 'scenario' || v === undefined || v === false) continue;
    if (k === 'out') continue;
    if (v === true) parts.push(`--${k}`);
    else if (Array.isArray(v)) for (const x of v) parts.push(`--${k} ${x}`);
    else parts.push(`--${k} ${v}`);
  }
  return parts.join(' ');
}

export function writeResults(r: BenchResult, outDir: string, stem: string): WrittenFiles {
  fs.mkdirSync(outDir, { recursive: true });
  const files: WrittenFiles = { json: path.join(outDir, `${stem}.json`), markdown: path.join(outDir, `${stem}.md`), png: path.join(outDir, `${stem}.png`) };
  const write = (file: string, data: string | Buffer) => {
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  };
  write(files.json, `${JSON.stringify(r, null, 2)}\n`);
  const g = r.machine;
  const png = renderChart({
    title: `${r.scenario} - ${r.deployment.mode}${r.checks.passed ? '' : ' - CHECKS FAILED'}`,
    subtitle: `${r.startedAt.slice(0, 19).replace('T', ' ')} UTC  ${g.cpus} CORES  NODE ${g.node}  RUN ${r.runId}`,
    timeline: r.timeline,
    distribution: r.distribution,
  });
  write(files.png, png);
  write(files.markdown, `${renderMarkdown(r, path.basename(files.png))}\n`);
  return files;
}
