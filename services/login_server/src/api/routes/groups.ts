import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context';
import { ApiError } from '../errors';
import { cursorQuery, groupSchema, idParam, limitQuery, noContent, pageOf, withErrors } from '../schemas';

const userId = { type: 'integer', minimum: 1 } as const;
const memberIds = { type: 'array', items: userId, minItems: 1, maxItems: 1000, uniqueItems: true } as const;
const groupFields = {
  name: { type: 'string', minLength: 1, maxLength: 64 },
  avatar: { type: 'string', maxLength: 512 },
  description: { type: 'string', maxLength: 1024 },
  memberLimit: { type: 'integer', minimum: 2, maximum: 100_000 },
} as const;

/** Groups, changed as the system (no owner permission needed) through AdminCluster.groupAction, so members are told. */
export function groupRoutes(api: FastifyInstance, ctx: ApiContext): void {
  api.get('/groups', {
    schema: {
      operationId: 'listGroups',
      tags: ['groups'],
      summary: 'List groups, with search and paging',
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: { search: { type: 'string', maxLength: 64 }, userId: { ...userId, description: 'Only groups this user is a member of.' }, cursor: cursorQuery, limit: limitQuery },
      },
      response: withErrors({ 200: pageOf(groupSchema) }),
    },
  }, async (req) => ctx.store.listGroups(req.query as { search?: string; userId?: number; cursor?: string; limit: number }));

  api.get('/groups/:id', {
    schema: {
      operationId: 'getGroup',
      tags: ['groups'],
      summary: 'One group with its members',
      params: idParam,
      response: withErrors({ 200: { type: 'object', required: ['group', 'memberIds'], properties: { group: groupSchema, memberIds: { type: 'array', items: { type: 'integer' } } } } }, 404),
    },
  }, async (req) => {
    const { id } = req.params as { id: number };
    const found = await ctx.store.getGroup(id);
    if (!found) throw new ApiError(404, 'not_found', `no group ${id}`);
    return found;
  });

  api.post('/groups', {
    schema: {
      operationId: 'createGroup',
      tags: ['groups'],
      summary: 'Create a group with an owner and members',
      body: { type: 'object', required: ['name', 'ownerId'], additionalProperties: false, properties: { ...groupFields, ownerId: userId, memberIds: { ...memberIds, minItems: 0 } } },
      response: withErrors({ 201: groupSchema }, 404, 422),
    },
  }, async (req, reply) => {
    const body = req.body as { name: string; ownerId: number; memberIds?: number[]; avatar?: string; description?: string; memberLimit?: number };
    const group = await ctx.cluster.groupAction({ action: 'create', ...body });
    await ctx.audit(req, 'group.create', `group:${group.id}`, body);
    return reply.code(201).send(group);
  });

  api.patch('/groups/:id', {
    schema: {
      operationId: 'updateGroup',
      tags: ['groups'],
      summary: "Change a group's name, avatar, description or member limit",
      params: idParam,
      body: { type: 'object', additionalProperties: false, minProperties: 1, properties: groupFields },
      response: withErrors({ 200: groupSchema }, 404, 422),
    },
  }, async (req) => {
    const { id } = req.params as { id: number };
    const body = req.body as { name?: string; avatar?: string; description?: string; memberLimit?: number };
    const group = await ctx.cluster.groupAction({ action: 'update', groupId: id, ...body });
    await ctx.audit(req, 'group.update', `group:${id}`, body);
    return group;
  });

  api.post('/groups/:id/members', {
    schema: {
      operationId: 'addGroupMembers',
      tags: ['groups'],
      summary: 'Add members to a group',
      params: idParam,
      body: { type: 'object', required: ['memberIds'], additionalProperties: false, properties: { memberIds } },
      response: withErrors({ 200: groupSchema }, 404, 422),
    },
  }, async (req) => {
    const { id } = req.params as { id: number };
    const ids = (req.body as { memberIds: number[] }).memberIds;
    const group = await ctx.cluster.groupAction({ action: 'add', groupId: id, memberIds: ids });
    await ctx.audit(req, 'group.add', `group:${id}`, { memberIds: ids });
    return group;
  });

  api.delete('/groups/:id/members', {
    // A DELETE usually has no body: validate an empty one, so the query form passes.
    preValidation: async (req) => {
      if (req.body === undefined) req.body = {};
    },
    schema: {
      operationId: 'removeGroupMembers',
      tags: ['groups'],
      summary: 'Remove members from a group: `{ "memberIds": [...] }` as the body, or `?memberIds=1&memberIds=2`',
      params: idParam,
      querystring: { type: 'object', additionalProperties: false, properties: { memberIds } },
      body: { type: 'object', additionalProperties: false, properties: { memberIds } },
      response: withErrors({ 200: groupSchema }, 404, 422),
    },
  }, async (req) => {
    const { id } = req.params as { id: number };
    const ids = (req.body as { memberIds?: number[] } | undefined)?.memberIds ?? (req.query as { memberIds?: number[] }).memberIds;
    if (!ids) throw new ApiError(400, 'missing_field', 'memberIds is required (in the body or the query)', 'body.memberIds');
    const group = await ctx.cluster.groupAction({ action: 'remove', groupId: id, memberIds: ids });
    await ctx.audit(req, 'group.remove', `group:${id}`, { memberIds: ids });
    return group;
  });

  api.post('/groups/:id/transfer', {
    schema: {
      operationId: 'transferGroup',
      tags: ['groups'],
      summary: 'Make another member the owner',
      params: idParam,
      body: { type: 'object', required: ['ownerId'], additionalProperties: false, properties: { ownerId: userId } },
      response: withErrors({ 200: groupSchema }, 404, 422),
    },
  }, async (req) => {
    const { id } = req.params as { id: number };
    const { ownerId } = req.body as { ownerId: number };
    const group = await ctx.cluster.groupAction({ action: 'transfer', groupId: id, ownerId });
    await ctx.audit(req, 'group.transfer', `group:${id}`, { ownerId });
    return group;
  });

  api.delete('/groups/:id', {
    schema: { operationId: 'dismissGroup', tags: ['groups'], summary: 'Dismiss a group', params: idParam, response: withErrors({ 204: noContent }, 404) },
  }, async (req, reply) => {
    const { id } = req.params as { id: number };
    await ctx.cluster.groupAction({ action: 'dismiss', groupId: id });
    await ctx.audit(req, 'group.dismiss', `group:${id}`);
    return reply.code(204).send();
  });
}
