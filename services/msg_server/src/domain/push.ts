import { IM } from '@tt/proto';

const { SessionType } = IM.BaseDefine;

/** msg_data larger than this is left out of a push job (the notification then shows a generic preview). */
export const MAX_PUSH_JOB_DATA = 16 * 1024;

/**
 * Who of a stored message's recipients may need a push notification: every
 * recipient but the sender (a group lists them too) without a mobile
 * connection online anywhere in the cluster. Tokens and shields are
 * push_server's business.
 */
export function pushRecipients(recipientIds: readonly number[], senderId: number, hasMobileOnline: (userId: number) => boolean): number[] {
  const out: number[] = [];
  const seen = new Set<number>([senderId]);
  for (const userId of recipientIds) {
    if (seen.has(userId)) continue;
    seen.add(userId);
    if (!hasMobileOnline(userId)) out.push(userId);
  }
  return out;
}

/** The push job of a stored message (msgId set) for these recipients. */
export function pushJobOf(message: IM.Message.IIMMsgData, recipientIds: number[]): IM.Cluster.IPushJob {
  const data = message.msgData ?? new Uint8Array(0);
  return {
    fromUserId: message.fromUserId!,
    toSessionId: message.toSessionId!,
    msgId: message.msgId!,
    createTime: message.createTime!,
    msgType: message.msgType!,
    msgData: data.length <= MAX_PUSH_JOB_DATA ? data : new Uint8Array(0),
    recipientIds,
  };
}

/** Deduplication key of a message's push job: the same message stored once gives one job, however often it is enqueued. */
export function pushJobId(job: IM.Cluster.IPushJob, sessionType: number): string {
  if (sessionType === SessionType.SESSION_TYPE_GROUP) return `g${job.toSessionId}:${job.msgId}`;
  const [lo, hi] = [job.fromUserId!, job.toSessionId!].sort((a, b) => a - b);
  return `s${lo}-${hi}:${job.msgId}`;
}
