import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileServerService, IM, clusterSubjects, type FileServerHandlers } from '@tt/proto';
import type { MessageBus } from '@tt/bus';
import type { ConnectionLimits } from '@tt/connection';
import { clip, type Logger } from '@tt/observability';
import { RpcError, startRpcServer, type RpcTls } from '@tt/rpc';
import { Counter, Gauge, type Registry } from 'prom-client';
import { startClientListener } from './client-listener';
import { createHttpsServer, type ReloadingServerTls } from '@tt/tls';
import { createImageHttpHandler } from './http-api';
import { ImageStore } from './image-store';
import { OfflineStore, TASK_ID_RE } from './offline-store';
import { PeerFileServers } from './peers';
import { DiskQuota } from './quota';
import { TransferService, type TransferLimits } from './transfer';

export interface FileServerConfig {
  /** Stable name (offline file records name the server by it). */
  serverId: string;
  /** Client-facing TCP listener (TeamTalk file transfer). */
  host: string;
  port: number;
  /** Addresses handed to clients (IMFileServerIPRsp); port 0 = the listening port. */
  advertiseIps: string[];
  advertisePort?: number;
  /** File transfer over TLS on this port too (FILE_SERVER_TLS_PORT); absent or 0: off. Needs deps.tls. */
  tlsPort?: number;
  /** Image store (HTTP). */
  httpHost: string;
  httpPort: number;
  /** The image store over HTTPS on this port too (FILE_SERVER_HTTPS_PORT); absent or 0: off. Needs deps.tls. */
  httpsPort?: number;
  /** Public base URL of the image store; default http://<first advertised ip>:<http port>. */
  httpPublicUrl?: string;
  /** Internal gRPC (msg_server, peer file_servers). */
  rpcHost: string;
  rpcPort: number;
  /** host:port the others use for the gRPC service; default <rpcHost or hostname>:<port>. */
  rpcAdvertise?: string;
  /** TLS of the gRPC service and of the calls to peers (GRPC_TLS_*); absent: cleartext. */
  rpcTls?: RpcTls;
  dataDir: string;
  limits: Omit<TransferLimits, 'maxTasks' | 'maxPendingPulls'> & Partial<Pick<TransferLimits, 'maxTasks' | 'maxPendingPulls'>>;
  quotaBytes: number;
  maxImageBytes: number;
  imageTypes: string[];
  idleTimeoutMs: number;
  /** Per-connection memory bounds of the client port (CONN_*); default DEFAULT_CONNECTION_LIMITS. */
  connectionLimits?: ConnectionLimits;
  sweepIntervalMs: number;
  reportIntervalMs: number;
  subjectPrefix: string;
}

export interface FileServerDeps {
  config: FileServerConfig;
  bus: MessageBus;
  log: Logger;
  metricsRegistry: Registry;
  now?: () => number;
  /** The certificate of the TLS ports (CLIENT_TLS_*). */
  tls?: ReloadingServerTls;
}

export interface RunningFileServer {
  serverId: string;
  /** Client TCP port, image store HTTP port, gRPC port. */
  port: number;
  httpPort: number;
  rpcPort: number;
  /** The TLS ports, when open. */
  tlsPort?: number;
  httpsPort?: number;
  /** The image store's public base URL (login_server's msfsPrior/msfsBackup). */
  httpUrl: string;
  transfer: TransferService;
  /** Runs the expiry sweep now (tests, and the timer). */
  sweep(): Promise<{ tasks: number; files: number }>;
  readiness(): Promise<{ ok: boolean; details: Record<string, unknown> }>;
  close(): Promise<void>;
}

/**
 * file_server: TeamTalk file transfer (tasks created by msg_server over gRPC,
 * clients connected over TCP with the 16-byte-header framing) and the image
 * store over HTTP. The same function runs it as its own process (cluster mode)
 * and inside the standalone process.
 */
export async function startFileServer(deps: FileServerDeps): Promise<RunningFileServer> {
  const { config, bus, log } = deps;
  const subjects = clusterSubjects(config.subjectPrefix);
  const registers = [deps.metricsRegistry];
  const created = new Counter({ name: 'tt_file_tasks_total', help: 'Transfer tasks asked for, by result code', labelNames: ['code'] as const, registers });
  const answers = new Counter({ name: 'tt_file_answers_total', help: 'Login and pull answers by FILE_SERVER_ERRNO code', labelNames: ['request', 'code'] as const, registers });
  const bytes = new Counter({ name: 'tt_file_bytes_total', help: 'File bytes relayed (online), uploaded and downloaded (offline)', labelNames: ['kind'] as const, registers });
  const frameErrors = new Counter({ name: 'tt_file_frame_errors_total', help: 'Connections closed for a broken frame', registers });
  const dropped = new Counter({ name: 'tt_file_pdus_dropped_total', help: 'Client PDUs dropped, by reason', labelNames: ['reason'] as const, registers });
  const swept = new Counter({ name: 'tt_file_expired_total', help: 'Expired tasks and files removed', labelNames: ['kind'] as const, registers });
  const httpRequests = new Counter({ name: 'tt_file_http_requests_total', help: 'Image store requests by method and status', labelNames: ['method', 'status'] as const, registers });
  const connGauge = new Gauge({ name: 'tt_file_connections', help: 'Client connections open', registers });
  const cutOff = new Counter({ name: 'tt_file_connections_cut_off_total', help: 'Client connections closed for the unsent output they held: slow_reader (at CONN_MAX_OUTPUT_BYTES for CONN_SLOW_READER_MS), output_overflow (past 8 times it)', labelNames: ['reason'] as const, registers });

  const dataDir = path.resolve(config.dataDir);
  const store = new OfflineStore(dataDir);
  const images = new ImageStore(dataDir);
  await store.init();
  await images.init();
  const quota = new DiskQuota(config.quotaBytes);
  quota.commit((await store.scan()).bytes + (await images.usedBytes()), false);

  const peers = new PeerFileServers(config.serverId, { timeoutMs: 3000, tls: config.rpcTls });
  const transfer = new TransferService({
    serverId: config.serverId,
    store,
    quota,
    limits: { maxTasks: 10_000, maxPendingPulls: 32, ...config.limits },
    log: log.child({ part: 'transfer' }),
    now: deps.now,
    findRemote: (taskId) => peers.findOffline(taskId),
    events: {
      answered: (what, code) => (what === 'create' ? created.inc({ code: String(code) }) : answers.inc({ request: what, code: String(code) })),
      bytes: (kind, n) => bytes.inc({ kind }, n),
    },
  });
  new Gauge({ name: 'tt_file_tasks_active', help: 'Transfer tasks in progress', registers, collect() { this.set(transfer.activeTasks); } });
  new Gauge({ name: 'tt_file_quota_free_bytes', help: 'Storage quota left', registers, collect() { this.set(quota.freeBytes); } });

  const tlsFor = (setting: string): ReloadingServerTls => {
    if (!deps.tls) throw new Error(`${setting} is set but there is no TLS certificate (CLIENT_TLS_CERT_FILE, CLIENT_TLS_KEY_FILE)`);
    return deps.tls;
  };
  const listener = await startClientListener({
    host: config.host,
    port: config.port,
    tls: config.tlsPort ? { port: config.tlsPort, certificate: tlsFor('FILE_SERVER_TLS_PORT') } : undefined,
    // The biggest PDU is a pull response with one chunk.
    maxFrameBytes: config.limits.chunkBytes + 4096,
    idleTimeoutMs: config.idleTimeoutMs,
    limits: config.connectionLimits,
    transfer,
    log: log.child({ part: 'clients' }),
    events: { frameError: () => frameErrors.inc(), dropped: (reason) => dropped.inc({ reason }), connections: (n) => connGauge.set(n), cutOff: (reason) => cutOff.inc({ reason }) },
  });
  const advertisePort = config.advertisePort || listener.port;
  const addrs = (config.advertiseIps.length ? config.advertiseIps : ['127.0.0.1']).map((ip) => ({ ip, port: advertisePort }));

  const imageHandler = createImageHttpHandler({
    images,
    quota,
    publicUrl: (): string => httpUrl,
    maxImageBytes: config.maxImageBytes,
    allowedTypes: new Set(config.imageTypes),
    log: log.child({ part: 'images' }),
    onRequest: (method, status) => httpRequests.inc({ method, status: String(status) }),
  });
  const listenHttp = async <S extends http.Server | import('node:https').Server>(server: S, port: number): Promise<S> => {
    server.keepAliveTimeout = 5000;
    server.requestTimeout = 120_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, config.httpHost, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return server;
  };
  const httpServer = await listenHttp(http.createServer(imageHandler), config.httpPort);
  // The same image store over HTTPS: https.Server is an http.Server underneath.
  const httpsServer = config.httpsPort ? await listenHttp(createHttpsServer(tlsFor('FILE_SERVER_HTTPS_PORT'), imageHandler), config.httpsPort) : undefined;
  const httpPort: number = (httpServer.address() as import('node:net').AddressInfo).port;
  const httpsPort = httpsServer ? (httpsServer.address() as import('node:net').AddressInfo).port : undefined;
  const httpUrl: string = (config.httpPublicUrl || `http://${addrs[0]!.ip}:${httpPort}`).replace(/\/+$/, '');

  const handlers: FileServerHandlers = {
    createTask: async (req) => transfer.createTask(req) as IM.Server.IMFileTransferRsp,
    getServerAddrs: async () => ({ ipAddrList: addrs }) as IM.Server.IMFileServerIPRsp,
    getOfflineFile: async (req) => {
      const meta = await transfer.localOffline(checkedTaskId(req.taskId));
      if (!meta) throw RpcError.notFound(`no offline file ${req.taskId}`);
      return { taskId: meta.taskId, fromUserId: meta.fromUserId, toUserId: meta.toUserId, fileName: meta.fileName, fileSize: meta.fileSize, expiresAt: meta.expiresAt, serverId: meta.serverId } as IM.FileServer.OfflineFileMeta;
    },
    readOfflineChunk: async (req) => (await transfer.readLocal(checkedTaskId(req.taskId), req.offset, req.size)) as unknown as IM.FileServer.ReadChunkRsp,
    deleteOfflineFile: async (req) => ({ deleted: await transfer.deleteLocal(checkedTaskId(req.taskId)) }) as IM.FileServer.DeleteOfflineRsp,
    ping: async () => ({ serverId: config.serverId }) as IM.FileServer.PingRsp,
  };
  const rpc = await startRpcServer(FileServerService, handlers as any, { host: config.rpcHost, port: config.rpcPort }, { tls: config.rpcTls, onError: (method, err) => log.error({ method, err }, 'file_server call failed') });
  const rpcHost = config.rpcHost === '0.0.0.0' || config.rpcHost === '::' ? os.hostname() : config.rpcHost;
  const rpcAddr = config.rpcAdvertise || `${rpcHost}:${rpc.port}`;

  let closing = false;
  const report = () => {
    if (closing) return;
    bus.publish(
      subjects.fileServerReport,
      IM.FileServer.FileServerReport.encode({
        serverId: config.serverId,
        rpcAddr,
        addrs: { ipAddrList: addrs },
        httpUrl,
        ttlMs: config.reportIntervalMs * 3,
        draining: false,
        activeTasks: transfer.activeTasks,
        freeBytes: quota.freeBytes,
      }).finish(),
    );
  };
  const subs = [
    bus.subscribe(subjects.fileServerReport, (data) => peers.report(IM.FileServer.FileServerReport.decode(data))),
    bus.subscribe(subjects.fileServerLeaving, (data) => peers.leave(IM.FileServer.FileServerLeaving.decode(data).serverId)),
    bus.subscribe(subjects.fileServerResync, () => report()),
  ];
  report();
  const reportTimer = setInterval(report, config.reportIntervalMs);
  reportTimer.unref();

  let sweeping: Promise<{ tasks: number; files: number }> | undefined;
  const sweep = () => {
    sweeping ??= transfer
      .sweep()
      .then((r) => {
        if (r.tasks) swept.inc({ kind: 'task' }, r.tasks);
        if (r.files) swept.inc({ kind: 'file' }, r.files);
        return r;
      })
      .finally(() => (sweeping = undefined));
    return sweeping;
  };
  const sweepTimer = setInterval(() => void sweep().catch((err: unknown) => log.error({ err }, 'expiry sweep failed')), config.sweepIntervalMs);
  sweepTimer.unref();

  log.info({ serverId: config.serverId, port: listener.port, tlsPort: listener.tlsPort, httpPort, httpsPort, rpcPort: rpc.port, rpcAddr, httpUrl, addrs, dataDir }, 'file_server listening');

  return {
    serverId: config.serverId,
    port: listener.port,
    httpPort,
    rpcPort: rpc.port,
    tlsPort: listener.tlsPort,
    httpsPort,
    httpUrl,
    transfer,
    sweep,
    readiness: async () => ({ ok: !closing && bus.isConnected(), details: { bus: bus.isConnected(), tasks: transfer.activeTasks, connections: listener.connections(), freeBytes: quota.freeBytes } }),
    close: async () => {
      if (closing) return;
      closing = true;
      clearInterval(reportTimer);
      clearInterval(sweepTimer);
      for (const s of subs) s.unsubscribe();
      try {
        bus.publish(subjects.fileServerLeaving, IM.FileServer.FileServerLeaving.encode({ serverId: config.serverId }).finish());
        await bus.flush();
      } catch {
        /* the bus may be gone already */
      }
      await listener.close();
      const httpClosed = [httpServer, httpsServer].map((server) => server && new Promise<void>((resolve) => server.close(() => resolve())));
      httpServer.closeAllConnections();
      httpsServer?.closeAllConnections();
      await Promise.all(httpClosed);
      await rpc.close(2000);
      peers.close();
      await sweeping?.catch(() => undefined);
      await transfer.close();
      log.info({ serverId: config.serverId }, 'file_server stopped');
    },
  };
}

/**
 * A task id a caller sent (it comes from a client, through msg_server): this server's form, or a bad-input
 * answer, never an internal error; quoted clipped (fuzzers send 70 KB ones).
 */
function checkedTaskId(taskId: string): string {
  if (!TASK_ID_RE.test(taskId)) throw RpcError.invalidArgument(`taskId ${JSON.stringify(clip(taskId, 64))} is not a task id (8 to 64 letters, digits and '-')`);
  return taskId;
}
