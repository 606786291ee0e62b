import * as fs from 'node:fs';
import * as path from 'node:path';
// selfsigned is loaded on use: a dev dependency, and @tt/testkit is also loaded by the bench tool.
import type { generate as Generate } from 'selfsigned';

async function generate(...args: Parameters<typeof Generate>): ReturnType<typeof Generate> {
  const selfsigned = await import('selfsigned');
  return selfsigned.generate(...args);
}

/** PEM files of a throw-away certificate authority and what it signed, for tests of TLS between processes. */
export interface TestPki {
  caFile: string;
  /** Server certificate for the names asked for (default localhost and 127.0.0.1). */
  serverCertFile: string;
  serverKeyFile: string;
  /** Client certificate (mTLS) signed by the same authority. */
  clientCertFile: string;
  clientKeyFile: string;
  /** A second, unrelated authority and a client certificate it signed: what a stranger would present. */
  otherCaFile: string;
  otherClientCertFile: string;
  otherClientKeyFile: string;
}

const ONE_DAY_MS = 86_400_000;

async function authority(commonName: string) {
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - ONE_DAY_MS),
    notAfterDate: new Date(Date.now() + 7 * ONE_DAY_MS),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

async function leaf(ca: { cert: string; key: string }, commonName: string, names: string[]) {
  const altNames = names.map((n) => (/^[\d.]+$|:/.test(n) ? { type: 7 as const, ip: n } : { type: 2 as const, value: n }));
  const pems = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate: new Date(Date.now() - ONE_DAY_MS),
    notAfterDate: new Date(Date.now() + 7 * ONE_DAY_MS),
    ca,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      ...(altNames.length ? [{ name: 'subjectAltName' as const, altNames }] : []),
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

/**
 * Writes a fresh PKI into dir (created if missing): CA, server and client
 * certificates (EC P-256, valid for a week), plus a foreign CA and client.
 */
export async function createTestPki(dir: string, options: { serverNames?: string[] } = {}): Promise<TestPki> {
  fs.mkdirSync(dir, { recursive: true });
  const ca = await authority('tt test CA');
  const server = await leaf(ca, 'tt-test-server', options.serverNames ?? ['localhost', '127.0.0.1']);
  const client = await leaf(ca, 'tt-test-client', []);
  const otherCa = await authority('tt stranger CA');
  const otherClient = await leaf(otherCa, 'tt-stranger-client', []);
  const write = (name: string, pem: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, pem, { mode: 0o600 });
    return file;
  };
  return {
    caFile: write('ca.pem', ca.cert),
    serverCertFile: write('server.pem', server.cert),
    serverKeyFile: write('server-key.pem', server.key),
    clientCertFile: write('client.pem', client.cert),
    clientKeyFile: write('client-key.pem', client.key),
    otherCaFile: write('other-ca.pem', otherCa.cert),
    otherClientCertFile: write('other-client.pem', otherClient.cert),
    otherClientKeyFile: write('other-client-key.pem', otherClient.key),
  };
}
