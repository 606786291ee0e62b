import * as connection from '@tt/connection';
import type { ClientConnection } from './connection';

/** The shared per-connection command queue (@tt/connection) over msg_server's connections. */
export class CommandRouter extends connection.CommandRouter<ClientConnection> {}
export type CommandContext = connection.CommandContext<ClientConnection>;
export type RouterEvents = connection.RouterEvents<ClientConnection>;
