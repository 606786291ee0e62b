export {
  BusError,
  type BusErrorCode,
  type BusErrorHandler,
  type BusBaseOptions,
  type BusHandler,
  type BusMsg,
  type BusSubscription,
  type MessageBus,
  type RequestOptions,
  type SubscribeOptions,
} from './types';
export { MemoryBus, type MemoryBusOptions } from './memory-bus';
export { NatsBus, type NatsBusOptions, type BusStatus, type BusStatusType } from './nats-bus';
export { isValidPublishSubject, isValidSubscribeSubject, subjectMatches } from './subject';
export {
  JobQueueError,
  type JobQueue,
  type Job,
  type JobHandler,
  type JobOutcome,
  type JobWorker,
  type EnqueueOptions,
  type RetryPolicy,
  type DeadLetter,
  type WorkOptions,
} from './jobs/types';
export { backoffDelay, settle, type Settlement } from './jobs/retry';
export { MemoryJobQueue, type MemoryJobQueueOptions } from './jobs/memory-job-queue';
export { JetStreamJobQueue, deleteJobStreams, type JetStreamJobQueueOptions } from './jobs/jetstream-job-queue';
