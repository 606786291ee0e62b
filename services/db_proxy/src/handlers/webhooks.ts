import type { DbProxyHandlers } from '@tt/proto';
import type { Store } from '@tt/storage';
import { createWebhook, toWebhook, updateWebhook } from '../domain/webhooks';

export type WebhookHandlersKeys = Extract<keyof DbProxyHandlers, `webhook${string}`>;

/** Webhook settings: the operator API edits them, every msg_server reads the list. */
export function webhookHandlers(store: Store): Pick<DbProxyHandlers, WebhookHandlersKeys> {
  return {
    webhookList: async () => ({ webhooks: (await store.webhooks.list()).map(toWebhook) }),
    webhookCreate: async (req) => createWebhook(store, req),
    webhookUpdate: async (req) => updateWebhook(store, req),
    webhookDelete: async (req) => {
      await store.webhooks.delete(req.id ?? 0);
      return {};
    },
  };
}
