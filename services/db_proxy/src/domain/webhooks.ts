import type { IM } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import { isStorageError, type Store, type WebhookPatch, type WebhookRecord } from '@tt/storage';

/** Set in the request (decoded proto2 messages carry defaults for absent optionals on their prototype). */
function has<T extends object>(req: T, key: keyof T): boolean {
  return Object.prototype.hasOwnProperty.call(req, key) && req[key] !== null && req[key] !== undefined;
}

export const toWebhook = (w: WebhookRecord): IM.Admin.IWebhook => ({
  id: w.id,
  event: w.event,
  url: w.url,
  secret: w.secret,
  enabled: w.enabled,
  timeoutMs: w.timeoutMs,
  failOpen: w.failOpen,
  created: w.created,
  updated: w.updated,
});

/** The storage layer's "too many" (CONFLICT) as gRPC's FAILED_PRECONDITION (the API's 409). */
function refusal(err: unknown): unknown {
  return isStorageError(err, 'CONFLICT') ? new RpcError(9 /* FAILED_PRECONDITION */, err.message) : err;
}

export async function createWebhook(store: Store, req: IM.Admin.IWebhookCreateReq): Promise<IM.Admin.IWebhook> {
  try {
    return toWebhook(
      await store.webhooks.create({
        event: req.event as WebhookRecord['event'],
        url: req.url ?? '',
        secret: req.secret ?? '',
        enabled: has(req, 'enabled') ? req.enabled! : undefined,
        timeoutMs: has(req, 'timeoutMs') ? req.timeoutMs! : undefined,
        failOpen: has(req, 'failOpen') ? req.failOpen! : undefined,
      }),
    );
  } catch (err) {
    throw refusal(err);
  }
}

export async function updateWebhook(store: Store, req: IM.Admin.IWebhookUpdateReq): Promise<IM.Admin.IWebhook> {
  if (!req.id) throw RpcError.invalidArgument('id is required');
  // Only the fields set change.
  const patch: WebhookPatch = {};
  if (has(req, 'event')) patch.event = req.event as WebhookRecord['event'];
  if (has(req, 'url')) patch.url = req.url!;
  if (has(req, 'secret')) patch.secret = req.secret!;
  if (has(req, 'enabled')) patch.enabled = req.enabled!;
  if (has(req, 'timeoutMs')) patch.timeoutMs = req.timeoutMs!;
  if (has(req, 'failOpen')) patch.failOpen = req.failOpen!;
  return toWebhook(await store.webhooks.update(req.id, patch));
}
