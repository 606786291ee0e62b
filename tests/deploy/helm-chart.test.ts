// The Helm chart (deploy/helm/teamtalk): lint, render with default and
// non-default values, validate every object against the Kubernetes 1.33
// OpenAPI schemas, and check what matters for running the cluster.
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

  test('reads its configuration from the ConfigMap and the Secret', () => {
    const cm = byKind(rendered[name], 'ConfigMap')[0];
    const secret = rendered[name].find((o) => o.kind === 'Secret' && o.stringData?.MYSQL_PASSWORD !== undefined)!;
    expect(Object.keys(cm.data!)).toEqual(expect.arrayContaining(['MYSQL_HOST', 'MYSQL_PORT', 'MYSQL_USER', 'MYSQL_DATABASE', 'DB_PROXY_ADDR', 'LOG_LEVEL', 'TT_SUBJECT_PREFIX']));
    expect(Object.keys(secret.stringData!)).toEqual(expect.arrayContaining(['MYSQL_PASSWORD', 'REDIS_URL', 'NATS_URL']));
    for (const [, w] of roleWorkloads(rendered[name])) {
      expect(container(w).envFrom).toEqual([{ configMapRef: { name: cm.metadata.name } }, { secretRef: { name: secret.metadata.name } }]);
    }
    // msg_server reaches every db_proxy pod through the headless Service.
    const dbSvc = rendered[name].find((o) => o.kind === 'Service' && o.metadata.name.endsWith('db-proxy-headless'))!;
    expect(dbSvc.spec.clusterIP).toBe('None');
    expect(cm.data!.DB_PROXY_ADDR).toBe(`dns:///${dbSvc.metadata.name}.chat.svc.cluster.local:10600`);
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

  test('file_server: a StatefulSet with a volume per pod, a Service per pod, its own address advertised; login_server hands out its image store', () => {
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
    expect(envOf(container(login)).LOGIN_MSFS_URL).toBe('http://tt-teamtalk-file-server-0.chat.svc.cluster.local:8700');
  });

  test('msg_server: a Deployment behind one TCP LoadBalancer, autoscaled on CPU by an HPA', () => {
    const ms = find(objs(), 'Deployment', 'tt-teamtalk-msg-server');
    expect(ms.spec.replicas).toBeUndefined(); // the HPA owns the count
    const svc = find(objs(), 'Service', 'tt-teamtalk-msg-server');
    expect(svc.spec.type).toBe('LoadBalancer');
    expect(svc.spec.ports).toEqual([{ name: 'client', port: 8000, targetPort: 'client', protocol: 'TCP' }]);
    expect(container(ms).ports).toContainEqual({ name: 'client', containerPort: 8000, protocol: 'TCP' });
    expect(envOf(container(ms)).MSG_SERVER_ADVERTISE_IP).toBe('tt-teamtalk-msg-server.chat.svc.cluster.local');
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
    expect(objs().filter((o) => o.metadata.name === 'tt-teamtalk-push-keys')).toEqual([]);
    expect(find(objs(), 'PodDisruptionBudget', 'tt-teamtalk-push-server').spec.maxUnavailable).toBe(1);
    // With an existing Secret: each provider's file is used when that provider is asked for.
    const r = helmTemplate([], { set: ['pushServer.existingKeysSecret=my-push-keys', 'pushServer.apns.keyId=ABCDE12345', 'pushServer.fcm.inExistingKeysSecret=true'] });
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
    expect(find(objs(), 'Secret', 'tt-teamtalk-secret').stringData!.PUSH_CONTENT_KEY).toHaveLength(32);
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
    const env = envOf(container(ms));
    expect(env.MSG_SERVER_ADVERTISE_IP).toEqual({ fieldRef: { fieldPath: 'status.hostIP' } });
    expect(env.MSG_SERVER_ADVERTISE_PORT).toBe('8000');
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
    expect(byKind(objs(), 'ConfigMap')[0].data!.MYSQL_HOST).toBe('tt-teamtalk-mysql');
    expect(find(objs(), 'Secret', 'tt-teamtalk-secret').stringData).toMatchObject({ REDIS_URL: 'redis://tt-teamtalk-redis:6379', NATS_URL: 'nats://tt-teamtalk-nats:4222' });
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
    expect(resolveLaunch(['msg_server'], env, 'tt-teamtalk-msg-server-2').envChanges).toEqual({ MSG_SERVER_ADVERTISE_PORT: '30802' });
  });

  test.each([
    [['msgServer.exposure.mode=anycast'], /mode/],
    [['msgServer.drainTimeoutSeconds=90'], /drainTimeoutSeconds/],
    [['msgServer.replicaCount=-1'], /replicaCount/],
    [['logLevel=verbose'], /logLevel/],
    [['redis.url=http://x'], /redis/],
    [['msgServer.exposure.mode=perPod', 'msgServer.exposure.perPod.advertiseHostTemplate='], /advertiseHostTemplate is required/],
    [['msgServr.port=1'], /msgServr/],
  ])('%j is refused', (set, message) => {
    const r = run('helm', ['template', 'tt', CHART_DIR, ...set.flatMap((s) => ['--set', s])]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });
});

test.each(Object.entries(VARIANTS))('NOTES.txt renders (%s values) and says how clients reach msg_server', (_name, files) => {
  const r = run('helm', ['install', 'tt', CHART_DIR, '--dry-run=client', '--namespace', 'chat', ...files.flatMap((f) => ['--values', `${CHART_DIR}/${f}`])]);
  expect(r.stderr).toBe('');
  const notes = r.stdout.slice(r.stdout.indexOf('NOTES:'));
  expect(notes).toMatch(/msg_server \((loadBalancer|perPod) exposure/);
  expect(notes).toMatch(/drains its clients for up to \d+ s/);
});
