import { connect, credsAuthenticator, type Msg, type NatsConnection, type Subscription } from 'nats';
import { defaultOnError, HandlerRunner } from './dispatch';
import { assertPublishSubject, assertQueueName, assertSubscribeSubject } from './subject';
import {
  BusError,
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type BusBaseOptions,
  type BusHandler,
  type BusMsg,
  type BusSubscription,
  type MessageBus,
  type RequestOptions,
  type SubscribeOptions,
} from './types';

export type BusStatusType = 'disconnected' | 'reconnecting' | 'reconnected' | 'lame-duck' | 'error' | 'closed';

export interface BusStatus {
  type: BusStatusType;
  /** Server address or error text, as the client reports it. */
  detail?: string;
}

export interface NatsBusOptions extends BusBaseOptions {
  /** e.g. 'nats://127.0.0.1:4222', or several for a NATS cluster. */
  servers: string | string[];
  /** Connection name as the server shows it (role and instance, e.g. 'msg_server-1'). */
  name: string;
  user?: string;
  pass?: string;
  token?: string;
  /** A credentials file's contents (user JWT + NKey seed); instead of user/pass or token. */
  credentials?: Uint8Array;
  /** TLS towards the servers, as PEM contents: ca verifies them (absent: the system CAs), cert + key answer a server that verifies clients. */
  tls?: { ca?: Uint8Array | string; cert?: Uint8Array | string; key?: Uint8Array | string };
  /** Keep trying when the first connect fails instead of rejecting (default false: fail fast at startup). */
  waitOnFirstConnect?: boolean;
  /**
   * Pause between reconnect attempts, ms (default 250, plus up to reconnectJitterMs): how late after NATS's
   * return the bus is back at worst. A refused attempt costs NATS one TCP accept, so a short pause is cheap.
   */
  reconnectTimeWaitMs?: number;
  /** Random extra pause per attempt, ms (default 100), so a fleet does not reconnect in lockstep. */
  reconnectJitterMs?: number;
  /** Timeout of the initial connect, ms (default 5000). */
  connectTimeoutMs?: number;
  /** Ping interval, ms; a dead server is noticed after 2 missed pings (default 20000). */
  pingIntervalMs?: number;
  /** Connection status changes (disconnect, reconnect, close...). */
  onStatus?: (status: BusStatus) => void;
}

function pemStrings(tls: NonNullable<NatsBusOptions['tls']>): { ca?: string; cert?: string; key?: string } {
  const out: { ca?: string; cert?: string; key?: string } = {};
  for (const k of ['ca', 'cert', 'key'] as const) {
    const pem = tls[k];
    if (pem !== undefined) out[k] = typeof pem === 'string' ? pem : Buffer.from(pem).toString('utf8');
  }
  return out;
}

export const DEFAULT_RECONNECT_TIME_WAIT_MS = 250;

/** The subset of NatsError this module reads. */
function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function toBusError(err: unknown, subject: string): unknown {
  switch (errorCode(err)) {
    case '503':
      return new BusError('NO_RESPONDERS', `no responders for ${subject}`, { cause: err });
    case 'TIMEOUT':
      return new BusError('TIMEOUT', `request to ${subject} timed out`, { cause: err });
    case 'CONNECTION_CLOSED':
    case 'CONNECTION_DRAINING':
      return new BusError('CLOSED', 'bus is closed', { cause: err });
    case 'DISCONNECT':
      return new BusError('DISCONNECTED', 'bus is disconnected', { cause: err });
    default:
      return err;
  }
}

/**
 * MessageBus over core NATS (at-most-once, no JetStream). Reconnects forever; while disconnected, publishes are
 * buffered by the client (up to its reconnect buffer) and requests fail fast with DISCONNECTED.
 *
 * The durable `JetStreamJobQueue` (stream + pull consumer, explicit ack, redelivery) sits beside this class,
 * built on `connection`; the MessageBus interface stays at-most-once.
 */
export class NatsBus implements MessageBus {
  private readonly runner: HandlerRunner;
  private readonly subs = new Set<Subscription>();
  private connected = true;
  private closing = false;
  private closed = false;
  private closePromise?: Promise<void>;
  private readonly requestTimeoutMs: number;
  private readonly closeTimeoutMs: number;

  private constructor(
    /** The underlying connection, for what the bus does not cover (JetStream: JetStreamJobQueue). */
    readonly connection: NatsConnection,
    private readonly options: NatsBusOptions,
  ) {
    this.runner = new HandlerRunner(options.onError ?? defaultOnError);
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    void this.watchStatus();
    void connection.closed().then((err) => {
      this.connected = false;
      this.closed = true;
      this.emit({ type: 'closed', detail: err ? err.message : undefined });
    });
  }

  static async connect(options: NatsBusOptions): Promise<NatsBus> {
    const nc = await connect({
      servers: options.servers,
      name: options.name,
      user: options.user,
      pass: options.pass,
      token: options.token,
      authenticator: options.credentials ? credsAuthenticator(options.credentials) : undefined,
      tls: options.tls ? pemStrings(options.tls) : undefined,
      maxReconnectAttempts: -1,
      reconnectTimeWait: options.reconnectTimeWaitMs ?? DEFAULT_RECONNECT_TIME_WAIT_MS,
      reconnectJitter: options.reconnectJitterMs ?? 100,
      reconnectJitterTLS: options.reconnectJitterMs ?? 100,
      waitOnFirstConnect: options.waitOnFirstConnect ?? false,
      timeout: options.connectTimeoutMs ?? 5000,
      pingInterval: options.pingIntervalMs ?? 20_000,
      maxPingOut: 2,
      // The client would otherwise capture a stack trace for every request
      // (one per delivered message): a few per cent of msg_server's CPU.
      noAsyncTraces: true,
    });
    return new NatsBus(nc, options);
  }

  /** Handler throws/rejections so far. */
  get handlerErrors(): number {
    return this.runner.errors;
  }

  publish(subject: string, data: Uint8Array): void {
    assertPublishSubject(subject);
    if (this.closed) throw new BusError('CLOSED', 'bus is closed');
    try {
      this.connection.publish(subject, own(data));
    } catch (err) {
      throw toBusError(err, subject);
    }
  }

  subscribe(subject: string, handler: BusHandler, opts: SubscribeOptions = {}): BusSubscription {
    assertSubscribeSubject(subject);
    if (opts.queue !== undefined) assertQueueName(opts.queue);
    if (this.closing || this.closed) throw new BusError('CLOSED', 'bus is closed');
    const context = { subject, queue: opts.queue };
    let sub: Subscription;
    try {
      sub = this.connection.subscribe(subject, {
        queue: opts.queue,
        callback: (err, m) => {
          if (err) {
            this.runner.report(err, context);
            return;
          }
          this.runner.run(handler, m.data, wrap(m), context);
        },
      });
    } catch (err) {
      throw toBusError(err, subject);
    }
    this.subs.add(sub);
    void sub.closed.then(() => this.subs.delete(sub));
    return {
      subject,
      queue: opts.queue,
      unsubscribe: () => {
        this.subs.delete(sub);
        if (!sub.isClosed()) sub.unsubscribe();
      },
    };
  }

  async request(subject: string, data: Uint8Array, opts: RequestOptions = {}): Promise<Uint8Array> {
    assertPublishSubject(subject);
    if (this.closed) throw new BusError('CLOSED', 'bus is closed');
    if (!this.connected) throw new BusError('DISCONNECTED', `bus is disconnected; request to ${subject} not sent`);
    try {
      const reply = await this.connection.request(subject, own(data), { timeout: opts.timeoutMs ?? this.requestTimeoutMs });
      return reply.data;
    } catch (err) {
      throw toBusError(err, subject);
    }
  }

  async flush(): Promise<void> {
    if (this.closed) throw new BusError('CLOSED', 'bus is closed');
    try {
      await this.connection.flush();
    } catch (err) {
      throw toBusError(err, '(flush)');
    }
  }

  isConnected(): boolean {
    return this.connected && !this.closed;
  }

  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doClose(): Promise<void> {
    this.closing = true;
    if (this.connection.isClosed()) return;
    // Stop taking messages but deliver the ones already received, let running handlers finish (they may still
    // answer requests), then drain the connection itself (flushes pending publishes and closes).
    await Promise.allSettled([...this.subs].map((s) => s.drain()));
    await this.runner.idle(this.closeTimeoutMs);
    try {
      await this.connection.drain();
    } catch (err) {
      if (!this.connection.isClosed()) await this.connection.close();
      const code = errorCode(err);
      if (code !== 'CONNECTION_CLOSED' && code !== 'CONNECTION_DRAINING') throw err;
    }
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.connection.status()) {
      const detail = typeof s.data === 'string' || typeof s.data === 'number' ? String(s.data) : undefined;
      switch (s.type) {
        case 'disconnect':
          this.connected = false;
          this.emit({ type: 'disconnected', detail });
          break;
        case 'reconnecting':
          this.emit({ type: 'reconnecting', detail });
          break;
        case 'reconnect':
          this.connected = true;
          this.emit({ type: 'reconnected', detail });
          break;
        case 'ldm':
          this.emit({ type: 'lame-duck', detail });
          break;
        case 'error':
          this.emit({ type: 'error', detail });
          break;
        default:
          break;
      }
    }
  }

  private emit(status: BusStatus): void {
    try {
      this.options.onStatus?.(status);
    } catch {
      // A status listener's failure is its own business.
    }
  }
}

/**
 * The nats client keeps a reference to a published payload until its next socket write, so a caller that
 * reuses its buffer right after publish would send the later contents. The bus promises the opposite (the
 * MemoryBus copies too), so payloads are copied; IM payloads are small.
 */
function own(data: Uint8Array): Uint8Array {
  return data.slice();
}

function wrap(m: Msg): BusMsg {
  return {
    subject: m.subject,
    reply: m.reply || undefined,
    respond(data: Uint8Array): boolean {
      try {
        return m.respond(own(data));
      } catch {
        return false;
      }
    },
  };
}
