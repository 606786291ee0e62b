export {
  ClientConnection,
  SocketConnection,
  claimEmitter,
  ownerOf,
  TcpConnection,
  DEFAULT_CONNECTION_LIMITS,
  MAX_QUEUED_REQUESTS,
  OUTPUT_HARD_CAP_FACTOR,
  type ConnectionEvents,
  type ConnectionLimits,
  type CutOffReason,
  type ConnectionIdentity,
  type ConnectionOptions,
  type EncodableType,
  type Framer,
  type FrontRequest,
  type TcpConnectionOptions,
} from './connection';
export { CommandRouter, type CommandContext, type RoutedConnection, type RouterEvents } from './command-router';
export { readIntoSharedBuffer, SHARED_READ_BYTES, type SharedReadCallback } from './shared-read';
export { startIdleSweeper, sweepIntervalMs, type IdleSweeper, type IdleSweepOptions } from './idle-sweeper';
