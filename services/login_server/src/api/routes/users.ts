import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context';
import { AdminError, type ChatUserPatch, type NewChatUser } from '../backend';
import { ApiError } from '../errors';
import { rowsFromCsv, rowsFromJson, MAX_IMPORT_ROWS } from '../user-import';
import { chatUserSchema, cursorQuery, deviceSchema, idParam, limitQuery, newUserSchema, noContent, pageOf, passwordSchema, userFields, withErrors } from '../schemas';

export function userRoutes(api: FastifyInstance, ctx: ApiContext): void {
  api.get('/users', {
    schema: {
      operationId: 'listUsers',
      tags: ['users'],
      summary: 'List chat users, with search and paging (items say whether each is online)',
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: { search: { type: 'string', maxLength: 64, description: 'Contained in name, nick, real name, phone or email.' }, departId: { type: 'integer', minimum: 0 }, cursor: cursorQuery, limit: limitQuery },
      },
      response: withErrors({ 200: pageOf(chatUserSchema) }),
    },
  }, async (req) => {
    const page = await ctx.store.listUsers(req.query as { search?: string; departId?: number; cursor?: string; limit: number });
    const devices = page.items.length > 0 ? await ctx.cluster.devicesOf(page.items.map((u) => u.id)) : new Map();
    return { ...page, items: page.items.map((u) => ({ ...u, online: (devices.get(u.id)?.length ?? 0) > 0 })) };
  });

  api.get('/users/:id', {
    schema: { operationId: 'getUser', tags: ['users'], summary: 'One chat user', params: idParam, response: withErrors({ 200: chatUserSchema }, 404) },
  }, async (req) => {
    const { id } = req.params as { id: number };
    const user = await ctx.store.getUser(id);
    if (!user) throw new ApiError(404, 'not_found', `no user ${id}`);
    return user;
  });

  api.post('/users', {
    schema: { operationId: 'createUser', tags: ['users'], summary: 'Create a chat user', body: newUserSchema, response: withErrors({ 201: chatUserSchema }, 409) },
  }, async (req, reply) => {
    const body = req.body as NewChatUser;
    const user = await ctx.store.createUser(body);
    await ctx.audit(req, 'user.create', `user:${user.id}`, body as unknown as Record<string, unknown>);
    return reply.code(201).send(user);
  });

  api.post('/users/import', {
    schema: {
      operationId: 'importUsers',
      tags: ['users'],
      summary: `Create many chat users from a JSON array or CSV (header row: name,password,nick,…), at most ${MAX_IMPORT_ROWS} rows; a report of accepted and rejected rows`,
      body: {
        content: {
          'application/json': { schema: { type: 'array', maxItems: MAX_IMPORT_ROWS, items: { type: 'object' } } },
          'text/csv': { schema: { type: 'string' } },
        },
      },
      response: withErrors({
        200: {
          type: 'object',
          required: ['accepted', 'rejected'],
          properties: {
            accepted: { type: 'array', items: { type: 'object', required: ['row', 'id', 'name'], properties: { row: { type: 'integer' }, id: { type: 'integer' }, name: { type: 'string' } } } },
            rejected: { type: 'array', items: { type: 'object', required: ['row', 'code', 'reason'], properties: { row: { type: 'integer' }, name: { type: 'string' }, code: { type: 'string' }, reason: { type: 'string' } } } },
          },
        },
      }, 413, 415),
    },
  }, async (req) => {
    const rows = typeof req.body === 'string' ? rowsFromCsv(req.body) : rowsFromJson(req.body as unknown[]);
    const accepted: { row: number; id: number; name: string }[] = [];
    const rejected: { row: number; name?: string; code: string; reason: string }[] = [];
    for (const row of rows) {
      if (!row.user) {
        rejected.push({ row: row.row, code: 'invalid_row', reason: row.error ?? 'invalid row' });
        continue;
      }
      try {
        const user = await ctx.store.createUser(row.user);
        accepted.push({ row: row.row, id: user.id, name: user.name });
      } catch (err) {
        if (!(err instanceof AdminError)) throw err;
        rejected.push({ row: row.row, name: row.user.name, code: err.code, reason: err.message });
      }
    }
    if (accepted.length > 0) await ctx.audit(req, 'user.import', `users:${accepted.length}`, { accepted: accepted.map((a) => a.id), rejected: rejected.length });
    return { accepted, rejected };
  });

  api.patch('/users/:id', {
    schema: {
      operationId: 'updateUser',
      tags: ['users'],
      summary: 'Change a chat user; `disabled: true` also closes all their connections at once',
      params: idParam,
      body: { type: 'object', additionalProperties: false, minProperties: 1, properties: { ...userFields, disabled: { type: 'boolean' } } },
      response: withErrors({ 200: chatUserSchema }, 404),
    },
  }, async (req) => {
    const { id } = req.params as { id: number };
    const body = req.body as ChatUserPatch;
    const user = await ctx.store.updateUser(id, body);
    const kicked = body.disabled === true ? await ctx.cluster.kickUser(id) : undefined;
    await ctx.audit(req, body.disabled === true ? 'user.disable' : 'user.update', `user:${id}`, { ...body, ...(kicked !== undefined ? { kicked } : {}) });
    return user;
  });

  api.post('/users/:id/password', {
    schema: {
      operationId: 'resetUserPassword',
      tags: ['users'],
      summary: "Set a chat user's password",
      params: idParam,
      body: { type: 'object', required: ['password'], additionalProperties: false, properties: { password: passwordSchema } },
      response: withErrors({ 204: noContent }, 404),
    },
  }, async (req, reply) => {
    const { id } = req.params as { id: number };
    await ctx.store.updateUser(id, { password: (req.body as { password: string }).password });
    await ctx.audit(req, 'user.password', `user:${id}`);
    return reply.code(204).send();
  });

  api.post('/users/:id/kick', {
    schema: {
      operationId: 'kickUser',
      tags: ['users'],
      summary: 'Close every connection of a chat user, on every msg_server',
      params: idParam,
      response: withErrors({ 200: { type: 'object', required: ['closed'], properties: { closed: { type: 'integer', description: 'Connections closed.' } } } }, 404),
    },
  }, async (req) => {
    const { id } = req.params as { id: number };
    if (!(await ctx.store.getUser(id))) throw new ApiError(404, 'not_found', `no user ${id}`);
    const closed = await ctx.cluster.kickUser(id);
    await ctx.audit(req, 'user.kick', `user:${id}`, { closed });
    return { closed };
  });

  api.get('/users/:id/devices', {
    schema: {
      operationId: 'getUserDevices',
      tags: ['users'],
      summary: "A chat user's connections across all msg_servers",
      params: idParam,
      response: withErrors({ 200: { type: 'object', required: ['userId', 'online', 'devices'], properties: { userId: { type: 'integer' }, online: { type: 'boolean' }, devices: { type: 'array', items: deviceSchema } } } }, 404),
    },
  }, async (req) => {
    const { id } = req.params as { id: number };
    if (!(await ctx.store.getUser(id))) throw new ApiError(404, 'not_found', `no user ${id}`);
    const devices = (await ctx.cluster.devicesOf([id])).get(id) ?? [];
    return { userId: id, online: devices.length > 0, devices };
  });
}
