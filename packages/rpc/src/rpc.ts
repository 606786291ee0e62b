import * as grpc from '@grpc/grpc-js';

/** The one error type of the gRPC boundary, on both sides. */
export class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }

  static invalidArgument(message: string) {
    return new RpcError(grpc.status.INVALID_ARGUMENT, message);
  }
  static notFound(message: string) {
    return new RpcError(grpc.status.NOT_FOUND, message);
  }
  static permissionDenied(message: string) {
    return new RpcError(grpc.status.PERMISSION_DENIED, message);
  }
  static unavailable(message: string) {
    return new RpcError(grpc.status.UNAVAILABLE, message);
  }

  get codeName(): string {
    return grpc.status[this.code] ?? String(this.code);
  }
}

export const RpcStatus = grpc.status;

type AnyHandler = (request: any) => Promise<any>;
export type PromiseHandlers = Record<string, AnyHandler>;

/**
 * TLS of a gRPC endpoint, as PEM contents. Server: cert + key serve TLS; a ca
 * makes client certificates it signed mandatory (mTLS). Client: ca verifies
 * servers (absent: the system CAs); cert + key are presented for mTLS.
 */
export interface RpcTls {
  cert?: Buffer;
  key?: Buffer;
  ca?: Buffer;
  /** Client: the name expected in the server certificate instead of the dialled host. */
  serverName?: string;
}

function serverCredentials(tls: RpcTls | undefined): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  if (!tls.cert || !tls.key) throw new Error('a gRPC server over TLS needs its certificate and private key');
  return grpc.ServerCredentials.createSsl(tls.ca ?? null, [{ cert_chain: tls.cert, private_key: tls.key }], Boolean(tls.ca));
}

function channelCredentials(tls: RpcTls | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  if (Boolean(tls.cert) !== Boolean(tls.key)) throw new Error('a gRPC client certificate needs its private key (and the reverse)');
  return grpc.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null);
}

export interface RpcServerOptions {
  /** Absent: cleartext. */
  tls?: RpcTls;
  /** Maps a thrown error to an RpcError; unmapped errors become INTERNAL. */
  mapError?: (err: unknown) => RpcError | undefined;
  onError?: (method: string, err: unknown) => void;
  /** Observes each call's method, outcome code and duration. */
  onCall?: (method: string, code: grpc.status, seconds: number) => void;
}

function toServiceError(err: RpcError): Partial<grpc.ServiceError> {
  return { code: err.code, details: err.message, message: err.message };
}

/** Runs one call with the boundary's rules: outcome observed, errors mapped to RpcError. */
async function invoke(method: string, handler: AnyHandler, request: unknown, options: RpcServerOptions): Promise<unknown> {
  const started = process.hrtime.bigint();
  const done = (code: grpc.status) => options.onCall?.(method, code, Number(process.hrtime.bigint() - started) / 1e9);
  try {
    const response = await handler(request);
    done(grpc.status.OK);
    return response;
  } catch (err) {
    const mapped = err instanceof RpcError ? err : options.mapError?.(err);
    if (!mapped || mapped.code === grpc.status.INTERNAL) options.onError?.(method, err);
    const rpcErr = mapped ?? new RpcError(grpc.status.INTERNAL, 'internal error');
    done(rpcErr.code);
    throw rpcErr;
  }
}

function handlerFor(handlers: PromiseHandlers, method: string): AnyHandler {
  const handler = handlers[method];
  if (!handler) throw new Error(`no handler for rpc ${method}`);
  return handler;
}

/** Adapts promise-returning handlers to grpc-js unary handlers. */
export function unaryImplementation(definition: grpc.ServiceDefinition, handlers: PromiseHandlers, options: RpcServerOptions = {}): grpc.UntypedServiceImplementation {
  const impl: grpc.UntypedServiceImplementation = {};
  for (const method of Object.keys(definition)) {
    const handler = handlerFor(handlers, method);
    impl[method] = (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      invoke(method, handler, call.request, options).then(
        (response) => callback(null, response),
        (err: RpcError) => callback(toServiceError(err), null),
      );
    };
  }
  return impl;
}

/**
 * A client of handlers in the same process (standalone mode): the same
 * handlers, serialization, error mapping and observation as over gRPC, minus
 * the HTTP/2 round trip. Requests and responses still go through their
 * protobuf encoding, so callers see exactly what a remote call returns.
 */
export function createLocalRpcClient<H extends PromiseHandlers>(definition: grpc.ServiceDefinition, handlers: PromiseHandlers, options: RpcServerOptions = {}): PromiseClient<H> {
  const out: Record<string, unknown> = {
    close: () => {},
    waitForReady: async () => {},
  };
  for (const [method, def] of Object.entries(definition)) {
    const handler = handlerFor(handlers, method);
    out[method] = async (request: unknown) => {
      const decoded = def.requestDeserialize(def.requestSerialize(request));
      const response = await invoke(method, handler, decoded, options);
      return def.responseDeserialize(def.responseSerialize(response));
    };
  }
  return out as PromiseClient<H>;
}

export interface RunningRpcServer {
  port: number;
  close(graceMs?: number): Promise<void>;
}

export async function startRpcServer(
  definition: grpc.ServiceDefinition,
  handlers: PromiseHandlers,
  address: { host: string; port: number },
  options: RpcServerOptions = {},
): Promise<RunningRpcServer> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
  server.addService(definition, unaryImplementation(definition, handlers, options));
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${address.host}:${address.port}`, serverCredentials(options.tls), (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  return {
    port,
    close: (graceMs = 5000) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

export type PromiseClient<H extends PromiseHandlers> = H & {
  close(): void;
  /** Resolves when the channel is connected (or rejects after timeoutMs). */
  waitForReady(timeoutMs: number): Promise<void>;
};

/**
 * Accepts what an operator writes: "host:port", a gRPC target with a scheme,
 * or a comma-separated list of IP:port (several replicas without DNS), which
 * gRPC spells "ipv4:a:p1,b:p2".
 */
export function rpcTarget(addresses: string): string {
  if (/^[a-z0-9+.-]+:\/\//i.test(addresses) || /^(ipv4|ipv6|unix|dns):/.test(addresses)) return addresses;
  const list = addresses.split(',').map((a) => a.trim()).filter(Boolean);
  if (list.length <= 1) return list[0] ?? addresses;
  if (list.every((a) => /^\d+\.\d+\.\d+\.\d+:\d+$/.test(a))) return `ipv4:${list.join(',')}`;
  if (list.every((a) => /^\[[0-9a-f:]+\]:\d+$/i.test(a))) return `ipv6:${list.join(',')}`;
  throw new Error(`"${addresses}": several addresses must all be IPv4 (or all [IPv6]) host:port; for host names use one DNS name that resolves to every replica (dns:///name:port)`);
}

export interface RpcClientOptions {
  /** Deadline of one call, ms. */
  timeoutMs: number;
  tls?: RpcTls;
  /**
   * Fail a call at once while the channel is not connected, instead of waiting for it within the deadline: for
   * peers found through their own reports (file_servers), which are up when known, so that one that has just
   * died does not hold its callers for the whole deadline.
   */
  failFast?: boolean;
}

/** Time left to a call whose channel did not connect within its deadline, to fail with the connection's error. */
const LAST_TRY_MS = 250;

/**
 * A client whose methods return promises and carry a deadline. `target` is any
 * gRPC target: "host:port", "dns:///name:port" or "ipv4:a:p1,b:p2"; calls are
 * balanced round-robin over the resolved addresses. A call made while the
 * channel is not connected waits for it, within the call's deadline.
 */
export function createRpcClient<H extends PromiseHandlers>(definition: grpc.ServiceDefinition, target: string, options: RpcClientOptions): PromiseClient<H> {
  const Ctor = grpc.makeGenericClientConstructor(definition, 'RpcClient');
  const serverName = options.tls?.serverName;
  const client = new Ctor(rpcTarget(target), channelCredentials(options.tls), {
    ...(serverName ? { 'grpc.ssl_target_name_override': serverName, 'grpc.default_authority': serverName } : {}),
    'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
    'grpc.max_receive_message_length': 16 * 1024 * 1024,
    'grpc.keepalive_time_ms': 30_000,
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 2000,
  }) as unknown as grpc.Client & Record<string, Function>;

  const out: Record<string, unknown> = {
    close: () => client.close(),
    waitForReady: (timeoutMs: number) =>
      new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + timeoutMs, (err?: Error) => (err ? reject(err) : resolve()))),
  };
  const channel = client.getChannel();
  const send = (method: string, request: unknown, deadline: number) =>
    new Promise((resolve, reject) => {
      client[method](request, { deadline }, (err: grpc.ServiceError | null, response: unknown) => {
        if (err) reject(new RpcError(err.code ?? grpc.status.UNKNOWN, err.details || err.message));
        else resolve(response);
      });
    });
  // Between two connection attempts gRPC fails a call at once, even when the peer has just come up (a db_proxy
  // started after this role, or restarting): such a call first waits for the channel, within its deadline, before
  // anything is sent. If the channel never connects, the call fails fast with the connection's own error (refused,
  // TLS...), which says more than "deadline exceeded".
  const sendWhenConnected = async (method: string, request: unknown, deadline: number) => {
    await new Promise<void>((resolve) => client.waitForReady(deadline, () => resolve()));
    return send(method, request, Math.max(deadline, Date.now() + LAST_TRY_MS));
  };
  for (const method of Object.keys(definition)) {
    out[method] = (request: unknown) => {
      const deadline = Date.now() + options.timeoutMs;
      return options.failFast || channel.getConnectivityState(false) === grpc.connectivityState.READY ? send(method, request, deadline) : sendWhenConnected(method, request, deadline);
    };
  }
  return out as PromiseClient<H>;
}
