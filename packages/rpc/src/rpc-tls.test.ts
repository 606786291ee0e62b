import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { createTestPki, type TestPki } from '@tt/testkit';
import { createRpcClient, RpcStatus, startRpcServer, type RpcTls, type RunningRpcServer } from './rpc';

// A one-method service shaped like db_proxy's (unary, binary messages), JSON on the wire.
const json = { serialize: (v: unknown) => Buffer.from(JSON.stringify(v)), deserialize: (b: Buffer) => JSON.parse(b.toString()) };
const LookupService: grpc.ServiceDefinition = {
  getUser: {
    path: '/tt.test.Lookup/GetUser',
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  },
};
type Lookup = { getUser(req: { id: number }): Promise<{ id: number; name: string }> };
const handlers = { getUser: async (req: { id: number }) => ({ id: req.id, name: `user${req.id}` }) };

let dir: string;
let pki: TestPki;
const read = (file: string) => fs.readFileSync(file);
const servers: RunningRpcServer[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rpc-tls-'));
  pki = await createTestPki(dir);
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close(100)));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function serve(tls: RpcTls | undefined) {
  const server = await startRpcServer(LookupService, handlers, { host: '127.0.0.1', port: 0 }, { tls });
  servers.push(server);
  return server;
}

/** One call from a fresh client: its answer, or the status code it failed with (a refused handshake: at its deadline). */
async function call(port: number, tls: RpcTls | undefined, host = '127.0.0.1'): Promise<string | number> {
  const client = createRpcClient<Lookup>(LookupService, `${host}:${port}`, { timeoutMs: 1000, tls });
  try {
    return (await client.getUser({ id: 7 })).name;
  } catch (err) {
    return (err as { code: number }).code;
  } finally {
    client.close();
  }
}

describe('gRPC between roles over TLS', () => {
  it('serves a client that trusts the server CA, and refuses cleartext and clients trusting another CA', async () => {
    const server = await serve({ cert: read(pki.serverCertFile), key: read(pki.serverKeyFile) });

    expect(await call(server.port, { ca: read(pki.caFile) })).toBe('user7');
    expect(await call(server.port, undefined)).toBe(RpcStatus.UNAVAILABLE);
    expect(await call(server.port, { ca: read(pki.otherCaFile) })).toBe(RpcStatus.UNAVAILABLE);
  });

  it('with a CA on the server (mTLS), serves only clients presenting a certificate that CA signed', async () => {
    const server = await serve({ cert: read(pki.serverCertFile), key: read(pki.serverKeyFile), ca: read(pki.caFile) });

    const withClientCert = { ca: read(pki.caFile), cert: read(pki.clientCertFile), key: read(pki.clientKeyFile) };
    expect(await call(server.port, withClientCert)).toBe('user7');
    expect(await call(server.port, { ca: read(pki.caFile) })).toBe(RpcStatus.UNAVAILABLE);
    const strangersCert = { ca: read(pki.caFile), cert: read(pki.otherClientCertFile), key: read(pki.otherClientKeyFile) };
    expect(await call(server.port, strangersCert)).toBe(RpcStatus.UNAVAILABLE);
  });

  it('checks the server certificate against the host dialled, or the server name configured instead', async () => {
    // A certificate for a Kubernetes Service name, reached through a plain IP address.
    const servicePki = await createTestPki(path.join(dir, 'service'), { serverNames: ['db-proxy.tt.svc'] });
    const server = await serve({ cert: read(servicePki.serverCertFile), key: read(servicePki.serverKeyFile) });

    expect(await call(server.port, { ca: read(servicePki.caFile) })).toBe(RpcStatus.UNAVAILABLE);
    expect(await call(server.port, { ca: read(servicePki.caFile), serverName: 'db-proxy.tt.svc' })).toBe('user7');
  });

  it('refuses half a configuration before connecting', async () => {
    await expect(startRpcServer(LookupService, handlers, { host: '127.0.0.1', port: 0 }, { tls: { ca: read(pki.caFile) } })).rejects.toThrow(/certificate and private key/);
    expect(() => createRpcClient(LookupService, '127.0.0.1:1', { timeoutMs: 100, tls: { cert: read(pki.clientCertFile) } })).toThrow(/private key/);
  });
});
