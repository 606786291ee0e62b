// @tt/bench: the benchmark harness (pnpm bench) as a library, for tests and tools.
export { runBench, connectionsNeeded, type RunOutcome, type RunBenchOptions } from './run';
export { parseOptions, parseSourceIps, defaultSourceIps, UsageError, USAGE, SCENARIOS, type Scenario, type BenchOptions } from './options';
export { BenchConnection, ConnStats, md5Hex } from './conn';
export { createUsers, storeConfigFromEnv, type BenchUser } from './users';
export { startStandalone, startCluster, externalDeployment, assertLoopback, assertLoopbackUrl, BENCH_SERVER_DEFAULTS, type Deployment } from './deployment';
export { LatencyHistogram, TimeSeries, type LatencySummary } from './stats';
export { encodePayload, decodePayload, type BenchPayload } from './payload';
export { parsePrometheus, metricSum, scrape } from './metrics';
export { renderChart, niceTicks, shortNumber } from './chart';
export { machineFacts, renderMarkdown, writeResults, type BenchResult } from './report';
