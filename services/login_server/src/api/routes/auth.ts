import type { FastifyInstance } from 'fastify';
import { retryAfterSeconds } from '@tt/auth';
import type { ApiContext } from '../context';
import { ApiError } from '../errors';
import { issueOperatorToken } from '../operator-token';
import { nameSchema, operatorSchema, passwordSchema, roleSchema, withErrors } from '../schemas';

export function authRoutes(api: FastifyInstance, ctx: ApiContext): void {
  api.post('/auth/login', {
    config: { access: 'public' },
    schema: {
      operationId: 'login',
      tags: ['auth'],
      summary: 'Log in as an operator: a short-lived token for `Authorization: Bearer`',
      security: [],
      body: { type: 'object', required: ['name', 'password'], additionalProperties: false, properties: { name: nameSchema, password: passwordSchema } },
      response: withErrors({
        200: { type: 'object', required: ['token', 'expiresAt', 'operator'], properties: { token: { type: 'string' }, expiresAt: { type: 'integer', description: 'Unix seconds.' }, operator: operatorSchema } },
      }),
    },
  }, async (req) => {
    const { name, password } = req.body as { name: string; password: string };
    if (!ctx.operatorKey) throw new ApiError(503, 'not_configured', 'operator log-in is not configured (AUTH_JWT_SECRET)');
    // The same back-off as chat log-ins: a throttled attempt is refused before the password is checked.
    // req.ip is undefined once the client has gone (a pipelined request read after its socket closed).
    const attempt = await ctx.loginThrottle.check({ account: name, address: req.ip ?? '' });
    const wait = attempt.wait ?? (await attempt.count());
    if (wait) {
      const seconds = retryAfterSeconds(wait.waitMs);
      throw new ApiError(429, 'too_many_failed_logins', `too many failed log-ins, retry in ${seconds} s`, undefined, { 'retry-after': String(seconds) });
    }
    let operator;
    try {
      operator = await ctx.store.checkOperatorPassword(name, password);
    } catch (err) {
      await attempt.abandoned();
      throw err;
    }
    if (!operator) {
      await attempt.failed();
      throw new ApiError(401, 'invalid_credentials', 'wrong name or password');
    }
    await attempt.succeeded();
    const issued = await issueOperatorToken({ operatorId: operator.id, name: operator.name, role: operator.role }, ctx.operatorKey, ctx.tokenTtlSeconds, ctx.now);
    return { token: issued.token, expiresAt: issued.expiresAt, operator };
  });

  api.get('/auth/me', {
    schema: {
      operationId: 'whoAmI',
      tags: ['auth'],
      summary: 'Who the token or API key belongs to',
      response: withErrors({ 200: { type: 'object', required: ['actor', 'name', 'role'], properties: { actor: { type: 'string' }, name: { type: 'string' }, role: roleSchema } } }),
    },
  }, async (req) => req.principal!);
}
