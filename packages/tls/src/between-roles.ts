// Credentials and TLS material of the connections between roles (gRPC, NATS,
// Redis, MySQL), from the settings packages/config's specs read. Every problem
// is reported at start-up in one ConfigError, before any connection is tried.
import * as fs from 'node:fs';
import { ConfigError } from '@tt/config';
import { loadTlsFiles, TlsFileError, type TlsMaterial } from './index';

/** PEM contents; absent = not configured. */
export interface PemMaterial {
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
}

/** Reads one setting group's files with loadTlsFiles; a problem is noted under the group's setting names. */
function readPemGroup(cfg: Record<string, string>, names: { cert: string; key: string; ca: string }, problems: string[]): PemMaterial {
  let material: TlsMaterial;
  try {
    material = loadTlsFiles({ cert: cfg[names.cert] || undefined, key: cfg[names.key] || undefined, ca: cfg[names.ca] || undefined });
  } catch (err) {
    if (!(err instanceof TlsFileError)) throw err;
    const set = [names.cert, names.key, names.ca].filter((n) => cfg[n]);
    problems.push(`${set.join(', ') || names.cert}: ${err.message}`);
    return {};
  }
  return { cert: material.cert, key: material.key, ca: material.ca };
}

function readCa(setting: string, file: string, problems: string[]): Buffer | undefined {
  return readPemGroup({ [setting]: file }, { cert: '', key: '', ca: setting }, problems).ca;
}

function throwIfAny(problems: string[]): void {
  if (problems.length > 0) throw new ConfigError(problems);
}

export interface GrpcTlsSettings extends PemMaterial {
  /** Name expected in server certificates instead of the dialled host. */
  serverName?: string;
}

/**
 * gRPC TLS of a role; undefined = cleartext. A role that serves gRPC
 * (`serves`) needs its certificate as soon as any TLS setting is present.
 */
export function grpcTlsSettings(
  cfg: { GRPC_TLS_CERT_FILE: string; GRPC_TLS_KEY_FILE: string; GRPC_TLS_CA_FILE: string; GRPC_TLS_SERVER_NAME: string },
  role: { serves: boolean },
): GrpcTlsSettings | undefined {
  const problems: string[] = [];
  const pem = readPemGroup(cfg, { cert: 'GRPC_TLS_CERT_FILE', key: 'GRPC_TLS_KEY_FILE', ca: 'GRPC_TLS_CA_FILE' }, problems);
  const anySet = Boolean(cfg.GRPC_TLS_CERT_FILE || cfg.GRPC_TLS_KEY_FILE || cfg.GRPC_TLS_CA_FILE);
  if (role.serves && cfg.GRPC_TLS_CA_FILE && !cfg.GRPC_TLS_CERT_FILE && !cfg.GRPC_TLS_KEY_FILE) {
    problems.push('GRPC_TLS_CA_FILE is set but this role serves gRPC: it needs GRPC_TLS_CERT_FILE and GRPC_TLS_KEY_FILE too');
  }
  throwIfAny(problems);
  if (!anySet) {
    if (cfg.GRPC_TLS_SERVER_NAME) throw new ConfigError(['GRPC_TLS_SERVER_NAME is set but gRPC TLS is off (set GRPC_TLS_CA_FILE)']);
    return undefined;
  }
  return { ...pem, serverName: cfg.GRPC_TLS_SERVER_NAME || undefined };
}

export interface NatsConnectionSettings {
  user?: string;
  pass?: string;
  token?: string;
  /** Contents of a credentials file (JWT + NKey seed). */
  credentials?: Buffer;
  /** Present: TLS is required. */
  tls?: PemMaterial;
}

export function natsConnectionSettings(cfg: {
  NATS_USER: string;
  NATS_PASSWORD: string;
  NATS_TOKEN: string;
  NATS_CREDS_FILE: string;
  NATS_TLS_CA_FILE: string;
  NATS_TLS_CERT_FILE: string;
  NATS_TLS_KEY_FILE: string;
}): NatsConnectionSettings {
  const problems: string[] = [];
  if (Boolean(cfg.NATS_USER) !== Boolean(cfg.NATS_PASSWORD)) problems.push('NATS_USER and NATS_PASSWORD go together: set both or neither');
  const methods = [cfg.NATS_USER && 'NATS_USER/NATS_PASSWORD', cfg.NATS_TOKEN && 'NATS_TOKEN', cfg.NATS_CREDS_FILE && 'NATS_CREDS_FILE'].filter(Boolean);
  if (methods.length > 1) problems.push(`choose one NATS authentication, not ${methods.join(' and ')}`);
  let credentials: Buffer | undefined;
  if (cfg.NATS_CREDS_FILE) {
    try {
      credentials = fs.readFileSync(cfg.NATS_CREDS_FILE);
      if (!credentials.includes('-----BEGIN NATS USER JWT-----')) problems.push(`NATS_CREDS_FILE: ${cfg.NATS_CREDS_FILE} is not a NATS credentials file (no "BEGIN NATS USER JWT" block)`);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      problems.push(`NATS_CREDS_FILE: cannot read ${cfg.NATS_CREDS_FILE} (${e.code ?? e.message})`);
    }
  }
  const tls = readPemGroup(cfg, { cert: 'NATS_TLS_CERT_FILE', key: 'NATS_TLS_KEY_FILE', ca: 'NATS_TLS_CA_FILE' }, problems);
  throwIfAny(problems);
  return {
    user: cfg.NATS_USER || undefined,
    pass: cfg.NATS_PASSWORD || undefined,
    token: cfg.NATS_TOKEN || undefined,
    credentials,
    tls: tls.ca || tls.cert ? tls : undefined,
  };
}

export interface RedisConnectionSettings {
  url: string;
  password?: string;
  /** Present: TLS, verified against ca (or the system CAs). */
  tls?: { ca?: Buffer };
}

export function redisConnectionSettings(cfg: { REDIS_URL: string; REDIS_PASSWORD: string; REDIS_TLS_CA_FILE: string }): RedisConnectionSettings {
  const problems: string[] = [];
  let scheme = '';
  try {
    scheme = new URL(cfg.REDIS_URL).protocol;
  } catch {
    problems.push(`REDIS_URL: "${cfg.REDIS_URL}" is not a URL (redis://host:port or rediss://host:port)`);
  }
  if (scheme && scheme !== 'redis:' && scheme !== 'rediss:') problems.push(`REDIS_URL: scheme must be redis:// or rediss://, got ${scheme}//`);
  const ca = readCa('REDIS_TLS_CA_FILE', cfg.REDIS_TLS_CA_FILE, problems);
  throwIfAny(problems);
  return {
    url: cfg.REDIS_URL,
    password: cfg.REDIS_PASSWORD || undefined,
    tls: ca || scheme === 'rediss:' ? { ca } : undefined,
  };
}

export interface MysqlTlsSettings {
  /** on: encrypted only; verify: the certificate is checked too. */
  mode: 'on' | 'verify';
  ca?: Buffer;
}

/** undefined = TLS off. */
export function mysqlTlsSettings(cfg: { MYSQL_TLS: string; MYSQL_TLS_CA_FILE: string }): MysqlTlsSettings | undefined {
  const problems: string[] = [];
  if (cfg.MYSQL_TLS_CA_FILE && cfg.MYSQL_TLS !== 'verify') problems.push(`MYSQL_TLS_CA_FILE is only used with MYSQL_TLS=verify (MYSQL_TLS is ${cfg.MYSQL_TLS})`);
  const ca = readCa('MYSQL_TLS_CA_FILE', cfg.MYSQL_TLS_CA_FILE, problems);
  throwIfAny(problems);
  if (cfg.MYSQL_TLS === 'off') return undefined;
  return { mode: cfg.MYSQL_TLS === 'verify' ? 'verify' : 'on', ca };
}
