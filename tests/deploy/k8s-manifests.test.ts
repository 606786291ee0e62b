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
  expect(find(dev, 'ConfigMap', 'teamtalk-config').data!.MYSQL_HOST).toBe('teamtalk-mysql');

  const prod = built.prod;
  expect(find(prod, 'HorizontalPodAutoscaler', 'teamtalk-msg-server').spec).toMatchObject({ minReplicas: 3, maxReplicas: 30 });
  expect(find(prod, 'Deployment', 'teamtalk-db-proxy').spec.replicas).toBe(3);
  find(prod, 'Ingress', 'teamtalk-login-server');
  const ms = find(prod, 'Deployment', 'teamtalk-msg-server').spec.template.spec.containers[0];
  expect(ms.env).toContainEqual({ name: 'MSG_SERVER_ADVERTISE_IP', value: 'msg.chat.example.com' });
});

test('every variant carries the WebSocket front and the token secret the same way', () => {
  for (const [name] of VARIANTS) {
    const objs = built[name];
    const ms = find(objs, 'Deployment', 'teamtalk-msg-server').spec.template.spec.containers[0];
    const env = Object.fromEntries(ms.env.map((e: { name: string; value?: string; valueFrom?: unknown }) => [e.name, e.value ?? e.valueFrom]));
    expect({ name, ws: env.MSG_SERVER_WS_PORT, path: env.MSG_SERVER_WS_PATH, advertised: env.MSG_SERVER_WS_ADVERTISE_PORT }).toEqual({ name, ws: '8081', path: '/ws', advertised: '8081' });
    expect(ms.ports).toContainEqual({ name: 'ws', containerPort: 8081, protocol: 'TCP' });
    expect(find(objs, 'Service', 'teamtalk-msg-server').spec.ports).toContainEqual({ name: 'ws', port: 8081, targetPort: 'ws', protocol: 'TCP' });
    const ref = { secretKeyRef: { name: 'teamtalk-secret', key: 'AUTH_JWT_SECRET', optional: true } };
    expect(env.AUTH_JWT_SECRET).toEqual(ref);
    const login = find(objs, 'Deployment', 'teamtalk-login-server').spec.template.spec.containers[0];
    expect(login.env).toContainEqual({ name: 'AUTH_JWT_SECRET', valueFrom: ref });
  }
  // Static manifests cannot generate a secret: empty in base and prod (to be replaced, k8s/README.md), a fixed development value in dev.
  expect(find(built.base, 'Secret', 'teamtalk-secret').stringData!.AUTH_JWT_SECRET).toBe('');
  expect(find(built.prod, 'Secret', 'teamtalk-secret').stringData!.AUTH_JWT_SECRET).toBe('');
  expect(find(built.dev, 'Secret', 'teamtalk-secret').stringData!.AUTH_JWT_SECRET).toMatch(/^dev-only-.{24,}$/);
  expect(fs.readFileSync(path.join(REPO_ROOT, 'k8s', 'README.md'), 'utf8')).toContain('AUTH_JWT_SECRET');
});
