import { IM } from '@tt/proto';
import type { Store } from '@tt/storage';

const { ClientType, SessionType } = IM.BaseDefine;
const KNOWN_CLIENT_TYPES = new Set<number>([ClientType.CLIENT_TYPE_WINDOWS, ClientType.CLIENT_TYPE_MAC, ClientType.CLIENT_TYPE_IOS, ClientType.CLIENT_TYPE_ANDROID]);

/** Longest device token accepted (APNs tokens are 64 hex chars, FCM tokens ~160). */
export const MAX_DEVICE_TOKEN = 512;

export async function setDeviceToken(store: Store, userId: number, clientType: number, token: string): Promise<boolean> {
  if (!KNOWN_CLIENT_TYPES.has(clientType) || token.length > MAX_DEVICE_TOKEN) return false;
  await store.devices.set(userId, clientType, token);
  return true;
}

export async function deviceTokens(store: Store, userIds: number[]): Promise<IM.BaseDefine.IUserTokenInfo[]> {
  const rows = await store.devices.listForUsers(userIds);
  return rows.map((r) => ({ userId: r.userId, userType: r.clientType, token: r.token, pushCount: 0, pushType: 0 }));
}

/** Deletes tokens a push service reported dead; returns how many were registered. */
export async function removeDeviceTokens(store: Store, tokens: string[]): Promise<number> {
  let removed = 0;
  for (const token of new Set(tokens)) {
    if (token === '' || token.length > MAX_DEVICE_TOKEN) continue;
    if (await store.devices.removeToken(token)) removed++;
  }
  return removed;
}

/**
 * Push shield of each user, in the order asked (0 when never set). With the conversation being
 * pushed, a user who muted it (session attribute "mute") counts as shielded too: a single chat's
 * peer_id is the sender, so each recipient's row is (recipient, single, sender); a group's is
 * (recipient, group, group id).
 */
export async function pushShields(store: Store, userIds: number[], conversation?: IM.Core.IConversationRef | null): Promise<IM.BaseDefine.IPushShieldStatus[]> {
  const ids = [...new Set(userIds.filter((id) => Number.isInteger(id) && id > 0))];
  const type = conversation?.sessionType;
  const peerId = conversation?.peerId ?? 0;
  const knownType = type === SessionType.SESSION_TYPE_SINGLE || type === SessionType.SESSION_TYPE_GROUP;
  const [shields, muted] = await Promise.all([
    store.settings.pushShields(ids),
    knownType && peerId > 0 ? store.sessionAttributes.mutedBy(ids, type, peerId) : new Set<number>(),
  ]);
  return ids.map((userId) => ({ userId, shieldStatus: muted.has(userId) ? 1 : (shields.get(userId) ?? 0) }));
}
