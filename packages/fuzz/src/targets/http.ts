// HTTP ports as raw bytes: requests are written pipelined on a keep-alive
// connection, so the server's HTTP parser sees mutated request lines,
// headers and Content-Length lies as well as the handlers' JSON bodies.
import type { Endpoint } from '../conn';
import type { Sample } from '../mutate';
import type { Rng } from '../rng';
import type { ApiRoute, JsonSchema, Target, TargetContext } from './target';

interface Request {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
}

function httpSample(req: Request): Sample {
  const head = (length: number) => {
    let h = `${req.method} ${req.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`;
    for (const [k, v] of Object.entries(req.headers ?? {})) h += `${k}: ${v}\r\n`;
    return Buffer.from(`${h}Content-Length: ${length}\r\n\r\n`, 'latin1');
  };
  const body = req.body ?? Buffer.alloc(0);
  return { body, headerBytes: head(body.length).length, wrap: (b, delta = 0) => Buffer.concat([head(b.length + delta), b]) };
}

/** The first complete HTTP response's status line in a received stream. */
function statusOf(buf: Buffer): number | undefined {
  const text = buf.toString('latin1', 0, Math.min(buf.length, 64));
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  if (!m) {
    if (buf.length >= 12) throw new Error(`not an HTTP response: ${JSON.stringify(text)}`);
    return undefined;
  }
  return Number(m[1]);
}

async function probeGet(conn: Parameters<Target['probe']>[0], path: string, accept: (status: number) => boolean): Promise<void> {
  const status = conn.expect(statusOf);
  await conn.send([httpSample({ method: 'GET', path }).wrap(Buffer.alloc(0))]);
  const s = await status;
  if (!accept(s)) throw new Error(`GET ${path}: HTTP ${s}`);
}

/** Any JSON value, nested a little. */
export function randomJson(rng: Rng, depth = 0): unknown {
  switch (rng.int(0, depth >= 3 ? 4 : 6)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.integer(53, true);
    case 3:
    case 4:
      return rng.string();
    case 5:
      return Array.from({ length: rng.int(0, 4) }, () => randomJson(rng, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(0, 4); i > 0; i--) o[rng.string(12)] = randomJson(rng, depth + 1);
      return o;
    }
  }
}

function jsonBody(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };

// ---------------------------------------------------------------- login_server

const PROTOCOLS = ['ws', 'tcp12', 'msync', 'omtp', 'teamtalk', 'tcp', ''];

export function loginHttpTarget(endpoint: Endpoint): Target {
  const routes = ['GET /msg_server', 'OPTIONS /msg_server', 'POST /auth/token', 'OPTIONS /auth/token', 'POST /{org}/{app}/token', 'GET /{org}/{app}/users/{user}/contacts/users', 'GET /chat/', 'GET /console/', 'GET /api/v1/openapi.json', 'any'];
  return {
    name: 'login-http',
    transport: 'tcp',
    role: 'login_server',
    endpoint,
    hasSession: true,
    messageTypes: routes,
    sample(rng, ctx, loggedIn) {
      const user = ctx.users.length && rng.chance(0.5) ? rng.pick(ctx.users) : undefined;
      const name = user?.name ?? rng.string(24);
      const password = user && rng.chance(0.5) ? user.password : rng.string(24);
      const auth: Record<string, string> = loggedIn && ctx.chatToken ? { Authorization: `Bearer ${rng.chance(0.9) ? ctx.chatToken : rng.string(80)}` } : {};
      switch (rng.below(routes.length)) {
        case 0:
          return httpSample({ method: 'GET', path: `/msg_server${rng.chance(0.7) ? `?protocol=${encodeURIComponent(rng.chance(0.8) ? rng.pick(PROTOCOLS) : rng.string(16))}` : ''}`, headers: rng.chance(0.3) ? { Origin: 'http://127.0.0.1' } : {} });
        case 1:
          return httpSample({ method: 'OPTIONS', path: '/msg_server', headers: { Origin: 'http://127.0.0.1' } });
        case 2:
          return httpSample({ method: 'POST', path: '/auth/token', headers: JSON_HEADERS, body: jsonBody(rng.chance(0.8) ? { user_id: name, password } : randomJson(rng)) });
        case 3:
          return httpSample({ method: 'OPTIONS', path: '/auth/token', headers: { Origin: 'http://127.0.0.1' } });
        case 4:
          return httpSample({ method: 'POST', path: `/${rng.chance(0.8) ? 'ttorg' : encodeURIComponent(rng.string(16))}/${rng.chance(0.8) ? 'ttapp' : 'x'}/token`, headers: JSON_HEADERS, body: jsonBody(rng.chance(0.8) ? { grant_type: rng.chance(0.9) ? 'password' : rng.string(12), username: name, password } : randomJson(rng)) });
        case 5:
          return httpSample({ method: 'GET', path: `/ttorg/ttapp/users/${encodeURIComponent(name)}/contacts/users`, headers: auth });
        case 6:
          return httpSample({ method: rng.pick(['GET', 'HEAD']), path: `/chat/${rng.pick(['', 'app.js', 'index.html', '../package.json', '%2e%2e/%2e%2e/etc/passwd', encodeURIComponent(rng.string(20))])}` });
        case 7:
          return httpSample({ method: rng.pick(['GET', 'HEAD']), path: `/console/${rng.pick(['', 'app.js', '..%2f..%2fpackage.json', encodeURIComponent(rng.string(20))])}` });
        case 8:
          return httpSample({ method: 'GET', path: '/api/v1/openapi.json' });
        default:
          return httpSample({ method: rng.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'TRACE', 'CONNECT', 'FOO']), path: `/${encodeURIComponent(rng.string(40))}`, headers: { ...auth, ...JSON_HEADERS }, body: jsonBody(randomJson(rng)) });
      }
    },
    probe: (conn) => probeGet(conn, '/msg_server', (s) => s === 200),
  };
}

// ---------------------------------------------------------------- operator API

/** Mutations the fuzzer never sends with an admin token: they would stop the run (drain), or make the server call out (webhooks), or lock it out. */
const ADMIN_NEVER = /\/(cluster|operators|api-keys|webhooks)(\/|$)|\/password$|\/kick$/;

/** Ids that name nothing the run depends on (the fuzzer's users and operators have small ids). */
function safeId(rng: Rng): number | string {
  return rng.chance(0.8) ? rng.int(1_000_000, 2 ** 31 - 1) : rng.pick([0, -1, 'abc', '1.5', '9'.repeat(40), '%00']);
}

function resolveRef(schema: JsonSchema, components: Record<string, JsonSchema>): JsonSchema {
  if (schema.$ref) return components[schema.$ref.split('/').pop() ?? ''] ?? {};
  return schema;
}

/** A value that (mostly) fits the JSON schema: the shape a handler expects, with random contents. */
export function fromSchema(raw: JsonSchema | undefined, rng: Rng, components: Record<string, JsonSchema>, safeIds: boolean, depth = 0): unknown {
  if (!raw || depth > 4 || rng.chance(0.03)) return randomJson(rng, 2);
  const schema = resolveRef(raw, components);
  const alts = schema.anyOf ?? schema.oneOf;
  if (alts?.length) return fromSchema(rng.pick(alts), rng, components, safeIds, depth + 1);
  if (schema.enum?.length) return rng.pick(schema.enum);
  const type = Array.isArray(schema.type) ? rng.pick(schema.type) : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(schema.properties ?? {})) if (schema.required?.includes(k) || rng.chance(0.6)) out[k] = fromSchema(v, rng, components, safeIds, depth + 1);
      return out;
    }
    case 'array':
      return Array.from({ length: rng.int(0, 4) }, () => fromSchema(schema.items, rng, components, safeIds, depth + 1));
    case 'integer':
    case 'number': {
      if (safeIds) return safeId(rng);
      const lo = schema.minimum ?? -(2 ** 31);
      const hi = schema.maximum ?? 2 ** 31 - 1;
      return rng.chance(0.8) ? Math.max(lo, Math.min(hi, rng.integer(32, true))) : rng.integer(53, true);
    }
    case 'boolean':
      return rng.chance(0.5);
    case 'string':
      return rng.string(Math.min(schema.maxLength ?? 64, 256));
    case 'null':
      return null;
    default:
      return randomJson(rng, 2);
  }
}

/** The routes of the operator API's OpenAPI document (GET /api/v1/openapi.json). */
export function routesOf(doc: { paths?: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>>; components?: { schemas?: Record<string, JsonSchema> } }): ApiRoute[] {
  const routes: ApiRoute[] = [];
  for (const [path, ops] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(ops)) {
      if (!['get', 'post', 'patch', 'put', 'delete'].includes(method)) continue;
      routes.push({ method: method.toUpperCase(), path, body: op.requestBody?.content?.['application/json']?.schema });
    }
  }
  return routes;
}

export function adminApiTarget(endpoint: Endpoint, components: () => Record<string, JsonSchema> = () => ({})): Target {
  return {
    name: 'admin-api',
    transport: 'tcp',
    role: 'login_server',
    endpoint,
    hasSession: true,
    messageTypes: ['(every route of /api/v1/openapi.json)'],
    sample(rng, ctx: TargetContext, loggedIn) {
      const routes = ctx.apiRoutes;
      const route = routes.length && rng.chance(0.95) ? rng.pick(routes) : { method: rng.pick(['GET', 'POST', 'PATCH', 'DELETE', 'PUT']), path: `/api/v1/${encodeURIComponent(rng.string(24))}` };
      // Logged in: a viewer for anything (mutations end at 403), an admin for reads and the mutations that cannot stop the run.
      let token: string | undefined;
      let safeIds = false;
      if (loggedIn) {
        const adminMay = route.method === 'GET' || !ADMIN_NEVER.test(route.path);
        if (ctx.adminToken && adminMay && rng.chance(0.6)) {
          token = ctx.adminToken;
          safeIds = route.method !== 'GET';
        } else token = ctx.viewerToken;
      }
      const path = route.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(String(safeIds || rng.chance(0.7) ? safeId(rng) : rng.string(16))));
      const query = route.method === 'GET' && rng.chance(0.3) ? `?${rng.pick(['limit', 'offset', 'q', 'cursor', 'since', 'user', 'group'])}=${encodeURIComponent(rng.string(12))}` : '';
      const headers: Record<string, string> = { ...JSON_HEADERS };
      if (token) headers.Authorization = `Bearer ${token}`;
      else if (rng.chance(0.2)) headers.Authorization = rng.pick(['Bearer ', 'Bearer abc.def.ghi', `Basic ${Buffer.from('root:x').toString('base64')}`, `Bearer ttk_${rng.string(32)}`]);
      const hasBody = route.method !== 'GET' && route.method !== 'DELETE';
      const body = hasBody ? jsonBody(route.body ? fromSchema(route.body, rng, components(), safeIds) : randomJson(rng)) : undefined;
      // Unauthenticated: the login route with user names that exist and ones that do not.
      if (!loggedIn && rng.chance(0.2)) return httpSample({ method: 'POST', path: '/api/v1/auth/login', headers: JSON_HEADERS, body: jsonBody({ name: rng.pick(['root', 'viewer', rng.string(12)]), password: rng.string(24) }) });
      return httpSample({ method: route.method, path: `${path}${query}`, headers, body });
    },
    probe: (conn) => probeGet(conn, '/api/v1/openapi.json', (s) => s === 200),
  };
}

// ---------------------------------------------------------------- file_server's image store

export function fileHttpTarget(endpoint: Endpoint): Target {
  return {
    name: 'file-http',
    transport: 'tcp',
    role: 'file_server',
    endpoint,
    hasSession: false,
    messageTypes: ['GET /{path}', 'HEAD /{path}', 'POST multipart upload'],
    sample(rng) {
      const method = rng.pick(['GET', 'HEAD', 'POST', 'POST', 'PUT', 'DELETE']);
      if (method !== 'POST') {
        const path = rng.pick([`/g0/${rng.int(0, 999)}/${rng.int(0, 999)}/${rng.int(0, 1e9)}.png`, '/', '/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/%E0%A4%A', '/%zz.png', '//[', `/${encodeURIComponent(rng.string(60))}`]);
        return httpSample({ method, path, headers: rng.chance(0.2) ? { Range: `bytes=${rng.int(-5, 100)}-${rng.int(-5, 100)}` } : {} });
      }
      // A multipart upload: a well-formed one with a small image-ish file, or one with a broken structure.
      const boundary = `fuzz${rng.int(0, 1e9)}`;
      const file = rng.bytes(rng.size(2048));
      const parts = [
        `--${boundary}\r\nContent-Disposition: form-data; name="${rng.chance(0.8) ? 'file' : rng.string(8)}"; filename="${rng.chance(0.8) ? 'a.png' : rng.string(20)}"\r\nContent-Type: ${rng.pick(['image/png', 'application/octet-stream', rng.string(20)])}\r\n\r\n`,
        file,
        rng.chance(0.8) ? `\r\n--${boundary}--\r\n` : `\r\n--${rng.string(10)}`,
      ];
      const body = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
      return httpSample({ method: 'POST', path: rng.chance(0.8) ? '/' : `/${encodeURIComponent(rng.string(20))}`, headers: { 'Content-Type': rng.chance(0.9) ? `multipart/form-data; boundary=${boundary}` : rng.string(30) }, body });
    },
    probe: (conn) => probeGet(conn, '/no-such-image.png', (s) => s === 404 || s === 400),
  };
}
