import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileServerService, IM, clusterSubjects, type FileServerHandlers } from '@tt/proto';
import type { MessageBus } from '@tt/bus';
import type { Logger } from '@tt/observability';
import { RpcError, startRpcServer } from '@tt/rpc';
import { Counter, Gauge, type Registry } from 'prom-client';
import { startClientListener } from './client-listener';
import { createImageHttpHandler } from './http-api';
import { ImageStore } from './image-store';
import { OfflineStore } from './offline-store';
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
  /** Image store (HTTP). */
  httpHost: string;
  httpPort: number;
  /** Public base URL of the image store; default http://<first advertised ip>:<http port>. */
  httpPublicUrl?: string;
  /** Internal gRPC (msg_server, peer file_servers). */
  rpcHost: string;
  rpcPort: number;
  /** host:port the others use for the gRPC service; default <rpcHost or hostname>:<port>. */
  rpcAdvertise?: string;
  dataDir: string;
  limits: Omit<TransferLimits, 'maxTasks' | 'maxPendingPulls'> & Partial<Pick<TransferLimits, 'maxTasks' | 'maxPendingPulls'>>;
  quotaBytes: number;
  maxImageBytes: number;
  imageTypes: string[];
  idleTimeoutMs: number;
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
}

export interface RunningFileServer {
  serverId: string;
  /** Client TCP port, image store HTTP port, gRPC port. */
  port: number;
  httpPort: number;
  rpcPort: number;
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

  const dataDir = path.resolve(config.dataDir);
  const store = new OfflineStore(dataDir);
  const images = new ImageStore(dataDir);
  await store.init();
  await images.init();
  const quota = new DiskQuota(config.quotaBytes);
  quota.commit((await store.scan()).bytes + (await images.usedBytes()), false);

  const peers = new PeerFileServers(config.serverId);
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

  const listener = await startClientListener({
    host: config.host,
    port: config.port,
    // The biggest PDU is a pull response with one chunk.
    maxFrameBytes: config.limits.chunkBytes + 4096,
    idleTimeoutMs: config.idleTimeoutMs,
    transfer,
    log: log.child({ part: 'clients' }),
    events: { frameError: () => frameErrors.inc(), dropped: (reason) => dropped.inc({ reason }), connections: (n) => connGauge.set(n) },
  });
  const advertisePort = config.advertisePort || listener.port;
  const addrs = (config.advertiseIps.length ? config.advertiseIps : ['127.0.0.1']).map((ip) => ({ ip, port: advertisePort }));

  const httpServer = http.createServer(
    createImageHttpHandler({
      images,
      quota,
      publicUrl: (): string => httpUrl,
      maxImageBytes: config.maxImageBytes,
      allowedTypes: new Set(config.imageTypes),
      log: log.child({ part: 'images' }),
      onRequest: (method, status) => httpRequests.inc({ method, status: String(status) }),
    }),
  );
  httpServer.keepAliveTimeout = 5000;
  httpServer.requestTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(config.httpPort, config.httpHost, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const httpPort: number = (httpServer.address() as import('node:net').AddressInfo).port;
  const httpUrl: string = (config.httpPublicUrl || `http://${addrs[0]!.ip}:${httpPort}`).replace(/\/+$/, '');

  const handlers: FileServerHandlers = {
    createTask: async (req) => transfer.createTask(req) as IM.Server.IMFileTransferRsp,
    getServerAddrs: async () => ({ ipAddrList: addrs }) as IM.Server.IMFileServerIPRsp,
    getOfflineFile: async (req) => {
      const meta = await transfer.localOffline(req.taskId);
      if (!meta) throw RpcError.notFound(`no offline file ${req.taskId}`);
      return { taskId: meta.taskId, fromUserId: meta.fromUserId, toUserId: meta.toUserId, fileName: meta.fileName, fileSize: meta.fileSize, expiresAt: meta.expiresAt, serverId: meta.serverId } as IM.FileServer.OfflineFileMeta;
    },
    readOfflineChunk: async (req) => (await transfer.readLocal(req.taskId, req.offset, req.size)) as unknown as IM.FileServer.ReadChunkRsp,
    deleteOfflineFile: async (req) => ({ deleted: await transfer.deleteLocal(req.taskId) }) as IM.FileServer.DeleteOfflineRsp,
    ping: async () => ({ serverId: config.serverId }) as IM.FileServer.PingRsp,
  };
  const rpc = await startRpcServer(FileServerService, handlers as any, { host: config.rpcHost, port: config.rpcPort }, { onError: (method, err) => log.error({ method, err }, 'file_server call failed') });
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

  log.info({ serverId: config.serverId, port: listener.port, httpPort, rpcPort: rpc.port, rpcAddr, httpUrl, addrs, dataDir }, 'file_server listening');

  return {
    serverId: config.serverId,
    port: listener.port,
    httpPort,
    rpcPort: rpc.port,
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
      const httpClosed = new Promise<void>((resolve) => httpServer.close(() => resolve()));
      httpServer.closeAllConnections();
      await httpClosed;
      await rpc.close(2000);
      peers.close();
      await sweeping?.catch(() => undefined);
      await transfer.close();
      log.info({ serverId: config.serverId }, 'file_server stopped');
    },
  };
}
