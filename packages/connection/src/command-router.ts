import { MAX_QUEUED_REQUESTS, type ClientConnection, type EncodableType, type FrontRequest } from './connection';

/**
 * What the router needs of a connection (ClientConnection has it; tests pass
 * doubles). inputQueued/inputHandled tell the connection the bytes waiting in
 * its queue, so it stops reading while they are over its limit.
 */
export type RoutedConnection = Pick<ClientConnection, 'identity' | 'closed' | 'send'> & Partial<Pick<ClientConnection, 'inputQueued' | 'inputHandled'>>;

export interface CommandContext<C extends RoutedConnection = ClientConnection> {
  conn: C;
  seqNum: number;
  /** Answers the request: same seq_num, the response's own command id. */
  reply(commandId: number, type: EncodableType, message: object): void;
}

type Decoder<T> = { decode(body: Uint8Array): T };
type Handler<T, C extends RoutedConnection> = (ctx: CommandContext<C>, request: T) => void | Promise<void>;

interface Route<C extends RoutedConnection> {
  name: string;
  decoder: Decoder<unknown>;
  handler: Handler<unknown, C>;
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
export interface RouterEvents<C extends RoutedConnection = ClientConnection> {
  unknownCommand(conn: C, commandId: number, seqNum: number): void;
  badBody(conn: C, commandId: number, err: Error, seqNum: number): void;
  notLoggedIn(conn: C, commandId: number, seqNum: number): void;
  queueFull(conn: C, commandId: number, seqNum: number): void;
  handlerFailed(conn: C, commandId: number, err: unknown): void;
  handled(commandName: string): void;
}

interface ConnectionQueue {
  /** Settles when every request queued so far is done. */
  done: Promise<void>;
  /** Settles when a pipelined request may start: earlier pipelined ones started, every other earlier one done. */
  startable: Promise<void>;
  length: number;
}

/**
 * Dispatches a front's requests by command id (TeamTalk: the original
 * ignores service_id on receipt, and so do we); every front (msg_server's,
 * file_server's listener) has its own router over the same queue machinery. Requests of one connection run one after another, in the
 * order they arrived, so responses and deliveries keep the client's order.
 * Consecutive pipelined requests (messages) overlap: each starts when the one
 * before it has started, so a client's burst of messages is stored in one
 * batch instead of one round trip each; the next other request waits for
 * all of them.
 */
export class CommandRouter<C extends RoutedConnection = ClientConnection> {
  private readonly routes = new Map<number, Route<C>>();
  private readonly queues = new WeakMap<C, ConnectionQueue>();

  constructor(private readonly events: RouterEvents<C>) {}

  on<T>(commandId: number, name: string, decoder: Decoder<T>, handler: Handler<T, C>, opts: { beforeLogin?: boolean; immediate?: boolean; pipelined?: boolean } = {}): this {
    this.routes.set(commandId, {
      name,
      decoder,
      handler: handler as Handler<unknown, C>,
      beforeLogin: opts.beforeLogin ?? false,
      immediate: opts.immediate ?? false,
      pipelined: opts.pipelined ?? false,
    });
    return this;
  }

  /** Every registered command (tests check each has a case, e.g. the authorization suite). */
  commands(): Array<{ commandId: number; name: string; beforeLogin: boolean }> {
    return [...this.routes].map(([commandId, r]) => ({ commandId, name: r.name, beforeLogin: r.beforeLogin }));
  }

  dispatch(conn: C, pdu: FrontRequest): void {
    const route = this.routes.get(pdu.commandId);
    if (!route) return this.events.unknownCommand(conn, pdu.commandId, pdu.seqNum);
    if (!route.beforeLogin && !conn.identity) return this.events.notLoggedIn(conn, pdu.commandId, pdu.seqNum);
    let request: unknown;
    try {
      request = route.decoder.decode(pdu.body);
    } catch (err) {
      return this.events.badBody(conn, pdu.commandId, err as Error, pdu.seqNum);
    }
    const ctx: CommandContext<C> = {
      conn,
      seqNum: pdu.seqNum,
      reply: (commandId, type, message) => conn.send(commandId, type, message, pdu.seqNum),
    };
    if (route.immediate) return this.runNow(route, ctx, request, pdu.commandId);
    let queue = this.queues.get(conn);
    if (!queue) this.queues.set(conn, (queue = { done: Promise.resolve(), startable: Promise.resolve(), length: 0 }));
    // A connection stops reading at MAX_QUEUED_REQUESTS (ClientConnection); this guards the others.
    if (queue.length >= MAX_QUEUED_REQUESTS) return this.events.queueFull(conn, pdu.commandId, pdu.seqNum);
    queue.length += 1;
    const bytes = pdu.body.length;
    conn.inputQueued?.(bytes);
    const q = queue;
    const start = () => (conn.closed ? Promise.resolve() : this.run(route, ctx, request, pdu.commandId));
    const handled = () => {
      q.length -= 1;
      // Nothing left to wait for: an idle connection keeps no queue (two promises and a WeakMap entry each).
      if (q.length === 0 && this.queues.get(conn) === q) this.queues.delete(conn);
      conn.inputHandled?.(bytes);
    };
    if (!route.pipelined) {
      q.done = q.done.then(async () => {
        await start();
        handled();
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
      handled();
    });
    q.startable = startedPromise;
    q.done = Promise.all([q.done, finished]).then(() => undefined);
  }

  /** Resolves once every request the connection has sent so far has been handled. */
  idle(conn: C): Promise<void> {
    return this.queues.get(conn)?.done ?? Promise.resolve();
  }

  /** Runs an immediate request; a promise only when the handler returns one (a heartbeat flood makes none). */
  private runNow(route: Route<C>, ctx: CommandContext<C>, request: unknown, commandId: number): void {
    let result: void | Promise<void>;
    try {
      result = route.handler(ctx, request);
    } catch (err) {
      return this.events.handlerFailed(ctx.conn, commandId, err);
    }
    if (!result) return this.events.handled(route.name);
    result.then(
      () => this.events.handled(route.name),
      (err: unknown) => this.events.handlerFailed(ctx.conn, commandId, err),
    );
  }

  private async run(route: Route<C>, ctx: CommandContext<C>, request: unknown, commandId: number): Promise<void> {
    try {
      await route.handler(ctx, request);
      this.events.handled(route.name);
    } catch (err) {
      this.events.handlerFailed(ctx.conn, commandId, err);
    }
  }
}
