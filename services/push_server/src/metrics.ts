import { Counter, Histogram, type Registry } from 'prom-client';

export function createPushMetrics(registry: Registry) {
  const registers = [registry];
  return {
    messageJobs: new Counter({ name: 'tt_push_message_jobs_total', help: 'Message jobs handled (looked up and turned into sends)', registers }),
    skipped: new Counter({ name: 'tt_push_skipped_total', help: 'Recipients or sends left without a notification, by reason: no_token, user_shield, group_shield, provider_off, no_provider, expired', labelNames: ['reason'] as const, registers }),
    sendsQueued: new Counter({ name: 'tt_push_sends_queued_total', help: 'Notifications queued, one per device', labelNames: ['provider'] as const, registers }),
    notifications: new Counter({ name: 'tt_push_notifications_total', help: "Provider answers, by provider and result: ok, dead_token, retry, failed", labelNames: ['provider', 'result'] as const, registers }),
    tokensRemoved: new Counter({ name: 'tt_push_tokens_removed_total', help: 'Device tokens deleted after the provider said they are dead', labelNames: ['provider'] as const, registers }),
    retries: new Counter({ name: 'tt_push_retries_total', help: 'Jobs put back for another attempt, by queue', labelNames: ['queue'] as const, registers }),
    deadLetters: new Counter({ name: 'tt_push_dead_letters_total', help: 'Jobs given up on and moved to the dead letters, by queue', labelNames: ['queue'] as const, registers }),
    sendSeconds: new Histogram({ name: 'tt_push_send_seconds', help: 'Time of one provider request', labelNames: ['provider'] as const, buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers }),
  };
}

export type PushMetrics = ReturnType<typeof createPushMetrics>;
