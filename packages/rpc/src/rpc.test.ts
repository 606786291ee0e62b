import { rpcTarget } from './rpc';

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
