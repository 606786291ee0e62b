import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context';
import type { NewWebhook, WebhookPatch } from '../backend';
import { idParam, listOf, noContent, withErrors } from '../schemas';

const WEBHOOK_EVENTS = ['message.stored', 'user.login', 'user.logout', 'message.before_send'] as const;

const webhookFields = {
  event: { type: 'string', enum: WEBHOOK_EVENTS, description: 'What the URL is called for.' },
  url: { type: 'string', minLength: 8, maxLength: 2048, pattern: '^https?://[^\\s]+$', description: 'An http(s) URL (no credentials in it).' },
  secret: {
    type: 'string',
    minLength: 16,
    maxLength: 256,
    description: 'HMAC-SHA256 key of the X-TT-Signature header. Write-only: never shown after the call that sets it.',
  },
  enabled: { type: 'boolean' },
  timeoutMs: { type: 'integer', minimum: 100, maximum: 30_000, description: 'How long one call may take (default 5000).' },
  failOpen: { type: 'boolean', description: 'message.before_send only: a timeout or failure lets the message through (default true).' },
} as const;

const webhookProperties = {
  id: { type: 'integer' },
  event: { type: 'string', enum: WEBHOOK_EVENTS },
  url: { type: 'string' },
  enabled: { type: 'boolean' },
  timeoutMs: { type: 'integer' },
  failOpen: { type: 'boolean' },
  created: { type: 'integer', description: 'Unix seconds.' },
  updated: { type: 'integer', description: 'Unix seconds.' },
} as const;

const webhookSchema = { type: 'object', required: Object.keys(webhookProperties), properties: webhookProperties } as const;

const createdWebhookSchema = {
  type: 'object',
  required: [...Object.keys(webhookProperties), 'secret'],
  properties: { ...webhookProperties, secret: { type: 'string', description: 'The HMAC key (made here when the request had none): shown this once.' } },
} as const;

/** Webhook settings: every msg_server reads them (at once after a change here, else within 10 s). */
export function webhookRoutes(api: FastifyInstance, ctx: ApiContext): void {
  api.get('/webhooks', {
    schema: { operationId: 'listWebhooks', tags: ['webhooks'], summary: 'List webhooks (secrets are never shown)', response: withErrors({ 200: listOf(webhookSchema) }) },
  }, async () => ({ items: await ctx.store.listWebhooks() }));

  api.post('/webhooks', {
    schema: {
      operationId: 'createWebhook',
      tags: ['webhooks'],
      summary: 'Add a webhook (without a secret, one is made and returned this once)',
      body: { type: 'object', required: ['event', 'url'], additionalProperties: false, properties: webhookFields },
      response: withErrors({ 201: createdWebhookSchema }, 409),
    },
  }, async (req, reply) => {
    const body = req.body as Omit<NewWebhook, 'secret'> & { secret?: string };
    const secret = body.secret ?? `whsec_${randomBytes(32).toString('base64url')}`;
    const webhook = await ctx.store.createWebhook({ ...body, secret });
    ctx.cluster.webhooksChanged?.();
    await ctx.audit(req, 'webhook.create', `webhook:${webhook.id}`, body);
    return reply.code(201).send({ ...webhook, secret });
  });

  api.patch('/webhooks/:id', {
    schema: {
      operationId: 'updateWebhook',
      tags: ['webhooks'],
      summary: 'Change a webhook',
      params: idParam,
      body: { type: 'object', additionalProperties: false, minProperties: 1, properties: webhookFields },
      response: withErrors({ 200: webhookSchema }, 404),
    },
  }, async (req) => {
    const { id } = req.params as { id: number };
    const body = req.body as WebhookPatch;
    const webhook = await ctx.store.updateWebhook(id, body);
    ctx.cluster.webhooksChanged?.();
    await ctx.audit(req, 'webhook.update', `webhook:${id}`, { ...body, ...(body.secret !== undefined ? { signingChanged: true } : {}) });
    return webhook;
  });

  api.delete('/webhooks/:id', {
    schema: {
      operationId: 'deleteWebhook',
      tags: ['webhooks'],
      summary: 'Remove a webhook',
      params: idParam,
      response: withErrors({ 204: noContent }, 404),
    },
  }, async (req, reply) => {
    const { id } = req.params as { id: number };
    await ctx.store.deleteWebhook(id);
    ctx.cluster.webhooksChanged?.();
    await ctx.audit(req, 'webhook.delete', `webhook:${id}`);
    return reply.code(204).send();
  });
}
