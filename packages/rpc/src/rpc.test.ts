import type * as grpc from '@grpc/grpc-js';
import { freePort } from '@tt/testkit';
import { createRpcClient, RpcError, RpcStatus, rpcTarget, startRpcServer } from './rpc';

// A one-method service shaped like db_proxy's (unary), JSON on the wire.
const json = { serialize: (v: unknown) => Buffer.from(JSON.stringify(v)), deserialize: (b: Buffer) => JSON.parse(b.toString()) };
const EchoService: grpc.ServiceDefinition = {
  echo: { path: '/tt.test.Echo/Echo', requestStream: false, responseStream: false, requestSerialize: json.serialize, requestDeserialize: json.deserialize, responseSerialize: json.serialize, responseDeserialize: json.deserialize },
};
type Echo = { echo(req: { text: string }): Promise<{ text: string }> };
const echoHandlers = { echo: async (req: { text: string }) => ({ text: req.text }) };

describe('rpcTarget: what an operator writes in DB_PROXY_ADDR', () => {
  it('keeps a single address or a target with a scheme as it is', () => {
    expect(rpcTarget('127.0.0.1:10600')).toBe('127.0.0.1:10600');
    expect(rpcTarget('db-proxy:10600')).toBe('db-proxy:10600');
    expect(rpcTarget('dns:///db-proxy.tt.svc:10600')).toBe('dns:///db-proxy.tt.svc:10600');
    expect(rpcTarget('ipv4:10.0.0.1:1,10.0.0.2:1')).toBe('ipv4:10.0.0.1:1,10.0.0.2:1');
  });

  it('turns a list of replicas into one balanced target', () => {
    expect(rpcTarget('127.0.0.1:10600, 127.0.0.1:10601')).toBe('ipv4:127.0.0.1:10600,127.0.0.1:10601');
    expect(rpcTarget('[::1]:1,[::1]:2')).toBe('ipv6:[::1]:1,[::1]:2');
  });

  it('refuses a list of host names with a message that says what to do', () => {
    expect(() => rpcTarget('a:1,b:2')).toThrow(/dns:\/\/\//);
  });
});

describe('a role whose peer starts after it, or restarts', () => {
  it('a call made while the channel waits between connection attempts is answered by the peer that has just come up', async () => {
    const port = await freePort();
    const client = createRpcClient<Echo>(EchoService, `127.0.0.1:${port}`, { timeoutMs: 3000 });
    try {
      // Nobody there yet: the channel fails and backs off, as msg_server's does when db_proxy starts after it.
      await expect(client.waitForReady(300)).rejects.toBeTruthy();
      const server = await startRpcServer(EchoService, echoHandlers, { host: '127.0.0.1', port });
      try {
        expect(await client.echo({ text: 'first login' })).toEqual({ text: 'first login' });
      } finally {
        await server.close(100);
      }
    } finally {
      client.close();
    }
  });

  it("a call to a peer that never comes up fails at its deadline with the connection's own error", async () => {
    const port = await freePort();
    const client = createRpcClient<Echo>(EchoService, `127.0.0.1:${port}`, { timeoutMs: 800 });
    try {
      const started = Date.now();
      const err = await client.echo({ text: 'anyone?' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RpcError);
      expect((err as RpcError).code).toBe(RpcStatus.UNAVAILABLE);
      expect((err as RpcError).message).toMatch(/ECONNREFUSED|connect/i);
      expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    } finally {
      client.close();
    }
  });

  it('a client of peers found through their own reports (failFast) does not wait for one that has died', async () => {
    const port = await freePort();
    const client = createRpcClient<Echo>(EchoService, `127.0.0.1:${port}`, { timeoutMs: 5000, failFast: true });
    try {
      const started = Date.now();
      const err = await client.echo({ text: 'anyone?' }).catch((e: unknown) => e);
      expect((err as RpcError).code).toBe(RpcStatus.UNAVAILABLE);
      expect(Date.now() - started).toBeLessThan(2500); // not held for its 5 s deadline
    } finally {
      client.close();
    }
  });
});
