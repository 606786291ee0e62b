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
