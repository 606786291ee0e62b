import os from 'node:os';
import pino from 'pino';

export type Logger = pino.Logger;

/** Paths whose values never reach a log line. `*.x` covers x one level down (e.g. { req: { password } }). */
export const REDACT_PATHS: readonly string[] = [
  'password',
  'password_hash',
  'passwordHash',
  '*.password',
  '*.password_hash',
  '*.passwordHash',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
];

export interface LoggerOptions {
  /** trace | debug | info | warn | error | fatal | silent. Default: env LOG_LEVEL, else 'info'. */
  level?: string;
  /** More paths to redact, in pino's path syntax. */
  redact?: string[];
  /** Where lines go (default stdout). Tests pass a stream to read them back. */
  destination?: pino.DestinationStream;
}

function resolveLevel(opts: LoggerOptions): string {
  const [level, source] = opts.level !== undefined ? [opts.level, 'options.level'] : [process.env.LOG_LEVEL || 'info', 'LOG_LEVEL'];
  const normalized = level.trim().toLowerCase();
  if (normalized !== 'silent' && !(normalized in pino.levels.values)) {
    throw new TypeError(`${source}: unknown log level ${JSON.stringify(level)} (use trace, debug, info, warn, error, fatal or silent)`);
  }
  return normalized;
}

/**
 * The project's one logger factory: JSON lines on stdout with { role, pid, hostname } on every line, ISO
 * timestamps, level as a label, `err` serialised with its stack, secrets redacted.
 */
export function createLogger(role: string, opts: LoggerOptions = {}): Logger {
  return pino(
    {
      level: resolveLevel(opts),
      base: { role, pid: process.pid, hostname: os.hostname() },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...REDACT_PATHS, ...(opts.redact ?? [])], censor: '[REDACTED]' },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
