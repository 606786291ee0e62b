import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context';
import { departmentSchema, idParam, listOf, noContent, withErrors } from '../schemas';

const departmentFields = {
  name: { type: 'string', minLength: 1, maxLength: 64 },
  parentId: { type: 'integer', minimum: 0, description: '0: top level.' },
  priority: { type: 'integer', minimum: 0, maximum: 1_000_000 },
} as const;

export function departmentRoutes(api: FastifyInstance, ctx: ApiContext): void {
  api.get('/departments', {
    schema: { operationId: 'listDepartments', tags: ['departments'], summary: 'List departments', response: withErrors({ 200: listOf(departmentSchema) }) },
  }, async () => ({ items: await ctx.store.listDepartments() }));

  api.post('/departments', {
    schema: {
      operationId: 'createDepartment',
      tags: ['departments'],
      summary: 'Create a department',
      body: { type: 'object', required: ['name'], additionalProperties: false, properties: departmentFields },
      response: withErrors({ 201: departmentSchema }, 404, 409),
    },
  }, async (req, reply) => {
    const body = req.body as { name: string; parentId?: number; priority?: number };
    const department = await ctx.store.createDepartment(body);
    await ctx.audit(req, 'department.create', `department:${department.id}`, body);
    return reply.code(201).send(department);
  });

  api.patch('/departments/:id', {
    schema: {
      operationId: 'updateDepartment',
      tags: ['departments'],
      summary: 'Change a department',
      params: idParam,
      body: { type: 'object', additionalProperties: false, minProperties: 1, properties: departmentFields },
      response: withErrors({ 200: departmentSchema }, 404, 409),
    },
  }, async (req) => {
    const { id } = req.params as { id: number };
    const body = req.body as { name?: string; parentId?: number; priority?: number };
    const department = await ctx.store.updateDepartment(id, body);
    await ctx.audit(req, 'department.update', `department:${id}`, body);
    return department;
  });

  api.delete('/departments/:id', {
    schema: {
      operationId: 'deleteDepartment',
      tags: ['departments'],
      summary: 'Delete a department (refused with 409 while it has users or sub-departments)',
      params: idParam,
      response: withErrors({ 204: noContent }, 404, 409),
    },
  }, async (req, reply) => {
    const { id } = req.params as { id: number };
    await ctx.store.deleteDepartment(id);
    await ctx.audit(req, 'department.delete', `department:${id}`);
    return reply.code(204).send();
  });
}
