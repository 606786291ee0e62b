// The Helm chart (deploy/helm/teamtalk): lint, render with default and
// non-default values, validate every object against the Kubernetes 1.33
// OpenAPI schemas, and check what matters for running the cluster.
import * as fs from 'node:fs';
import { byKind, envOf, find, helmTemplate, run, schemaErrors, unknownFieldErrors, workloads, CHART_DIR, type K8sObject } from './support/k8s';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { resolveLaunch } = require('../../deploy/entrypoint.js') as {
  resolveLaunch(argv: string[], env: NodeJS.ProcessEnv, hostname?: string): { role: string; script: string; envChanges: Record<string, string> };
};

jest.setTimeout(60_000);

const VARIANTS: Record<string, string[]> = {
  default: [],
  scaled: ['ci/scaled-values.yaml'],
  hostport: ['ci/hostport-values.yaml'],
};
const ROLE_ADMIN_PORTS: Record<string, number> = { 'login-server': 9101, 'msg-server': 9102, 'db-proxy': 9103, 'route-server': 9104, 'push-server': 9105, 'file-server': 9106 };
const ROLE_ARGS: Record<string, string> = { 'login-server': 'login_server', 'msg-server': 'msg_server', 'db-proxy': 'db_proxy', 'route-server': 'route_server', 'push-server': 'push_server', 'file-server': 'file_server' };

const rendered: Record<string, K8sObject[]> = {};
beforeAll(() => {
  for (const [name, files] of Object.entries(VARIANTS)) rendered[name] = helmTemplate(files);
});

const roleWorkloads = (objs: K8sObject[]) => [...workloads(objs)].filter(([component]) => component in ROLE_ADMIN_PORTS);
const container = (w: K8sObject) => w.spec.template.spec.containers[0];
/** Whether a selector picks pods of a workload (a StatefulSet's pod-name label is set by its controller: checked against its pod names). */
const podLabelsMatch = (w: K8sObject, selector: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) =>
    k === 'statefulset.kubernetes.io/pod-name' ? w.kind === 'StatefulSet' && new RegExp(`^${w.metadata.name}-\\d+$`).test(v) : w.spec.template.metadata.labels?.[k] === v,
  );
const msgServer = (objs: K8sObject[]) => objs.find((o) => (o.kind === 'Deployment' || o.kind === 'StatefulSet') && o.metadata.name === 'tt-teamtalk-msg-server')!;
const secretRef = (name: string, key: string) => ({ secretKeyRef: { name, key, optional: true } });

/** What msg_server pod `i` advertises to login_server once the image's entry point has expanded its environment. */
function advertised(objs: K8sObject[], i: number) {
  const env = envOf(container(msgServer(objs)));
  const plain = Object.fromEntries(Object.entries(env).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  const e = { ...plain, ...resolveLaunch(['msg_server'], plain, `tt-teamtalk-msg-server-${i}`).envChanges };
  return {
    host: env.MSG_SERVER_ADVERTISE_IP?.fieldRef ? `<${env.MSG_SERVER_ADVERTISE_IP.fieldRef.fieldPath}>` : e.MSG_SERVER_ADVERTISE_IP,
    client: Number(e.MSG_SERVER_ADVERTISE_PORT) || Number(e.MSG_SERVER_PORT),
    ws: Number(e.MSG_SERVER_WS_ADVERTISE_PORT) || Number(e.MSG_SERVER_WS_PORT),
    tcp12: Number(e.MSG_SERVER_TCP12_ADVERTISE_PORT) || Number(e.MSG_SERVER_TCP12_PORT),
    omtp: Number(e.MSG_SERVER_OMTP_ADVERTISE_PORT) || Number(e.MSG_SERVER_OMTP_PORT),
  };
}

/**
 * The port at which the chart exposes the container port named `portName` of
 * msg_server pod `i`: its own Service (perPod), the shared Service
 * (loadBalancer; a NodePort only when pinned) or the node's host port.
 * Also checks the route ends at the container port the role listens on.
 */
function exposedPort(objs: K8sObject[], i: number, portName: 'client' | 'ws' | 'tcp12' | 'omtp'): number {
  const c = container(msgServer(objs));
  const cPort = c.ports.find((p: { name: string }) => p.name === portName);
  expect(cPort).toBeDefined();
  expect(String(cPort.containerPort)).toBe(envOf(c)[{ client: 'MSG_SERVER_PORT', ws: 'MSG_SERVER_WS_PORT', tcp12: 'MSG_SERVER_TCP12_PORT', omtp: 'MSG_SERVER_OMTP_PORT' }[portName]]);
  const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === `tt-teamtalk-msg-server-${i}`) ?? objs.find((o) => o.kind === 'Service' && o.metadata.name === 'tt-teamtalk-msg-server');
  if (!svc) return cPort.hostPort;
  const p = svc.spec.ports.find((x: { targetPort: string }) => x.targetPort === portName);
  expect({ svc: svc.metadata.name, portName, found: Boolean(p) }).toEqual({ svc: svc.metadata.name, portName, found: true });
  expect(p.name).toBe(portName);
  return svc.spec.type === 'NodePort' && p.nodePort ? p.nodePort : p.port;
}

test.each(Object.entries(VARIANTS))('helm lint --strict passes (%s values)', (_name, files) => {
  const r = run('helm', ['lint', '--strict', CHART_DIR, ...files.flatMap((f) => ['--values', `${CHART_DIR}/${f}`])]);
  expect(r.stderr + r.stdout).toContain('0 chart(s) failed');
  expect(r.status).toBe(0);
});

test.each(Object.keys(VARIANTS))('every object rendered with %s values is valid for Kubernetes 1.33', (name) => {
  expect(rendered[name].length).toBeGreaterThan(10);
  expect(schemaErrors(rendered[name])).toEqual([]);
});

test('no object has an unknown or misspelt field (every variant)', () => {
  expect(unknownFieldErrors(Object.values(rendered).flat())).toEqual([]);
});

describe.each(Object.keys(VARIANTS))('every role (%s values)', (name) => {
  test('runs the image with its role, probes /healthz and /readyz on its admin port', () => {
    const roles = roleWorkloads(rendered[name]);
    expect(roles.map(([c]) => c)).toEqual(expect.arrayContaining(['login-server', 'msg-server', 'db-proxy', 'route-server']));
    for (const [component, w] of roles) {
      const c = container(w);
      expect(c.args).toEqual([ROLE_ARGS[component]]);
      const adminPort = Number(envOf(c).ADMIN_PORT);
      expect(adminPort).toBe(ROLE_ADMIN_PORTS[component]);
      expect(c.ports).toContainEqual(expect.objectContaining({ name: 'admin', containerPort: adminPort }));
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'admin' });
      expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'admin' });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'admin' });
      expect(resolveLaunch(c.args, {}).script).toBe(`services/${ROLE_ARGS[component]}/dist/main.js`);
    }
  });

  test('is non-root with a read-only root filesystem, and has requests and limits', () => {
    for (const [component, w] of roleWorkloads(rendered[name])) {
      const pod = w.spec.template.spec;
      const c = container(w);
      expect({ component, runAsNonRoot: pod.securityContext.runAsNonRoot, uid: pod.securityContext.runAsUser > 0 }).toEqual({ component, runAsNonRoot: true, uid: true });
      expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(c.resources.requests).toEqual(expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }));
      expect(c.resources.limits).toEqual(expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }));
      expect(c.volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
    }
  });

  test('reads its configuration from its own ConfigMap and Secret', () => {
    const db = find(rendered[name], 'ConfigMap', 'tt-teamtalk-db-proxy-config');
    const dbSecret = find(rendered[name], 'Secret', 'tt-teamtalk-db-proxy-secret');
    expect(Object.keys(db.data!)).toEqual(expect.arrayContaining(['MYSQL_HOST', 'MYSQL_PORT', 'MYSQL_USER', 'MYSQL_DATABASE', 'LOG_LEVEL', 'TT_SUBJECT_PREFIX']));
    expect(Object.keys(dbSecret.stringData!).sort()).toEqual(['MYSQL_PASSWORD', 'REDIS_URL']);
    for (const [component, w] of roleWorkloads(rendered[name])) {
      expect(container(w).envFrom).toEqual([{ configMapRef: { name: `tt-teamtalk-${component}-config` } }, { secretRef: { name: `tt-teamtalk-${component}-secret` } }]);
    }
    // msg_server reaches every db_proxy pod through the headless Service.
    const dbSvc = rendered[name].find((o) => o.kind === 'Service' && o.metadata.name.endsWith('db-proxy-headless'))!;
    expect(dbSvc.spec.clusterIP).toBe('None');
    expect(find(rendered[name], 'ConfigMap', 'tt-teamtalk-msg-server-config').data!.DB_PROXY_ADDR).toBe(`dns:///${dbSvc.metadata.name}.chat.svc.cluster.local:10600`);
    expect(dbSvc.spec.ports).toContainEqual(expect.objectContaining({ port: 10600, targetPort: 'grpc' }));
  });

  test('every Service selects pods of the release and targets named ports they have', () => {
    const all = [...workloads(rendered[name]).values()];
    for (const svc of byKind(rendered[name], 'Service')) {
      const targets = all.filter((w) => podLabelsMatch(w, svc.spec.selector));
      expect({ svc: svc.metadata.name, matches: targets.length }).toEqual({ svc: svc.metadata.name, matches: 1 });
      const portNames = targets[0].spec.template.spec.containers.flatMap((c: { ports: Array<{ name: string }> }) => c.ports.map((p) => p.name));
      for (const p of svc.spec.ports) expect(portNames).toContain(p.targetPort);
    }
  });

  test('msg_server has a PodDisruptionBudget and a termination grace period covering preStop + drain', () => {
    const [, ms] = roleWorkloads(rendered[name]).find(([c]) => c === 'msg-server')!;
    const pdb = rendered[name].find((o) => o.kind === 'PodDisruptionBudget' && podLabelsMatch(ms, o.spec.selector.matchLabels));
    expect(pdb).toBeDefined();
    expect(pdb!.spec.maxUnavailable).toBe(1);
    const c = container(ms);
    const sleep = Number(c.lifecycle.preStop.exec.command[1]);
    expect(c.lifecycle.preStop.exec.command[0]).toBe('sleep');
    const drainSeconds = Number(envOf(c).MSG_SERVER_DRAIN_TIMEOUT_MS) / 1000;
    expect(drainSeconds).toBeGreaterThanOrEqual(25);
    expect(drainSeconds).toBeLessThanOrEqual(55); // the process exits 60 s after SIGTERM whatever happens
    expect(ms.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(sleep + drainSeconds + 5);
  });
});

describe('default values', () => {
  const objs = () => rendered.default;

  test('file_server: a StatefulSet with a volume per pod, a Service per pod, its own (in-cluster) address advertised; login_server hands out the shared image store Service', () => {
    const fs = find(objs(), 'StatefulSet', 'tt-teamtalk-file-server');
    expect(fs.spec.volumeClaimTemplates).toEqual([expect.objectContaining({ metadata: expect.objectContaining({ name: 'data' }) })]);
    const c = container(fs);
    expect(c.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
    const e = envOf(c);
    expect(e.FILE_SERVER_ID).toBe('{hostname}');
    expect(e.FILE_SERVER_DATA_DIR).toBe('/data/files');
    expect(e.FILE_SERVER_ADVERTISE_IP).toBe('tt-teamtalk-file-server-{ordinal}.chat.svc.cluster.local');
    expect(resolveLaunch(['file_server'], { ...e, POD_IP: '10.1.2.3' }, 'tt-teamtalk-file-server-0').envChanges).toMatchObject({
      FILE_SERVER_ID: 'tt-teamtalk-file-server-0',
      FILE_SERVER_ADVERTISE_IP: 'tt-teamtalk-file-server-0.chat.svc.cluster.local',
      FILE_SERVER_RPC_ADVERTISE: '10.1.2.3:10700',
    });
    const pod0 = find(objs(), 'Service', 'tt-teamtalk-file-server-0');
    expect(pod0.spec.selector['statefulset.kubernetes.io/pod-name']).toBe('tt-teamtalk-file-server-0');
    expect(pod0.spec.ports.map((p: { name: string }) => p.name)).toEqual(['file', 'http']);
    const login = find(objs(), 'Deployment', 'tt-teamtalk-login-server');
    // In-cluster only (ClusterIP, NOTES warns): uploads go to the shared Service, spread over the pods.
    expect(envOf(container(login)).LOGIN_MSFS_URL).toBe('http://tt-teamtalk-file-server.chat.svc.cluster.local:8700');
  });

  test('login_server serves the operator API and console on its HTTP port: API settings from values, the content key from its Secret', () => {
    const login = find(objs(), 'Deployment', 'tt-teamtalk-login-server');
    expect(envOf(container(login))).toMatchObject({ ADMIN_API_TOKEN_TTL_S: '900', ADMIN_API_RATE_LIMIT: '600', ADMIN_API_CORS_ORIGINS: '' });
    const set = helmTemplate([], { set: ['loginServer.adminApi.tokenTtlSeconds=300', 'loginServer.adminApi.corsOrigins={https://ops.example.com}', 'contentKey=12345678901234567890123456789012'] });
    const c = container(find(set, 'Deployment', 'tt-teamtalk-login-server'));
    expect(envOf(c)).toMatchObject({ ADMIN_API_TOKEN_TTL_S: '300', ADMIN_API_CORS_ORIGINS: 'https://ops.example.com' });
    // Its own Secret (envFrom) holds the key, so message search shows TeamTalk text decrypted.
    const secretName: string = c.envFrom.map((e: { secretRef?: { name: string } }) => e.secretRef?.name).find(Boolean);
    expect(find(set, 'Secret', secretName).stringData!.TT_CONTENT_KEY).toBe('12345678901234567890123456789012');
  });

  test('msg_server: a Deployment behind one TCP LoadBalancer, autoscaled on CPU by an HPA', () => {
    const ms = find(objs(), 'Deployment', 'tt-teamtalk-msg-server');
    expect(ms.spec.replicas).toBeUndefined(); // the HPA owns the count
    const svc = find(objs(), 'Service', 'tt-teamtalk-msg-server');
    expect(svc.spec.type).toBe('LoadBalancer');
    expect(svc.spec.ports).toEqual([
      { name: 'client', port: 8000, targetPort: 'client', protocol: 'TCP' },
      { name: 'ws', port: 8081, targetPort: 'ws', protocol: 'TCP' },
      { name: 'tcp12', port: 8082, targetPort: 'tcp12', protocol: 'TCP' },
      { name: 'omtp', port: 8085, targetPort: 'omtp', protocol: 'TCP' },
    ]);
    expect(container(ms).ports).toContainEqual({ name: 'client', containerPort: 8000, protocol: 'TCP' });
    expect(container(ms).ports).toContainEqual({ name: 'ws', containerPort: 8081, protocol: 'TCP' });
    expect(envOf(container(ms)).MSG_SERVER_ADVERTISE_IP).toBe('tt-teamtalk-msg-server.chat.svc.cluster.local');
    expect(envOf(container(ms))).toMatchObject({ MSG_SERVER_WS_PORT: '8081', MSG_SERVER_WS_PATH: '/ws', MSG_SERVER_WS_ADVERTISE_PORT: '8081' });
    expect(find(objs(), 'Service', 'tt-teamtalk-msg-server-headless').spec.ports).toContainEqual({ name: 'ws', port: 8081, targetPort: 'ws', protocol: 'TCP' });
    expect(find(objs(), 'Service', 'tt-teamtalk-msg-server-headless').spec.ports).toContainEqual({ name: 'omtp', port: 8085, targetPort: 'omtp', protocol: 'TCP' });
    const hpa = find(objs(), 'HorizontalPodAutoscaler', 'tt-teamtalk-msg-server');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'tt-teamtalk-msg-server' });
    expect(hpa.spec).toMatchObject({ minReplicas: 2, maxReplicas: 10 });
    expect(hpa.spec.metrics).toEqual([{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }]);
    expect(hpa.spec.behavior.scaleDown.stabilizationWindowSeconds).toBeGreaterThanOrEqual(60);
  });

  test('push_server runs without keys (providers off) and without a keys Secret', () => {
    const ps = find(objs(), 'Deployment', 'tt-teamtalk-push-server');
    expect(ps.spec.replicas).toBe(2);
    const env = envOf(container(ps));
    expect(env.ADMIN_PORT).toBe('9105');
    expect(Object.keys(env).filter((k) => k.startsWith('PUSH_'))).toEqual([]);
    expect(find(objs(), 'ConfigMap', 'tt-teamtalk-push-server-config').data!.PUSH_STREAM_REPLICAS).toBe('1');
    expect(objs().filter((o) => o.metadata.name === 'tt-teamtalk-push-keys')).toEqual([]);
    expect(find(objs(), 'PodDisruptionBudget', 'tt-teamtalk-push-server').spec.maxUnavailable).toBe(1);
    // With an existing Secret: each provider's file is used when that provider is asked for.
    const r = helmTemplate([], { set: ['pushServer.existingKeysSecret=my-push-keys', 'pushServer.apns.keyId=ABCDE12345', 'pushServer.apns.teamId=TEAM123456', 'pushServer.apns.topic=com.example.chat', 'pushServer.fcm.inExistingKeysSecret=true'] });
    const c = container(find(r, 'Deployment', 'tt-teamtalk-push-server'));
    expect(envOf(c)).toMatchObject({ PUSH_APNS_KEY_FILE: '/etc/teamtalk/push/apns-key.p8', PUSH_APNS_KEY_ID: 'ABCDE12345', PUSH_FCM_CREDENTIALS_FILE: '/etc/teamtalk/push/fcm-credentials.json' });
    expect(find(r, 'Deployment', 'tt-teamtalk-push-server').spec.template.spec.volumes).toContainEqual({ name: 'push-keys', secret: { secretName: 'my-push-keys' } });
  });

  test('Ingress, ServiceMonitor and in-cluster back ends are off', () => {
    const names = objs().map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names.filter((n) => /mysql|redis|nats/.test(n))).toEqual([]);
    expect(byKind(objs(), 'Ingress')).toEqual([]);
    expect(byKind(objs(), 'ServiceMonitor')).toEqual([]);
    expect(byKind(objs(), 'PersistentVolumeClaim')).toEqual([]);
  });

  test('replica counts of the other roles come from values', () => {
    for (const role of ['login-server', 'db-proxy', 'route-server']) expect(find(objs(), 'Deployment', `tt-teamtalk-${role}`).spec.replicas).toBe(2);
    const r = helmTemplate([], { set: ['dbProxy.replicaCount=4', 'routeServer.replicaCount=3', 'loginServer.replicaCount=5'] });
    expect(find(r, 'Deployment', 'tt-teamtalk-db-proxy').spec.replicas).toBe(4);
    expect(find(r, 'Deployment', 'tt-teamtalk-route-server').spec.replicas).toBe(3);
    expect(find(r, 'Deployment', 'tt-teamtalk-login-server').spec.replicas).toBe(5);
  });
});

describe('scaled values (ci/scaled-values.yaml): 5 msg_servers with per-pod Services, Ingress, file_server, push_server', () => {
  const objs = () => rendered.scaled;

  test('msg_server is a StatefulSet of 5, each pod with its own LoadBalancer Service and advertised name', () => {
    const ms = find(objs(), 'StatefulSet', 'tt-teamtalk-msg-server');
    expect(ms.spec.replicas).toBe(5);
    expect(ms.spec.serviceName).toBe('tt-teamtalk-msg-server-headless');
    expect(byKind(objs(), 'HorizontalPodAutoscaler')).toEqual([]);
    const env = envOf(container(ms));
    expect(env.MSG_SERVER_ADVERTISE_IP).toBe('msg-{ordinal}.chat.example.com');
    for (let i = 0; i < 5; i++) {
      const svc = find(objs(), 'Service', `tt-teamtalk-msg-server-${i}`);
      expect(svc.spec.type).toBe('LoadBalancer');
      expect(svc.spec.selector['statefulset.kubernetes.io/pod-name']).toBe(`tt-teamtalk-msg-server-${i}`);
      expect(svc.metadata.annotations!['external-dns.alpha.kubernetes.io/hostname']).toBe(`msg-${i}.chat.example.com`);
      // What pod i advertises once the image's entry point has expanded {ordinal}.
      const launch = resolveLaunch(['msg_server'], env, `tt-teamtalk-msg-server-${i}`);
      expect(launch.envChanges.MSG_SERVER_ADVERTISE_IP).toBe(`msg-${i}.chat.example.com`);
      // The WebSocket front on the same per-pod Service and name.
      expect(svc.spec.ports).toContainEqual({ name: 'ws', port: 8081, targetPort: 'ws', protocol: 'TCP' });
      expect(svc.spec.ports).toContainEqual({ name: 'omtp', port: 8085, targetPort: 'omtp', protocol: 'TCP' });
      expect(advertised(objs(), i)).toEqual({ host: `msg-${i}.chat.example.com`, client: 8000, ws: 8081, tcp12: 8082, omtp: 8085 });
    }
    expect(objs().filter((o) => o.kind === 'Service' && /msg-server-\d+$/.test(o.metadata.name))).toHaveLength(5);
    const drain = Number(env.MSG_SERVER_DRAIN_TIMEOUT_MS) / 1000;
    expect(ms.spec.template.spec.terminationGracePeriodSeconds).toBe(10 + drain + 10);
  });

  test('login_server HTTP is exposed by an Ingress with TLS', () => {
    const ing = find(objs(), 'Ingress', 'tt-teamtalk-login-server');
    expect(ing.spec.ingressClassName).toBe('nginx');
    expect(ing.spec.tls).toEqual([{ secretName: 'login-chat-tls', hosts: ['login.chat.example.com'] }]);
    expect(ing.spec.rules[0]).toEqual({ host: 'login.chat.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'tt-teamtalk-login-server', port: { name: 'http' } } } }] } });
    const svc = find(objs(), 'Service', 'tt-teamtalk-login-server');
    expect(svc.spec.ports).toContainEqual(expect.objectContaining({ name: 'http', targetPort: 'http' }));
  });

  test('file_server keeps its files on a PersistentVolumeClaim per pod', () => {
    const fs = find(objs(), 'StatefulSet', 'tt-teamtalk-file-server');
    expect(fs.spec.volumeClaimTemplates).toHaveLength(1);
    expect(fs.spec.volumeClaimTemplates[0].metadata.name).toBe('data');
    expect(fs.spec.volumeClaimTemplates[0].spec).toEqual({ accessModes: ['ReadWriteOnce'], storageClassName: 'fast-ssd', resources: { requests: { storage: '50Gi' } } });
    expect(fs.spec.serviceName).toBe('tt-teamtalk-file-server-headless');
    expect(container(fs).volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
  });

  test('push_server gets its keys from a Secret, mounted read-only', () => {
    const ps = find(objs(), 'Deployment', 'tt-teamtalk-push-server');
    expect(ps.spec.replicas).toBe(2);
    const env = envOf(container(ps));
    expect(env).toMatchObject({ PUSH_APNS_KEY_FILE: '/etc/teamtalk/push/apns-key.p8', PUSH_APNS_KEY_ID: 'ABCDE12345', PUSH_APNS_TEAM_ID: 'TEAM123456', PUSH_APNS_TOPIC: 'com.example.chat' });
    expect(find(objs(), 'Secret', 'tt-teamtalk-push-keys').stringData!['apns-key.p8']).toContain('BEGIN PRIVATE KEY');
    // pushServer.contentKey, the deprecated name, still becomes TT_CONTENT_KEY.
    expect(find(objs(), 'Secret', 'tt-teamtalk-push-server-secret').stringData!.TT_CONTENT_KEY).toBe('0123456789abcdef0123456789abcdef');
    expect(find(objs(), 'Secret', 'tt-teamtalk-push-server-secret').stringData!.PUSH_CONTENT_KEY).toBeUndefined();
    expect(container(ps).volumeMounts).toContainEqual({ name: 'push-keys', mountPath: '/etc/teamtalk/push', readOnly: true });
  });

  test('the ServiceMonitor scrapes /metrics on the admin port of every role', () => {
    const sm = find(objs(), 'ServiceMonitor', 'tt-teamtalk');
    expect(sm.metadata.labels!.release).toBe('prometheus');
    expect(sm.spec.endpoints).toEqual([expect.objectContaining({ port: 'admin', path: '/metrics' })]);
    const scraped = byKind(objs(), 'Service').filter((s) => Object.entries(sm.spec.selector.matchLabels as Record<string, string>).every(([k, v]) => s.metadata.labels?.[k] === v));
    const components = scraped.map((s) => s.metadata.labels!['app.kubernetes.io/component']).sort();
    expect(components).toEqual(['db-proxy', 'file-server', 'login-server', 'msg-server', 'push-server', 'route-server']);
    for (const s of scraped) expect(s.spec.ports).toContainEqual(expect.objectContaining({ name: 'admin', targetPort: 'admin' }));
  });
});

describe('hostport values (ci/hostport-values.yaml): host ports, autoscaling on connections, dev back ends', () => {
  const objs = () => rendered.hostport;

  test('each msg_server binds the host port and advertises its node IP', () => {
    const ms = find(objs(), 'StatefulSet', 'tt-teamtalk-msg-server');
    expect(container(ms).ports).toContainEqual({ name: 'client', containerPort: 8000, hostPort: 8000, protocol: 'TCP' });
    expect(container(ms).ports).toContainEqual({ name: 'ws', containerPort: 8081, hostPort: 8081, protocol: 'TCP' });
    expect(container(ms).ports).toContainEqual({ name: 'omtp', containerPort: 8085, hostPort: 8085, protocol: 'TCP' });
    const env = envOf(container(ms));
    expect(env.MSG_SERVER_ADVERTISE_IP).toEqual({ fieldRef: { fieldPath: 'status.hostIP' } });
    expect(env.MSG_SERVER_ADVERTISE_PORT).toBe('8000');
    expect(env.MSG_SERVER_WS_ADVERTISE_PORT).toBe('8081');
    expect(env.MSG_SERVER_OMTP_ADVERTISE_PORT).toBe('8085');
    expect(objs().filter((o) => o.kind === 'Service' && /msg-server-\d+$/.test(o.metadata.name))).toEqual([]);
  });

  test('the HPA scales the StatefulSet on CPU and connections per pod', () => {
    const hpa = find(objs(), 'HorizontalPodAutoscaler', 'tt-teamtalk-msg-server');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'tt-teamtalk-msg-server' });
    expect(hpa.spec).toMatchObject({ minReplicas: 3, maxReplicas: 12 });
    expect(hpa.spec.metrics).toContainEqual({ type: 'Pods', pods: { metric: { name: 'tt_msg_server_connections' }, target: { type: 'AverageValue', averageValue: '15000' } } });
  });

  test('in-cluster MariaDB, Redis and NATS are wired into the configuration', () => {
    for (const d of ['mysql', 'redis', 'nats']) {
      find(objs(), 'Deployment', `tt-teamtalk-${d}`);
      find(objs(), 'Service', `tt-teamtalk-${d}`);
    }
    expect(find(objs(), 'ConfigMap', 'tt-teamtalk-db-proxy-config').data!.MYSQL_HOST).toBe('tt-teamtalk-mysql');
    expect(find(objs(), 'Secret', 'tt-teamtalk-db-proxy-secret').stringData).toMatchObject({ REDIS_URL: 'redis://tt-teamtalk-redis:6379' });
    expect(find(objs(), 'Secret', 'tt-teamtalk-msg-server-secret').stringData).toMatchObject({ NATS_URL: 'nats://tt-teamtalk-nats:4222' });
    expect(container(find(objs(), 'Deployment', 'tt-teamtalk-nats')).args).toContain('--jetstream');
  });
});

describe('values', () => {
  test('per-pod NodePort Services get consecutive node ports, which the pods advertise', () => {
    const objs = helmTemplate([], { set: ['msgServer.exposure.mode=perPod', 'msgServer.exposure.perPod.serviceType=NodePort', 'msgServer.exposure.perPod.advertiseHostTemplate=nodes.example.com', 'msgServer.autoscaling.maxReplicas=3'] });
    expect(schemaErrors(objs)).toEqual([]);
    const ports = [0, 1, 2].map((i) => find(objs, 'Service', `tt-teamtalk-msg-server-${i}`).spec.ports[0].nodePort);
    expect(ports).toEqual([30800, 30801, 30802]);
    const env = envOf(container(find(objs, 'StatefulSet', 'tt-teamtalk-msg-server')));
    expect(resolveLaunch(['msg_server'], env, 'tt-teamtalk-msg-server-2').envChanges).toEqual({ MSG_SERVER_ADVERTISE_PORT: '30802', MSG_SERVER_WS_ADVERTISE_PORT: '30902', MSG_SERVER_TCP12_ADVERTISE_PORT: '31102', MSG_SERVER_OMTP_ADVERTISE_PORT: '31202' });
    const wsPorts = [0, 1, 2].map((i) => find(objs, 'Service', `tt-teamtalk-msg-server-${i}`).spec.ports.find((p: { name: string }) => p.name === 'ws').nodePort);
    expect(wsPorts).toEqual([30902 - 2, 30902 - 1, 30902]);
    const omtpPorts = [0, 1, 2].map((i) => find(objs, 'Service', `tt-teamtalk-msg-server-${i}`).spec.ports.find((p: { name: string }) => p.name === 'omtp').nodePort);
    expect(omtpPorts).toEqual([31200, 31201, 31202]);
  });

  test.each([
    [['msgServer.exposure.mode=anycast'], /mode/],
    [['msgServer.drainTimeoutSeconds=90'], /drainTimeoutSeconds/],
    [['msgServer.replicaCount=-1'], /replicaCount/],
    [['logLevel=verbose'], /logLevel/],
    [['redis.url=http://x'], /redis/],
    [['msgServer.exposure.mode=perPod', 'msgServer.exposure.perPod.advertiseHostTemplate='], /advertiseHostTemplate is required/],
    [['msgServr.port=1'], /msgServr/],
    [['msgServer.ws.port=8000'], /ws.port must differ/],
    [['msgServer.ws.path=ws'], /path/],
    [['msgServer.exposure.loadBalancer.wsPort=8000'], /wsPort must differ/],
    [['msgServer.exposure.mode=perPod', 'msgServer.exposure.perPod.advertiseHostTemplate=nodes.chat.example.com', 'msgServer.exposure.perPod.serviceType=NodePort', 'msgServer.exposure.perPod.wsNodePortBase=30805'], /node ports 30800-30809 \(nodePortBase\) and 30805-30814 \(wsNodePortBase\) overlap/],
    [['msgServer.exposure.mode=perPod', 'msgServer.exposure.perPod.type=hostPort', 'msgServer.exposure.perPod.wsHostPort=8000'], /wsHostPort must differ/],
    [['msgServer.exposure.loadBalancer.serviceType=NodePort', 'msgServer.exposure.loadBalancer.nodePort=30000', 'msgServer.exposure.loadBalancer.wsNodePort=30000'], /wsNodePort must differ/],
    [['auth.jwtSecret=too-short'], /jwtSecret/],
    [['contentKey=not-32-characters'], /contentKey/],
  ])('%j is refused', (set, message) => {
    const r = run('helm', ['template', 'tt', CHART_DIR, ...set.flatMap((s) => ['--set', s])]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });
});

test.each(Object.entries(VARIANTS))('NOTES.txt renders (%s values) and says how clients reach msg_server, the chat page and the WebSocket front', (name, files) => {
  const r = run('helm', ['install', 'tt', CHART_DIR, '--dry-run=client', '--namespace', 'chat', ...files.flatMap((f) => ['--values', `${CHART_DIR}/${f}`])]);
  expect(r.stderr).toBe('');
  const notes = r.stdout.slice(r.stdout.indexOf('NOTES:'));
  expect(notes).toMatch(/msg_server \((loadBalancer|perPod) exposure/);
  expect(notes).toMatch(/drains its clients for up to \d+ s/);
  expect(notes).toMatch(/GET \/msg_server\?protocol=ws/);
  expect(notes).toContain('AUTH_JWT_SECRET');
  const expected: Record<string, [RegExp, RegExp]> = {
    default: [/http:\/\/127\.0\.0\.1:8080\/chat\//, /ws:\/\/tt-teamtalk-msg-server\.chat\.svc\.cluster\.local:8081\/ws/],
    scaled: [/https:\/\/login\.chat\.example\.com\/chat\//, /ws:\/\/msg-\{ordinal\}\.chat\.example\.com:8081\/ws/],
    hostport: [/http:\/\/127\.0\.0\.1:8080\/chat\//, /ws:\/\/<node IP>:8081\/ws/],
  };
  for (const re of expected[name]) expect(notes).toMatch(re);
  expect(notes).toMatch(/GET \/msg_server\?protocol=tcp12/);
  expect(notes).toMatch(/GET \/msg_server\?protocol=omtp \(port "omtp"/);
  expect(notes).toContain('msgServer.omtp.aesKey is empty');
});

// ---- the WebSocket front, AUTH_JWT_SECRET and TT_CONTENT_KEY ----------------------------------

describe.each(Object.keys(VARIANTS))('secrets of the WebSocket front (%s values)', (name) => {
  test('login_server and every msg_server get one AUTH_JWT_SECRET in their own Secrets; msg_server and push_server get TT_CONTENT_KEY', () => {
    const login = find(rendered[name], 'Secret', 'tt-teamtalk-login-server-secret').stringData!;
    const msg = find(rendered[name], 'Secret', 'tt-teamtalk-msg-server-secret').stringData!;
    expect(login.AUTH_JWT_SECRET).toMatch(/^[A-Za-z0-9]{64}$/); // generated: nothing to look up without a cluster
    expect(msg.AUTH_JWT_SECRET).toBe(login.AUTH_JWT_SECRET); // worked out once per render
    const w = workloads(rendered[name]);
    for (const component of ['login-server', 'msg-server']) expect(container(w.get(component)!).envFrom).toContainEqual({ secretRef: { name: `tt-teamtalk-${component}-secret` } });
    if (name === 'scaled') {
      for (const component of ['msg-server', 'push-server']) expect(find(rendered[name], 'Secret', `tt-teamtalk-${component}-secret`).stringData!.TT_CONTENT_KEY).toBe('0123456789abcdef0123456789abcdef');
    }
    // login_server checks passwords with db_proxy.
    expect(find(rendered[name], 'ConfigMap', 'tt-teamtalk-login-server-config').data).toMatchObject({ DB_PROXY_ADDR: expect.stringMatching(/^dns:\/\/\/tt-teamtalk-db-proxy-headless\./), AUTH_JWT_TTL_S: '86400' });
    expect(envOf(container(w.get('login-server')!)).DB_PROXY_ADDR).toBeUndefined(); // from the ConfigMap, not overridden
  });

  test('probes stay on the admin port, not on the WebSocket port', () => {
    const c = container(msgServer(rendered[name]));
    for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) expect(probe.httpGet.port).toBe('admin');
  });
});

describe('the WebSocket front is exposed and advertised like the TeamTalk port in every exposure mode', () => {
  const EXPOSURES: Record<string, string[]> = {
    'loadBalancer, LoadBalancer Service': [],
    'loadBalancer, other Service ports and host': ['msgServer.exposure.loadBalancer.port=443', 'msgServer.exposure.loadBalancer.wsPort=8443', 'msgServer.exposure.loadBalancer.advertiseHost=msg.example.com'],
    'loadBalancer, ClusterIP Service': ['msgServer.exposure.loadBalancer.serviceType=ClusterIP'],
    'loadBalancer, NodePort Service with pinned node ports': ['msgServer.exposure.loadBalancer.serviceType=NodePort', 'msgServer.exposure.loadBalancer.nodePort=30000', 'msgServer.exposure.loadBalancer.wsNodePort=30001', 'msgServer.exposure.loadBalancer.tcp12NodePort=30002', 'msgServer.exposure.loadBalancer.omtpNodePort=30003', 'msgServer.exposure.loadBalancer.advertiseHost=203.0.113.7'],
    'perPod, LoadBalancer Services': ['msgServer.exposure.mode=perPod', 'msgServer.exposure.perPod.advertiseHostTemplate=msg-{ordinal}.chat.example.com', 'msgServer.autoscaling.maxReplicas=3', 'msgServer.exposure.perPod.idleLoadBalancers=true'],
    'perPod, NodePort Services': ['msgServer.exposure.mode=perPod', 'msgServer.exposure.perPod.advertiseHostTemplate=msg-{ordinal}.chat.example.com', 'msgServer.exposure.perPod.serviceType=NodePort', 'msgServer.exposure.perPod.wsNodePortBase=31000', 'msgServer.autoscaling.maxReplicas=3'],
    'perPod, NodePort Services, other container ports': ['msgServer.exposure.mode=perPod', 'msgServer.exposure.perPod.advertiseHostTemplate=nodes.chat.example.com', 'msgServer.exposure.perPod.serviceType=NodePort', 'msgServer.port=7000', 'msgServer.ws.port=7001', 'msgServer.autoscaling.maxReplicas=3'],
    'perPod, host ports': ['msgServer.exposure.mode=perPod', 'msgServer.exposure.perPod.type=hostPort', 'msgServer.exposure.perPod.hostPort=9000', 'msgServer.exposure.perPod.wsHostPort=9443', 'msgServer.exposure.perPod.advertiseHostTemplate='],
  };

  test.each(Object.entries(EXPOSURES))('%s', (_name, set) => {
    const objs = helmTemplate([], { set });
    expect(schemaErrors(objs)).toEqual([]);
    for (const i of [0, 1, 2]) {
      const a = advertised(objs, i);
      expect({ pod: i, client: a.client, ws: a.ws, tcp12: a.tcp12, omtp: a.omtp }).toEqual({ pod: i, client: exposedPort(objs, i, 'client'), ws: exposedPort(objs, i, 'ws'), tcp12: exposedPort(objs, i, 'tcp12'), omtp: exposedPort(objs, i, 'omtp') });
      expect(new Set([a.client, a.ws, a.tcp12, a.omtp]).size).toBe(4);
    }
    expect(envOf(container(msgServer(objs))).MSG_SERVER_WS_PATH).toBe('/ws');
  });

  test('the advertised ports per mode, spelled out', () => {
    const ports = (set: string[]) => [0, 2].map((i) => advertised(helmTemplate([], { set }), i));
    expect(ports(EXPOSURES['loadBalancer, other Service ports and host'])).toEqual([0, 2].map(() => ({ host: 'msg.example.com', client: 443, ws: 8443, tcp12: 8082, omtp: 8085 })));
    expect(ports(EXPOSURES['loadBalancer, NodePort Service with pinned node ports'])).toEqual([0, 2].map(() => ({ host: '203.0.113.7', client: 30000, ws: 30001, tcp12: 30002, omtp: 30003 })));
    expect(ports(EXPOSURES['perPod, NodePort Services'])).toEqual([0, 2].map((i) => ({ host: `msg-${i}.chat.example.com`, client: 30800 + i, ws: 31000 + i, tcp12: 31100 + i, omtp: 31200 + i })));
    expect(ports(EXPOSURES['perPod, host ports'])).toEqual([0, 2].map(() => ({ host: '<status.hostIP>', client: 9000, ws: 9443, tcp12: 8082, omtp: 8085 })));
  });

  test('path and limits come from msgServer.ws; ws.enabled=false turns the front and its ports off', () => {
    const on = envOf(container(msgServer(helmTemplate([], { set: ['msgServer.ws.path=/chat-ws', 'msgServer.ws.maxFrameBytes=65536', 'msgServer.ws.idleTimeoutSeconds=60'] }))));
    expect(on).toMatchObject({ MSG_SERVER_WS_PATH: '/chat-ws', MSG_SERVER_WS_MAX_FRAME_BYTES: '65536', MSG_SERVER_WS_IDLE_TIMEOUT_MS: '60000' });
    expect(envOf(container(msgServer(rendered.default))).MSG_SERVER_WS_MAX_FRAME_BYTES).toBeUndefined(); // the server's default
    for (const set of [[], ['msgServer.exposure.mode=perPod', 'msgServer.exposure.perPod.advertiseHostTemplate=msg-{ordinal}.chat.example.com', 'msgServer.autoscaling.enabled=false'], ['msgServer.exposure.mode=perPod', 'msgServer.exposure.perPod.type=hostPort']]) {
      const objs = helmTemplate([], { set: ['msgServer.ws.enabled=false', ...set] });
      const c = container(msgServer(objs));
      expect(envOf(c).MSG_SERVER_WS_PORT).toBe('0');
      expect(Object.keys(envOf(c)).filter((k) => k.startsWith('MSG_SERVER_WS_') && k !== 'MSG_SERVER_WS_PORT')).toEqual([]);
      expect(c.ports.map((p: { name: string }) => p.name)).not.toContain('ws');
      const msgServices = byKind(objs, 'Service').filter((s) => s.metadata.name.startsWith('tt-teamtalk-msg-server'));
      expect(msgServices.length).toBeGreaterThan(0);
      for (const s of msgServices) expect(s.spec.ports.map((p: { name: string }) => p.name)).not.toContain('ws');
    }
  });
});

describe('AUTH_JWT_SECRET and TT_CONTENT_KEY values', () => {
  const secretData = (set: string[]) => {
    const objs = helmTemplate([], { set });
    return { ...find(objs, 'Secret', 'tt-teamtalk-login-server-secret').stringData!, ...find(objs, 'Secret', 'tt-teamtalk-msg-server-secret').stringData! };
  };

  test('auth.jwtSecret is used as given; otherwise each cluster-less render generates one (lookup keeps it on a real upgrade)', () => {
    expect(secretData(['auth.jwtSecret=0123456789abcdef0123456789abcdef-given']).AUTH_JWT_SECRET).toBe('0123456789abcdef0123456789abcdef-given');
    const a = secretData([]).AUTH_JWT_SECRET;
    const b = secretData([]).AUTH_JWT_SECRET;
    expect(a).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(a).not.toBe(b);
    // Not generated on request: empty (login_server answers 503, WebSocket logins fail), and NOTES says so.
    expect(secretData(['auth.generateJwtSecret=false']).AUTH_JWT_SECRET).toBe('');
    const r = run('helm', ['install', 'tt', CHART_DIR, '--dry-run=client', '--namespace', 'chat', '--set', 'auth.generateJwtSecret=false']);
    expect(r.stdout).toMatch(/WARNING: AUTH_JWT_SECRET is empty/);
    expect(find(helmTemplate([], { set: ['auth.jwtTtlSeconds=3600'] }), 'ConfigMap', 'tt-teamtalk-login-server-config').data!.AUTH_JWT_TTL_S).toBe('3600');
  });

  test('the template looks the existing Secret up before generating one', () => {
    // helm template has no cluster to look in; the lookup itself is part of the helper.
    const helpers = fs.readFileSync(`${CHART_DIR}/templates/_helpers.tpl`, 'utf8');
    // login_server's Secret, then the single Secret of chart versions before per-role Secrets.
    expect(helpers).toMatch(/range list \(include "teamtalk\.secretName" \(dict "root" \. "component" "login-server"\)\) \(printf "%s-secret" \(include "teamtalk\.fullname" \.\)\)/);
    expect(helpers).toMatch(/lookup "v1" "Secret" \$\.Release\.Namespace \./);
    expect(helpers.indexOf('lookup "v1" "Secret"')).toBeLessThan(helpers.indexOf('randAlphaNum'));
  });

  test('with secret.existingSecret the chart makes no Secret and every role reads that one', () => {
    const objs = helmTemplate([], { set: ['secret.existingSecret=my-secret'] });
    expect(byKind(objs, 'Secret')).toEqual([]);
    const w = workloads(objs);
    for (const component of ['login-server', 'msg-server']) expect(envOf(container(w.get(component)!)).AUTH_JWT_SECRET).toEqual(secretRef('my-secret', 'AUTH_JWT_SECRET'));
    for (const component of ['msg-server', 'push-server']) expect(envOf(container(w.get(component)!)).TT_CONTENT_KEY).toEqual(secretRef('my-secret', 'TT_CONTENT_KEY'));
  });

  test('contentKey becomes TT_CONTENT_KEY; pushServer.contentKey is its deprecated alias; unset, no key', () => {
    const key = '0123456789abcdef0123456789abcdef';
    const other = 'fedcba9876543210fedcba9876543210';
    expect(secretData([`contentKey=${key}`]).TT_CONTENT_KEY).toBe(key);
    expect(secretData([`pushServer.contentKey=${key}`]).TT_CONTENT_KEY).toBe(key);
    expect(secretData([`contentKey=${key}`, `pushServer.contentKey=${other}`]).TT_CONTENT_KEY).toBe(key);
    expect(secretData([])).not.toHaveProperty('TT_CONTENT_KEY');
    expect(secretData([`contentKey=${key}`])).not.toHaveProperty('PUSH_CONTENT_KEY');
  });
});

describe('the tcp12 front (seed 001)', () => {
  test('limits and the AES key come from msgServer.tcp12 (the key in msg_server\'s Secret only); enabled=false turns it and its ports off', () => {
    const key = 'ab'.repeat(32);
    const objs = helmTemplate([], { set: ['msgServer.tcp12.maxFrameBytes=65536', 'msgServer.tcp12.idleTimeoutSeconds=60', `msgServer.tcp12.aesKey=${key}`] });
    expect(envOf(container(msgServer(objs)))).toMatchObject({ MSG_SERVER_TCP12_PORT: '8082', MSG_SERVER_TCP12_ADVERTISE_PORT: '8082', MSG_SERVER_TCP12_MAX_FRAME_BYTES: '65536', MSG_SERVER_TCP12_IDLE_TIMEOUT_MS: '60000' });
    expect(find(objs, 'Secret', 'tt-teamtalk-msg-server-secret').stringData!.MSG_SERVER_TCP12_AES_KEY).toBe(key);
    expect(find(objs, 'Secret', 'tt-teamtalk-login-server-secret').stringData!.MSG_SERVER_TCP12_AES_KEY).toBeUndefined();
    expect(find(rendered.default, 'Secret', 'tt-teamtalk-msg-server-secret').stringData!.MSG_SERVER_TCP12_AES_KEY).toBeUndefined(); // empty: AES off
    const off = helmTemplate([], { set: ['msgServer.tcp12.enabled=false'] });
    expect(envOf(container(msgServer(off))).MSG_SERVER_TCP12_PORT).toBe('0');
    expect(JSON.stringify(off.filter((o) => o.kind === 'Service' || o.kind === 'Deployment'))).not.toContain('tcp12');
  });

  test.each([
    [['msgServer.tcp12.port=8081'], /tcp12.port must differ/],
    [['msgServer.tcp12.aesKey=not-a-key'], /aesKey/],
    [['msgServer.exposure.loadBalancer.tcp12Port=8000'], /tcp12Port must differ/],
    [['msgServer.exposure.loadBalancer.serviceType=NodePort', 'msgServer.exposure.loadBalancer.nodePort=30000', 'msgServer.exposure.loadBalancer.wsNodePort=30001', 'msgServer.exposure.loadBalancer.omtpNodePort=30003'], /needs loadBalancer.tcp12NodePort/],
    [['msgServer.exposure.mode=perPod', 'msgServer.exposure.perPod.advertiseHostTemplate=m-{ordinal}.example.com', 'msgServer.exposure.perPod.serviceType=NodePort', 'msgServer.exposure.perPod.tcp12NodePortBase=30905'], /tcp12NodePortBase \(30905-30914\) overlap those of wsNodePortBase/],
    [['msgServer.exposure.mode=perPod', 'msgServer.exposure.perPod.type=hostPort', 'msgServer.exposure.perPod.tcp12HostPort=8081'], /tcp12HostPort must differ/],
  ])('%j is refused', (set, message) => {
    expect(() => helmTemplate([], { set })).toThrow(message);
  });
});

describe('the OMTP front (seed 004)', () => {
  test('limits, hot sessions and the AES key come from msgServer.omtp (the key in msg_server\'s Secret only); enabled=false turns it and its ports off', () => {
    expect(envOf(container(msgServer(rendered.default)))).toMatchObject({ MSG_SERVER_OMTP_PORT: '8085', MSG_SERVER_OMTP_ADVERTISE_PORT: '8085', MSG_SERVER_OMTP_HOT_SESSIONS: '200', MSG_SERVER_OMTP_HOT_SESSION_MESSAGES: '3' });
    expect(envOf(container(msgServer(rendered.default))).MSG_SERVER_OMTP_MAX_FRAME_BYTES).toBeUndefined(); // the server's default
    const key = 'cd'.repeat(32);
    const objs = helmTemplate([], { set: ['msgServer.omtp.maxFrameBytes=65536', 'msgServer.omtp.idleTimeoutSeconds=60', 'msgServer.omtp.hotSessions=50', 'msgServer.omtp.hotSessionMessages=0', `msgServer.omtp.aesKey=${key}`] });
    expect(envOf(container(msgServer(objs)))).toMatchObject({ MSG_SERVER_OMTP_MAX_FRAME_BYTES: '65536', MSG_SERVER_OMTP_IDLE_TIMEOUT_MS: '60000', MSG_SERVER_OMTP_HOT_SESSIONS: '50', MSG_SERVER_OMTP_HOT_SESSION_MESSAGES: '0' });
    expect(envOf(container(msgServer(objs))).MSG_SERVER_OMTP_AES_KEY).toBeUndefined(); // from the Secret, not the pod spec
    expect(find(objs, 'Secret', 'tt-teamtalk-msg-server-secret').stringData!.MSG_SERVER_OMTP_AES_KEY).toBe(key);
    expect(find(objs, 'Secret', 'tt-teamtalk-login-server-secret').stringData!.MSG_SERVER_OMTP_AES_KEY).toBeUndefined();
    expect(find(rendered.default, 'Secret', 'tt-teamtalk-msg-server-secret').stringData!.MSG_SERVER_OMTP_AES_KEY).toBeUndefined(); // empty: AES off
    // With an existing Secret, msg_server reads the key from it (optional: absent = AES off).
    expect(envOf(container(msgServer(helmTemplate([], { set: ['secret.existingSecret=my-secret'] })))).MSG_SERVER_OMTP_AES_KEY).toEqual(secretRef('my-secret', 'MSG_SERVER_OMTP_AES_KEY'));
    for (const set of [[], ['msgServer.exposure.mode=perPod', 'msgServer.exposure.perPod.advertiseHostTemplate=msg-{ordinal}.chat.example.com', 'msgServer.autoscaling.enabled=false'], ['msgServer.exposure.mode=perPod', 'msgServer.exposure.perPod.type=hostPort']]) {
      const off = helmTemplate([], { set: ['msgServer.omtp.enabled=false', ...set] });
      const c = container(msgServer(off));
      expect(envOf(c).MSG_SERVER_OMTP_PORT).toBe('0');
      expect(Object.keys(envOf(c)).filter((k) => k.startsWith('MSG_SERVER_OMTP_') && k !== 'MSG_SERVER_OMTP_PORT')).toEqual([]);
      expect(JSON.stringify(off.filter((o) => o.kind === 'Service' || o.kind === 'Deployment' || o.kind === 'StatefulSet'))).not.toContain('omtp');
    }
    // Off, a NodePort Service needs no OMTP node port.
    expect(() => helmTemplate([], { set: ['msgServer.omtp.enabled=false', 'msgServer.exposure.loadBalancer.serviceType=NodePort', 'msgServer.exposure.loadBalancer.nodePort=30000', 'msgServer.exposure.loadBalancer.wsNodePort=30001', 'msgServer.exposure.loadBalancer.tcp12NodePort=30002'] })).not.toThrow();
  });

  test.each([
    [['msgServer.omtp.port=8082'], /omtp.port must differ/],
    [['msgServer.omtp.port=9102'], /omtp.port must differ/],
    [['msgServer.omtp.aesKey=not-a-key'], /aesKey/],
    [['msgServer.omtp.hotSessions=0'], /hotSessions/],
    [['msgServer.omtp.hotSessionMessages=51'], /hotSessionMessages/],
    [['msgServer.exposure.loadBalancer.omtpPort=8082'], /omtpPort must differ/],
    [['msgServer.exposure.loadBalancer.serviceType=NodePort', 'msgServer.exposure.loadBalancer.nodePort=30000', 'msgServer.exposure.loadBalancer.wsNodePort=30001', 'msgServer.exposure.loadBalancer.tcp12NodePort=30002'], /needs loadBalancer.omtpNodePort/],
    [['msgServer.exposure.loadBalancer.serviceType=NodePort', 'msgServer.exposure.loadBalancer.nodePort=30000', 'msgServer.exposure.loadBalancer.wsNodePort=30001', 'msgServer.exposure.loadBalancer.tcp12NodePort=30002', 'msgServer.exposure.loadBalancer.omtpNodePort=30002'], /omtpNodePort must differ/],
    [['msgServer.exposure.mode=perPod', 'msgServer.exposure.perPod.advertiseHostTemplate=m-{ordinal}.example.com', 'msgServer.exposure.perPod.serviceType=NodePort', 'msgServer.exposure.perPod.omtpNodePortBase=31105'], /omtpNodePortBase \(31105-31114\) overlap those of tcp12NodePortBase/],
    [['msgServer.exposure.mode=perPod', 'msgServer.exposure.perPod.type=hostPort', 'msgServer.exposure.perPod.omtpHostPort=8082'], /omtpHostPort must differ/],
  ])('%j is refused', (set, message) => {
    expect(() => helmTemplate([], { set })).toThrow(message);
  });
});

describe('the MSync front (seed 002)', () => {
  test('is switched off in the chart (not exposed yet): login_server never hands out an address clients cannot reach', () => {
    expect(envOf(container(msgServer(rendered.default)))).toMatchObject({ MSG_SERVER_MSYNC_WS_PORT: '0', MSG_SERVER_MSYNC_TCP_PORT: '0' });
  });
});

describe('connection limits (back-pressure, CONN_*)', () => {
  const fileServer = (objs: K8sObject[]) => objs.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'tt-teamtalk-file-server')!;

  test('msgServer.connectionLimits and fileServer.connectionLimits become CONN_* of that role only; 0 leaves the server default', () => {
    const objs = helmTemplate([], { set: ['msgServer.connectionLimits.maxOutputBytes=2097152', 'msgServer.connectionLimits.slowReaderSeconds=30', 'fileServer.connectionLimits.maxInputBytes=131072'] });
    const ms = envOf(container(msgServer(objs)));
    expect(ms).toMatchObject({ CONN_MAX_OUTPUT_BYTES: '2097152', CONN_SLOW_READER_MS: '30000' });
    expect(ms.CONN_MAX_INPUT_BYTES).toBeUndefined();
    const fs = envOf(container(fileServer(objs)));
    expect(fs).toMatchObject({ CONN_MAX_INPUT_BYTES: '131072' });
    expect(fs.CONN_MAX_OUTPUT_BYTES).toBeUndefined();
    expect(JSON.stringify(rendered.default)).not.toContain('CONN_');
  });

  test.each([['msgServer.connectionLimits.maxOutputBytes=1000'], ['fileServer.connectionLimits.maxInputBytes=-1'], ['msgServer.connectionLimits.slowReaderSeconds=-5']])('%s is refused', (set) => {
    expect(() => helmTemplate([], { set: [set] })).toThrow(/connectionLimits/);
  });
});
