import os from 'node:os';
import pino from 'pino';
import type PinoPretty from 'pino-pretty';
import { clip, LOG_STRING_SAFETY_LIMIT } from './clip';

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

/** json: one JSON object a line (containers, CI). pretty: readable lines (pino-pretty). auto: pretty on a terminal. */
export type LogFormat = 'json' | 'pretty' | 'auto';
const LOG_FORMATS: readonly string[] = ['json', 'pretty', 'auto'];

export interface LoggerOptions {
  /** trace | debug | info | warn | error | fatal | silent. Default: env LOG_LEVEL, else 'info'. */
  level?: string;
  /** More paths to redact, in pino's path syntax. */
  redact?: string[];
  /** Line format when this logger opens its own destination. Default: env LOG_FORMAT, else 'auto'. */
  format?: LogFormat;
  /**
   * Where lines go (default: stdout, in the chosen format). Tests pass a stream to read them back; a process
   * with several roles (standalone) passes one createLogDestination() to all its loggers.
   */
  destination?: pino.DestinationStream;
  /** More fields on every line (e.g. { mode: 'standalone' }). `role` is the logger's own. */
  bindings?: Record<string, unknown>;
}

function resolveLevel(opts: LoggerOptions): string {
  const [level, source] = opts.level !== undefined ? [opts.level, 'options.level'] : [process.env.LOG_LEVEL || 'info', 'LOG_LEVEL'];
  const normalized = level.trim().toLowerCase();
  if (normalized !== 'silent' && !(normalized in pino.levels.values)) {
    throw new TypeError(`${source}: unknown log level ${JSON.stringify(level)} (use trace, debug, info, warn, error, fatal or silent)`);
  }
  return normalized;
}

function resolveFormat(format: string | undefined, source: string, isTty: boolean): 'json' | 'pretty' {
  const normalized = (format || 'auto').trim().toLowerCase();
  if (!LOG_FORMATS.includes(normalized)) throw new TypeError(`${source}: unknown log format ${JSON.stringify(format)} (use json, pretty or auto)`);
  if (normalized === 'auto') return isTty ? 'pretty' : 'json';
  return normalized as 'json' | 'pretty';
}

export interface LogDestinationOptions {
  /** Default: env LOG_FORMAT, else 'auto' (pretty when stdout is a terminal). */
  format?: LogFormat;
  /** Where the lines are written (default stdout). */
  to?: NodeJS.WritableStream;
}

/**
 * The stream a logger writes to: stdout as JSON lines, or through pino-pretty (in-process and synchronous,
 * so lines are not lost on exit) when the format is pretty.
 */
export function createLogDestination(opts: LogDestinationOptions = {}): pino.DestinationStream {
  const isTty = opts.to ? false : process.stdout.isTTY === true;
  const format = opts.format !== undefined ? resolveFormat(opts.format, 'options.format', isTty) : resolveFormat(process.env.LOG_FORMAT, 'LOG_FORMAT', isTty);
  if (format === 'pretty') {
    // Loaded only when asked for: it takes longer to load than the rest of the logger.
    const pretty = require('pino-pretty') as typeof PinoPretty;
    // One line an event: time, level, [role] message, then the other fields.
    return pretty({ destination: opts.to ?? 1, sync: true, colorize: opts.to ? false : isTty, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,role,mode', messageFormat: '[{role}] {msg}', singleLine: true });
  }
  return (opts.to as pino.DestinationStream | undefined) ?? pino.destination({ dest: 1, sync: true });
}

/** Clips every top-level string field of a line: a client's 500,000-character name must not reach the log whole. */
function clipLongStrings(obj: Record<string, unknown>): Record<string, unknown> {
  for (const key in obj) {
    const value = obj[key];
    if (typeof value === 'string' && value.length > LOG_STRING_SAFETY_LIMIT) obj[key] = clip(value, LOG_STRING_SAFETY_LIMIT);
  }
  return obj;
}

/**
 * The project's one logger factory: lines with { role, pid, hostname } (one role per line), ISO timestamps,
 * level as a label, `err` serialised with its stack, secrets redacted, over-long strings clipped. JSON on
 * stdout, or readable lines on a terminal (LOG_FORMAT).
 */
export function createLogger(role: string, opts: LoggerOptions = {}): Logger {
  const level = resolveLevel(opts);
  const destination = opts.destination ?? createLogDestination({ format: opts.format });
  const { role: _ignored, ...bindings } = opts.bindings ?? {};
  return pino(
    {
      level,
      base: { role, ...bindings, pid: process.pid, hostname: os.hostname() },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }), log: clipLongStrings },
      redact: { paths: [...REDACT_PATHS, ...(opts.redact ?? [])], censor: '[REDACTED]' },
    },
    destination,
  );
}
