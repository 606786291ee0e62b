import { IM, PUSH_QUEUES } from '@tt/proto';
import { JobQueueError, MemoryJobQueue } from '@tt/bus';
import { createLogger } from '@tt/observability';
import { Counter, Registry } from 'prom-client';
import { PushJobProducer } from './push-jobs';

const { ClientType, MsgType } = IM.BaseDefine;
const log = createLogger('msg_server', { level: 'silent' });
const stored = { fromUserId: 1, toSessionId: 2, msgId: 9, createTime: 1_700_000_000, msgType: MsgType.MSG_TYPE_SINGLE_TEXT, msgData: Buffer.from('x') };

function metrics() {
  const registry = new Registry();
  return { registry, m: { pushJobs: new Counter({ name: 'jobs', help: 'h', labelNames: ['result'] as const, registers: [registry] }) } };
}
const count = async (registry: Registry, result: string) => (await registry.getSingleMetric('jobs')!.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
const tick = () => new Promise((r) => setTimeout(r, 10));

test('queues one job per stored message for the recipients without a phone online, once per message', async () => {
  const q = new MemoryJobQueue();
  const seen: IM.Cluster.PushJob[] = [];
  await q.work(PUSH_QUEUES.message, (job) => void seen.push(IM.Cluster.PushJob.decode(job.data)), { retry: { maxAttempts: 1, initialDelayMs: 1, maxDelayMs: 1 } });
  const { registry, m } = metrics();
  const phones: Record<number, number> = { 3: ClientType.CLIENT_TYPE_ANDROID };
  const p = new PushJobProducer(q, (id) => phones[id] !== undefined, m, log);
  p.messageStored({ ...stored, toSessionId: 50, msgType: MsgType.MSG_TYPE_GROUP_TEXT }, [1, 2, 3, 4]);
  p.messageStored({ ...stored, toSessionId: 50, msgType: MsgType.MSG_TYPE_GROUP_TEXT }, [1, 2, 3, 4]); // the same message again
  p.messageStored({ ...stored, toSessionId: 3, msgId: 10 }, [3]); // peer's phone online: nothing
  await tick();
  expect(seen.map((j) => j.recipientIds)).toEqual([[2, 4]]);
  expect(await count(registry, 'queued')).toBe(2);
  await q.close();
});

test('a queue that refuses the job costs the message nothing: counted, never thrown', async () => {
  const { registry, m } = metrics();
  const p = new PushJobProducer({ enqueue: () => Promise.reject(new Error('no stream')) }, () => false, m, log);
  expect(() => p.messageStored(stored, [2])).not.toThrow();
  expect(() => p.messageStored(stored, [2])).not.toThrow();
  await tick();
  expect(await count(registry, 'failed')).toBe(2);
  // Without a queue (push off), nothing is even counted.
  new PushJobProducer(undefined, () => false, m, log).messageStored(stored, [2]);
  await tick();
  expect(await count(registry, 'failed')).toBe(2);
});

test('no stream (UNAVAILABLE): further jobs are not even tried for a while', async () => {
  const { m } = metrics();
  let tries = 0;
  const p = new PushJobProducer({ enqueue: () => (tries++, Promise.reject(new JobQueueError('UNAVAILABLE', 'no stream'))) }, () => false, m, log);
  p.messageStored(stored, [2]);
  await tick();
  p.messageStored(stored, [2]);
  p.messageStored(stored, [2]);
  await tick();
  expect(tries).toBe(1);
});
