// The chart's TLS on the client listeners (values clientTls and the roles' tlsPort /
// httpsPort): one Secret mounted in the roles that open a TLS port, without subPath
// (so a renewed certificate reaches the pod), the ports on the containers and on the
// Services at the same number, and nothing at all while the ports are off.
import { byKind, envOf, find, helmTemplate, schemaErrors, workloads, type K8sObject } from './support/k8s';

jest.setTimeout(60_000);

const TLS_ON = [
  'clientTls.secretName=tt-client-tls',
  'msgServer.tlsPort=8443',
  'msgServer.ws.tlsPort=8444',
  'msgServer.tcp12.tlsPort=8445',
  'msgServer.omtp.tlsPort=8446',
  'loginServer.httpsPort=8448',
  'fileServer.tlsPort=8601',
  'fileServer.httpsPort=8701',
];

let objs: K8sObject[];
beforeAll(() => {
  objs = helmTemplate([], { set: TLS_ON });
});

const pod = (o: K8sObject[], component: string) => workloads(o).get(component)!.spec.template.spec;
function envOfRole(o: K8sObject[], component: string): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const config = o.find((x) => x.kind === 'ConfigMap' && x.metadata.name === `tt-teamtalk-${component}-config`)!;
  return { ...config.data, ...envOf(pod(o, component).containers[0]) };
}
const containerPorts = (o: K8sObject[], component: string) => Object.fromEntries(pod(o, component).containers[0].ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]));
const servicePorts = (svc: K8sObject) => Object.fromEntries(svc.spec.ports.map((p: { name: string; port: number; targetPort: string }) => [p.name, `${p.port}->${p.targetPort}`]));

test('everything rendered with client TLS on is valid for Kubernetes', () => {
  expect(schemaErrors(objs)).toEqual([]);
});

test('the roles with a TLS port read the mounted Secret and their ports from their ConfigMap', () => {
  const files = { CLIENT_TLS_CERT_FILE: '/etc/teamtalk/client-tls/tls.crt', CLIENT_TLS_KEY_FILE: '/etc/teamtalk/client-tls/tls.key', CLIENT_TLS_RELOAD_INTERVAL_MS: '30000' };
  expect(envOfRole(objs, 'msg-server')).toMatchObject({ ...files, MSG_SERVER_TLS_PORT: '8443', MSG_SERVER_WSS_PORT: '8444', MSG_SERVER_TCP12_TLS_PORT: '8445', MSG_SERVER_OMTP_TLS_PORT: '8446' });
  expect(envOfRole(objs, 'login-server')).toMatchObject({ ...files, LOGIN_HTTPS_PORT: '8448' });
  expect(envOfRole(objs, 'file-server')).toMatchObject({ ...files, FILE_SERVER_TLS_PORT: '8601', FILE_SERVER_HTTPS_PORT: '8701' });
  for (const component of ['db-proxy', 'route-server', 'push-server']) expect(envOfRole(objs, component).CLIENT_TLS_CERT_FILE).toBeUndefined();

  for (const component of ['msg-server', 'login-server', 'file-server']) {
    const spec = pod(objs, component);
    const mount = spec.containers[0].volumeMounts.find((m: { name: string }) => m.name === 'client-tls');
    // A subPath mount would never see the renewed Secret.
    expect(mount).toEqual({ name: 'client-tls', mountPath: '/etc/teamtalk/client-tls', readOnly: true });
    const volume = spec.volumes.find((v: { name: string }) => v.name === 'client-tls');
    expect(volume.secret.secretName).toBe('tt-client-tls');
    expect(volume.secret.items.map((i: { key: string }) => i.key)).toEqual(['tls.crt', 'tls.key']);
  }
});

test('the TLS ports are on the containers and on the Services clients reach, at the same number', () => {
  expect(containerPorts(objs, 'msg-server')).toMatchObject({ client: 8000, 'client-tls': 8443, wss: 8444, 'tcp12-tls': 8445, 'omtp-tls': 8446 });
  expect(servicePorts(find(objs, 'Service', 'tt-teamtalk-msg-server'))).toMatchObject({ client: '8000->client', 'client-tls': '8443->client-tls', wss: '8444->wss', 'tcp12-tls': '8445->tcp12-tls', 'omtp-tls': '8446->omtp-tls' });
  expect(servicePorts(find(objs, 'Service', 'tt-teamtalk-login-server'))).toMatchObject({ http: '8080->http', https: '8448->https' });
  expect(servicePorts(find(objs, 'Service', 'tt-teamtalk-file-server-0'))).toMatchObject({ file: '8600->file', 'file-tls': '8601->file-tls', https: '8701->https' });
});

test('client certificates: the CA is mounted and named', () => {
  const withCa = helmTemplate([], { set: [...TLS_ON, 'clientTls.clientCertificates=true'] });
  expect(envOfRole(withCa, 'msg-server').CLIENT_TLS_CA_FILE).toBe('/etc/teamtalk/client-tls/ca.crt');
  expect(pod(withCa, 'msg-server').volumes.find((v: { name: string }) => v.name === 'client-tls').secret.items.map((i: { key: string }) => i.key)).toEqual(['tls.crt', 'tls.key', 'ca.crt']);
});

test('hostPort exposure binds the TLS ports on the node too', () => {
  const hostPort = helmTemplate([], { set: [...TLS_ON, 'msgServer.exposure.mode=perPod', 'msgServer.exposure.perPod.type=hostPort'] });
  const tlsPort = pod(hostPort, 'msg-server').containers[0].ports.find((p: { name: string }) => p.name === 'client-tls');
  expect(tlsPort).toMatchObject({ containerPort: 8443, hostPort: 8443 });
});

test('with every TLS port off (the default) nothing of it is rendered', () => {
  const plain = helmTemplate([], { set: ['clientTls.secretName=tt-client-tls'] });
  for (const component of ['msg-server', 'login-server', 'file-server']) {
    expect(envOfRole(plain, component).CLIENT_TLS_CERT_FILE).toBeUndefined();
    expect(pod(plain, component).volumes.some((v: { name: string }) => v.name === 'client-tls')).toBe(false);
  }
  expect(byKind(plain, 'Service').flatMap((s) => s.spec.ports.map((p: { name: string }) => p.name))).not.toContain('client-tls');
});

test('settings that cannot work fail the render with the reason', () => {
  expect(() => helmTemplate([], { set: ['msgServer.tlsPort=8443'] })).toThrow(/msg-server: TLS ports \(MSG_SERVER_TLS_PORT\) need clientTls.secretName/);
  expect(() => helmTemplate([], { set: ['clientTls.secretName=s', 'msgServer.tlsPort=8443', 'msgServer.exposure.loadBalancer.serviceType=NodePort', 'msgServer.exposure.loadBalancer.nodePort=30800', 'msgServer.exposure.loadBalancer.wsNodePort=30801', 'msgServer.exposure.loadBalancer.tcp12NodePort=30802', 'msgServer.exposure.loadBalancer.omtpNodePort=30803'] })).toThrow(/NodePort exposure cannot carry them/);
  expect(() => helmTemplate([], { set: ['loginServer.httpsPort=99999'] })).toThrow(/httpsPort/);
});
