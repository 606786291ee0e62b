// Reading msg_server's GET /metrics (Prometheus text) during a run, and the
// load generator's own CPU, memory and event-loop delay (a saturated
// generator inflates latencies: the result says so).
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** One series: name, labels, value. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parsePrometheus(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      let l: RegExpExecArray | null;
      while ((l = re.exec(m[3]))) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const value = Number(m[4]);
    if (!Number.isNaN(value)) out.push({ name: m[1], labels, value });
  }
  return out;
}

/** Sum of every series of a metric, optionally only those with these label values. */
export function metricSum(samples: PromSample[], name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(labels).some(([k, v]) => s.labels[k] !== v)) continue;
    sum += s.value;
  }
  return sum;
}

/** What the harness reads of one scrape (summed over the msg_servers it watches). */
export interface ServerSnapshot {
  /** ms since the run started. */
  t: number;
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** V8's young generation (both semi-spaces), committed: grows from 1 to 32 MiB under load, once per process. */
  youngGenerationBytes: number;
  cpuSeconds: number;
  connections: number;
  loggedIn: number;
  messagesStored: number;
  messagesRejected: number;
  rejectedByRate: number;
  loginsOk: number;
  loginsRefused: number;
  eventLoopLagP99Seconds: number;
}

export async function scrape(adminUrls: readonly string[], t: number): Promise<ServerSnapshot> {
  const snap: ServerSnapshot = {
    t,
    rssBytes: 0,
    heapUsedBytes: 0,
    heapTotalBytes: 0,
    youngGenerationBytes: 0,
    cpuSeconds: 0,
    connections: 0,
    loggedIn: 0,
    messagesStored: 0,
    messagesRejected: 0,
    rejectedByRate: 0,
    loginsOk: 0,
    loginsRefused: 0,
    eventLoopLagP99Seconds: 0,
  };
  for (const url of adminUrls) {
    const res = await fetch(`${url.replace(/\/+$/, '')}/metrics`, { signal: AbortSignal.timeout(5000) });
    if (res.status !== 200) throw new Error(`${url}/metrics answered ${res.status}`);
    const s = parsePrometheus(await res.text());
    snap.rssBytes += metricSum(s, 'process_resident_memory_bytes');
    snap.heapUsedBytes += metricSum(s, 'nodejs_heap_size_used_bytes');
    snap.heapTotalBytes += metricSum(s, 'nodejs_heap_size_total_bytes');
    snap.youngGenerationBytes += metricSum(s, 'nodejs_heap_space_size_total_bytes', { space: 'new' });
    snap.cpuSeconds += metricSum(s, 'process_cpu_seconds_total');
    snap.connections += metricSum(s, 'tt_msg_server_connections');
    snap.loggedIn += metricSum(s, 'tt_msg_server_logged_in_connections');
    snap.messagesStored += metricSum(s, 'tt_msg_server_messages_stored_total');
    snap.messagesRejected += metricSum(s, 'tt_msg_server_messages_rejected_total');
    snap.rejectedByRate += metricSum(s, 'tt_msg_server_messages_rejected_total', { reason: 'rate' });
    const logins = metricSum(s, 'tt_msg_server_logins_total');
    const ok = metricSum(s, 'tt_msg_server_logins_total', { result: '0' });
    snap.loginsOk += ok;
    snap.loginsRefused += logins - ok;
    snap.eventLoopLagP99Seconds = Math.max(snap.eventLoopLagP99Seconds, metricSum(s, 'nodejs_eventloop_lag_p99_seconds'));
  }
  return snap;
}

/** Scrapes every interval until stopped; failures are counted, not fatal. */
export class ServerSampler {
  readonly samples: ServerSnapshot[] = [];
  failures = 0;
  lastError?: string;
  private timer?: NodeJS.Timeout;
  private inFlight?: Promise<void>;

  constructor(
    private readonly adminUrls: readonly string[],
    private readonly startMs: number,
    private readonly intervalMs: number,
  ) {}

  get enabled(): boolean {
    return this.adminUrls.length > 0;
  }

  /** One scrape now (also recorded as a sample). */
  async sample(): Promise<ServerSnapshot | undefined> {
    if (!this.enabled) return undefined;
    try {
      const s = await scrape(this.adminUrls, performance.now() - this.startMs);
      this.samples.push(s);
      return s;
    } catch (err) {
      this.failures += 1;
      this.lastError = (err as Error).message;
      return undefined;
    }
  }

  start(): void {
    if (!this.enabled || this.timer) return;
    this.timer = setInterval(() => {
      if (this.inFlight) return;
      this.inFlight = this.sample().then(() => {
        this.inFlight = undefined;
      });
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }
}

/** The generator's own load over a run. */
export class GeneratorMonitor {
  private readonly cpuStart = process.cpuUsage();
  private readonly wallStart = performance.now();
  private readonly loop = monitorEventLoopDelay({ resolution: 10 });
  private maxRss = 0;
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.loop.enable();
    this.timer = setInterval(() => {
      this.maxRss = Math.max(this.maxRss, process.memoryUsage.rss());
    }, 500);
    this.timer.unref();
  }

  finish() {
    clearInterval(this.timer);
    this.loop.disable();
    const cpu = process.cpuUsage(this.cpuStart);
    const wall = (performance.now() - this.wallStart) / 1000;
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    this.maxRss = Math.max(this.maxRss, process.memoryUsage.rss());
    return {
      cpuSeconds: Math.round(cpuSeconds * 100) / 100,
      cpuPercentOfOneCore: wall > 0 ? Math.round((cpuSeconds / wall) * 1000) / 10 : 0,
      maxRssBytes: this.maxRss,
      eventLoopDelayP50Ms: Math.round(this.loop.percentile(50) / 1e4) / 100,
      eventLoopDelayP99Ms: Math.round(this.loop.percentile(99) / 1e4) / 100,
      eventLoopDelayMaxMs: Math.round(this.loop.max / 1e4) / 100,
    };
  }
}
