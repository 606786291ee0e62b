// The operator HTTP API (/api/v1): a Fastify instance that never listens on
// its own; login_server's http server hands it every request under /api/
// (http-api.ts). Fastify because it validates requests and serialises answers
// from the same JSON schemas that @fastify/swagger turns into the OpenAPI 3.1
// document, so the document and the checks cannot drift apart.
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import rateLimit from '@fastify/rate-limit';
import cors from '@fastify/cors';
import Ajv, { type ErrorObject } from 'ajv';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from '@tt/observability';
import { AdminError, type AdminCluster, type AdminStore, type Operator } from './backend';
import { ApiError, FASTIFY_ERROR_CODES, errorBody } from './errors';
import { deriveOperatorKey, verifyOperatorToken } from './operator-token';
import { withoutSecrets, type Access, type ApiContext, type Principal } from './context';
import type { LoginThrottle } from '@tt/auth';
import { operatorLoginThrottle } from '../throttle';
import { authRoutes } from './routes/auth';
import { operatorRoutes } from './routes/operators';
import { userRoutes } from './routes/users';
import { departmentRoutes } from './routes/departments';
import { groupRoutes } from './routes/groups';
import { messageRoutes } from './routes/messages';
import { clusterRoutes } from './routes/cluster';
import { auditRoutes } from './routes/audit';
import { webhookRoutes } from './routes/webhooks';

export const API_PREFIX = '/api/v1';
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export interface AdminApiOptions {
  store: AdminStore;
  cluster: AdminCluster;
  /** AUTH_JWT_SECRET; the operator token key is derived from it. Empty: log-in answers 503. */
  jwtSecret: string;
  /** ADMIN_API_TOKEN_TTL_S. */
  tokenTtlSeconds: number;
  /** ADMIN_API_RATE_LIMIT: requests per minute per client address; 0 = no limit. */
  rateLimitPerMinute: number;
  /** ADMIN_API_CORS_ORIGINS; empty = no CORS headers at all. */
  corsOrigins: string[];
  /** Largest request body; default 1 MiB (larger: 413). */
  bodyLimitBytes?: number;
  /** login_server's registry: tt_admin_api_requests_total, tt_admin_api_request_seconds. */
  metricsRegistry?: Registry;
  log?: Logger;
  /** Back-off after failed log-ins per name and per client address; default: LOGIN_THROTTLE_*'s defaults. */
  loginThrottle?: LoginThrottle;
  /** How long an operator's role and enabled flag are trusted before being read again; default 5 s. */
  operatorCacheMs?: number;
  now?: () => number;
}

/** ajv that never removes or coerces (bodies), and one that coerces (query strings, path parameters: always text). */
function validatorCompilers() {
  const common = { removeAdditional: false, useDefaults: true, allErrors: false, strict: true, strictTypes: false } as const;
  const strict = new Ajv({ ...common, coerceTypes: false });
  const coercing = new Ajv({ ...common, coerceTypes: 'array' });
  for (const ajv of [strict, coercing]) ajv.addKeyword({ keyword: 'example' });
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) =>
    (httpPart === 'querystring' || httpPart === 'params' ? coercing : strict).compile(schema);
}

/** "body.to.userId" from ajv's first error, and a sentence about it. */
function describeValidation(context: string, e: ErrorObject): { code: string; field: string; message: string } {
  const base = [context === 'querystring' ? 'query' : context, ...e.instancePath.split('/').filter(Boolean)].join('.');
  if (e.keyword === 'additionalProperties') {
    const field = `${base}.${(e.params as { additionalProperty: string }).additionalProperty}`;
    return { code: 'unknown_field', field, message: `unknown field ${field}` };
  }
  if (e.keyword === 'required') {
    const field = `${base}.${(e.params as { missingProperty: string }).missingProperty}`;
    return { code: 'missing_field', field, message: `${field} is required` };
  }
  return { code: 'invalid_field', field: base, message: `${base} ${e.message ?? 'is invalid'}` };
}

function metricOf<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

/** The JWT shape (three base64url parts); anything else in `Authorization: Bearer` is taken for an API key. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export async function buildAdminApi(opts: AdminApiOptions): Promise<FastifyInstance> {
  const now = opts.now ?? Date.now;
  const operatorKey = opts.jwtSecret ? deriveOperatorKey(opts.jwtSecret) : null;
  const app = Fastify({
    logger: false,
    bodyLimit: opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT,
    exposeHeadRoutes: false,
    // Behind an ingress the client address is the proxy's; forwarded headers are not trusted (they could be forged).
    trustProxy: false,
    // A message id names two account names (up to 64 characters each, percent-encoded in the path).
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1024 },
  });
  app.setValidatorCompiler(validatorCompilers());
  app.decorateRequest('principal', null);

  const ctx: ApiContext = {
    store: opts.store,
    cluster: opts.cluster,
    log: opts.log,
    operatorKey,
    tokenTtlSeconds: opts.tokenTtlSeconds,
    loginThrottle: opts.loginThrottle ?? operatorLoginThrottle(undefined, { log: opts.log, registry: opts.metricsRegistry }),
    now,
    audit: async (req, action, target, detail = {}) => {
      const actor = req.principal?.actor ?? 'anonymous';
      try {
        await opts.store.appendAudit({ actor, action, target, detail: JSON.stringify(withoutSecrets(detail)) });
      } catch (err) {
        // The change itself is done: tell the caller it worked, and make the missing record loud.
        opts.log?.error({ err, actor, action, target }, 'admin API: the audit entry could not be written');
      }
    },
  };

  // Metrics.
  if (opts.metricsRegistry) {
    const registers = [opts.metricsRegistry];
    const requests = metricOf(opts.metricsRegistry, 'tt_admin_api_requests_total', () =>
      new Counter({ name: 'tt_admin_api_requests_total', help: 'Operator API (/api/v1) answers by route, method and status', labelNames: ['route', 'method', 'status'] as const, registers }));
    const seconds = metricOf(opts.metricsRegistry, 'tt_admin_api_request_seconds', () =>
      new Histogram({ name: 'tt_admin_api_request_seconds', help: 'Operator API (/api/v1) request durations', labelNames: ['route', 'method'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers }));
    app.addHook('onResponse', async (req, reply) => {
      const route = req.routeOptions.url ?? 'unmatched';
      requests.inc({ route, method: req.method, status: String(reply.statusCode) });
      seconds.observe({ route, method: req.method }, reply.elapsedTime / 1000);
    });
  }

  // Routes without an explicit access level: GET is for viewers too, every other method for admins.
  app.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}) };
    if (route.config.access === undefined) {
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      route.config.access = methods.every((m) => m === 'GET' || m === 'HEAD') ? 'viewer' : 'admin';
    }
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'TeamTalk-TS operator API',
        version: '1.0.0',
        description: 'Operators and programs manage users, departments, groups, messages and the cluster. Errors: { "error": { "code", "message", "field"? } }.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An operator token (POST /api/v1/auth/login) or an API key (ttk_…).' },
        },
      },
      security: [{ bearer: [] }],
      tags: [
        { name: 'auth' }, { name: 'operators' }, { name: 'api-keys' }, { name: 'audit' }, { name: 'users' },
        { name: 'departments' }, { name: 'groups' }, { name: 'messages' }, { name: 'cluster' }, { name: 'webhooks' }, { name: 'meta' },
      ],
    },
  });
  if (opts.rateLimitPerMinute > 0) {
    await app.register(rateLimit, {
      global: true,
      max: opts.rateLimitPerMinute,
      timeWindow: 60_000,
      keyGenerator: (req) => req.ip,
      errorResponseBuilder: (_req, c) => new ApiError(429, 'rate_limited', `rate limit of ${c.max} requests a minute reached, retry in ${Math.ceil(c.ttl / 1000)} s`),
    });
  }
  if (opts.corsOrigins.length > 0) {
    await app.register(cors, { origin: opts.corsOrigins, methods: ['GET', 'POST', 'PATCH', 'DELETE'], allowedHeaders: ['authorization', 'content-type'], maxAge: 600 });
  }
  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_req, body, done) => done(null, body));

  // Authentication and roles, before the body is read: a stranger's upload is never parsed.
  const operators = operatorDirectory(opts.store, opts.operatorCacheMs ?? 5000, now);
  app.addHook('preParsing', async (req, _reply, payload) => {
    const access: Access | undefined = req.routeOptions.config?.access;
    if (access === undefined || access === 'public') return payload;
    req.principal = await authenticate(req, ctx, operators);
    if (access === 'admin' && req.principal.role !== 'admin') throw new ApiError(403, 'forbidden', `role ${req.principal.role} may only read`);
    return payload;
  });

  app.setErrorHandler((err: FastifyError | ApiError | AdminError, req, reply) => sendError(err, req, reply, opts.log));
  app.setNotFoundHandler((req, reply) => {
    const path = (req.url.split('?')[0] ?? '').replace(/\/+$/, '');
    const allowed = ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'].filter((method) => app.findRoute({ method: method as 'GET', url: path }) !== null);
    if (allowed.length > 0) {
      return reply.code(405).header('allow', allowed.join(', ')).send(errorBody('method_not_allowed', `${req.method} is not allowed here (allowed: ${allowed.join(', ')})`));
    }
    return reply.code(404).send(errorBody('not_found', `no route ${req.method} ${path.slice(0, 200)}`));
  });

  await app.register(
    async (api) => {
      authRoutes(api, ctx);
      operatorRoutes(api, ctx);
      auditRoutes(api, ctx);
      userRoutes(api, ctx);
      departmentRoutes(api, ctx);
      groupRoutes(api, ctx);
      messageRoutes(api, ctx);
      clusterRoutes(api, ctx);
      webhookRoutes(api, ctx);
      api.get('/openapi.json', {
        config: { access: 'public' },
        schema: { operationId: 'getOpenApiDocument', tags: ['meta'], summary: 'This API as an OpenAPI 3.1 document', security: [] },
      }, async () => app.swagger());
    },
    { prefix: API_PREFIX },
  );
  await app.ready();
  return app;
}

function sendError(err: FastifyError | ApiError | AdminError, req: FastifyRequest, reply: FastifyReply, log?: Logger): FastifyReply {
  if (err instanceof ApiError) return reply.code(err.statusCode).headers(err.headers).send(errorBody(err.code, err.message, err.field));
  if (err instanceof AdminError) return reply.code(err.status).send(errorBody(err.code, err.message));
  const fe = err as FastifyError;
  if (fe.validation && fe.validation.length > 0) {
    const d = describeValidation(fe.validationContext ?? 'body', fe.validation[0] as ErrorObject);
    return reply.code(400).send(errorBody(d.code, d.message, d.field));
  }
  const known = fe.code ? FASTIFY_ERROR_CODES[fe.code] : undefined;
  if (known) {
    // A 413 keeps the connection: Node discards the rest of the body (bounded by the server's request
    // timeout) so the client, still sending, reads the answer; closing here would cut it off (EPIPE).
    return reply.code(known.status).send(errorBody(known.code, fe.message));
  }
  const status = fe.statusCode ?? 500;
  if (status >= 400 && status < 500) return reply.code(status).send(errorBody((fe as { code?: string }).code?.toLowerCase() ?? 'bad_request', fe.message));
  log?.error({ err, method: req.method, route: req.routeOptions.url }, 'admin API: request failed');
  return reply.code(500).send(errorBody('internal_error', 'internal error'));
}

/** Operators by id, read again at most every `ttlMs`, so a disabled or demoted operator loses access within that time. */
/**
 * Operators by id, re-read every ttlMs (a disabled or demoted operator loses
 * access within that time), and at once when a token names an id the cache
 * does not know (an operator created meanwhile, perhaps through another
 * login_server): the token's signature was checked first, so only genuine
 * tokens cause that read.
 */
function operatorDirectory(store: AdminStore, ttlMs: number, now: () => number) {
  let cache: { at: number; byId: Map<number, Operator> } | null = null;
  const load = async () => (cache = { at: now(), byId: new Map((await store.listOperators()).map((o) => [o.id, o])) });
  return async (id: number): Promise<Operator | undefined> => {
    if (!cache || now() - cache.at >= ttlMs) await load();
    else if (!cache.byId.has(id)) await load();
    return cache!.byId.get(id);
  };
}

async function authenticate(req: FastifyRequest, ctx: ApiContext, operators: (id: number) => Promise<Operator | undefined>): Promise<Principal> {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new ApiError(401, 'unauthorized', 'missing "Authorization: Bearer <token or API key>"', undefined, { 'www-authenticate': 'Bearer' });
  const credential = match[1]!;
  if (!JWT_SHAPE.test(credential)) {
    const key = credential.length <= 256 ? await ctx.store.checkApiKey(credential) : null;
    if (!key) throw new ApiError(401, 'invalid_api_key', 'unknown or revoked API key', undefined, { 'www-authenticate': 'Bearer error="invalid_token"' });
    return { actor: `key:${key.prefix}`, role: key.role, name: key.name };
  }
  if (!ctx.operatorKey) throw new ApiError(401, 'invalid_token', 'operator tokens are not configured (AUTH_JWT_SECRET)');
  const claims = await verifyOperatorToken(credential, ctx.operatorKey, ctx.now);
  if (claims === 'expired') throw new ApiError(401, 'token_expired', 'the token has expired: log in again', undefined, { 'www-authenticate': 'Bearer error="invalid_token"' });
  if (claims === 'invalid') throw new ApiError(401, 'invalid_token', 'invalid token', undefined, { 'www-authenticate': 'Bearer error="invalid_token"' });
  const operator = await operators(claims.operatorId);
  if (!operator || operator.disabled || operator.name !== claims.name) throw new ApiError(401, 'invalid_token', 'the operator account is disabled or gone');
  return { actor: `operator:${operator.name}`, role: operator.role, name: operator.name };
}
