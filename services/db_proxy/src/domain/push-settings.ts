import { IM } from '@tt/proto';
import type { Store } from '@tt/storage';

const { ClientType } = IM.BaseDefine;
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

/** Push shield of each user, in the order asked (0 when never set). */
export async function pushShields(store: Store, userIds: number[]): Promise<IM.BaseDefine.IPushShieldStatus[]> {
  const ids = [...new Set(userIds.filter((id) => Number.isInteger(id) && id > 0))];
  const shields = await store.settings.pushShields(ids);
  return ids.map((userId) => ({ userId, shieldStatus: shields.get(userId) ?? 0 }));
}
