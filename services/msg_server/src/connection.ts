import type * as connection from '@tt/connection';
import type { Front } from './fronts/front';

/**
 * msg_server's connections: the shared machinery (@tt/connection) bound to
 * msg_server's Front, so `conn.front` is a front (name, renderer, kick, idle
 * limit, heartbeat) everywhere in msg_server.
 */
export { TcpConnection } from '@tt/connection';
export type ClientConnection = connection.ClientConnection<Front>;
export type ConnectionEvents = connection.ConnectionEvents<ClientConnection>;
