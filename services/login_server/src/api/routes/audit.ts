import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context';
import { auditEntrySchema, cursorQuery, limitQuery, pageOf, withErrors } from '../schemas';

export function auditRoutes(api: FastifyInstance, ctx: ApiContext): void {
  api.get('/audit', {
    schema: {
      operationId: 'listAudit',
      tags: ['audit'],
      summary: 'The audit log, newest first, paged',
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: { actor: { type: 'string', maxLength: 128 }, action: { type: 'string', maxLength: 64 }, cursor: cursorQuery, limit: limitQuery },
      },
      response: withErrors({ 200: pageOf(auditEntrySchema) }),
    },
  }, async (req) => ctx.store.listAudit(req.query as { actor?: string; action?: string; cursor?: string; limit: number }));
}
