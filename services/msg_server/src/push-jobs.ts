import { IM, PUSH_QUEUES } from '@tt/proto';
import { isRoomMsgType } from './core/rooms';
import { JobQueueError, type JobQueue } from '@tt/bus';
import type { Logger } from '@tt/observability';
import type { Counter } from 'prom-client';
import { sessionTypeOf } from './domain/messaging';
import { pushJobId, pushJobOf, pushRecipients } from './domain/push';

export interface PushJobMetrics {
  pushJobs: Counter<'result'>;
}

/** After the queue said it has no stream (no push_server ever started), jobs are not even tried for this long. */
export const UNAVAILABLE_PAUSE_MS = 5000;

/**
 * Queues a push job (for push_server) after a message is stored, when some
 * recipient has no mobile connection online. Costs one look-up in the
 * cluster view per recipient and one publish per message; never waits and
 * never fails the message: a job that cannot be queued is counted and logged.
 */
export class PushJobProducer {
  private lastWarning = 0;
  private pausedUntil = 0;

  constructor(
    private readonly queue: Pick<JobQueue, 'enqueue'> | undefined,
    private readonly hasMobileOnline: (userId: number) => boolean,
    private readonly metrics: PushJobMetrics,
    private readonly log: Logger,
  ) {}

  /** `message` as stored (server's sender, time and msg_id); `recipientIds` as db_proxy returned them. */
  messageStored(message: IM.Message.IIMMsgData, recipientIds: number[]): void {
    // Chat-room messages are for whoever is in the room now: never pushed to phones.
    if (!this.queue || isRoomMsgType(message.msgType ?? 0)) return;
    const recipients = pushRecipients(recipientIds, message.fromUserId!, this.hasMobileOnline);
    if (recipients.length === 0) return;
    if (Date.now() < this.pausedUntil) {
      this.metrics.pushJobs.inc({ result: 'failed' });
      return;
    }
    const job = pushJobOf(message, recipients);
    const id = pushJobId(job, sessionTypeOf(message.msgType ?? 0) ?? 0);
    this.queue.enqueue(PUSH_QUEUES.message, IM.Cluster.PushJob.encode(job).finish(), { id }).then(
      () => this.metrics.pushJobs.inc({ result: 'queued' }),
      (err: unknown) => {
        this.metrics.pushJobs.inc({ result: 'failed' });
        // Without a stream every publish fails the same way: spare NATS a request per message for a while.
        if (err instanceof JobQueueError && err.code === 'UNAVAILABLE') this.pausedUntil = Date.now() + UNAVAILABLE_PAUSE_MS;
        // One line a minute at most: without push_server every message would fail the same way.
        const now = Date.now();
        if (now - this.lastWarning >= 60_000) {
          this.lastWarning = now;
          this.log.warn({ err: err instanceof Error ? err.message : err }, 'push job not queued (further failures counted in tt_msg_server_push_jobs_total{result="failed"})');
        }
      },
    );
  }
}
