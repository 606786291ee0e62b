// The chart as an operator renders it before a production rollout (issue 18):
// file_server reachable from outside in every exposure mode, the right ports
// advertised in every msg_server mode, NetworkPolicies, one Secret and one
// ConfigMap per role with checksums per role, the drain arithmetic, and the
// smaller guards (placeholders, half APNs configurations, cluster domain,
// file_server quota, JetStream replicas, preStop hooks). Every case renders
// with `helm template` and asserts the rendered objects.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { byKind, envOf, find, helmTemplate, run, schemaErrors, unknownFieldErrors, workloads, CHART_DIR, type K8sObject } from './support/k8s';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { resolveLaunch } = require('../../deploy/entrypoint.js') as {
  resolveLaunch(argv: string[], env: NodeJS.ProcessEnv, hostname?: string): { envChanges: Record<string, string> };
};

jest.setTimeout(60_000);

const container = (w: K8sObject) => w.spec.template.spec.containers[0];
/** --set values turning off every msg_server front but TeamTalk's own (whichever fronts values.yaml has: msgServer.<front>.enabled). */
const onlyTeamTalkFront = (() => {
  const ms = (YAML.parse(fs.readFileSync(path.join(CHART_DIR, 'values.yaml'), 'utf8')) as { msgServer: Record<string, unknown> }).msgServer;
  return Object.entries(ms)
    .filter(([, v]) => v && typeof v === 'object' && 'enabled' in (v as object))
    .map(([front]) => `msgServer.${front}.enabled=false`);
})();
const refused = (set: string[]) => {
  const r = run('helm', ['template', 'tt', CHART_DIR, ...set.flatMap((s) => ['--set', s])]);
  return { status: r.status, stderr: r.stderr };
};

// ---- file_server --------------------------------------------------------------------------

/** What file_server pod `i` tells clients once the image's entry point expanded its environment (HOST_IP stands for the node). */
function fileAdvertised(objs: K8sObject[], i: number) {
  const env = envOf(container(find(objs, 'StatefulSet', 'tt-teamtalk-file-server')));
  const plain = Object.fromEntries(Object.entries(env).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  const e = { ...plain, ...resolveLaunch(['file_server'], { ...plain, POD_IP: '10.0.0.9', HOST_IP: '192.0.2.50' }, `tt-teamtalk-file-server-${i}`).envChanges };
  return { host: e.FILE_SERVER_ADVERTISE_IP, file: Number(e.FILE_SERVER_ADVERTISE_PORT), http: e.FILE_SERVER_HTTP_PUBLIC_URL };
}

/** Where the chart exposes pod i's file and image store ports: its own Service (node port when NodePort) or its node's host ports. */
function fileExposed(objs: K8sObject[], i: number) {
  const c = container(find(objs, 'StatefulSet', 'tt-teamtalk-file-server'));
  const svc = objs.find((o) => o.kind === 'Service' && o.metadata.name === `tt-teamtalk-file-server-${i}`);
  const port = (name: string) => {
    if (!svc) return c.ports.find((p: { name: string }) => p.name === name).hostPort;
    const p = svc.spec.ports.find((x: { targetPort: string }) => x.targetPort === name);
    return svc.spec.type === 'NodePort' ? p.nodePort : p.port;
  };
  return { type: svc?.spec.type ?? 'hostPort', policy: svc?.spec.externalTrafficPolicy, file: port('file'), http: port('http') };
}

const FILE_EXPOSURES: Record<string, { set: string[]; pod: (i: number) => { host: string; file: number; http: string }; type: string; policy?: string; msfs: string }> = {
  'ClusterIP (default: in-cluster clients only)': {
    set: [],
    pod: (i) => ({ host: `tt-teamtalk-file-server-${i}.chat.svc.cluster.local`, file: 8600, http: `http://tt-teamtalk-file-server-${i}.chat.svc.cluster.local:8700` }),
    type: 'ClusterIP',
    msfs: 'http://tt-teamtalk-file-server.chat.svc.cluster.local:8700',
  },
  'LoadBalancer Services': {
    set: ['fileServer.exposure.serviceType=LoadBalancer', 'fileServer.exposure.advertiseHostTemplate=files-{ordinal}.chat.example.com'],
    pod: (i) => ({ host: `files-${i}.chat.example.com`, file: 8600, http: `http://files-${i}.chat.example.com:8700` }),
    type: 'LoadBalancer',
    policy: 'Local',
    msfs: 'http://files-0.chat.example.com:8700',
  },
  'LoadBalancer Services, HTTPS image store': {
    set: ['fileServer.exposure.serviceType=LoadBalancer', 'fileServer.exposure.advertiseHostTemplate=files-{ordinal}.chat.example.com', 'fileServer.exposure.httpPublicUrlTemplate=https://img-{ordinal}.chat.example.com'],
    pod: (i) => ({ host: `files-${i}.chat.example.com`, file: 8600, http: `https://img-${i}.chat.example.com` }),
    type: 'LoadBalancer',
    policy: 'Local',
    msfs: 'https://img-0.chat.example.com',
  },
  'NodePort Services': {
    set: ['fileServer.exposure.serviceType=NodePort', 'fileServer.exposure.advertiseHostTemplate=nodes.chat.example.com'],
    pod: (i) => ({ host: 'nodes.chat.example.com', file: 31600 + i, http: `http://nodes.chat.example.com:${31700 + i}` }),
    type: 'NodePort',
    policy: 'Cluster',
    msfs: 'http://nodes.chat.example.com:31700',
  },
  'host ports (node IP advertised)': {
    set: ['fileServer.exposure.type=hostPort', 'fileServer.exposure.hostPort=9600', 'fileServer.exposure.httpHostPort=9700', 'loginServer.msfsUrl=http://files.chat.example.com:9700'],
    pod: () => ({ host: '192.0.2.50', file: 9600, http: 'http://192.0.2.50:9700' }),
    type: 'hostPort',
    msfs: 'http://files.chat.example.com:9700',
  },
  'host ports with a name per pod': {
    set: ['fileServer.exposure.type=hostPort', 'fileServer.exposure.advertiseHostTemplate=files-{ordinal}.chat.example.com'],
    pod: (i) => ({ host: `files-${i}.chat.example.com`, file: 8600, http: `http://files-${i}.chat.example.com:8700` }),
    type: 'hostPort',
    msfs: 'http://files-0.chat.example.com:8700',
  },
};

describe('file_server: every exposure mode advertises what the chart exposes', () => {
  test.each(Object.entries(FILE_EXPOSURES))('%s', (_name, x) => {
    const objs = helmTemplate([], { set: ['fileServer.replicaCount=3', ...x.set] });
    expect(schemaErrors(objs)).toEqual([]);
    for (const i of [0, 1, 2]) {
      const a = fileAdvertised(objs, i);
      expect({ pod: i, ...a }).toEqual({ pod: i, ...x.pod(i) });
      const e = fileExposed(objs, i);
      expect({ pod: i, type: e.type, policy: e.policy, file: e.file, http: e.http }).toEqual({ pod: i, type: x.type, policy: x.policy, file: a.file, http: Number(new URL(a.http).port || (a.http.startsWith('https:') ? e.http : 80)) });
    }
    if (x.type === 'hostPort') {
      expect(objs.filter((o) => o.kind === 'Service' && /file-server-\d+$/.test(o.metadata.name))).toEqual([]);
      expect(envOf(container(find(objs, 'StatefulSet', 'tt-teamtalk-file-server'))).HOST_IP).toEqual({ fieldRef: { fieldPath: 'status.hostIP' } });
    }
    // login_server hands out the image store URL that follows the same exposure.
    expect(envOf(container(find(objs, 'Deployment', 'tt-teamtalk-login-server'))).LOGIN_MSFS_URL).toBe(x.msfs);
  });

  test.each([
    [['fileServer.exposure.serviceType=LoadBalancer'], /advertiseHostTemplate is required with serviceType=LoadBalancer/],
    [['fileServer.exposure.serviceType=NodePort'], /advertiseHostTemplate is required with serviceType=NodePort/],
    [['fileServer.exposure.type=hostPort'], /login_server cannot know the node of file_server pod 0/],
    [['fileServer.exposure.serviceType=NodePort', 'fileServer.exposure.advertiseHostTemplate=n.chat.example.com', 'fileServer.replicaCount=3', 'fileServer.exposure.httpNodePortBase=31602'], /node ports from 31600 \(nodePortBase\) and from 31602 \(httpNodePortBase\) overlap/],
    [['fileServer.exposure.serviceType=LoadBalancer', 'fileServer.exposure.advertiseHostTemplate=files-{ordinal}.teamtalk.example'], /advertiseHostTemplate/],
  ])('%j is refused: no in-cluster name or placeholder is handed to outside clients', (set, message) => {
    const r = refused(set);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  test('NOTES warns when file_server is reachable in the cluster only, and says where pods are otherwise', () => {
    const notes = (set: string[]) => run('helm', ['install', 'tt', CHART_DIR, '--dry-run=client', '--namespace', 'chat', ...set.flatMap((s) => ['--set', s])]).stdout.split('NOTES:')[1];
    expect(notes([])).toMatch(/WARNING: fileServer\.exposure\.serviceType is ClusterIP/);
    const lb = notes(['fileServer.exposure.serviceType=LoadBalancer', 'fileServer.exposure.advertiseHostTemplate=files-{ordinal}.chat.example.com']);
    expect(lb).not.toMatch(/WARNING: fileServer/);
    expect(lb).toMatch(/one LoadBalancer Service per pod, tt-teamtalk-file-server-N:\n\s+pods advertise files-\{ordinal\}\.chat\.example\.com/);
  });

  test('the quota is derived from the volume with headroom; quotaBytes overrides it', () => {
    const quota = (set: string[]) => Number(envOf(container(find(helmTemplate([], { set }), 'StatefulSet', 'tt-teamtalk-file-server'))).FILE_SERVER_QUOTA_BYTES);
    expect(quota([])).toBe(Math.floor(10 * 2 ** 30 * 0.8)); // 10Gi claim, 80 %
    expect(quota(['fileServer.persistence.size=50Gi', 'fileServer.quotaPercent=90'])).toBe(Math.floor(50 * 2 ** 30 * 0.9));
    expect(quota(['fileServer.persistence.size=500G'])).toBe(400e9);
    expect(quota(['fileServer.quotaBytes=1000000'])).toBe(1000000);
    // Without persistence the emptyDir gets the same size as its limit.
    const fs = find(helmTemplate([], { set: ['fileServer.persistence.enabled=false', 'fileServer.persistence.size=2Gi'] }), 'StatefulSet', 'tt-teamtalk-file-server');
    expect(fs.spec.template.spec.volumes).toContainEqual({ name: 'data', emptyDir: { sizeLimit: '2Gi' } });
    expect(Number(envOf(container(fs)).FILE_SERVER_QUOTA_BYTES)).toBe(Math.floor(2 * 2 ** 30 * 0.8));
    expect(refused(['fileServer.persistence.size=1.5Gi']).status).not.toBe(0);
  });
});

// ---- msg_server exposure ------------------------------------------------------------------

describe('msg_server: NodePort and per-pod traffic policy', () => {
  test('loadBalancer mode with a NodePort Service and no pinned node port is refused (clients would be told the Service port)', () => {
    for (const set of [
      ['msgServer.exposure.loadBalancer.serviceType=NodePort'],
      ['msgServer.exposure.loadBalancer.serviceType=NodePort', 'msgServer.exposure.loadBalancer.nodePort=30000'],
    ]) {
      const r = refused(set);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/serviceType=NodePort needs loadBalancer\.\w*[nN]odePort/);
    }
    // With the TeamTalk front alone only its node port is needed, and it is what pods advertise.
    expect(onlyTeamTalkFront).toContain('msgServer.ws.enabled=false');
    const objs = helmTemplate([], { set: ['msgServer.exposure.loadBalancer.serviceType=NodePort', 'msgServer.exposure.loadBalancer.nodePort=30000', ...onlyTeamTalkFront, 'msgServer.exposure.loadBalancer.advertiseHost=203.0.113.7'] });
    expect(find(objs, 'Service', 'tt-teamtalk-msg-server').spec.ports[0]).toMatchObject({ port: 8000, nodePort: 30000 });
    expect(envOf(container(find(objs, 'Deployment', 'tt-teamtalk-msg-server'))).MSG_SERVER_ADVERTISE_PORT).toBe('30000');
  });

  test('perPod NodePort Services use externalTrafficPolicy Cluster (a pod answers on every node), LoadBalancer Services Local; NodePort + Local is refused', () => {
    const policies = (set: string[]) =>
      byKind(helmTemplate([], { set: ['msgServer.exposure.mode=perPod', 'msgServer.exposure.perPod.advertiseHostTemplate=msg-{ordinal}.chat.example.com', 'msgServer.autoscaling.maxReplicas=2', ...set] }), 'Service')
        .filter((s) => /msg-server-\d+$/.test(s.metadata.name))
        .map((s) => s.spec.externalTrafficPolicy);
    expect(policies(['msgServer.exposure.perPod.serviceType=NodePort'])).toEqual(['Cluster', 'Cluster']);
    expect(policies(['msgServer.exposure.perPod.idleLoadBalancers=true'])).toEqual(['Local', 'Local']);
    expect(policies(['msgServer.exposure.perPod.idleLoadBalancers=true', 'msgServer.exposure.perPod.externalTrafficPolicy=Cluster'])).toEqual(['Cluster', 'Cluster']);
    const r = refused(['msgServer.exposure.mode=perPod', 'msgServer.exposure.perPod.advertiseHostTemplate=n.chat.example.com', 'msgServer.exposure.perPod.serviceType=NodePort', 'msgServer.exposure.perPod.externalTrafficPolicy=Local']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/externalTrafficPolicy=Local with NodePort/);
  });

  test('perPod LoadBalancer Services with autoscaling (idle cloud load balancers up to maxReplicas) are refused unless accepted', () => {
    const perPod = ['msgServer.exposure.mode=perPod', 'msgServer.exposure.perPod.advertiseHostTemplate=msg-{ordinal}.chat.example.com'];
    const r = refused(perPod);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/renders 10 load balancers \(autoscaling.maxReplicas\), 8 of them idle/);
    const count = (set: string[]) => byKind(helmTemplate([], { set: [...perPod, ...set] }), 'Service').filter((s) => /msg-server-\d+$/.test(s.metadata.name)).length;
    expect(count(['msgServer.exposure.perPod.idleLoadBalancers=true'])).toBe(10);
    expect(count(['msgServer.autoscaling.enabled=false', 'msgServer.replicaCount=4'])).toBe(4); // a Service per pod, none idle
    expect(count(['msgServer.exposure.perPod.serviceType=NodePort'])).toBe(10); // node ports cost nothing
  });

  test('no placeholder host: perPod Services need a template, hostPort advertises the node IP, .example names are refused', () => {
    expect(refused(['msgServer.exposure.mode=perPod']).stderr).toMatch(/advertiseHostTemplate is required/);
    const hostPort = helmTemplate([], { set: ['msgServer.exposure.mode=perPod', 'msgServer.exposure.perPod.type=hostPort'] });
    expect(envOf(container(find(hostPort, 'StatefulSet', 'tt-teamtalk-msg-server'))).MSG_SERVER_ADVERTISE_IP).toEqual({ fieldRef: { fieldPath: 'status.hostIP' } });
    for (const set of [
      ['msgServer.exposure.mode=perPod', 'msgServer.exposure.perPod.type=hostPort', 'msgServer.exposure.perPod.advertiseHostTemplate=msg-{ordinal}.teamtalk.example'],
      ['msgServer.exposure.loadBalancer.advertiseHost=msg.teamtalk.example'],
    ]) {
      const r = refused(set);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/advertiseHost/);
    }
  });
});

// ---- drain ------------------------------------------------------------------------------------

describe('msg_server drain and grace period', () => {
  const msg = (set: string[]) => {
    const objs = helmTemplate([], { set });
    const w = find(objs, 'Deployment', 'tt-teamtalk-msg-server');
    return { drain: Number(envOf(container(w)).MSG_SERVER_DRAIN_TIMEOUT_MS) / 1000, grace: w.spec.template.spec.terminationGracePeriodSeconds, memory: container(w).resources.limits.memory };
  };

  test('derived from maxConnections / drainRate: 100,000 at 2,000/s drain in 50 s, inside the grace period; the memory limit holds them', () => {
    expect(msg([])).toEqual({ drain: 50, grace: 5 + 50 + 10, memory: '2Gi' });
    expect(msg(['msgServer.maxConnections=20000'])).toMatchObject({ drain: 10, grace: 25 });
    expect(msg(['msgServer.maxConnections=20000', 'msgServer.drainTimeoutSeconds=30'])).toMatchObject({ drain: 30, grace: 45 });
  });

  test.each([
    [['msgServer.drainTimeoutSeconds=25'], /drainTimeoutSeconds=25 is too short: closing maxConnections=100000 at drainRate=2000\/s takes 50 s/],
    [['msgServer.maxConnections=200000'], /takes 100 s, more than the 55 s/],
  ])('%j fails the render', (set, message) => {
    const r = refused(set);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });
});

// ---- least privilege --------------------------------------------------------------------------

/** Secret keys each role reads (msg_server's fronts may add their own MSG_SERVER_* keys: see frontKeys). */
const SECRET_KEYS: Record<string, string[]> = {
  // The content key: the operator API's message search shows TeamTalk text decrypted.
  'login-server': ['AUTH_JWT_SECRET', 'NATS_URL', 'TT_CONTENT_KEY'],
  'msg-server': ['AUTH_JWT_SECRET', 'NATS_URL', 'TT_CONTENT_KEY'],
  'db-proxy': ['MYSQL_PASSWORD', 'REDIS_URL'],
  'route-server': ['NATS_URL'],
  'push-server': ['NATS_URL', 'TT_CONTENT_KEY'],
  'file-server': ['NATS_URL'],
};
const KEY = '0123456789abcdef0123456789abcdef';
/** Keys of msg_server's own fronts (e.g. a front's encryption key) belong in msg_server's Secret only; other keys are compared exactly. */
const withoutFrontKeys = (component: string, keys: string[]) => (component === 'msg-server' ? keys.filter((k) => !k.startsWith('MSG_SERVER_')) : keys);
const BASE = [`contentKey=${KEY}`, 'mysql.password=hunter2', 'auth.jwtSecret=0123456789abcdef0123456789abcdef-given'];

describe('least privilege: one Secret and one ConfigMap per role', () => {
  test('each role gets exactly the secrets it reads; the internet-facing roles never see the MySQL password or the Redis URL', () => {
    const objs = helmTemplate([], { set: BASE });
    for (const [component, keys] of Object.entries(SECRET_KEYS)) {
      const secret = find(objs, 'Secret', `tt-teamtalk-${component}-secret`);
      expect({ component, keys: withoutFrontKeys(component, Object.keys(secret.stringData!).sort()) }).toEqual({ component, keys });
      if (component !== 'msg-server') expect(Object.keys(secret.stringData!).filter((k) => k.startsWith('MSG_SERVER_'))).toEqual([]);
      expect(container(workloads(objs).get(component)!).envFrom).toEqual([{ configMapRef: { name: `tt-teamtalk-${component}-config` } }, { secretRef: { name: `tt-teamtalk-${component}-secret` } }]);
    }
    expect(byKind(objs, 'Secret').filter((s) => s.stringData?.MYSQL_PASSWORD !== undefined).map((s) => s.metadata.name)).toEqual(['tt-teamtalk-db-proxy-secret']);
    // Plain settings: MySQL's only for db_proxy, DB_PROXY_ADDR only for its callers.
    const cm = (c: string) => Object.keys(find(objs, 'ConfigMap', `tt-teamtalk-${c}-config`).data!);
    expect(cm('db-proxy')).toEqual(expect.arrayContaining(['MYSQL_HOST', 'MYSQL_USER', 'MYSQL_DATABASE', 'PASSWORD_SCRYPT_N']));
    for (const c of ['login-server', 'msg-server', 'route-server', 'push-server', 'file-server']) expect({ c, mysql: cm(c).filter((k) => k.startsWith('MYSQL_')) }).toEqual({ c, mysql: [] });
    for (const c of ['login-server', 'msg-server', 'push-server']) expect(cm(c)).toContain('DB_PROXY_ADDR');
    for (const c of ['db-proxy', 'route-server', 'file-server']) expect(cm(c)).not.toContain('DB_PROXY_ADDR');
  });

  test('checksums are per role: rotating the content key restarts msg_server, push_server and login_server only; a db_proxy setting restarts db_proxy only', () => {
    const sums = (set: string[]) => {
      const w = workloads(helmTemplate([], { set: [...BASE, ...set] }));
      return Object.fromEntries(Object.keys(SECRET_KEYS).map((c) => [c, w.get(c)!.spec.template.metadata.annotations]));
    };
    const changed = (a: Record<string, Record<string, string>>, b: Record<string, Record<string, string>>) => Object.keys(a).filter((c) => a[c]['checksum/config'] !== b[c]['checksum/config'] || a[c]['checksum/secret'] !== b[c]['checksum/secret']).sort();
    const before = sums([]);
    expect(changed(before, sums([]))).toEqual([]); // stable across renders with the same values
    expect(changed(before, sums(['contentKey=fedcba9876543210fedcba9876543210']))).toEqual(['login-server', 'msg-server', 'push-server']);
    expect(changed(before, sums(['dbProxy.passwordScryptN=32768']))).toEqual(['db-proxy']);
    expect(changed(before, sums(['mysql.password=other']))).toEqual(['db-proxy']);
    expect(changed(before, sums(['auth.jwtTtlSeconds=3600']))).toEqual(['login-server', 'msg-server']);
    expect(changed(before, sums(['logLevel=debug']))).toEqual(Object.keys(SECRET_KEYS).sort());
  });

  test('existingSecret: each role reads only its keys from it; existingSecretRevision restarts the pods after a rotation', () => {
    const objs = helmTemplate([], { set: ['secret.existingSecret=my-secret'] });
    expect(byKind(objs, 'Secret')).toEqual([]);
    for (const [component, keys] of Object.entries(SECRET_KEYS)) {
      const c = container(workloads(objs).get(component)!);
      expect(c.envFrom).toEqual([{ configMapRef: { name: `tt-teamtalk-${component}-config` } }]);
      const refs = c.env.filter((e: { valueFrom?: { secretKeyRef?: unknown } }) => e.valueFrom?.secretKeyRef);
      expect({ component, refs: withoutFrontKeys(component, refs.map((e: { name: string }) => e.name).sort()) }).toEqual({ component, refs: keys });
      for (const e of refs) expect(e.valueFrom.secretKeyRef).toEqual({ name: 'my-secret', key: e.name, optional: true });
    }
    const sum = (set: string[]) => find(helmTemplate([], { set: ['secret.existingSecret=my-secret', ...set] }), 'Deployment', 'tt-teamtalk-msg-server').spec.template.metadata.annotations['checksum/secret'];
    expect(sum([])).toBe(sum([]));
    expect(sum(['secret.existingSecretRevision=2026-11-27'])).not.toBe(sum([]));
    // The development MariaDB reads db_proxy's password.
    const dev = helmTemplate([], { set: ['devServices.enabled=true'] });
    expect(container(find(dev, 'Deployment', 'tt-teamtalk-mysql')).env).toContainEqual({ name: 'MARIADB_PASSWORD', valueFrom: { secretKeyRef: { name: 'tt-teamtalk-db-proxy-secret', key: 'MYSQL_PASSWORD' } } });
  });
});

// ---- NetworkPolicy ------------------------------------------------------------------------------

describe('NetworkPolicies', () => {
  const sel = (component: string) => ({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'teamtalk', 'app.kubernetes.io/instance': 'tt', 'app.kubernetes.io/component': component } } });
  type Rule = { from?: unknown[]; ports?: Array<{ port: string | number }> };
  const canonical = (v: unknown): string => JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a.localeCompare(b))) : x));
  const rules = (objs: K8sObject[], component: string): Rule[] => find(objs, 'NetworkPolicy', `tt-teamtalk-${component}`).spec.ingress;
  /** Which ingress rule lets `from` (a component, or "outside") reach port `port` of `component`. */
  const allowed = (objs: K8sObject[], component: string, port: string, from: string) =>
    rules(objs, component).some((r) => (!r.ports || r.ports.some((p) => p.port === port)) && (!r.from || r.from.some((f) => canonical(f) === canonical(sel(from)))));

  test('enabled by default: one per role, schema-valid, ingress only, each selecting its role', () => {
    for (const set of [[], ['devServices.enabled=true', 'fileServer.exposure.type=hostPort', 'loginServer.msfsUrl=http://f.chat.example.com']]) {
      const objs = helmTemplate([], { set });
      const nps = byKind(objs, 'NetworkPolicy');
      expect(schemaErrors(nps)).toEqual([]);
      expect(unknownFieldErrors(nps)).toEqual([]);
      for (const np of nps) expect(np.spec.policyTypes).toEqual(['Ingress']);
      const components = nps.map((np) => np.metadata.labels!['app.kubernetes.io/component']).sort();
      expect(components).toEqual((set.length ? ['dev-mysql', 'dev-nats', 'dev-redis'] : []).concat(['db-proxy', 'file-server', 'login-server', 'msg-server', 'push-server', 'route-server']).sort());
      // Every named port a policy opens is a container port of the pods it selects.
      for (const np of nps) {
        const w = [...workloads(objs).values()].find((x) => Object.entries(np.spec.podSelector.matchLabels as Record<string, string>).every(([k, v]) => x.spec.template.metadata.labels[k] === v))!;
        const names = container(w).ports.map((p: { name: string }) => p.name);
        for (const r of np.spec.ingress as Rule[]) for (const p of r.ports ?? []) expect({ np: np.metadata.name, port: p.port, ok: names.includes(p.port) }).toEqual({ np: np.metadata.name, port: p.port, ok: true });
      }
    }
  });

  test('only the paths of docs/ARCHITECTURE.md: db_proxy gRPC from login_server, msg_server and push_server; file_server gRPC from msg_server and file_server', () => {
    const objs = helmTemplate([]);
    for (const from of ['login-server', 'msg-server', 'push-server']) expect({ from, ok: allowed(objs, 'db-proxy', 'grpc', from) }).toEqual({ from, ok: true });
    for (const from of ['file-server', 'route-server', 'db-proxy', 'outside']) expect({ from, ok: allowed(objs, 'db-proxy', 'grpc', from) }).toEqual({ from, ok: false });
    for (const from of ['msg-server', 'file-server']) expect(allowed(objs, 'file-server', 'grpc', from)).toBe(true);
    for (const from of ['login-server', 'push-server', 'route-server', 'db-proxy', 'outside']) expect({ from, ok: allowed(objs, 'file-server', 'grpc', from) }).toEqual({ from, ok: false });
    // Client-facing ports are open to everyone (no from), and so are the admin ports by default.
    expect(rules(objs, 'login-server')).toContainEqual({ ports: [{ port: 'http', protocol: 'TCP' }] });
    expect(rules(objs, 'file-server')).toContainEqual({ ports: [{ port: 'file', protocol: 'TCP' }, { port: 'http', protocol: 'TCP' }] });
    // msg_server serves nothing to other roles: every one of its ports is a client front (or admin).
    expect(rules(objs, 'msg-server')).toEqual([{}]);
    for (const c of ['route-server', 'push-server']) expect(rules(objs, c)).toEqual([{ ports: [{ port: 'admin', protocol: 'TCP' }] }]);
    // Without push_server, nothing but login_server and msg_server reach db_proxy.
    const noPush = helmTemplate([], { set: ['pushServer.enabled=false'] });
    expect(rules(noPush, 'db-proxy').find((r) => r.ports?.[0].port === 'grpc')!.from).toEqual([sel('login-server'), sel('msg-server')]);
  });

  test('admin and client sources can be narrowed; networkPolicy.enabled=false renders none', () => {
    const monitoring = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } };
    const objs = helmTemplate([], { set: ['networkPolicy.adminFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=monitoring', 'networkPolicy.clientFrom[0].ipBlock.cidr=198.51.100.0/24'] });
    expect(schemaErrors(byKind(objs, 'NetworkPolicy'))).toEqual([]);
    expect(rules(objs, 'route-server')).toEqual([{ from: [monitoring], ports: [{ port: 'admin', protocol: 'TCP' }] }]);
    expect(rules(objs, 'login-server')).toContainEqual({ from: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [{ port: 'http', protocol: 'TCP' }] });
    expect(rules(objs, 'msg-server')).toEqual([{ from: [{ ipBlock: { cidr: '198.51.100.0/24' } }] }]);
    expect(byKind(helmTemplate([], { set: ['networkPolicy.enabled=false'] }), 'NetworkPolicy')).toEqual([]);
  });

  test('development back ends accept only the roles that use them', () => {
    const objs = helmTemplate([], { set: ['devServices.enabled=true'] });
    expect(find(objs, 'NetworkPolicy', 'tt-teamtalk-mysql').spec.ingress).toEqual([{ from: [sel('db-proxy')], ports: [{ port: 'main', protocol: 'TCP' }] }]);
    expect(find(objs, 'NetworkPolicy', 'tt-teamtalk-redis').spec.ingress).toEqual([{ from: [sel('db-proxy')], ports: [{ port: 'main', protocol: 'TCP' }] }]);
    expect(find(objs, 'NetworkPolicy', 'tt-teamtalk-nats').spec.ingress[0].from).toEqual(['login-server', 'msg-server', 'route-server', 'push-server', 'file-server'].map(sel));
  });
});

// ---- smaller items ------------------------------------------------------------------------------

describe('smaller items', () => {
  test('clusterDomain names every in-cluster address', () => {
    const objs = helmTemplate([], { set: ['clusterDomain=k8s.internal'] });
    expect(find(objs, 'ConfigMap', 'tt-teamtalk-msg-server-config').data!.DB_PROXY_ADDR).toBe('dns:///tt-teamtalk-db-proxy-headless.chat.svc.k8s.internal:10600');
    expect(envOf(container(find(objs, 'Deployment', 'tt-teamtalk-msg-server'))).MSG_SERVER_ADVERTISE_IP).toBe('tt-teamtalk-msg-server.chat.svc.k8s.internal');
    expect(envOf(container(find(objs, 'StatefulSet', 'tt-teamtalk-file-server'))).FILE_SERVER_ADVERTISE_IP).toBe('tt-teamtalk-file-server-{ordinal}.chat.svc.k8s.internal');
    expect(envOf(container(find(objs, 'Deployment', 'tt-teamtalk-login-server'))).LOGIN_MSFS_URL).toBe('http://tt-teamtalk-file-server.chat.svc.k8s.internal:8700');
    const all = run('helm', ['template', 'tt', CHART_DIR, '--namespace', 'chat', '--set', 'clusterDomain=k8s.internal']).stdout;
    expect(all).not.toContain('cluster.local');
  });

  test('a half APNs configuration is refused (push_server would exit with code 2)', () => {
    for (const set of [['pushServer.apns.key=PEM'], ['pushServer.apns.key=PEM', 'pushServer.apns.keyId=ABCDE12345', 'pushServer.apns.teamId=TEAM123456'], ['pushServer.existingKeysSecret=k', 'pushServer.apns.keyId=ABCDE12345']]) {
      const r = refused(set);
      expect({ set, failed: r.status !== 0 }).toEqual({ set, failed: true });
      expect(r.stderr).toMatch(/apns/);
    }
    expect(refused(['pushServer.apns.key=PEM', 'pushServer.apns.keyId=ABCDE12345', 'pushServer.apns.teamId=TEAM123456', 'pushServer.apns.topic=com.example.chat']).status).toBe(0);
  });

  test('probes.dependencyGraceSeconds becomes READINESS_GRACE_MS of msg_server and db_proxy only', () => {
    const objs = helmTemplate([], { set: ['probes.dependencyGraceSeconds=30'] });
    for (const c of ['msg-server', 'db-proxy']) expect(find(objs, 'ConfigMap', `tt-teamtalk-${c}-config`).data!.READINESS_GRACE_MS).toBe('30000');
    for (const c of ['login-server', 'route-server', 'push-server', 'file-server']) expect(find(objs, 'ConfigMap', `tt-teamtalk-${c}-config`).data!.READINESS_GRACE_MS).toBeUndefined();
    expect(find(helmTemplate([]), 'ConfigMap', 'tt-teamtalk-msg-server-config').data!.READINESS_GRACE_MS).toBe('60000');
  });

  test('pushServer.streamReplicas becomes PUSH_STREAM_REPLICAS', () => {
    expect(find(helmTemplate([], { set: ['pushServer.streamReplicas=3'] }), 'ConfigMap', 'tt-teamtalk-push-server-config').data!.PUSH_STREAM_REPLICAS).toBe('3');
    expect(refused(['pushServer.streamReplicas=0']).status).not.toBe(0);
  });

  test('login_server and db_proxy sleep in preStop so Services and the Ingress stop routing before SIGTERM', () => {
    const objs = helmTemplate([], { set: ['dbProxy.preStopSleepSeconds=7'] });
    expect(container(find(objs, 'Deployment', 'tt-teamtalk-login-server')).lifecycle).toEqual({ preStop: { exec: { command: ['sleep', '5'] } } });
    expect(container(find(objs, 'Deployment', 'tt-teamtalk-db-proxy')).lifecycle).toEqual({ preStop: { exec: { command: ['sleep', '7'] } } });
  });
});
