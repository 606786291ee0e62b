import type { ClientConnection, EncodableType, FrontRequest } from './connection';

export interface CommandContext {
  conn: ClientConnection;
  seqNum: number;
  /** Answers the request: same seq_num, the response's own command id. */
  reply(commandId: number, type: EncodableType, message: object): void;
}

type Decoder<T> = { decode(body: Uint8Array): T };
type Handler<T> = (ctx: CommandContext, request: T) => void | Promise<void>;

interface Route {
  name: string;
  decoder: Decoder<unknown>;
  handler: Handler<unknown>;
  beforeLogin: boolean;
  /** Answered at once, outside the connection's queue (heartbeat). */
  immediate: boolean;
  /**
   * May start once the connection's earlier requests have started, when they
   * are pipelined too (otherwise once they are done). For a handler that
   * hands its work on in order before its first await (message saves).
   */
  pipelined: boolean;
}

/** What the router could not run; seqNum is the request's, for fronts that answer every request. */
export interface RouterEvents {
  unknownCommand(conn: ClientConnection, commandId: number, seqNum: number): void;
  badBody(conn: ClientConnection, commandId: number, err: Error, seqNum: number): void;
  notLoggedIn(conn: ClientConnection, commandId: number, seqNum: number): void;
  queueFull(conn: ClientConnection, commandId: number, seqNum: number): void;
  handlerFailed(conn: ClientConnection, commandId: number, err: unknown): void;
  handled(commandName: string): void;
}

const MAX_QUEUED_REQUESTS = 256;

interface ConnectionQueue {
  /** Settles when every request queued so far is done. */
  done: Promise<void>;
  /** Settles when a pipelined request may start: earlier pipelined ones started, every other earlier one done. */
  startable: Promise<void>;
  length: number;
}

/**
 * Dispatches a front's requests by command id (TeamTalk: the original
 * ignores service_id on receipt, and so do we); every front has its own
 * router over the same queue machinery. Requests of one connection run one after another, in the
 * order they arrived, so responses and deliveries keep the client's order.
 * Consecutive pipelined requests (messages) overlap: each starts when the one
 * before it has started, so a client's burst of messages is stored in one
 * batch instead of one round trip each; the next other request waits for
 * all of them.
 */
export class CommandRouter {
  private readonly routes = new Map<number, Route>();
  private readonly queues = new WeakMap<ClientConnection, ConnectionQueue>();

  constructor(private readonly events: RouterEvents) {}

  on<T>(commandId: number, name: string, decoder: Decoder<T>, handler: Handler<T>, opts: { beforeLogin?: boolean; immediate?: boolean; pipelined?: boolean } = {}): this {
    this.routes.set(commandId, {
      name,
      decoder,
      handler: handler as Handler<unknown>,
      beforeLogin: opts.beforeLogin ?? false,
      immediate: opts.immediate ?? false,
      pipelined: opts.pipelined ?? false,
    });
    return this;
  }

  dispatch(conn: ClientConnection, pdu: FrontRequest): void {
    const route = this.routes.get(pdu.commandId);
    if (!route) return this.events.unknownCommand(conn, pdu.commandId, pdu.seqNum);
    if (!route.beforeLogin && !conn.identity) return this.events.notLoggedIn(conn, pdu.commandId, pdu.seqNum);
    let request: unknown;
    try {
      request = route.decoder.decode(pdu.body);
    } catch (err) {
      return this.events.badBody(conn, pdu.commandId, err as Error, pdu.seqNum);
    }
    const ctx: CommandContext = {
      conn,
      seqNum: pdu.seqNum,
      reply: (commandId, type, message) => conn.send(commandId, type, message, pdu.seqNum),
    };
    if (route.immediate) {
      void this.run(route, ctx, request, pdu.commandId);
      return;
    }
    let queue = this.queues.get(conn);
    if (!queue) this.queues.set(conn, (queue = { done: Promise.resolve(), startable: Promise.resolve(), length: 0 }));
    if (queue.length >= MAX_QUEUED_REQUESTS) return this.events.queueFull(conn, pdu.commandId, pdu.seqNum);
    queue.length += 1;
    const q = queue;
    const start = () => (conn.closed ? Promise.resolve() : this.run(route, ctx, request, pdu.commandId));
    if (!route.pipelined) {
      q.done = q.done.then(async () => {
        await start();
        q.length -= 1;
      });
      q.startable = q.done;
      return;
    }
    let started!: () => void;
    const startedPromise = new Promise<void>((resolve) => (started = resolve));
    const finished = q.startable.then(async () => {
      // run() executes the handler synchronously up to its first await.
      const running = start();
      started();
      await running;
      q.length -= 1;
    });
    q.startable = startedPromise;
    q.done = Promise.all([q.done, finished]).then(() => undefined);
  }

  /** Resolves once every request the connection has sent so far has been handled. */
  idle(conn: ClientConnection): Promise<void> {
    return this.queues.get(conn)?.done ?? Promise.resolve();
  }

  private async run(route: Route, ctx: CommandContext, request: unknown, commandId: number): Promise<void> {
    try {
      await route.handler(ctx, request);
      this.events.handled(route.name);
    } catch (err) {
      this.events.handlerFailed(ctx.conn, commandId, err);
    }
  }
}
