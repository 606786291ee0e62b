// The container image: deploy/Dockerfile (checked with dockerfile-utils, the
// Dockerfile validator of the VS Code Docker tooling, and parsed with
// dockerfile-ast), .dockerignore, and deploy/entrypoint.js, which picks the role.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from './support/k8s';

/* eslint-disable @typescript-eslint/no-require-imports */
const { validate } = require('dockerfile-utils') as { validate(content: string): Array<{ message: string; range: { start: { line: number } } }> };
const { DockerfileParser } = require('dockerfile-ast') as {
  DockerfileParser: {
    parse(content: string): {
      getFROMs(): Array<{ getImageName(): string; getImageTag(): string | null; getBuildStage(): string | null; getRange(): { start: { line: number } } }>;
      getInstructions(): Array<{ getKeyword(): string; getArgumentsContent(): string | null; getRange(): { start: { line: number } } }>;
    };
  };
};
const { resolveLaunch, ROLES } = require('../../deploy/entrypoint.js') as {
  resolveLaunch(argv: string[], env: NodeJS.ProcessEnv, hostname?: string): { role: string; script?: string; args?: string[]; envChanges?: Record<string, string>; url?: string };
  ROLES: Record<string, string>;
};
/* eslint-enable @typescript-eslint/no-require-imports */

const DOCKERFILE = path.join(REPO_ROOT, 'deploy', 'Dockerfile');
const content = fs.readFileSync(DOCKERFILE, 'utf8');
const dockerfile = DockerfileParser.parse(content);
const instructions = dockerfile.getInstructions();
const froms = dockerfile.getFROMs();

/** Instructions of one build stage, as "KEYWORD args". */
function stage(name: string): string[] {
  const i = froms.findIndex((f) => f.getBuildStage() === name);
  if (i < 0) throw new Error(`no stage ${name}`);
  const start = froms[i].getRange().start.line;
  const end = i + 1 < froms.length ? froms[i + 1].getRange().start.line : Infinity;
  return instructions.filter((x) => x.getRange().start.line > start && x.getRange().start.line < end).map((x) => `${x.getKeyword()} ${x.getArgumentsContent() ?? ''}`);
}

test('the Dockerfile has no problems dockerfile-utils can find', () => {
  expect(validate(content).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
});

test('multi-stage: build, test and prod stages, and a slim Node LTS runtime as the last (default) stage', () => {
  expect(froms.map((f) => f.getBuildStage())).toEqual(['base', 'build', 'test', 'prod', 'runtime']);
  const runtime = froms[froms.length - 1];
  expect(runtime.getImageName()).toBe('node');
  expect(runtime.getImageTag()).toBe('${NODE_VERSION}-bookworm-slim');
  const nodeVersion = Number(/ARG NODE_VERSION=(\d+)/.exec(content)?.[1]);
  expect(nodeVersion % 2).toBe(0); // even majors are the LTS lines
  expect(nodeVersion).toBeGreaterThanOrEqual(22);
});

test('pnpm in the image is the version the repository pins', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { packageManager: string };
  expect(`pnpm@${/ARG PNPM_VERSION=(\S+)/.exec(content)?.[1]}`).toBe(pkg.packageManager.replace(/\+.*$/, ''));
});

test('build stage: build tools for better-sqlite3, frozen lockfile, generated code and tsc', () => {
  const build = stage('build').join('\n');
  expect(build).toMatch(/apt-get install .*python3 make g\+\+/);
  // --prefer-offline: works with the BuildKit cache mount (no downloads) and without it (a layer cache
  // imported without cache mounts leaves the store empty, which --offline could not install from).
  expect(build).toContain('pnpm install --prefer-offline --frozen-lockfile');
  expect(content).not.toMatch(/pnpm install[^\n]*--offline/);
  expect(build).toContain('RUN pnpm build'); // gen-proto + tsc -b
});

test('prod stage keeps production dependencies, built JavaScript and proto/ only', () => {
  const prod = stage('prod').join('\n');
  expect(prod).toContain('--prod');
  expect(prod).toContain('pnpm prune --prod');
  expect(prod).toMatch(/rm -rf [^\n]*packages\/\*\/src services\/\*\/src/);
  expect(prod).not.toMatch(/rm -rf[^\n]*\bproto\b/);
});

test('the image keeps every file login_server serves under /chat/ (the page, the protobufjs bundle, the schema)', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { webchatFiles } = require('@tt/webchat') as { webchatFiles(): Map<string, string> };
  const files = [...webchatFiles().values()].map((f) => path.relative(REPO_ROOT, f).split(path.sep).join('/'));
  expect(files).toEqual(expect.arrayContaining(['packages/webchat/public/index.html', 'proto/IM.Ws.proto']));
  // What the prod stage deletes (rm -rf …) and what the build context leaves out (.dockerignore; node_modules are installed in the build).
  const prod = stage('prod').join('\n').replace(/\\\n/g, ' ');
  const removed = [...prod.matchAll(/rm -rf ([^&\n]+)/g)].flatMap((m) => m[1].trim().split(/\s+/));
  expect(removed).toContain('packages/*/src');
  const ignored = fs.readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#') && l !== '**/node_modules');
  const glob = (g: string) => new RegExp(`^${g.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '\0').replace(/\*/g, '[^/]*').replace(/\0/g, '(?:.*/)?')}(?:/|$)`);
  for (const f of files) {
    const inNodeModules = f.includes('node_modules/');
    const rel = inNodeModules ? f.slice(f.lastIndexOf('node_modules/')) : f;
    for (const g of [...removed, ...(inNodeModules ? [] : ignored)]) expect({ file: rel, pattern: g, gone: glob(g).test(rel) }).toEqual({ file: rel, pattern: g, gone: false });
  }
  // The bundle comes from protobufjs, a production dependency of @tt/webchat, which login_server depends on (pnpm install --prod keeps both).
  const pkg = (p: string) => JSON.parse(fs.readFileSync(path.join(REPO_ROOT, p, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; main: string };
  expect(files.some((f) => /node_modules\/protobufjs\/dist\/protobuf\.min\.js$/.test(f))).toBe(true);
  expect(pkg('packages/webchat').dependencies).toHaveProperty('protobufjs');
  expect(pkg('services/login_server').dependencies).toHaveProperty('@tt/webchat');
  // @tt/webchat resolves its paths from dist/ (built by tsc -b) as from src/: both one level under the package.
  expect(pkg('packages/webchat').main).toBe('dist/index.js');
  expect(fs.readFileSync(path.join(REPO_ROOT, 'tsconfig.build.json'), 'utf8')).toContain('"packages/webchat"');
});

test('the image exposes every default listening port of every role', () => {
  const expose = instructions.find((x) => x.getKeyword() === 'EXPOSE')!.getArgumentsContent()!.split(/\s+/);
  expect(expose).toEqual(expect.arrayContaining(['8080', '8000', '8081']));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { allSpecs } = require('@tt/config') as { allSpecs: Record<string, Record<string, { default?: unknown }>> };
  const listening = new Set<string>();
  for (const spec of Object.values(allSpecs)) {
    for (const [name, v] of Object.entries(spec)) if (/_PORT$/.test(name) && !/ADVERTISE|^MYSQL_/.test(name) && Number(v.default) > 0) listening.add(`${name}=${v.default}`);
  }
  expect(listening.size).toBeGreaterThanOrEqual(15);
  for (const p of listening) expect({ port: p, exposed: expose.includes(p.split('=')[1]) }).toEqual({ port: p, exposed: true });
});

test('runtime: non-root numeric user, files owned by root, the entry point picks the role', () => {
  const runtime = stage('runtime');
  const user = runtime.find((l) => l.startsWith('USER '));
  expect(user).toBe('USER 10001:10001');
  expect(runtime).toContain('COPY /src /app');
  expect(content).toMatch(/^COPY --from=prod \/src \/app$/m); // no --chown: the service user cannot change the program
  expect(runtime).toContain('ENTRYPOINT ["node", "/app/deploy/entrypoint.js"]');
  expect(runtime).toContain('CMD ["standalone"]');
  expect(runtime.some((l) => l.startsWith('HEALTHCHECK'))).toBe(false);
  const test = stage('test').join('\n');
  expect(test).toMatch(/CMD \["pnpm", "exec", "jest", "--selectProjects", "e2e"/);
});

test('.dockerignore keeps build outputs, dependencies and VCS data out of the context, but not what the build needs', () => {
  const ignore = fs.readFileSync(path.join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  expect(ignore).toEqual(expect.arrayContaining(['.git', '**/node_modules', '**/dist', 'packages/proto/generated']));
  for (const needed of ['proto', 'deploy', 'deploy/entrypoint.js', 'packages', 'services', 'scripts', 'tests', 'pnpm-lock.yaml']) expect(ignore).not.toContain(needed);
});

describe('deploy/entrypoint.js', () => {
  test('every role the chart and compose use is known, standalone by default, TT_ROLE or the first argument choose', () => {
    expect(Object.keys(ROLES).sort()).toEqual(['db_proxy', 'file_server', 'login_server', 'msg_server', 'push_server', 'route_server', 'standalone', 'ttctl']);
    expect(resolveLaunch([], {}).role).toBe('standalone');
    expect(resolveLaunch([], { TT_ROLE: 'route-server' }).script).toBe('services/route_server/dist/main.js');
    expect(resolveLaunch(['msg_server'], { TT_ROLE: 'db_proxy' }).role).toBe('msg_server');
    expect(resolveLaunch(['ttctl', 'user', 'list'], {})).toMatchObject({ role: 'ttctl', script: 'packages/ttctl/dist/main.js', args: ['user', 'list'] });
    expect(resolveLaunch(['probe', '9102'], {})).toEqual({ role: 'probe', url: 'http://127.0.0.1:9102/readyz' });
    expect(() => resolveLaunch([], { TT_ROLE: 'mail_server' })).toThrow(/unknown role/);
  });

  test('expands {ordinal}, {hostname} and {podIP} in what msg_server advertises', () => {
    const env = { MSG_SERVER_ADVERTISE_IP: 'msg-{ordinal}.example.com', MSG_SERVER_ADVERTISE_PORT: '30800+{ordinal}', MSG_SERVER_WS_ADVERTISE_PORT: '30900+{ordinal}', MSG_SERVER_ID: '{hostname}', MSG_SERVER_ADVERTISE_IP2: '{podIP}', POD_IP: '10.1.2.3' };
    expect(resolveLaunch(['msg_server'], env, 'tt-msg-server-7').envChanges).toEqual({
      MSG_SERVER_ADVERTISE_IP: 'msg-7.example.com',
      MSG_SERVER_ADVERTISE_PORT: '30807',
      MSG_SERVER_WS_ADVERTISE_PORT: '30907',
      MSG_SERVER_ID: 'tt-msg-server-7',
      MSG_SERVER_ADVERTISE_IP2: '10.1.2.3',
    });
    expect(resolveLaunch(['msg_server'], { MSG_SERVER_ADVERTISE_IP: '203.0.113.5' }).envChanges).toEqual({});
    expect(() => resolveLaunch(['msg_server'], { MSG_SERVER_ADVERTISE_IP: 'msg-{ordinal}' }, 'laptop')).toThrow(/does not end in -<number>/);
  });

  test('runs a role in its own process with its argv, and exits 2 for an unknown role', () => {
    const ok = spawnSync(process.execPath, [path.join(REPO_ROOT, 'deploy', 'entrypoint.js'), 'ttctl', '--help'], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/usage: ttctl/);
    const bad = spawnSync(process.execPath, [path.join(REPO_ROOT, 'deploy', 'entrypoint.js')], { encoding: 'utf8', env: { ...process.env, TT_ROLE: 'nope' } });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown role "nope"/);
    const probe = spawnSync(process.execPath, [path.join(REPO_ROOT, 'deploy', 'entrypoint.js'), 'probe', '1'], { encoding: 'utf8' });
    expect(probe.status).toBe(1);
  });
});
