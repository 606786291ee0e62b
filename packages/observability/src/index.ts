export { createLogger, REDACT_PATHS, type Logger, type LoggerOptions } from './logger';
export { createMetrics, type Metrics } from './metrics';
export { startAdminServer, AdminInputError, type AdminServer, type AdminServerOptions, type ReadyResult } from './admin-server';
export { watchDependencies, type DependencyWatch, type DependencyWatchOptions } from './readiness';
export { Counter, Gauge, Histogram, Registry } from 'prom-client';
