// @tt/tls: certificate files for TLS servers (and clients).
//
// - loadTlsFiles({ cert, key, ca }): reads PEM files and checks them (the key
//   belongs to the certificate, every PEM parses); what a TLS client or server
//   of any kind needs (client listeners here; gRPC, NATS, Redis, MySQL between
//   roles). Errors name the file and what is wrong with it.
// - ReloadingServerTls: one certificate for a process's client listeners,
//   watched on disk (and re-read on SIGHUP): a changed certificate goes to
//   every attached server with setSecureContext(), so new connections get it
//   without a restart (open ones keep theirs); a bad new file is logged and the
//   old certificate kept.
// - createTlsServer / createHttpsServer: tls.Server and https.Server that use it.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as tls from 'node:tls';
import { ConfigError } from '@tt/config';
import { Counter, Gauge, type Registry } from 'prom-client';

/** Paths of PEM files. cert and key go together; ca alone is fine (a client that only verifies). */
export interface TlsFiles {
  /** Certificate (chain): the leaf first, then intermediates. */
  cert?: string;
  /** Private key of the certificate. */
  key?: string;
  /** Certificate authorities to trust: a server checks client certificates with them, a client the server's. */
  ca?: string;
}

/** The files' contents, checked; what node's tls/https/grpc/nats/redis/mysql options take. */
export interface TlsMaterial {
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
  /** The leaf certificate, when cert was given. */
  certificate?: CertificateInfo;
}

export interface CertificateInfo {
  /** SHA-256 fingerprint, colon-separated hex (as X509Certificate and tls.getPeerCertificate() give it). */
  fingerprint256: string;
  subject: string;
  subjectAltName?: string;
  validFrom: string;
  validTo: string;
}

/** A TLS file is missing, unreadable, or not what it should be. */
export class TlsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsFileError';
  }
}

function readPem(file: string, what: string): Buffer {
  let data: Buffer;
  try {
    data = fs.readFileSync(file);
  } catch (err) {
    throw new TlsFileError(`cannot read the ${what} file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!data.includes('-----BEGIN ')) throw new TlsFileError(`the ${what} file ${file} holds no PEM block (-----BEGIN ...)`);
  return data;
}

function describe(cert: X509Certificate): CertificateInfo {
  return { fingerprint256: cert.fingerprint256, subject: cert.subject.replace(/\n/g, ', '), subjectAltName: cert.subjectAltName, validFrom: cert.validFrom, validTo: cert.validTo };
}

/** The first certificate of a PEM (chain): its fingerprint, names and validity. */
export function describeCertificate(pem: Buffer | string): CertificateInfo {
  return describe(new X509Certificate(pem));
}

/**
 * Reads and checks PEM files: cert and key must both be set or both empty;
 * the certificate and the CA file must parse, the key must be the
 * certificate's. Throws TlsFileError with the file and the reason.
 */
export function loadTlsFiles(files: TlsFiles): TlsMaterial {
  if (!!files.cert !== !!files.key) throw new TlsFileError(files.cert ? `a certificate (${files.cert}) needs its private key file too` : `a private key (${files.key}) needs its certificate file too`);
  const material: TlsMaterial = {};
  if (files.cert && files.key) {
    const cert = readPem(files.cert, 'certificate');
    const key = readPem(files.key, 'private key');
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(cert);
    } catch (err) {
      throw new TlsFileError(`the certificate file ${files.cert} does not parse: ${(err as Error).message}`);
    }
    try {
      if (!leaf.checkPrivateKey(createPrivateKey(key))) throw new TlsFileError(`the private key ${files.key} does not belong to the certificate ${files.cert}`);
    } catch (err) {
      if (err instanceof TlsFileError) throw err;
      throw new TlsFileError(`the private key file ${files.key} does not parse (an encrypted key is not supported): ${(err as Error).message}`);
    }
    Object.assign(material, { cert, key, certificate: describe(leaf) });
  }
  if (files.ca) {
    const ca = readPem(files.ca, 'CA');
    try {
      new X509Certificate(ca);
    } catch (err) {
      throw new TlsFileError(`the CA file ${files.ca} does not parse: ${(err as Error).message}`);
    }
    material.ca = ca;
  }
  // Whatever node's TLS still objects to (a chain it cannot use, ...) shows now, not at the first handshake.
  try {
    tls.createSecureContext({ cert: material.cert, key: material.key, ca: material.ca });
  } catch (err) {
    throw new TlsFileError(`TLS refuses ${[files.cert, files.key, files.ca].filter(Boolean).join(', ')}: ${(err as Error).message}`);
  }
  return material;
}

/** What ReloadingServerTls logs through (a pino logger fits). */
export interface TlsLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface ServerTlsOptions {
  certFile: string;
  keyFile: string;
  /** Set: clients must present a certificate signed by one of these authorities. */
  caFile?: string;
  /** How often the files are checked for a change (ms); 0 = only on SIGHUP and reload(). Default 10 000. */
  reloadIntervalMs?: number;
  /** Re-read on SIGHUP (default true). */
  reloadOnSighup?: boolean;
  /** A TLS handshake not finished within this is dropped (ms, default 10 000). */
  handshakeTimeoutMs?: number;
  log?: TlsLog;
  /** Called with each certificate put in use (the first included): e.g. to export its expiry as a metric. */
  onCertificate?(info: CertificateInfo): void;
  /** Called with each reload's outcome: a new certificate in use, or new files refused. */
  onReload?(result: 'reloaded' | 'refused'): void;
}

const DEFAULT_RELOAD_INTERVAL_MS = 10_000;

/**
 * The certificate of a process's TLS listeners, reloaded when its files
 * change. Open with the files (a bad file throws TlsFileError: a start-up
 * error), create servers with createTlsServer/createHttpsServer (or attach()
 * your own tls.Server), close() when the process stops.
 */
export class ReloadingServerTls {
  private material: TlsMaterial;
  private readonly servers = new Set<tls.Server>();
  private readonly watched: string[];
  private settleTimer?: NodeJS.Timeout;
  private readonly onSighup = () => {
    this.options.log?.info({ cert: this.options.certFile }, 'SIGHUP: reading the TLS certificate again');
    this.reload();
  };
  private closed = false;

  constructor(private readonly options: ServerTlsOptions) {
    this.material = loadTlsFiles(this.files());
    this.watched = [options.certFile, options.keyFile, ...(options.caFile ? [options.caFile] : [])];
    const interval = options.reloadIntervalMs ?? DEFAULT_RELOAD_INTERVAL_MS;
    if (interval > 0) {
      // watchFile polls stat(), following symlinks: it sees a Kubernetes Secret's atomic symlink swap, which fs.watch misses.
      for (const file of this.watched) fs.watchFile(file, { interval, persistent: false }, (curr, prev) => this.changed(curr, prev, interval));
    }
    if (options.reloadOnSighup ?? true) process.on('SIGHUP', this.onSighup);
    options.onCertificate?.(this.certificate);
    options.log?.info({ cert: options.certFile, ...this.certificate, clientCertificates: !!options.caFile }, 'TLS certificate loaded');
  }

  /** The certificate in use. */
  get certificate(): CertificateInfo {
    return this.material.certificate!;
  }

  /** Options for tls.createServer / https.createServer (the current certificate; client certificates when a CA is set). */
  serverOptions(): tls.TlsOptions {
    const clientCerts = this.material.ca !== undefined;
    return {
      ...this.secureContextOptions(),
      requestCert: clientCerts,
      rejectUnauthorized: clientCerts,
      handshakeTimeout: this.options.handshakeTimeoutMs ?? 10_000,
    };
  }

  /** Keeps a server's certificate current until the server closes. */
  attach<S extends tls.Server>(server: S): S {
    this.servers.add(server);
    server.once('close', () => this.servers.delete(server));
    return server;
  }

  /**
   * Reads the files again; a changed certificate goes to every attached server.
   * Returns true when it changed; a bad file is logged and changes nothing.
   */
  reload(): boolean {
    if (this.closed) return false;
    let next: TlsMaterial;
    try {
      next = loadTlsFiles(this.files());
    } catch (err) {
      this.options.log?.error({ err: (err as Error).message, keeping: this.certificate.fingerprint256 }, 'new TLS certificate refused; the old one stays in use');
      this.options.onReload?.('refused');
      return false;
    }
    const same = next.cert!.equals(this.material.cert!) && next.key!.equals(this.material.key!) && (next.ca?.equals(this.material.ca ?? Buffer.alloc(0)) ?? !this.material.ca);
    if (same) return false;
    const previous = this.certificate.fingerprint256;
    this.material = next;
    const context = this.secureContextOptions();
    for (const server of this.servers) server.setSecureContext(context);
    this.options.onCertificate?.(this.certificate);
    this.options.onReload?.('reloaded');
    this.options.log?.info({ ...this.certificate, previous, servers: this.servers.size }, 'TLS certificate reloaded: new connections get it');
    if (Date.parse(this.certificate.validTo) < Date.now()) this.options.log?.warn({ validTo: this.certificate.validTo }, 'the new TLS certificate has expired');
    return true;
  }

  /** Stops watching (the servers keep the certificate they have). */
  close(): void {
    this.closed = true;
    clearTimeout(this.settleTimer);
    for (const file of this.watched) fs.unwatchFile(file);
    process.off('SIGHUP', this.onSighup);
    this.servers.clear();
  }

  private files(): TlsFiles {
    return { cert: this.options.certFile, key: this.options.keyFile, ca: this.options.caFile };
  }

  private secureContextOptions(): tls.SecureContextOptions {
    return { cert: this.material.cert, key: this.material.key, ...(this.material.ca ? { ca: this.material.ca } : {}) };
  }

  private changed(curr: fs.Stats, prev: fs.Stats, interval: number): void {
    if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size && curr.ino === prev.ino) return;
    // Certificate and key are rarely written at the same instant: wait for both before reading.
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => this.reload(), Math.min(interval, 1000));
    this.settleTimer.unref();
  }
}

/** A TLS server (TeamTalk and the other TCP fronts over TLS) whose certificate follows `source`. */
export function createTlsServer(source: ReloadingServerTls, onSecureConnection: (socket: tls.TLSSocket) => void): tls.Server {
  const server = tls.createServer(source.serverOptions(), onSecureConnection);
  // A failed handshake (a plain client, an untrusted client certificate) only costs that socket.
  server.on('tlsClientError', (_err, socket) => socket.destroy());
  return source.attach(server);
}

/** An HTTPS server whose certificate follows `source`. */
export function createHttpsServer(source: ReloadingServerTls, handler?: http.RequestListener): https.Server {
  const server = https.createServer(source.serverOptions(), handler);
  server.on('tlsClientError', (_err, socket) => socket.destroy());
  return source.attach(server);
}

/** The settings of client-listener TLS (CLIENT_TLS_*) as packages/config's specs read them. */
export interface ClientTlsSettings {
  CLIENT_TLS_CERT_FILE: string;
  CLIENT_TLS_KEY_FILE: string;
  CLIENT_TLS_CA_FILE: string;
  CLIENT_TLS_RELOAD_INTERVAL_MS: number;
}

/**
 * The process's client-listener certificate, when some TLS port is set.
 * `ports` names each TLS port setting and its value (0 = off). A TLS port
 * without CLIENT_TLS_CERT_FILE/KEY_FILE, or a bad file, is a ConfigError (the
 * process stops at start with the reason); files without any TLS port only
 * get a warning.
 */
export function openClientTls(settings: ClientTlsSettings, ports: Record<string, number>, log?: TlsLog, registry?: Registry): ReloadingServerTls | undefined {
  const wanted = Object.entries(ports).filter(([, port]) => port > 0).map(([name]) => name);
  const files = settings.CLIENT_TLS_CERT_FILE || settings.CLIENT_TLS_KEY_FILE;
  if (wanted.length === 0) {
    if (files) log?.warn({ settings: Object.keys(ports) }, 'CLIENT_TLS_CERT_FILE is set but no TLS port is: no listener uses it');
    return undefined;
  }
  if (!settings.CLIENT_TLS_CERT_FILE || !settings.CLIENT_TLS_KEY_FILE) {
    throw new ConfigError([`${wanted.join(', ')} ${wanted.length > 1 ? 'are' : 'is'} set: CLIENT_TLS_CERT_FILE and CLIENT_TLS_KEY_FILE must name the certificate and its key`]);
  }
  // For alerts: a certificate about to expire (a renewal that never arrived) or renewals refused.
  const registers = registry ? [registry] : [];
  const notAfter = new Gauge({ name: 'tt_tls_certificate_not_after_seconds', help: 'Expiry (Unix time) of the client TLS certificate in use', registers });
  const reloads = new Counter({ name: 'tt_tls_reloads_total', help: 'Client TLS certificate reloads: reloaded (new certificate in use) or refused (bad files, old certificate kept)', labelNames: ['result'] as const, registers });
  try {
    return new ReloadingServerTls({
      certFile: settings.CLIENT_TLS_CERT_FILE,
      keyFile: settings.CLIENT_TLS_KEY_FILE,
      caFile: settings.CLIENT_TLS_CA_FILE || undefined,
      reloadIntervalMs: settings.CLIENT_TLS_RELOAD_INTERVAL_MS,
      log,
      onCertificate: (info) => notAfter.set(Math.floor(Date.parse(info.validTo) / 1000)),
      onReload: (result) => reloads.inc({ result }),
    });
  } catch (err) {
    if (err instanceof TlsFileError) throw new ConfigError([`CLIENT_TLS_*: ${err.message}`]);
    throw err;
  }
}
export { grpcTlsSettings, natsConnectionSettings, redisConnectionSettings, mysqlTlsSettings, type PemMaterial, type GrpcTlsSettings, type NatsConnectionSettings, type RedisConnectionSettings, type MysqlTlsSettings } from './between-roles';
