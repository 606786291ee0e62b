// deploy/docker-compose.yml: valid against the Compose Specification schema
// (dclint, which bundles it and lints), and the cluster the README promises:
// MariaDB, Redis, NATS with JetStream, every role, two msg_servers, health
// checks, start order by health, and the "integration" service.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { REPO_ROOT } from './support/k8s';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { DCLinter } = require('dclint') as {
  DCLinter: new (config: { rules: Record<string, number>; quiet: boolean; debug: boolean; exclude: string[] }) => {
    lintFiles(paths: string[], recursive: boolean): Array<{ messages: Array<{ rule: string; type: string; message: string; line: number }> }>;
  };
};

const COMPOSE = path.join(REPO_ROOT, 'deploy', 'docker-compose.yml');
/* eslint-disable @typescript-eslint/no-explicit-any */
const doc = YAML.parse(fs.readFileSync(COMPOSE, 'utf8'), { merge: true }) as { name: string; services: Record<string, any>; volumes: Record<string, unknown> };
const services = doc.services;
const env = (s: string): Record<string, string> => services[s].environment;

test('is valid against the Compose Specification and passes dclint', () => {
  const linter = new DCLinter({
    rules: {
      // Style only: key and service order.
      'service-keys-order': 0,
      'services-alphabetical-order': 0,
      'top-level-properties-order': 0,
      // Deliberate: the app services build the image they run, under a fixed tag.
      'no-build-and-image': 0,
      // Deliberate: TeamTalk clients on other machines must reach login_server and msg_server.
      'no-unbound-port-interfaces': 0,
    },
    quiet: false,
    debug: false,
    exclude: [],
  });
  const [result] = linter.lintFiles([COMPOSE], false);
  expect(result.messages.map((m) => `${m.line}: ${m.rule}: ${m.message}`)).toEqual([]);
});

test('runs MariaDB, Redis 7, NATS 2 with JetStream and every role, with two msg_servers', () => {
  expect(services.mysql.image).toMatch(/^(mariadb:1[01]|mysql:8)/);
  expect(services.redis.image).toMatch(/^redis:7/);
  expect(services.nats.image).toMatch(/^nats:2/);
  expect(services.nats.command).toContain('--jetstream');
  const roleOf = (s: string) => (services[s].build ? services[s].command?.[0] : undefined);
  const running = Object.keys(services).filter((s) => !services[s].profiles);
  expect(running.map(roleOf).filter(Boolean).sort()).toEqual(['db_proxy', 'file_server', 'login_server', 'msg_server', 'msg_server', 'push_server', 'route_server']);
  const msgServers = running.filter((s) => roleOf(s) === 'msg_server');
  expect(msgServers).toHaveLength(2);
  // Distinct ids, ports and advertised addresses, published as advertised (TeamTalk, WebSocket, tcp12, MSync WebSocket and TCP, OMTP).
  expect(new Set(msgServers.map((s) => env(s).MSG_SERVER_ID)).size).toBe(2);
  const allPorts = msgServers.flatMap((s) => [env(s).MSG_SERVER_PORT, env(s).MSG_SERVER_WS_PORT, env(s).MSG_SERVER_TCP12_PORT, env(s).MSG_SERVER_MSYNC_WS_PORT, env(s).MSG_SERVER_MSYNC_TCP_PORT, env(s).MSG_SERVER_OMTP_PORT]);
  expect(new Set([...allPorts, env('login-server').LOGIN_HTTP_PORT]).size).toBe(13);
  for (const s of msgServers) {
    const port = env(s).MSG_SERVER_PORT;
    const ws = env(s).MSG_SERVER_WS_PORT;
    expect(Number(ws)).toBeGreaterThan(0);
    expect(env(s).MSG_SERVER_WS_PATH).toBe('/ws');
    expect(env(s).MSG_SERVER_WS_ADVERTISE_PORT).toBeUndefined(); // published as is: the listen port is what clients reach
    const tcp12 = env(s).MSG_SERVER_TCP12_PORT;
    const [msyncWs, msyncTcp] = [env(s).MSG_SERVER_MSYNC_WS_PORT, env(s).MSG_SERVER_MSYNC_TCP_PORT];
    const omtp = env(s).MSG_SERVER_OMTP_PORT;
    expect([...services[s].ports].sort()).toEqual([`${port}:${port}`, `${ws}:${ws}`, `${tcp12}:${tcp12}`, `${msyncWs}:${msyncWs}`, `${msyncTcp}:${msyncTcp}`, `${omtp}:${omtp}`].sort());
    expect(env(s).MSG_SERVER_ADVERTISE_IP).toBe(`\${TT_PUBLIC_HOST:-${s}}`);
    expect(services[s].stop_grace_period).toBe(`${Number(env(s).MSG_SERVER_DRAIN_TIMEOUT_MS) / 1000 + 10}s`);
    // The drain adds up: a full msg_server's clients are closed within the drain time-out.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { msgServerSpec: spec } = require('@tt/config') as { msgServerSpec: Record<string, { default?: unknown }> };
    const maxConnections = Number(env(s).MSG_SERVER_MAX_CONNECTIONS ?? spec.MSG_SERVER_MAX_CONNECTIONS.default);
    expect(Math.ceil(maxConnections / Number(env(s).MSG_SERVER_DRAIN_RATE ?? spec.MSG_SERVER_DRAIN_RATE.default))).toBeLessThanOrEqual(Number(env(s).MSG_SERVER_DRAIN_TIMEOUT_MS) / 1000);
  }
  expect(services['login-server'].ports).toEqual(['8080:8080']);
});

test('every long-running service has a health check; app health checks probe the role\'s /readyz on its ADMIN_PORT', () => {
  for (const [name, s] of Object.entries(services)) {
    if (name === 'integration') continue;
    expect({ name, test: s.healthcheck?.test?.length > 0 }).toEqual({ name, test: true });
    if (s.command && s.build) {
      expect(s.healthcheck.test).toEqual(['CMD', 'node', '/app/deploy/entrypoint.js', 'probe', env(name).ADMIN_PORT, '/readyz']);
      expect(s.read_only).toBe(true);
      expect(s.build).toEqual({ context: '..', dockerfile: 'deploy/Dockerfile', target: 'runtime' });
    }
  }
});

test('start order follows health: every dependency waits for service_healthy of a service with a health check', () => {
  const needs: Record<string, string[]> = {
    'db-proxy': ['mysql', 'redis'],
    'route-server': ['nats'],
    'login-server': ['db-proxy', 'nats'], // passwords are checked by db_proxy
    'msg-server-1': ['db-proxy', 'nats', 'route-server'],
    'msg-server-2': ['db-proxy', 'nats', 'route-server'],
    'file-server': ['nats'],
    'push-server': ['db-proxy', 'nats'],
    integration: ['file-server', 'login-server', 'msg-server-1', 'msg-server-2'],
  };
  for (const [s, deps] of Object.entries(needs)) expect(Object.keys(services[s].depends_on).sort()).toEqual(deps);
  for (const [name, s] of Object.entries(services)) {
    for (const [dep, cond] of Object.entries<any>(s.depends_on ?? {})) {
      expect({ name, dep, condition: cond.condition }).toEqual({ name, dep, condition: 'service_healthy' });
      expect(services[dep].healthcheck).toBeDefined();
    }
  }
});

test('the integration service runs the e2e suite from the test image against this cluster', () => {
  const it = services.integration;
  expect(it.profiles).toEqual(['integration']);
  expect(it.build).toEqual({ context: '..', dockerfile: 'deploy/Dockerfile', target: 'test' });
  expect(it.command.slice(0, 5)).toEqual(['pnpm', 'exec', 'jest', '--selectProjects', 'e2e']);
  expect(it.environment.TT_E2E_LOGIN_URL).toBe(`http://login-server:${env('login-server').LOGIN_HTTP_PORT}`);
  expect(it.environment.TT_E2E_MSG_SERVERS).toBe(['msg-server-1', 'msg-server-2'].map((s) => `${s}:${env(s).MSG_SERVER_PORT}`).join(','));
  expect(it.environment).toMatchObject({ TT_MODE: 'cluster', MYSQL_HOST: 'mysql', MYSQL_USER: env('db-proxy').MYSQL_USER, MYSQL_PASSWORD: env('db-proxy').MYSQL_PASSWORD, MYSQL_DATABASE: env('db-proxy').MYSQL_DATABASE });
});

test('the back ends the roles are given are the compose services', () => {
  const e = env('db-proxy');
  expect(e.MYSQL_HOST).toBe('mysql');
  expect(e.REDIS_URL).toBe('redis://redis:6379');
  expect(e.NATS_URL).toBe('nats://nats:4222');
  expect(e.DB_PROXY_ADDR).toBe(`dns:///db-proxy:${e.DB_PROXY_PORT}`);
  expect(services.mysql.environment.MARIADB_USER).toBe(e.MYSQL_USER);
  expect(services.mysql.environment.MARIADB_PASSWORD).toBe(e.MYSQL_PASSWORD);
});

test('push_server runs with every provider setting passed through from the host (off when unset)', () => {
  expect(services['push-server'].profiles).toBeUndefined();
  expect(services['push-server'].command).toEqual(['push_server']);
  const e = env('push-server');
  for (const name of ['PUSH_APNS_KEY_FILE', 'PUSH_APNS_KEY_ID', 'PUSH_APNS_TEAM_ID', 'PUSH_APNS_TOPIC', 'PUSH_FCM_CREDENTIALS_FILE']) expect(e[name]).toBe(`\${${name}:-}`);
  expect(e.DB_PROXY_ADDR).toBe(env('msg-server-1').DB_PROXY_ADDR);
});

test('one AUTH_JWT_SECRET, a required variable, for login_server, both msg_servers and the integration suite', () => {
  const raw = fs.readFileSync(COMPOSE, 'utf8');
  const value = env('login-server').AUTH_JWT_SECRET;
  // Required: compose refuses to run with it unset or empty, and says what to do.
  expect(value).toMatch(/^\$\{AUTH_JWT_SECRET:\?[^}]*openssl rand[^}]*\}$/);
  for (const s of ['msg-server-1', 'msg-server-2']) expect(env(s).AUTH_JWT_SECRET).toBe(value);
  expect(services.integration.environment.TT_E2E_AUTH_JWT_SECRET).toBe(value);
  // Written once (a YAML anchor), so the roles cannot drift apart.
  expect(raw.match(/\$\{AUTH_JWT_SECRET/g)).toHaveLength(1);
  // Roles that neither issue nor verify tokens do not get it.
  for (const s of ['db-proxy', 'route-server', 'push-server', 'file-server']) expect(env(s).AUTH_JWT_SECRET).toBeUndefined();
  expect(env('login-server').DB_PROXY_ADDR).toBe(env('db-proxy').DB_PROXY_ADDR);
});

test('TT_CONTENT_KEY (or its old name PUSH_CONTENT_KEY) reaches both msg_servers, push_server and login_server (the operator API\'s message search), no other role', () => {
  for (const s of ['msg-server-1', 'msg-server-2', 'push-server', 'login-server']) expect(env(s).TT_CONTENT_KEY).toBe('${TT_CONTENT_KEY:-${PUSH_CONTENT_KEY:-}}');
  for (const s of ['db-proxy', 'route-server', 'file-server']) expect(env(s).TT_CONTENT_KEY).toBeUndefined();
});

test('file_server keeps its files on a volume, publishes what it advertises, and login_server hands out its image store', () => {
  const e = env('file-server');
  expect(services['file-server'].profiles).toBeUndefined();
  expect(services['file-server'].volumes).toEqual(['file-data:/data']);
  expect(e.FILE_SERVER_DATA_DIR.startsWith('/data/')).toBe(true);
  expect(services['file-server'].ports).toEqual([`${e.FILE_SERVER_PORT}:${e.FILE_SERVER_PORT}`, `${e.FILE_SERVER_HTTP_PORT}:${e.FILE_SERVER_HTTP_PORT}`]);
  expect(e.FILE_SERVER_ADVERTISE_IP).toBe('${TT_PUBLIC_HOST:-file-server}');
  expect(e.FILE_SERVER_RPC_ADVERTISE).toBe(`file-server:${e.FILE_SERVER_RPC_PORT}`);
  expect(env('login-server').LOGIN_MSFS_URL).toBe(e.FILE_SERVER_HTTP_PUBLIC_URL);
});

test('the README documents the compose integration command', () => {
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  expect(readme).toContain('docker compose -f deploy/docker-compose.yml run --rm integration');
  expect(readme).toMatch(/^## Deploy$/m);
  // The compose paragraph names every role the compose file runs.
  const section = readme.slice(readme.indexOf('### docker compose'), readme.indexOf('```', readme.indexOf('### docker compose')));
  const roles = new Set(Object.values(services).filter((s) => s.build && !s.profiles).map((s) => s.command[0] as string));
  expect(roles.size).toBeGreaterThanOrEqual(6);
  for (const role of roles) expect({ role, named: section.includes(role) }).toEqual({ role, named: true });
});
