import { readdir } from 'node:fs/promises';
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';

export interface Metrics {
  registry: Registry;
  counter<T extends string = string>(config: Omit<CounterConfiguration<T>, 'registers'>): Counter<T>;
  gauge<T extends string = string>(config: Omit<GaugeConfiguration<T>, 'registers'>): Gauge<T>;
  histogram<T extends string = string>(config: Omit<HistogramConfiguration<T>, 'registers'>): Histogram<T>;
}

/**
 * prom-client's default metrics that walk every handle on the event loop at
 * each scrape: with 17,000 client connections they took ~94 ms per scrape of
 * msg_server's main thread (active handles and resources listed and grouped by
 * type, /proc/self/fd read synchronously), a stall every client waits behind.
 * The connection gauges of each role say the same; process_open_fds is kept,
 * read asynchronously.
 */
const PER_HANDLE_DEFAULT_METRICS = ['nodejs_active_handles', 'nodejs_active_handles_total', 'nodejs_active_resources', 'nodejs_active_resources_total', 'process_open_fds'];

/**
 * A registry of the role's own (not prom-client's global one, so tests and a standalone process running several
 * roles never clash), with Node's default metrics and `role` as a label on every series.
 */
export function createMetrics(role: string): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  collectDefaultMetrics({ register: registry });
  for (const name of PER_HANDLE_DEFAULT_METRICS) registry.removeSingleMetric(name);
  const registers = [registry];
  if (process.platform === 'linux') {
    new Gauge({
      name: 'process_open_fds',
      help: 'Number of open file descriptors.',
      registers,
      // Off the event loop: the directory has one entry per socket.
      async collect() {
        try {
          // Minus the descriptor the listing itself used.
          this.set((await readdir('/proc/self/fd')).length - 1);
        } catch {
          /* not readable: no value */
        }
      },
    });
  }
  return {
    registry,
    counter: (config) => new Counter({ ...config, registers }),
    gauge: (config) => new Gauge({ ...config, registers }),
    histogram: (config) => new Histogram({ ...config, registers }),
  };
}
