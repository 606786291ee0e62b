// The chart's TLS and credentials between roles (values grpcTls, nats.auth,
// nats.tls, redis.passwordSecret, redis.tls, mysql.tls): certificates and
// passwords come from existing Secrets as mounted files or secretKeyRefs,
// never as plain values, and each role gets only what it uses.
import { envOf, helmTemplate, schemaErrors, workloads, type K8sObject } from './support/k8s';

jest.setTimeout(60_000);

const ALL_ON = [
  'grpcTls.enabled=true',
  'grpcTls.secretName=tt-grpc-tls',
  'nats.auth.secretName=tt-nats-auth',
  'nats.tls.secretName=tt-nats-tls',
  'nats.tls.clientCert=true',
  'redis.passwordSecret=tt-redis',
  'redis.tls.caSecret=tt-redis-ca',
  'mysql.tls.mode=verify',
  'mysql.tls.caSecret=tt-mysql-ca',
];

let objs: K8sObject[];
beforeAll(() => {
  objs = helmTemplate([], { set: ALL_ON });
});

const pod = (component: string) => workloads(objs).get(component)!.spec.template.spec;
/** The role's environment: its ConfigMap's data plus the container's own entries. */
function envOfRole(component: string): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const config = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `tt-teamtalk-${component}-config`)!;
  return { ...config.data, ...envOf(pod(component).containers[0]) };
}
/** The files a role sees: mount path/file -> Secret name/key. */
function secretFiles(component: string): Record<string, string> {
  const spec = pod(component);
  const out: Record<string, string> = {};
  for (const m of spec.containers[0].volumeMounts) {
    const v = spec.volumes.find((x: { name: string }) => x.name === m.name);
    if (!v?.secret) continue;
    for (const item of v.secret.items) out[`${m.mountPath}/${item.path}`] = `${v.secret.secretName}/${item.key}`;
  }
  return out;
}

test('everything rendered with every inter-role setting on is valid for Kubernetes', () => {
  expect(schemaErrors(objs)).toEqual([]);
});

test('gRPC: the roles that serve or call it point GRPC_TLS_* at the mounted Secret and check one server name; route_server has none', () => {
  for (const component of ['db-proxy', 'file-server', 'msg-server', 'login-server', 'push-server']) {
    const env = envOfRole(component);
    const files = secretFiles(component);
    expect({ component, cert: files[env.GRPC_TLS_CERT_FILE], key: files[env.GRPC_TLS_KEY_FILE], ca: files[env.GRPC_TLS_CA_FILE], name: env.GRPC_TLS_SERVER_NAME }).toEqual({
      component,
      cert: 'tt-grpc-tls/tls.crt',
      key: 'tt-grpc-tls/tls.key',
      ca: 'tt-grpc-tls/ca.crt',
      name: 'tt-teamtalk-grpc',
    });
  }
  expect(envOfRole('route-server').GRPC_TLS_CA_FILE).toBeUndefined();
});

test('NATS: every role but db_proxy gets the CA and client certificate as files and the credentials by secretKeyRef', () => {
  for (const component of ['msg-server', 'login-server', 'route-server', 'push-server', 'file-server']) {
    const env = envOfRole(component);
    const files = secretFiles(component);
    expect(files[env.NATS_TLS_CA_FILE]).toBe('tt-nats-tls/ca.crt');
    expect(files[env.NATS_TLS_CERT_FILE]).toBe('tt-nats-tls/tls.crt');
    expect(env.NATS_PASSWORD).toEqual({ secretKeyRef: { name: 'tt-nats-auth', key: 'NATS_PASSWORD', optional: true } });
  }
  expect(envOfRole('db-proxy').NATS_PASSWORD).toBeUndefined();
});

test('Redis and MySQL: only db_proxy gets the password reference and the CA files', () => {
  const env = envOfRole('db-proxy');
  const files = secretFiles('db-proxy');
  expect(env.REDIS_PASSWORD).toEqual({ secretKeyRef: { name: 'tt-redis', key: 'redis-password' } });
  expect(files[env.REDIS_TLS_CA_FILE]).toBe('tt-redis-ca/ca.crt');
  expect(env.MYSQL_TLS).toBe('verify');
  expect(files[env.MYSQL_TLS_CA_FILE]).toBe('tt-mysql-ca/ca.crt');
  expect(envOfRole('msg-server').REDIS_PASSWORD).toBeUndefined();
});

test('a NATS credentials file is mounted instead of the user/password keys', () => {
  const rendered = helmTemplate([], { set: ['nats.auth.secretName=tt-nats-auth', 'nats.auth.credsKey=teamtalk.creds'] });
  const spec = workloads(rendered).get('route-server')!.spec.template.spec;
  const config = rendered.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'tt-teamtalk-route-server-config')!;
  expect(config.data?.NATS_CREDS_FILE).toBe('/etc/teamtalk/nats-auth/nats.creds');
  expect(spec.volumes.find((v: { name: string }) => v.name === 'nats-auth').secret.items).toEqual([{ key: 'teamtalk.creds', path: 'nats.creds' }]);
  expect(envOf(spec.containers[0]).NATS_PASSWORD).toBeUndefined();
});

test('settings that cannot work fail the render with the reason', () => {
  expect(() => helmTemplate([], { set: ['grpcTls.enabled=true'] })).toThrow(/grpcTls.enabled needs grpcTls.secretName/);
  expect(() => helmTemplate([], { set: ['mysql.tls.caSecret=ca'] })).toThrow(/only used with mysql.tls.mode verify/);
  expect(() => helmTemplate([], { set: ['mysql.tls.mode=maybe'] })).toThrow(/mysql\/tls\/mode/);
});
