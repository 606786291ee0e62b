import type { DbProxyClient } from '@tt/proto';
import type { Logger } from '@tt/observability';
import type { ConnectionRegistry } from './connection-registry';
import type { Delivery } from './delivery';
import type { PresencePublisher } from './presence';
import type { RateLimiter } from './rate-limiter';
import type { MsgServerMetrics } from './metrics';

/** What the command handlers of a msg_server share. */
export interface MsgServerContext {
  db: DbProxyClient;
  registry: ConnectionRegistry;
  delivery: Delivery;
  presence: PresencePublisher;
  messageLimiter: RateLimiter;
  metrics: MsgServerMetrics;
  log: Logger;
  nowSeconds(): number;
}
