import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context';
import type { OperatorRole } from '../backend';
import { apiKeySchema, idParam, listOf, nameSchema, operatorSchema, passwordSchema, roleSchema, withErrors } from '../schemas';

/** Operator accounts and API keys: admins only, reading included. */
export function operatorRoutes(api: FastifyInstance, ctx: ApiContext): void {
  const admin = { access: 'admin' as const };

  api.get('/operators', {
    config: admin,
    schema: { operationId: 'listOperators', tags: ['operators'], summary: 'List operator accounts', response: withErrors({ 200: listOf(operatorSchema) }) },
  }, async () => ({ items: await ctx.store.listOperators() }));

  api.post('/operators', {
    config: admin,
    schema: {
      operationId: 'createOperator',
      tags: ['operators'],
      summary: 'Create an operator account',
      body: { type: 'object', required: ['name', 'password', 'role'], additionalProperties: false, properties: { name: nameSchema, password: passwordSchema, role: roleSchema } },
      response: withErrors({ 201: operatorSchema }, 409),
    },
  }, async (req, reply) => {
    const body = req.body as { name: string; password: string; role: OperatorRole };
    const operator = await ctx.store.createOperator(body.name, body.password, body.role);
    await ctx.audit(req, 'operator.create', `operator:${operator.id}`, body);
    return reply.code(201).send(operator);
  });

  api.patch('/operators/:id', {
    config: admin,
    schema: {
      operationId: 'updateOperator',
      tags: ['operators'],
      summary: 'Change an operator: role, password, disabled',
      params: idParam,
      body: { type: 'object', additionalProperties: false, minProperties: 1, properties: { role: roleSchema, password: passwordSchema, disabled: { type: 'boolean' } } },
      response: withErrors({ 200: operatorSchema }, 404),
    },
  }, async (req) => {
    const { id } = req.params as { id: number };
    const body = req.body as { role?: OperatorRole; password?: string; disabled?: boolean };
    const operator = await ctx.store.updateOperator(id, body);
    await ctx.audit(req, 'operator.update', `operator:${id}`, { ...body, ...(body.password ? { passwordChanged: true } : {}) });
    return operator;
  });

  api.get('/api-keys', {
    config: admin,
    schema: { operationId: 'listApiKeys', tags: ['api-keys'], summary: 'List API keys (never the keys themselves)', response: withErrors({ 200: listOf(apiKeySchema) }) },
  }, async () => ({ items: await ctx.store.listApiKeys() }));

  api.post('/api-keys', {
    config: admin,
    schema: {
      operationId: 'createApiKey',
      tags: ['api-keys'],
      summary: 'Create an API key: the key is shown in this answer only',
      body: { type: 'object', required: ['name', 'role'], additionalProperties: false, properties: { name: { type: 'string', minLength: 1, maxLength: 64 }, role: roleSchema } },
      response: withErrors({ 201: { type: 'object', required: ['key', 'info'], properties: { key: { type: 'string', description: 'Shown once; only its hash is kept.' }, info: apiKeySchema } } }),
    },
  }, async (req, reply) => {
    const body = req.body as { name: string; role: OperatorRole };
    const created = await ctx.store.createApiKey(body.name, body.role, req.principal!.actor);
    await ctx.audit(req, 'apikey.create', `apikey:${created.info.id}`, { name: body.name, role: body.role, prefix: created.info.prefix });
    return reply.code(201).send(created);
  });

  api.delete('/api-keys/:id', {
    config: admin,
    schema: { operationId: 'revokeApiKey', tags: ['api-keys'], summary: 'Revoke an API key', params: idParam, response: withErrors({ 200: apiKeySchema }, 404) },
  }, async (req) => {
    const { id } = req.params as { id: number };
    const info = await ctx.store.revokeApiKey(id);
    await ctx.audit(req, 'apikey.revoke', `apikey:${id}`, { prefix: info.prefix });
    return info;
  });
}
