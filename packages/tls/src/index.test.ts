import * as fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { ConfigError } from '@tt/config';
import { Registry } from 'prom-client';
import { createTestPki, type TestPki } from '@tt/testkit';
import { ReloadingServerTls, TlsFileError, createTlsServer, describeCertificate, loadTlsFiles, openClientTls, type TlsLog } from './index';

// Two unrelated authorities, each with a server certificate for 127.0.0.1: "the old" and "the new" certificate.
let dir: string;
let first: TestPki;
let second: TestPki;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tt-tls-'));
  first = await createTestPki(path.join(dir, 'first'));
  second = await createTestPki(path.join(dir, 'second'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A certificate and key at fixed paths, as an operator's Secret mount has them; replaced in place by the tests. */
function liveFiles(from: TestPki) {
  const live = fs.mkdtempSync(path.join(dir, 'live-'));
  const files = { cert: path.join(live, 'tls.crt'), key: path.join(live, 'tls.key') };
  fs.copyFileSync(from.serverCertFile, files.cert);
  fs.copyFileSync(from.serverKeyFile, files.key);
  return files;
}

function recordingLog() {
  const lines: Array<{ level: string; fields: object; message: string }> = [];
  const log: TlsLog = {
    info: (fields, message) => lines.push({ level: 'info', fields, message }),
    warn: (fields, message) => lines.push({ level: 'warn', fields, message }),
    error: (fields, message) => lines.push({ level: 'error', fields, message }),
  };
  return { log, lines };
}

/** A TLS echo server on 127.0.0.1 whose certificate follows `source`. */
async function echoServer(source: ReloadingServerTls) {
  const server = createTlsServer(source, (socket) => socket.pipe(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/**
 * Connects and returns the socket and the fingerprint of the certificate the server presented.
 * Both test authorities have the same name, so the client cannot be given both to verify with:
 * it does not verify; the fingerprint says which certificate came.
 */
async function connect(port: number, extra: tls.ConnectionOptions = {}): Promise<{ socket: tls.TLSSocket; fingerprint: string }> {
  const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...extra }, () => resolve(s));
    s.once('error', reject);
  });
  return { socket, fingerprint: socket.getPeerCertificate().fingerprint256 };
}

async function echo(socket: tls.TLSSocket, text: string): Promise<string> {
  socket.write(text);
  const [chunk] = (await new Promise((resolve) => socket.once('data', (d) => resolve([d])))) as Buffer[];
  return chunk.toString();
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const fingerprintOf = (file: string) => describeCertificate(fs.readFileSync(file)).fingerprint256;

describe('loadTlsFiles', () => {
  it('reads a certificate and its key and tells which certificate it is', () => {
    const material = loadTlsFiles({ cert: first.serverCertFile, key: first.serverKeyFile, ca: first.caFile });
    expect(material.cert?.toString()).toContain('BEGIN CERTIFICATE');
    expect(material.ca).toBeDefined();
    expect(material.certificate?.fingerprint256).toBe(fingerprintOf(first.serverCertFile));
    expect(material.certificate?.subjectAltName).toContain('127.0.0.1');
  });

  it('refuses a key that belongs to another certificate, naming both files', () => {
    expect(() => loadTlsFiles({ cert: first.serverCertFile, key: second.serverKeyFile })).toThrow(
      new TlsFileError(`the private key ${second.serverKeyFile} does not belong to the certificate ${first.serverCertFile}`),
    );
  });

  it('says which file is missing or is no PEM', () => {
    expect(() => loadTlsFiles({ cert: path.join(dir, 'nope.pem'), key: first.serverKeyFile })).toThrow(/cannot read the certificate file .*nope\.pem: ENOENT/);
    const junk = path.join(dir, 'junk.pem');
    fs.writeFileSync(junk, 'not a certificate');
    expect(() => loadTlsFiles({ cert: junk, key: first.serverKeyFile })).toThrow(/holds no PEM block/);
    expect(() => loadTlsFiles({ ca: junk })).toThrow(/the CA file .*junk\.pem holds no PEM block/);
  });

  it('wants a certificate and its key together', () => {
    expect(() => loadTlsFiles({ cert: first.serverCertFile })).toThrow(/needs its private key file too/);
    expect(() => loadTlsFiles({ key: first.serverKeyFile })).toThrow(/needs its certificate file too/);
    // A CA alone is what a client that only verifies needs.
    expect(loadTlsFiles({ ca: first.caFile }).ca).toBeDefined();
  });
});

describe('ReloadingServerTls', () => {
  it('serves a certificate replaced on disk to new connections, while open ones keep talking', async () => {
    const files = liveFiles(first);
    const { log, lines } = recordingLog();
    const source = new ReloadingServerTls({ certFile: files.cert, keyFile: files.key, reloadIntervalMs: 50, reloadOnSighup: false, log });
    const { server, port } = await echoServer(source);
    try {
      const before = await connect(port);
      expect(before.fingerprint).toBe(fingerprintOf(first.serverCertFile));

      fs.copyFileSync(second.serverCertFile, files.cert);
      fs.copyFileSync(second.serverKeyFile, files.key);
      await waitFor(async () => {
        const probe = await connect(port);
        probe.socket.destroy();
        return probe.fingerprint === fingerprintOf(second.serverCertFile);
      }, 5000);

      expect(await echo(before.socket, 'still here')).toBe('still here');
      expect(source.certificate.fingerprint256).toBe(fingerprintOf(second.serverCertFile));
      expect(lines.find((l) => l.message.startsWith('TLS certificate reloaded'))?.fields).toMatchObject({ previous: fingerprintOf(first.serverCertFile) });
      before.socket.destroy();
    } finally {
      source.close();
      server.close();
    }
  });

  it('keeps the old certificate when the new files are bad, and says so', async () => {
    const files = liveFiles(first);
    const { log, lines } = recordingLog();
    const source = new ReloadingServerTls({ certFile: files.cert, keyFile: files.key, reloadIntervalMs: 0, reloadOnSighup: false, log });
    const { server, port } = await echoServer(source);
    try {
      // A certificate without its key: the pair does not match.
      fs.copyFileSync(second.serverCertFile, files.cert);
      expect(source.reload()).toBe(false);
      fs.writeFileSync(files.key, 'truncated');
      expect(source.reload()).toBe(false);

      const after = await connect(port);
      expect(after.fingerprint).toBe(fingerprintOf(first.serverCertFile));
      expect(await echo(after.socket, 'ping')).toBe('ping');
      after.socket.destroy();
      const refused = lines.filter((l) => l.level === 'error');
      expect(refused.map((l) => l.message)).toEqual(['new TLS certificate refused; the old one stays in use', 'new TLS certificate refused; the old one stays in use']);
      expect(refused[0].fields).toMatchObject({ keeping: fingerprintOf(first.serverCertFile), err: expect.stringContaining('does not belong') });
    } finally {
      source.close();
      server.close();
    }
  });

  it('with no reload interval, changes only on reload() (SIGHUP calls it; tests/e2e/tls.test.ts sends one to a real process)', async () => {
    const files = liveFiles(first);
    const source = new ReloadingServerTls({ certFile: files.cert, keyFile: files.key, reloadIntervalMs: 0, reloadOnSighup: false });
    const { server, port } = await echoServer(source);
    try {
      fs.copyFileSync(second.serverCertFile, files.cert);
      fs.copyFileSync(second.serverKeyFile, files.key);
      await new Promise((r) => setTimeout(r, 300));
      const before = await connect(port);
      before.socket.destroy();
      expect(before.fingerprint).toBe(fingerprintOf(first.serverCertFile));
      expect(source.reload()).toBe(true);
      expect(source.reload()).toBe(false); // nothing new the second time
      const after = await connect(port);
      expect(after.fingerprint).toBe(fingerprintOf(second.serverCertFile));
      after.socket.destroy();
    } finally {
      source.close();
      server.close();
    }
  });

  it('with a CA, only lets in clients holding a certificate it signed', async () => {
    const source = new ReloadingServerTls({ certFile: first.serverCertFile, keyFile: first.serverKeyFile, caFile: first.caFile, reloadIntervalMs: 0, reloadOnSighup: false });
    const { server, port } = await echoServer(source);
    try {
      const member = await connect(port, { cert: fs.readFileSync(first.clientCertFile), key: fs.readFileSync(first.clientKeyFile) });
      expect(await echo(member.socket, 'hello')).toBe('hello');
      member.socket.destroy();

      // TLS 1.3: the server's refusal arrives after the client's handshake completes, as an error or a close.
      const refusedWith = async (extra: tls.ConnectionOptions) => {
        try {
          const { socket } = await connect(port, extra);
          return await new Promise<string>((resolve) => {
            socket.once('error', (err) => resolve(err.message));
            socket.once('close', () => resolve('closed'));
            socket.write('let me in');
            socket.once('data', () => resolve('answered'));
          });
        } catch (err) {
          return (err as Error).message;
        }
      };
      expect(await refusedWith({})).not.toBe('answered');
      expect(await refusedWith({ cert: fs.readFileSync(first.otherClientCertFile), key: fs.readFileSync(first.otherClientKeyFile) })).not.toBe('answered');
    } finally {
      source.close();
      server.close();
    }
  });
});

describe('openClientTls', () => {
  const settings = { CLIENT_TLS_CERT_FILE: '', CLIENT_TLS_KEY_FILE: '', CLIENT_TLS_CA_FILE: '', CLIENT_TLS_RELOAD_INTERVAL_MS: 0 };

  it('is off while no TLS port is set', () => {
    expect(openClientTls(settings, { MSG_SERVER_TLS_PORT: 0 })).toBeUndefined();
  });

  it('refuses to start a TLS port without a certificate, naming the port setting', () => {
    expect(() => openClientTls(settings, { MSG_SERVER_TLS_PORT: 8443, MSG_SERVER_WSS_PORT: 0 })).toThrow(ConfigError);
    expect(() => openClientTls(settings, { MSG_SERVER_TLS_PORT: 8443, MSG_SERVER_WSS_PORT: 8444 })).toThrow(/MSG_SERVER_TLS_PORT, MSG_SERVER_WSS_PORT are set: CLIENT_TLS_CERT_FILE and CLIENT_TLS_KEY_FILE must name/);
  });

  it('turns a bad file into a configuration error', () => {
    const bad = { ...settings, CLIENT_TLS_CERT_FILE: first.serverCertFile, CLIENT_TLS_KEY_FILE: second.serverKeyFile };
    expect(() => openClientTls(bad, { LOGIN_HTTPS_PORT: 8443 })).toThrow(/CLIENT_TLS_\*: the private key .* does not belong/);
  });

  it('opens the certificate when a port wants it, and counts its expiry and reloads as metrics', async () => {
    const files = liveFiles(first);
    const registry = new Registry();
    const source = openClientTls({ ...settings, CLIENT_TLS_CERT_FILE: files.cert, CLIENT_TLS_KEY_FILE: files.key }, { LOGIN_HTTPS_PORT: 8443 }, undefined, registry);
    const expiry = async () => (await registry.getSingleMetric('tt_tls_certificate_not_after_seconds')!.get()).values[0]?.value;
    const reloads = async () => Object.fromEntries((await registry.getSingleMetric('tt_tls_reloads_total')!.get()).values.map((v) => [v.labels.result, v.value]));
    const notAfterOf = (pki: TestPki) => Math.floor(Date.parse(describeCertificate(fs.readFileSync(pki.serverCertFile)).validTo) / 1000);
    try {
      expect(source?.certificate.fingerprint256).toBe(fingerprintOf(first.serverCertFile));
      expect(await expiry()).toBe(notAfterOf(first));
      fs.copyFileSync(second.serverKeyFile, files.key);
      source!.reload();
      fs.copyFileSync(second.serverCertFile, files.cert);
      source!.reload();
      expect(await reloads()).toEqual({ refused: 1, reloaded: 1 });
      expect(await expiry()).toBe(notAfterOf(second));
    } finally {
      source?.close();
    }
  });
});
