export { createLogger, createLogDestination, REDACT_PATHS, type Logger, type LoggerOptions, type LogFormat, type LogDestinationOptions } from './logger';
export { clip, CLIP_DEFAULT, LOG_STRING_SAFETY_LIMIT } from './clip';
export { LogThrottle, repeatIntervalFromEnv, DEFAULT_REPEAT_INTERVAL_MS, type LogThrottleOptions, type ThrottledLevel } from './log-throttle';
export { createMetrics, type Metrics } from './metrics';
export { startAdminServer, AdminInputError, type AdminServer, type AdminServerOptions, type ReadyResult } from './admin-server';
export { watchDependencies, type DependencyWatch, type DependencyWatchOptions } from './readiness';
export { Counter, Gauge, Histogram, Registry } from 'prom-client';
