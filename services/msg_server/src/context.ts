import type { DbProxyClient } from '@tt/proto';
import type { LogThrottle, Logger } from '@tt/observability';
import type { ConnectionRegistry } from './connection-registry';
import type { Delivery } from './delivery';
import type { PresencePublisher } from './presence';
import type { RateLimiter } from './rate-limiter';
import type { MsgServerMetrics } from './metrics';
import type { ClusterView } from './cluster-view';
import type { Kicker } from './kicker';
import type { PushJobProducer } from './push-jobs';
import type { MessageStore } from './message-store';
import type { ConversationCore } from './core/conversation-core';
import type { UserDirectory } from './core/user-directory';
import type { ContentCodec } from './core/content';
import type { SessionMonitors } from './core/monitors';
import type { GroupAdmin } from './core/groups';
import type { Social } from './core/social';

/** What the command handlers of a msg_server share. */
export interface MsgServerContext {
  db: DbProxyClient;
  /** Saves messages (batched across connections). */
  messages: MessageStore;
  /** What every front does with messages: send, sync, read, recall, typing. */
  core: ConversationCore;
  /** Who listens to which conversation (OMTP session monitors). */
  monitors: SessionMonitors;
  /** Groups managed by their owner. */
  groups: GroupAdmin;
  /** Friends, attributes, profiles, business notifications. */
  social: Social;
  /** Account names <-> user ids (string-id fronts). */
  directory: UserDirectory;
  /** Content between TeamTalk's form and plain. */
  content: ContentCodec;
  registry: ConnectionRegistry;
  delivery: Delivery;
  presence: PresencePublisher;
  messageLimiter: RateLimiter;
  metrics: MsgServerMetrics;
  cluster: ClusterView;
  kicker: Kicker;
  /** Queues push jobs for recipients without a mobile connection online. */
  push: PushJobProducer;
  /** The address login_server hands out for this msg_server. */
  selfAddress(): { ip1: string; ip2: string; port: number };
  log: Logger;
  /** Client-caused warnings: the first per connection (or user) and kind, then a count (LOG_REPEAT_INTERVAL_MS). */
  logThrottle: LogThrottle;
  nowSeconds(): number;
}
