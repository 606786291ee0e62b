import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context';
import { ApiError } from '../errors';
import { listOf, msgServerSchema, noContent, withErrors } from '../schemas';

export function clusterRoutes(api: FastifyInstance, ctx: ApiContext): void {
  api.get('/cluster/msg-servers', {
    schema: { operationId: 'listMsgServers', tags: ['cluster'], summary: 'The live msg_servers with their connection counts', response: withErrors({ 200: listOf(msgServerSchema) }) },
  }, async () => ({ items: await ctx.cluster.msgServers() }));

  api.get('/cluster/stats', {
    schema: {
      operationId: 'getClusterStats',
      tags: ['cluster'],
      summary: 'Live counters: online users, messages per second, connections per msg_server',
      response: withErrors({
        200: {
          type: 'object',
          required: ['onlineUsers', 'messagesPerSecond', 'msgServers'],
          properties: {
            onlineUsers: { type: 'integer' },
            messagesPerSecond: { type: 'number', description: 'Messages stored per second, averaged over the last 10 s.' },
            msgServers: { type: 'array', items: { type: 'object', required: ['id', 'connections'], properties: { id: { type: 'string' }, connections: { type: 'integer' } } } },
          },
        },
      }),
    },
  }, async () => ctx.cluster.stats());

  api.post('/cluster/msg-servers/:id/drain', {
    schema: {
      operationId: 'drainMsgServer',
      tags: ['cluster'],
      summary: 'Ask a msg_server to drain: it takes no new clients and closes its connections gently',
      params: { type: 'object', required: ['id'], additionalProperties: false, properties: { id: { type: 'string', minLength: 1, maxLength: 128 } } },
      response: withErrors({ 204: noContent }, 404),
    },
  }, async (req, reply) => {
    const { id } = req.params as { id: string };
    if (!(await ctx.cluster.msgServers()).some((s) => s.id === id)) throw new ApiError(404, 'not_found', `no live msg_server ${id}`);
    await ctx.cluster.drain(id);
    await ctx.audit(req, 'msgserver.drain', `msgserver:${id}`);
    return reply.code(204).send();
  });
}
