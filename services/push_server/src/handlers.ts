// The two job handlers: thin glue between the queue, db_proxy, the providers
// and the domain functions. A throw (db_proxy down, a provider bug) is a retry.
import { IM, PUSH_QUEUES, type DbProxyClient } from '@tt/proto';
import type { Job, JobOutcome, JobQueue } from '@tt/bus';
import type { PushProvider } from '@tt/push';
import type { Logger } from '@tt/observability';
import type { PushMetrics } from './metrics';
import {
  alertBody,
  devicesToNotify,
  displayName,
  isGroupMessage,
  providerFor,
  pushMessageOf,
  sendJobsOf,
  usersWithTokens,
  type ProviderName,
} from './domain/notifications';

export interface HandlerDeps {
  db: DbProxyClient;
  jobs: Pick<JobQueue, 'enqueue'>;
  providers: Partial<Record<ProviderName, PushProvider>>;
  metrics: PushMetrics;
  log: Logger;
  contentKey?: string;
  maxPreview: number;
  now?: () => number;
}

function decode<T>(what: string, fn: () => T): T | JobOutcome {
  try {
    return fn();
  } catch (err) {
    return { kind: 'dead', reason: `undecodable ${what}: ${(err as Error).message}` };
  }
}

/** Calls at most `limit` of fn at a time (a big group must not open thousands of calls at once). */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

const PARALLEL_CALLS = 16;

const isOutcome = (x: unknown): x is JobOutcome => typeof x === 'object' && x !== null && 'kind' in x && typeof (x as { kind: unknown }).kind === 'string';

/**
 * A stored message (from msg_server) → one send job per device to notify:
 * tokens, shields, names and unread counts come from db_proxy, in batches
 * except the unread counts (one call per user with a device to notify).
 */
export function messageJobHandler(deps: HandlerDeps): (job: Job) => Promise<JobOutcome | void> {
  const enabled = new Set(Object.keys(deps.providers) as ProviderName[]);
  return async (job) => {
    const msg = decode('PushJob', () => IM.Cluster.PushJob.decode(job.data));
    if (isOutcome(msg)) return msg;
    deps.metrics.messageJobs.inc();
    if (enabled.size === 0) {
      deps.metrics.skipped.inc({ reason: 'no_provider' }, msg.recipientIds.length);
      return;
    }
    const { userTokenInfo: tokens } = await deps.db.getDeviceTokens({ userId: msg.recipientIds });
    const candidates = usersWithTokens(tokens, enabled);
    const group = isGroupMessage(msg.msgType);
    // The conversation as each recipient sees it: a recipient who muted it (session attribute "mute") counts as shielded.
    const conversation = group
      ? { sessionType: IM.BaseDefine.SessionType.SESSION_TYPE_GROUP, peerId: msg.toSessionId }
      : { sessionType: IM.BaseDefine.SessionType.SESSION_TYPE_SINGLE, peerId: msg.fromUserId };
    let userShields = new Map<number, number>();
    let groupShields: Map<number, number> | undefined;
    if (candidates.length > 0) {
      const [shields, gShields] = await Promise.all([
        deps.db.getPushShields({ userIds: candidates, conversation }),
        group ? deps.db.getGroupShield({ groupId: msg.toSessionId, userId: candidates }) : undefined,
      ]);
      userShields = new Map(shields.shields.map((s) => [s.userId, s.shieldStatus]));
      if (gShields) groupShields = new Map(gShields.shieldStatusList.map((s) => [s.userId, s.shieldStatus]));
    }
    const { devices, skipped } = devicesToNotify({ recipientIds: msg.recipientIds, tokens, userShields, groupShields, enabled });
    for (const [reason, n] of Object.entries(skipped)) deps.metrics.skipped.inc({ reason }, n);
    if (devices.length === 0) return;

    const users = [...new Set(devices.map((d) => d.userId))];
    const [sender, groupName, unread] = await Promise.all([
      deps.db.getUsersInfo({ userId: msg.fromUserId, userIdList: [msg.fromUserId] }).then((r) => r.userInfoList.find((u) => u.userId === msg.fromUserId)),
      group ? groupNameOf(deps.db, msg.toSessionId, [msg.fromUserId, ...users]) : undefined,
      mapLimited(users, PARALLEL_CALLS, async (userId) => [userId, (await deps.db.getUnreadCount({ userId })).totalCnt] as const),
    ]);
    const body = alertBody({ job: msg, senderName: displayName(sender, msg.fromUserId), groupName, contentKey: deps.contentKey, maxPreview: deps.maxPreview });
    // Should this fail half-way, the retry queues the rest; the ids keep the first half from going twice.
    await mapLimited(sendJobsOf(msg, devices, body, new Map(unread)), PARALLEL_CALLS, async ({ id, send }) => {
      await deps.jobs.enqueue(PUSH_QUEUES.send, IM.Cluster.PushSend.encode(send).finish(), { id });
      deps.metrics.sendsQueued.inc({ provider: providerFor(send.clientType!)! });
    });
  };
}

/** The group's name as one of its members sees it (the sender, or a recipient should the sender have left since). */
async function groupNameOf(db: DbProxyClient, groupId: number, askAs: number[]): Promise<string | undefined> {
  for (const userId of askAs.slice(0, 3)) {
    const rsp = await db.getGroupInfo({ userId, groupVersionList: [{ groupId, version: 0 }] });
    const name = rsp.groupInfoList.find((g) => g.groupId === groupId)?.groupName;
    if (name) return name;
  }
  return undefined;
}

/** One notification to one device; a dead token is deleted through db_proxy. */
export function sendJobHandler(deps: HandlerDeps): (job: Job) => Promise<JobOutcome | void> {
  const now = deps.now ?? Date.now;
  return async (job) => {
    const send = decode('PushSend', () => IM.Cluster.PushSend.decode(job.data));
    if (isOutcome(send)) return send;
    const name = providerFor(send.clientType);
    const provider = name && deps.providers[name];
    if (!name || !provider) {
      // Queued while the provider was configured; not any more.
      deps.metrics.skipped.inc({ reason: 'provider_off' });
      return;
    }
    const message = pushMessageOf(send, now());
    if (!message) {
      deps.metrics.skipped.inc({ reason: 'expired' });
      return;
    }
    const timer = deps.metrics.sendSeconds.startTimer({ provider: name });
    const result = await provider.send(message).finally(() => timer());
    deps.metrics.notifications.inc({ provider: name, result: result.kind.replace('-', '_') });
    switch (result.kind) {
      case 'ok':
        return;
      case 'dead-token': {
        const { removed } = await deps.db.removeDeviceTokens({ tokens: [send.deviceToken] });
        if (removed > 0) deps.metrics.tokensRemoved.inc({ provider: name });
        deps.log.info({ userId: send.userId, clientType: send.clientType, provider: name, reason: result.reason }, 'device token dead; removed');
        return;
      }
      case 'retry':
        return { kind: 'retry', reason: `${name}: ${result.reason}`, delayMs: result.retryAfterMs };
      case 'failed':
        deps.log.warn({ userId: send.userId, provider: name, reason: result.reason }, 'notification refused; not retried');
        return { kind: 'dead', reason: `${name}: ${result.reason}` };
    }
  };
}
