import { IM, clusterSubjects } from '@tt/proto';
import { BusError, type MessageBus } from '@tt/bus';
import type { Logger } from '@tt/observability';
import { Batcher } from '@tt/batching';
import type { ConnectionRegistry } from './connection-registry';
import { RenderPass } from './fronts/front';

export interface DeliveryOptions {
  serverId: string;
  subjects: ReturnType<typeof clusterSubjects>;
  /** Deadline of one request to route_server. */
  requestTimeoutMs?: number;
  /** How long to keep retrying while no route_server answers. */
  retryForMs?: number;
  /**
   * This is the only msg_server there can be (standalone mode): every
   * connection is local, so nothing goes through route_server.
   */
  soleServer?: boolean;
  /**
   * Whether any of these users may be connected to another msg_server (the
   * cluster view); when it says no, a delivery stays local.
   */
  mayBeElsewhere?: (userIds: readonly number[]) => boolean;
}

/** Deliveries one sender connection may have under way before its next message waits. */
const MAX_BACKLOG = 32;
/** Largest DeliverBatch sent at once (NATS refuses messages over its max_payload, 1 MB by default). */
const MAX_REQUEST_BYTES = 512 * 1024;
/** DeliverBatch requests in flight at once (one per lane). */
const LANES = 4;

interface RouteRequest {
  request: IM.Cluster.IDeliverRequest;
  orderKey: number;
}

/**
 * Gets an event (protocol-neutral: IM.Core.CoreEvent) to every connection of
 * some users, wherever they are: this server's own connections directly, the
 * others through route_server, which knows the msg_servers holding them and
 * forwards to those only. Each connection's front renders the event in its
 * protocol, once per front and event.
 */
export class Delivery {
  private readonly backlog = new WeakMap<object, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly requests: Batcher<RouteRequest, undefined>;
  private readonly requestTimeoutMs: number;
  private readonly retryForMs: number;
  private readonly serverListeners: ((event: IM.Core.CoreEvent) => void)[] = [];

  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly bus: MessageBus,
    private readonly log: Logger,
    private readonly options: DeliveryOptions,
    private readonly onUndelivered: () => void = () => {},
  ) {
    this.requestTimeoutMs = options.requestTimeoutMs ?? 2000;
    this.retryForMs = options.retryForMs ?? 15_000;
    // Requests with the same order key share a lane with one DeliverBatch in
    // flight, so they reach route_server (any replica) in the order made.
    this.requests = new Batcher(
      async (batch) => {
        await this.sendWithRetry(batch.map((r) => r.request));
        return batch.map(() => undefined);
      },
      {
        lanes: LANES,
        maxBatch: 1024,
        laneOf: (r) => r.orderKey,
        maxWeight: MAX_REQUEST_BYTES,
        weigh: (r) => (r.request.event?.length ?? 0) + 4 * (r.request.userIds?.length ?? 0) + 64,
      },
    );
  }

  /** Subscribes to the deliveries route_server sends this server, and to broadcasts. */
  listen(): void {
    this.bus.subscribe(this.options.subjects.msgServerDeliver(this.options.serverId), (data) => {
      for (const delivery of IM.Cluster.DeliveryBatch.decode(data).deliveries) {
        this.deliverLocal(delivery.userIds ?? [], IM.Core.CoreEvent.decode(delivery.event));
      }
    });
    this.bus.subscribe(this.options.subjects.broadcast, (data) => {
      const b = IM.Cluster.Broadcast.decode(data);
      const except = b.exceptServerId === this.options.serverId ? b.exceptConnId : undefined;
      const event = IM.Core.CoreEvent.decode(b.event);
      // Events for the servers themselves (who monitors what), not their clients.
      if (event.monitorChanged) {
        if (b.exceptServerId !== this.options.serverId) for (const listener of this.serverListeners) listener(event);
        return;
      }
      const pass = new RenderPass(event);
      for (const conn of this.registry.loggedIn()) {
        if (conn.id === except) continue;
        const frame = pass.frameFor(conn, conn.userId);
        if (frame) conn.write(frame);
      }
    });
  }

  /** Hears broadcast events meant for the msg_servers themselves (MonitorChangedEvent) from the other servers. */
  onServerEvent(listener: (event: IM.Core.CoreEvent) => void): void {
    this.serverListeners.push(listener);
  }

  /** Sends an event to every logged-in connection of the cluster except one of this server's. */
  broadcast(event: IM.Core.ICoreEvent, exceptConnId?: number): void {
    // Through the bus even for a sole server: its own connections get it from its subscription.
    const encoded = IM.Core.CoreEvent.encode(event).finish();
    this.bus.publish(this.options.subjects.broadcast, IM.Cluster.Broadcast.encode({ event: encoded, exceptServerId: this.options.serverId, exceptConnId }).finish());
  }

  /**
   * Delivers to the users' connections everywhere, except the one given:
   * this server's at once, the others' through route_server. Requests made
   * at about the same moment travel to route_server together (one NATS
   * request per batch instead of one per message); requests with the same
   * order key (by default the excepted connection: the one acting) arrive
   * in the order they were made.
   */
  async toUsers(userIds: number[], event: IM.Core.ICoreEvent, exceptConnId?: number, orderKey = exceptConnId ?? 0): Promise<void> {
    this.deliverLocal(userIds, event, exceptConnId);
    if (this.options.soleServer || (this.options.mayBeElsewhere && !this.options.mayBeElsewhere(userIds))) return;
    const encoded = IM.Core.CoreEvent.encode(event).finish();
    await this.requests.submit({ request: { userIds, event: encoded, originServerId: this.options.serverId }, orderKey });
  }

  /** Sends one DeliverBatch, retrying while no route_server answers. */
  private async sendWithRetry(requests: IM.Cluster.IDeliverRequest[]): Promise<void> {
    const data = IM.Cluster.DeliverBatch.encode({ requests }).finish();
    const giveUpAt = Date.now() + this.retryForMs;
    for (let attempt = 0; ; ) {
      try {
        await this.bus.request(this.options.subjects.routeDeliver, data, { timeoutMs: this.requestTimeoutMs });
        return;
      } catch (err) {
        const retriable = err instanceof BusError && err.code !== 'CLOSED';
        if (!retriable || Date.now() >= giveUpAt) {
          // The messages are stored: recipients still get them through unread counts and history.
          for (let i = 0; i < requests.length; i++) this.onUndelivered();
          this.log.error({ err, requests: requests.length }, 'realtime delivery through route_server failed');
          return;
        }
        // While the bus is down, wait for it (not a back-off grown during the outage): deliveries
        // then resume within ms of NATS's return, the back-off starting small for the route_servers' return.
        if ((err as BusError).code === 'DISCONNECTED') await untilConnected(this.bus, 250);
        else await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** attempt++)));
      }
    }
  }

  /**
   * Delivers in the background, in order with the earlier deliveries of the
   * same sender connection, so the sender's next message need not wait for
   * this one to reach route_server. Resolves at once, unless that
   * connection already has MAX_BACKLOG deliveries under way (back-pressure
   * while route_server is slow or away): then once this one is done.
   */
  inOrder(sender: { id: number }, userIds: number[], event: IM.Core.ICoreEvent, exceptConnId?: number): Promise<void> {
    const backlog = (this.backlog.get(sender) ?? 0) + 1;
    this.backlog.set(sender, backlog);
    const done = this.toUsers(userIds, event, exceptConnId, sender.id).finally(() => {
      this.backlog.set(sender, (this.backlog.get(sender) ?? 1) - 1);
      this.inFlight.delete(done);
    });
    this.inFlight.add(done);
    return backlog > MAX_BACKLOG ? done : Promise.resolve();
  }

  /** Resolves once every background delivery started so far is done (drain). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Renders the event for this server's connections of the users (once per front) and writes it. */
  deliverLocal(userIds: Iterable<number>, event: IM.Core.ICoreEvent, exceptConnId?: number): void {
    const seen = new Set<number>();
    let pass: RenderPass | undefined;
    for (const userId of userIds) {
      if (seen.has(userId)) continue;
      seen.add(userId);
      for (const conn of this.registry.ofUser(userId)) {
        if (conn.id === exceptConnId) continue;
        pass ??= new RenderPass(event);
        const frame = pass.frameFor(conn, userId);
        if (frame) conn.write(frame);
      }
    }
  }
}

/** Resolves when the bus is connected again (checked every 20 ms), or after `ms`. */
async function untilConnected(bus: MessageBus, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!bus.isConnected() && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
}
