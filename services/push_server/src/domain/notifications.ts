// Who gets a notification for a stored message, and what it says. Pure
// functions: the handlers fetch the facts (tokens, shields, names, unread
// counts) from db_proxy and pass them in.
import { IM } from '@tt/proto';
import { notificationText, type PushMessage } from '@tt/push';

const { ClientType, MsgType, SessionType } = IM.BaseDefine;

export type ProviderName = 'apns' | 'fcm';

/** How long a notification stays deliverable after its message was stored (APNs/FCM expiration). */
export const NOTIFICATION_TTL_SECONDS = 24 * 3600;

export interface Device {
  userId: number;
  clientType: number;
  token: string;
}

export type SkipReason = 'no_token' | 'user_shield' | 'group_shield' | 'provider_off';

/** iOS devices go to APNs, Android devices to FCM; PC clients get no push. */
export function providerFor(clientType: number): ProviderName | undefined {
  if (clientType === ClientType.CLIENT_TYPE_IOS) return 'apns';
  if (clientType === ClientType.CLIENT_TYPE_ANDROID) return 'fcm';
  return undefined;
}

export function isGroupMessage(msgType: number): boolean {
  return msgType === MsgType.MSG_TYPE_GROUP_TEXT || msgType === MsgType.MSG_TYPE_GROUP_AUDIO;
}

export interface DevicePlanInput {
  recipientIds: readonly number[];
  tokens: ReadonlyArray<IM.BaseDefine.IUserTokenInfo>;
  /** User-wide push shields (IMPushShieldReq); missing = 0. */
  userShields: ReadonlyMap<number, number>;
  /** The group's per-member shields, for a group message; missing = 0. */
  groupShields?: ReadonlyMap<number, number>;
  /** Providers that are configured. */
  enabled: ReadonlySet<ProviderName>;
}

/**
 * The devices to notify: each recipient's mobile tokens for a configured
 * provider, unless the recipient silenced push for everything or (group
 * message) for this group. Every recipient left out is counted by reason.
 */
export function devicesToNotify(input: DevicePlanInput): { devices: Device[]; skipped: Partial<Record<SkipReason, number>> } {
  const skipped: Partial<Record<SkipReason, number>> = {};
  const skip = (reason: SkipReason) => (skipped[reason] = (skipped[reason] ?? 0) + 1);
  const byUser = new Map<number, Device[]>();
  const offProvider = new Set<number>();
  for (const t of input.tokens) {
    const provider = providerFor(t.userType ?? 0);
    if (!t.userId || !t.token || !provider) continue;
    if (!input.enabled.has(provider)) {
      offProvider.add(t.userId);
      continue;
    }
    const list = byUser.get(t.userId) ?? [];
    list.push({ userId: t.userId, clientType: t.userType!, token: t.token });
    byUser.set(t.userId, list);
  }
  const devices: Device[] = [];
  for (const userId of new Set(input.recipientIds)) {
    const mine = byUser.get(userId);
    if (!mine) skip(offProvider.has(userId) ? 'provider_off' : 'no_token');
    else if ((input.userShields.get(userId) ?? 0) !== 0) skip('user_shield');
    else if ((input.groupShields?.get(userId) ?? 0) !== 0) skip('group_shield');
    else devices.push(...mine);
  }
  return { devices, skipped };
}

/** Users among the recipients who hold a token for a configured provider (the only ones worth looking up further). */
export function usersWithTokens(tokens: ReadonlyArray<IM.BaseDefine.IUserTokenInfo>, enabled: ReadonlySet<ProviderName>): number[] {
  const out = new Set<number>();
  for (const t of tokens) {
    const p = providerFor(t.userType ?? 0);
    if (t.userId && t.token && p && enabled.has(p)) out.add(t.userId);
  }
  return [...out];
}

/** A user's name in a notification: nick, else real name, else the id. */
export function displayName(user: Partial<IM.BaseDefine.IUserInfo> | undefined, userId: number): string {
  return user?.userNickName?.trim() || user?.userRealName?.trim() || `User ${userId}`;
}

export interface AlertInput {
  job: IM.Cluster.IPushJob;
  senderName: string;
  groupName?: string;
  contentKey?: string;
  maxPreview: number;
}

/** "<sender>: <preview>" (single chat) or "<group> <sender>: <preview>" (group). */
export function alertBody(input: AlertInput): string {
  const { job } = input;
  return notificationText({
    senderNick: input.senderName,
    groupName: isGroupMessage(job.msgType ?? 0) ? input.groupName || `Group ${job.toSessionId}` : undefined,
    msgType: job.msgType ?? 0,
    msgData: job.msgData ?? new Uint8Array(0),
    contentKey: input.contentKey,
    maxPreview: input.maxPreview,
  });
}

/** The message's key: the same from both sides of a single chat (a job enqueued twice is one job). */
export function messageKey(job: IM.Cluster.IPushJob): string {
  if (isGroupMessage(job.msgType ?? 0)) return `g${job.toSessionId}:${job.msgId}`;
  const [lo, hi] = [job.fromUserId!, job.toSessionId!].sort((a, b) => a - b);
  return `s${lo}-${hi}:${job.msgId}`;
}

/** One send job per device; its id deduplicates a re-run of the message job. */
export function sendJobsOf(job: IM.Cluster.IPushJob, devices: Device[], body: string, badges: ReadonlyMap<number, number>): Array<{ id: string; send: IM.Cluster.IPushSend }> {
  const group = isGroupMessage(job.msgType ?? 0);
  const key = messageKey(job);
  return devices.map((d) => ({
    id: `${key}:${d.userId}:${d.clientType}`,
    send: {
      userId: d.userId,
      clientType: d.clientType,
      deviceToken: d.token,
      body,
      badge: badges.get(d.userId) ?? 0,
      createTime: job.createTime ?? 0,
      sessionType: group ? SessionType.SESSION_TYPE_GROUP : SessionType.SESSION_TYPE_SINGLE,
      sessionId: group ? job.toSessionId! : job.fromUserId!,
      msgId: job.msgId!,
    },
  }));
}

/**
 * The provider-neutral notification of a send job, or undefined when its day
 * is over. It expires a day after the message was stored, however late it is
 * sent; the app gets the session and message in its data.
 */
export function pushMessageOf(send: IM.Cluster.IPushSend, nowMs: number): PushMessage | undefined {
  const left = (send.createTime ?? 0) + NOTIFICATION_TTL_SECONDS - Math.floor(nowMs / 1000);
  if (left <= 0) return undefined;
  return {
    deviceToken: send.deviceToken!,
    alert: { body: send.body! },
    badge: send.badge ?? 0,
    expirationSeconds: left,
    data: { session_type: String(send.sessionType), session_id: String(send.sessionId), msg_id: String(send.msgId) },
  };
}
