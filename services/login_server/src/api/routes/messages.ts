import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context';
import { ApiError } from '../errors';
import { cursorQuery, limitQuery, messageIdSchema, noContent, pageOf, storedMessageSchema, withErrors } from '../schemas';

const MAX_TEXT = 16 * 1024;
const id = { type: 'integer', minimum: 1 } as const;

/** `si_<a>_<b>` (a single chat) or `sg_<group>`, as in message ids. */
type Conversation = { sessionType: 1; userA: number; userB: number } | { sessionType: 2; groupId: number };

/**
 * A conversation as messages name it (`si_<nameA>_<nameB>`, account names, as
 * in message ids) or by user ids (`si_<idA>_<idB>`), or `sg_<groupId>`.
 * Account names may contain '_': every cut whose two ends are accounts is tried.
 */
async function parseConversation(ctx: ApiContext, text: string): Promise<Conversation> {
  const group = /^sg_(\d+)$/.exec(text);
  if (group) return { sessionType: 2, groupId: Number(group[1]) };
  const byIds = /^si_(\d+)_(\d+)$/.exec(text);
  if (byIds) return { sessionType: 1, userA: Number(byIds[1]), userB: Number(byIds[2]) };
  const pair = text.startsWith('si_') ? text.slice(3) : '';
  for (let at = pair.indexOf('_'); at > 0; at = pair.indexOf('_', at + 1)) {
    const [a, b] = [pair.slice(0, at), pair.slice(at + 1)];
    if (!b) continue;
    const [userA, userB] = await Promise.all([ctx.store.getUser(a), ctx.store.getUser(b)]);
    if (userA && userB) return { sessionType: 1, userA: userA.id, userB: userB.id };
  }
  throw new ApiError(400, 'invalid_field', 'query.conversation must be si_<nameA>_<nameB>, si_<userA>_<userB> or sg_<groupId>', 'query.conversation');
}

export function messageRoutes(api: FastifyInstance, ctx: ApiContext): void {
  api.post('/messages', {
    schema: {
      operationId: 'sendMessage',
      tags: ['messages'],
      summary: 'Send a text message as the system (fromId 0 or absent) or as a user, to a user or a group; every client protocol shows it',
      body: {
        type: 'object',
        required: ['to', 'text'],
        additionalProperties: false,
        properties: {
          fromId: { type: 'integer', minimum: 0, description: '0 or absent: the system account.' },
          to: { type: 'object', additionalProperties: false, minProperties: 1, maxProperties: 1, properties: { userId: id, groupId: id }, description: 'Exactly one of userId, groupId.' },
          text: { type: 'string', minLength: 1, maxLength: MAX_TEXT },
        },
      },
      response: withErrors({ 201: { type: 'object', required: ['messageId', 'msgId'], properties: { messageId: { type: 'string' }, msgId: { type: 'integer' } } } }, 404, 422),
    },
  }, async (req, reply) => {
    const body = req.body as { fromId?: number; to: { userId: number } | { groupId: number }; text: string };
    const sent = await ctx.cluster.sendMessage({ fromId: body.fromId ?? 0, to: body.to, text: body.text });
    await ctx.audit(req, 'message.send', sent.messageId, { fromId: body.fromId ?? 0, to: body.to, length: body.text.length });
    return reply.code(201).send(sent);
  });

  api.post('/notifications', {
    schema: {
      operationId: 'sendNotification',
      tags: ['messages'],
      summary: 'Send a business notification (OMTP clients) to users or a group',
      body: {
        type: 'object',
        required: ['content'],
        additionalProperties: false,
        properties: {
          userIds: { type: 'array', items: id, minItems: 1, maxItems: 10_000, uniqueItems: true },
          groupId: id,
          content: { type: 'string', minLength: 1, maxLength: MAX_TEXT },
          contentType: { type: 'integer', minimum: 0, maximum: 255 },
          from: { type: 'string', maxLength: 64, description: 'Shown as the sender.' },
        },
      },
      response: withErrors({ 200: { type: 'object', required: ['addressed'], properties: { addressed: { type: 'integer' } } } }, 404),
    },
  }, async (req) => {
    const body = req.body as { userIds?: number[]; groupId?: number; content: string; contentType?: number; from?: string };
    if (!body.userIds && body.groupId === undefined) throw new ApiError(400, 'missing_field', 'body.userIds or body.groupId is required', 'body.userIds');
    const result = await ctx.cluster.notify(body);
    await ctx.audit(req, 'notification.send', body.groupId !== undefined ? `group:${body.groupId}` : `users:${body.userIds!.length}`, { ...body, content: undefined, length: body.content.length, addressed: result.addressed });
    return result;
  });

  api.post('/messages/:messageId/recall', {
    schema: {
      operationId: 'recallMessage',
      tags: ['messages'],
      summary: 'Recall any message (moderation); every participant is told',
      params: { type: 'object', required: ['messageId'], additionalProperties: false, properties: { messageId: messageIdSchema } },
      response: withErrors({ 204: noContent }, 404),
    },
  }, async (req, reply) => {
    const { messageId } = req.params as { messageId: string };
    await ctx.cluster.recallMessage(messageId, req.principal!.actor);
    await ctx.audit(req, 'message.recall', messageId);
    return reply.code(204).send();
  });

  api.get('/messages', {
    schema: {
      operationId: 'searchMessages',
      tags: ['messages'],
      summary: 'Search stored messages by conversation, sender and time, paged',
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          conversation: { type: 'string', pattern: '^(si_.+_.+|sg_[0-9]+)$', maxLength: 200, description: '`si_<nameA>_<nameB>` (as in message ids), `si_<userA>_<userB>` (user ids) or `sg_<groupId>`.' },
          fromId: id,
          since: { type: 'integer', minimum: 0, description: 'Unix milliseconds, inclusive.' },
          until: { type: 'integer', minimum: 0, description: 'Unix milliseconds, inclusive.' },
          cursor: cursorQuery,
          limit: limitQuery,
        },
      },
      response: withErrors({ 200: pageOf(storedMessageSchema) }),
    },
  }, async (req) => {
    const q = req.query as { conversation?: string; fromId?: number; since?: number; until?: number; cursor?: string; limit: number };
    if (q.since !== undefined && q.until !== undefined && q.since > q.until) throw new ApiError(400, 'invalid_field', 'query.since is after query.until', 'query.since');
    return ctx.store.searchMessages({ ...q, conversation: q.conversation ? await parseConversation(ctx, q.conversation) : undefined });
  });
}
