// @tt/bench: the benchmark harness (pnpm bench) as a library, for tests and tools.
export { runBench, connectionsNeeded, type RunOutcome, type RunBenchOptions } from './run';
export { parseOptions, parseSourceIps, defaultSourceIps, UsageError, USAGE, SCENARIOS, PROTOCOLS, type Scenario, type Protocol, type BenchOptions } from './options';
export { BenchConnection, ConnStats, md5Hex, type ChatConnection, type Delivery } from './conn';
export { WsBenchConnection, Directory, wsPlatform, type WsConnOptions } from './ws-conn';
export { createUsers, storeConfigFromEnv, type BenchUser } from './users';
export { startStandalone, startCluster, externalDeployment, assertLoopback, assertLoopbackUrl, BENCH_SERVER_DEFAULTS, type Deployment } from './deployment';
export { LatencyHistogram, TimeSeries, type LatencySummary } from './stats';
export { encodePayload, encodeTextPayload, decodePayload, type BenchPayload } from './payload';
export { parsePrometheus, metricSum, scrape } from './metrics';
export { renderChart, niceTicks, shortNumber } from './chart';
export { machineFacts, renderMarkdown, writeResults, type BenchResult } from './report';
