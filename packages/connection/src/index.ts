export {
  ClientConnection,
  SocketConnection,
  TcpConnection,
  type ConnectionEvents,
  type ConnectionIdentity,
  type ConnectionOptions,
  type EncodableType,
  type Framer,
  type FrontRequest,
  type TcpConnectionOptions,
} from './connection';
export { CommandRouter, type CommandContext, type RoutedConnection, type RouterEvents } from './command-router';
export { startIdleSweeper, sweepIntervalMs, type IdleSweeper, type IdleSweepOptions } from './idle-sweeper';
