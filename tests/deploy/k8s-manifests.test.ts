// k8s/: the plain manifests (kustomize base + overlays) are generated from the
// chart by scripts/gen-k8s.mjs; they must not drift, and every overlay must
// build into objects valid for Kubernetes 1.33 equal to the chart's rendering.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { byKind, find, kustomize, schemaErrors, unknownFieldErrors, REPO_ROOT, type K8sObject } from './support/k8s';

jest.setTimeout(60_000);

const GEN = path.join(REPO_ROOT, 'scripts', 'gen-k8s.mjs');
const overlays = fs.readdirSync(path.join(REPO_ROOT, 'k8s', 'overlays')).sort();
const VARIANTS: Array<[string, string]> = [['base', 'k8s/base'], ...overlays.map((o): [string, string] => [o, `k8s/overlays/${o}`])];

const built: Record<string, K8sObject[]> = {};
beforeAll(() => {
  for (const [name, dir] of VARIANTS) built[name] = kustomize(dir);
});

const sortKeys = (v: unknown): unknown => {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
};
const index = (objs: K8sObject[]) => new Map(objs.map((o) => [`${o.kind}/${o.metadata.name}`, sortKeys(o)]));

test('there are dev and prod overlays', () => {
  expect(overlays).toEqual(expect.arrayContaining(['dev', 'prod']));
});

test('k8s/ and the chart README values table are what scripts/gen-k8s.mjs generates (no drift)', () => {
  const r = spawnSync(process.execPath, [GEN, '--check'], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});

describe.each(VARIANTS)('kubectl kustomize %s', (name) => {
  test('builds objects valid for Kubernetes 1.33, without unknown fields', () => {
    expect(built[name].length).toBeGreaterThan(10);
    expect(schemaErrors(built[name])).toEqual([]);
    expect(unknownFieldErrors(built[name])).toEqual([]);
    for (const o of built[name]) expect(o.metadata.namespace).toBe('teamtalk');
  });

  test('equals the chart rendered with the same values', () => {
    const expected = (JSON.parse(execFileSync(process.execPath, [GEN, '--render', name], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })) as K8sObject[]).map((o) => ({
      ...o,
      metadata: { ...o.metadata, namespace: 'teamtalk' },
    }));
    const got = index(built[name]);
    const want = index(expected);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [key, o] of want) expect({ key, o: got.get(key) }).toEqual({ key, o });
  });
});

test('the overlays differ where they should', () => {
  const base = built.base;
  expect(find(base, 'HorizontalPodAutoscaler', 'teamtalk-msg-server').spec.scaleTargetRef.kind).toBe('Deployment');
  expect(byKind(base, 'PodDisruptionBudget').length).toBeGreaterThanOrEqual(4);

  const dev = built.dev;
  expect(byKind(dev, 'HorizontalPodAutoscaler')).toEqual([]);
  expect(find(dev, 'Deployment', 'teamtalk-msg-server').spec.replicas).toBe(1);
  for (const d of ['mysql', 'redis', 'nats']) find(dev, 'Deployment', `teamtalk-${d}`);
  expect(find(dev, 'ConfigMap', 'teamtalk-db-proxy-config').data!.MYSQL_HOST).toBe('teamtalk-mysql');

  const prod = built.prod;
  expect(find(prod, 'HorizontalPodAutoscaler', 'teamtalk-msg-server').spec).toMatchObject({ minReplicas: 3, maxReplicas: 30 });
  expect(find(prod, 'Deployment', 'teamtalk-db-proxy').spec.replicas).toBe(3);
  find(prod, 'Ingress', 'teamtalk-login-server');
  const ms = find(prod, 'Deployment', 'teamtalk-msg-server').spec.template.spec.containers[0];
  expect(ms.env).toContainEqual({ name: 'MSG_SERVER_ADVERTISE_IP', value: 'msg.chat.example.com' });
  // prod: file_server reachable from outside, login_server hands out pod 0's public image store, a ServiceMonitor for kube-prometheus-stack.
  const fs = find(prod, 'StatefulSet', 'teamtalk-file-server').spec.template.spec.containers[0];
  expect(fs.env).toContainEqual({ name: 'FILE_SERVER_ADVERTISE_IP', value: 'files-{ordinal}.chat.example.com' });
  expect(find(prod, 'Service', 'teamtalk-file-server-1').spec.type).toBe('LoadBalancer');
  expect(find(prod, 'Deployment', 'teamtalk-login-server').spec.template.spec.containers[0].env).toContainEqual({ name: 'LOGIN_MSFS_URL', value: 'http://files-0.chat.example.com:8700' });
  expect(find(prod, 'ServiceMonitor', 'teamtalk').metadata.labels!.release).toBe('kube-prometheus-stack');
  // Every variant: a NetworkPolicy per role, and one Secret per role.
  for (const objs of [base, dev, prod]) {
    expect(byKind(objs, 'NetworkPolicy').length).toBeGreaterThanOrEqual(6);
    expect(byKind(objs, 'Secret').filter((x) => x.stringData?.MYSQL_PASSWORD !== undefined).map((x) => x.metadata.name)).toEqual(['teamtalk-db-proxy-secret']);
  }
});

test('values that a YAML 1.1 reader would take for booleans are quoted', () => {
  const mysql = fs.readFileSync(path.join(REPO_ROOT, 'k8s', 'overlays', 'dev', 'resources', 'deployment-mysql.yaml'), 'utf8');
  expect(mysql).toContain('value: "yes"');
  for (const dir of ['base', 'overlays/dev', 'overlays/prod']) {
    for (const f of fs.readdirSync(path.join(REPO_ROOT, 'k8s', dir), { recursive: true }) as string[]) {
      if (!f.endsWith('.yaml')) continue;
      const text = fs.readFileSync(path.join(REPO_ROOT, 'k8s', dir, f), 'utf8');
      expect({ f, bare: text.match(/(:|-) (yes|no|on|off|y|n|Yes|No|YES|NO|On|Off)$/gm) }).toEqual({ f, bare: null });
    }
  }
});

test('every variant carries the WebSocket front and the token secret the same way', () => {
  for (const [name] of VARIANTS) {
    const objs = built[name];
    const ms = find(objs, 'Deployment', 'teamtalk-msg-server').spec.template.spec.containers[0];
    const env = Object.fromEntries(ms.env.map((e: { name: string; value?: string; valueFrom?: unknown }) => [e.name, e.value ?? e.valueFrom]));
    expect({ name, ws: env.MSG_SERVER_WS_PORT, path: env.MSG_SERVER_WS_PATH, advertised: env.MSG_SERVER_WS_ADVERTISE_PORT }).toEqual({ name, ws: '8081', path: '/ws', advertised: '8081' });
    expect(ms.ports).toContainEqual({ name: 'ws', containerPort: 8081, protocol: 'TCP' });
    expect(find(objs, 'Service', 'teamtalk-msg-server').spec.ports).toContainEqual({ name: 'ws', port: 8081, targetPort: 'ws', protocol: 'TCP' });
    for (const component of ['login-server', 'msg-server']) {
      const c = find(objs, 'Deployment', `teamtalk-${component}`).spec.template.spec.containers[0];
      expect(c.envFrom).toContainEqual({ secretRef: { name: `teamtalk-${component}-secret` } });
      expect(Object.keys(find(objs, 'Secret', `teamtalk-${component}-secret`).stringData!)).toContain('AUTH_JWT_SECRET');
    }
    expect(env.AUTH_JWT_SECRET).toBeUndefined(); // from the role's own Secret (envFrom)
  }
  // Static manifests cannot generate a secret: empty in base and prod (to be replaced, k8s/README.md), a fixed development value in dev.
  for (const component of ['login-server', 'msg-server']) {
    expect(find(built.base, 'Secret', `teamtalk-${component}-secret`).stringData!.AUTH_JWT_SECRET).toBe('');
    expect(find(built.prod, 'Secret', `teamtalk-${component}-secret`).stringData!.AUTH_JWT_SECRET).toBe('');
    expect(find(built.dev, 'Secret', `teamtalk-${component}-secret`).stringData!.AUTH_JWT_SECRET).toMatch(/^dev-only-.{24,}$/);
  }
  expect(fs.readFileSync(path.join(REPO_ROOT, 'k8s', 'README.md'), 'utf8')).toContain('AUTH_JWT_SECRET');
});
