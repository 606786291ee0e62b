import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as os from 'node:os';
import { IM, clusterSubjects, type DbProxyClient } from '@tt/proto';
import { MemoryJobQueue, type JobQueue, type MessageBus } from '@tt/bus';
import { LogThrottle, clip, watchDependencies, type Logger } from '@tt/observability';
import type { Registry } from 'prom-client';
import type { RpcTls } from '@tt/rpc';
import { CommandRouter } from './command-router';
import { DEFAULT_CONNECTION_LIMITS, startIdleSweeper, type ConnectionLimits } from '@tt/connection';
import { TcpConnection, type ClientConnection, type ConnectionEvents } from './connection';
import { ConnectionRegistry } from './connection-registry';
import type { MsgServerContext } from './context';
import { Delivery } from './delivery';
import { registerLoginHandlers } from './fronts/teamtalk/handlers/login';
import { registerMessageHandlers } from './fronts/teamtalk/handlers/message';
import { registerBuddyHandlers } from './fronts/teamtalk/handlers/buddy';
import { registerSwitchHandlers } from './fronts/teamtalk/handlers/switch';
import { registerGroupHandlers } from './fronts/teamtalk/handlers/group';
import { registerFileHandlers } from './fronts/teamtalk/handlers/file';
import { TeamTalkFront } from './fronts/teamtalk/front';
import { WsFront } from './fronts/ws/front';
import { WsConnection } from './fronts/ws/connection';
import { registerWsHandlers } from './fronts/ws/handlers';
import { listenWs, type WsListener, type WsListenerOptions } from './fronts/ws/server';
import { Tcp12Front } from './fronts/tcp12/front';
import { Tcp12Connection } from './fronts/tcp12/connection';
import { registerTcp12Handlers } from './fronts/tcp12/handlers';
import { createTcp12Router } from './fronts/tcp12/server';
import { listenTcp, type TcpListener } from './fronts/tcp-listener';
import { BodyCipher } from './fronts/tcp12/codec';
import { MsyncFront } from './fronts/msync/front';
import { MsyncTcpConnection, MsyncWsConnection } from './fronts/msync/connection';
import { msyncRouterAnswers, registerMsyncHandlers, type MsyncHandlerOptions } from './fronts/msync/handlers';
import { ConversationCore } from './core/conversation-core';
import { badInputOf } from './core/bad-input';
import { OmtpFront } from './fronts/omtp/front';
import { OmtpConnection, ReplayCache } from './fronts/omtp/connection';
import { registerOmtpHandlers } from './fronts/omtp/handlers';
import { createOmtpRouter } from './fronts/omtp/server';
import { parseAesKey } from '@tt/omtp';
import { UserDirectory } from './core/user-directory';
import { SessionMonitors } from './core/monitors';
import { GroupAdmin } from './core/groups';
import { Social } from './core/social';
import { AdminInputError } from '@tt/observability';
import { ContentCodec } from './core/content';
import { FileServerDirectory } from './file-servers';
import { ClusterView, type ClusterBeaconOptions } from './cluster-view';
import { Kicker } from './kicker';
import { PushJobProducer } from './push-jobs';
import { Webhooks, createWebhookMetrics } from './webhooks';
import { StatusNotifier } from './status-notifier';
import { MessageStore } from './message-store';
import { encodePdu } from '@tt/codec';
import { createMsgServerMetrics } from './metrics';
import { PresencePublisher } from './presence';
import { RateLimiter } from './rate-limiter';
import { isMobileClient } from './domain/client-type';
import { AdminService } from './admin';
import type { ReloadingServerTls } from '@tt/tls';

const { OtherCmdID, BuddyListCmdID, ServiceID, UserStatType } = IM.BaseDefine;

export interface MsgServerConfig {
  host: string;
  port: number;
  /** Stable name of this msg_server (hostname:port by default). */
  serverId?: string;
  advertiseIp: string;
  advertiseIp2?: string;
  advertisePort?: number;
  /** TeamTalk over TLS on this port too (MSG_SERVER_TLS_PORT); absent or 0: off. Needs deps.tls. */
  tlsPort?: number;
  /** Per-connection memory bounds, every front (CONN_MAX_OUTPUT_BYTES, CONN_MAX_INPUT_BYTES, CONN_SLOW_READER_MS). */
  connectionLimits?: ConnectionLimits;
  maxConnections: number;
  maxFrameBytes: number;
  msgRateLimit: number;
  loginTimeoutMs: number;
  pcIdleTimeoutMs: number;
  mobileIdleTimeoutMs: number;
  heartbeatIntervalMs: number;
  reportIntervalMs: number;
  /**
   * Liveness beacons to route_server, sent from a thread of their own with
   * its own NATS connection (liveness/beacon.ts); absent: none (standalone).
   */
  beacon?: Omit<ClusterBeaconOptions, 'log' | 'onWithheld'> & {
    /** MSG_SERVER_SUSPICION_TIMEOUT_MS (route_server's): only to size the report TTL (reportTtlMs). */
    suspicionTimeoutMs: number;
  };
  drainTimeoutMs: number;
  /** Connections closed per second while draining. */
  drainRate?: number;
  subjectPrefix: string;
  /** Window over which user status changes are coalesced into IMUserStatNotify. */
  statusNotifyBatchMs?: number;
  /** Deadline of one call to a file_server (default 5000). */
  fileServerTimeoutMs?: number;
  /** TLS of the calls to file_servers (GRPC_TLS_*); absent: cleartext. */
  rpcTls?: RpcTls;
  /** Standalone mode: the only msg_server there is; deliveries skip route_server. */
  soleServer?: boolean;
  /** The WebSocket front (seed 003); absent or port 0: off. */
  ws?: WsFrontConfig;
  /** The tcp12 front (seed 001); absent or port 0: off. */
  tcp12?: Tcp12FrontConfig;
  /** The MSync front (seed 002, Easemob clients); absent or both ports 0: off. */
  msync?: MsyncFrontConfig;
  /** The OMTP front (seed 004); absent or port 0: off. */
  omtp?: OmtpFrontConfig;
  /** HMAC secret of login tokens (AUTH_JWT_SECRET); empty: token logins are refused. */
  jwtSecret?: string;
  /** TeamTalk clients' content key (TT_CONTENT_KEY): content is converted between fronts with it. */
  contentKey?: string;
  /** How long a sender may recall a message (default 120 s). */
  recallWindowSeconds?: number;
  /** READINESS_GRACE_MS: how long NATS or db_proxy may fail before /readyz reports it (default 60 s). */
  readinessGraceMs?: number;
  /** ADMIN_SYSTEM_ACCOUNT: who the operator API's system messages come from (default `system`). */
  systemAccount?: string;
  /** Creates the system account, disabled, when it is missing (absent: it must exist). */
  createSystemAccount?: (name: string) => Promise<number>;
}

/** msg_server's TLS port settings, by name (for openClientTls: any of them set needs CLIENT_TLS_CERT_FILE). */
export function msgServerTlsPorts(cfg: {
  MSG_SERVER_TLS_PORT: number;
  MSG_SERVER_WSS_PORT: number;
  MSG_SERVER_TCP12_TLS_PORT: number;
  MSG_SERVER_MSYNC_WSS_PORT: number;
  MSG_SERVER_MSYNC_TCP_TLS_PORT: number;
  MSG_SERVER_OMTP_TLS_PORT: number;
}): Record<string, number> {
  const { MSG_SERVER_TLS_PORT, MSG_SERVER_WSS_PORT, MSG_SERVER_TCP12_TLS_PORT, MSG_SERVER_MSYNC_WSS_PORT, MSG_SERVER_MSYNC_TCP_TLS_PORT, MSG_SERVER_OMTP_TLS_PORT } = cfg;
  return { MSG_SERVER_TLS_PORT, MSG_SERVER_WSS_PORT, MSG_SERVER_TCP12_TLS_PORT, MSG_SERVER_MSYNC_WSS_PORT, MSG_SERVER_MSYNC_TCP_TLS_PORT, MSG_SERVER_OMTP_TLS_PORT };
}

/** The WebSocket front's settings from the MSG_SERVER_WS_* variables and MSG_SERVER_WSS_PORT (both ports 0: off). */
export function wsFrontConfig(
  cfg: { MSG_SERVER_WS_PORT: number; MSG_SERVER_WSS_PORT: number; MSG_SERVER_WS_PATH: string; MSG_SERVER_WS_ADVERTISE_PORT: number; MSG_SERVER_WS_MAX_FRAME_BYTES: number; MSG_SERVER_WS_IDLE_TIMEOUT_MS: number; MSG_SERVER_MAX_CONTENT_BYTES: number },
  host: string,
): WsFrontConfig | undefined {
  if (cfg.MSG_SERVER_WS_PORT === 0 && cfg.MSG_SERVER_WSS_PORT === 0) return undefined;
  return {
    port: cfg.MSG_SERVER_WS_PORT,
    tlsPort: cfg.MSG_SERVER_WSS_PORT,
    host,
    path: cfg.MSG_SERVER_WS_PATH,
    advertisePort: cfg.MSG_SERVER_WS_ADVERTISE_PORT,
    maxFrameBytes: cfg.MSG_SERVER_WS_MAX_FRAME_BYTES,
    idleTimeoutMs: cfg.MSG_SERVER_WS_IDLE_TIMEOUT_MS,
    maxContentBytes: cfg.MSG_SERVER_MAX_CONTENT_BYTES,
  };
}

/** The tcp12 front's settings from the MSG_SERVER_TCP12_* variables (plain and TLS port 0: off). */
export function tcp12FrontConfig(
  cfg: { MSG_SERVER_TCP12_PORT: number; MSG_SERVER_TCP12_TLS_PORT: number; MSG_SERVER_TCP12_ADVERTISE_PORT: number; MSG_SERVER_TCP12_MAX_FRAME_BYTES: number; MSG_SERVER_TCP12_IDLE_TIMEOUT_MS: number; MSG_SERVER_TCP12_AES_KEY: string; MSG_SERVER_MAX_CONTENT_BYTES: number },
  host: string,
): Tcp12FrontConfig | undefined {
  if (cfg.MSG_SERVER_TCP12_PORT === 0 && cfg.MSG_SERVER_TCP12_TLS_PORT === 0) return undefined;
  return {
    port: cfg.MSG_SERVER_TCP12_PORT,
    tlsPort: cfg.MSG_SERVER_TCP12_TLS_PORT,
    host,
    advertisePort: cfg.MSG_SERVER_TCP12_ADVERTISE_PORT,
    maxFrameBytes: cfg.MSG_SERVER_TCP12_MAX_FRAME_BYTES,
    idleTimeoutMs: cfg.MSG_SERVER_TCP12_IDLE_TIMEOUT_MS,
    aesKeyHex: cfg.MSG_SERVER_TCP12_AES_KEY,
    maxContentBytes: cfg.MSG_SERVER_MAX_CONTENT_BYTES,
  };
}

/** The OMTP front's settings from the MSG_SERVER_OMTP_* variables (plain and TLS port 0: off). */
export function omtpFrontConfig(
  cfg: {
    MSG_SERVER_OMTP_PORT: number;
    MSG_SERVER_OMTP_TLS_PORT: number;
    MSG_SERVER_OMTP_ADVERTISE_PORT: number;
    MSG_SERVER_OMTP_MAX_FRAME_BYTES: number;
    MSG_SERVER_OMTP_IDLE_TIMEOUT_MS: number;
    MSG_SERVER_OMTP_AES_KEY: string;
    MSG_SERVER_OMTP_HOT_SESSIONS: number;
    MSG_SERVER_OMTP_HOT_SESSION_MESSAGES: number;
    MSG_SERVER_MAX_CONTENT_BYTES: number;
  },
  host: string,
): OmtpFrontConfig | undefined {
  if (cfg.MSG_SERVER_OMTP_PORT === 0 && cfg.MSG_SERVER_OMTP_TLS_PORT === 0) return undefined;
  return {
    port: cfg.MSG_SERVER_OMTP_PORT,
    tlsPort: cfg.MSG_SERVER_OMTP_TLS_PORT,
    host,
    advertisePort: cfg.MSG_SERVER_OMTP_ADVERTISE_PORT,
    maxFrameBytes: cfg.MSG_SERVER_OMTP_MAX_FRAME_BYTES,
    idleTimeoutMs: cfg.MSG_SERVER_OMTP_IDLE_TIMEOUT_MS,
    aesKeyHex: cfg.MSG_SERVER_OMTP_AES_KEY,
    hotSessions: cfg.MSG_SERVER_OMTP_HOT_SESSIONS,
    hotSessionMessages: cfg.MSG_SERVER_OMTP_HOT_SESSION_MESSAGES,
    maxContentBytes: cfg.MSG_SERVER_MAX_CONTENT_BYTES,
  };
}

export interface OmtpFrontConfig {
  /** Plain port; 0: none (TLS only). */
  port: number;
  /** OMTP over TLS (MSG_SERVER_OMTP_TLS_PORT); absent or 0: off. */
  tlsPort?: number;
  host?: string;
  /** Port handed to clients; 0 = port. */
  advertisePort?: number;
  /** Largest frame (and inflated payload). */
  maxFrameBytes: number;
  idleTimeoutMs: number;
  /** AES-256 key, 64 hex digits; empty: CRYPTO 1 is refused. */
  aesKeyHex: string;
  hotSessions: number;
  hotSessionMessages: number;
  maxContentBytes: number;
}

export interface Tcp12FrontConfig {
  /** Plain port; 0: none (TLS only). */
  port: number;
  /** tcp12 over TLS (MSG_SERVER_TCP12_TLS_PORT); absent or 0: off. */
  tlsPort?: number;
  host?: string;
  /** Port handed to clients; 0 = port. */
  advertisePort?: number;
  /** Largest frame body (on the wire and gunzipped). */
  maxFrameBytes: number;
  idleTimeoutMs: number;
  /** AES-256 key, 64 hex digits; empty: AES frames are refused. */
  aesKeyHex: string;
  maxContentBytes: number;
}

/** The MSync front's settings from the MSG_SERVER_MSYNC_* variables (every port 0: off). */
export function msyncFrontConfig(
  cfg: {
    MSG_SERVER_MSYNC_WS_PORT: number;
    MSG_SERVER_MSYNC_WSS_PORT: number;
    MSG_SERVER_MSYNC_TCP_TLS_PORT: number;
    MSG_SERVER_MSYNC_WS_PATH: string;
    MSG_SERVER_MSYNC_WS_ADVERTISE_PORT: number;
    MSG_SERVER_MSYNC_TCP_PORT: number;
    MSG_SERVER_MSYNC_TCP_ADVERTISE_PORT: number;
    MSG_SERVER_MSYNC_MAX_FRAME_BYTES: number;
    MSG_SERVER_MSYNC_IDLE_TIMEOUT_MS: number;
    MSG_SERVER_MSYNC_MAX_DEVICES: number;
    MSG_SERVER_MSYNC_DEVICE_TTL_S: number;
    MSG_SERVER_MSYNC_PULL_LIMIT: number;
    MSG_SERVER_MSYNC_NEW_DEVICE_BACKLOG: number;
    MSG_SERVER_MSYNC_APP_KEY: string;
    MSG_SERVER_MAX_CONTENT_BYTES: number;
  },
  host: string,
): MsyncFrontConfig | undefined {
  if (cfg.MSG_SERVER_MSYNC_WS_PORT === 0 && cfg.MSG_SERVER_MSYNC_TCP_PORT === 0 && cfg.MSG_SERVER_MSYNC_WSS_PORT === 0 && cfg.MSG_SERVER_MSYNC_TCP_TLS_PORT === 0) return undefined;
  return {
    host,
    wsPort: cfg.MSG_SERVER_MSYNC_WS_PORT,
    wssPort: cfg.MSG_SERVER_MSYNC_WSS_PORT,
    tcpTlsPort: cfg.MSG_SERVER_MSYNC_TCP_TLS_PORT,
    wsPath: cfg.MSG_SERVER_MSYNC_WS_PATH,
    wsAdvertisePort: cfg.MSG_SERVER_MSYNC_WS_ADVERTISE_PORT,
    tcpPort: cfg.MSG_SERVER_MSYNC_TCP_PORT,
    tcpAdvertisePort: cfg.MSG_SERVER_MSYNC_TCP_ADVERTISE_PORT,
    maxFrameBytes: cfg.MSG_SERVER_MSYNC_MAX_FRAME_BYTES,
    idleTimeoutMs: cfg.MSG_SERVER_MSYNC_IDLE_TIMEOUT_MS,
    appKey: cfg.MSG_SERVER_MSYNC_APP_KEY,
    maxContentBytes: cfg.MSG_SERVER_MAX_CONTENT_BYTES,
    maxDevices: cfg.MSG_SERVER_MSYNC_MAX_DEVICES,
    deviceTtlSeconds: cfg.MSG_SERVER_MSYNC_DEVICE_TTL_S,
    pullLimit: cfg.MSG_SERVER_MSYNC_PULL_LIMIT,
    newDeviceBacklog: cfg.MSG_SERVER_MSYNC_NEW_DEVICE_BACKLOG,
  };
}

export interface MsyncFrontConfig extends Omit<MsyncHandlerOptions, 'jwtSecret'> {
  host?: string;
  /** WebSocket port (0: no WebSocket transport). */
  wsPort: number;
  wsPath: string;
  wsAdvertisePort?: number;
  /** TCP port (0: no TCP transport). */
  tcpPort: number;
  tcpAdvertisePort?: number;
  /** wss:// port (MSG_SERVER_MSYNC_WSS_PORT) and TCP over TLS (MSG_SERVER_MSYNC_TCP_TLS_PORT); absent or 0: off. */
  wssPort?: number;
  tcpTlsPort?: number;
  maxFrameBytes: number;
  idleTimeoutMs: number;
}

/** TT_CONTENT_KEY (or its old name PUSH_CONTENT_KEY); it must be 32 characters. */
export function contentKeyOf(cfg: { TT_CONTENT_KEY: string }): string | undefined {
  const key = cfg.TT_CONTENT_KEY || process.env.PUSH_CONTENT_KEY || '';
  if (!key) return undefined;
  if (Buffer.byteLength(key, 'latin1') !== 32) throw new Error(`TT_CONTENT_KEY must be 32 characters (an AES-256 key), got ${key.length}`);
  return key;
}

export interface WsFrontConfig {
  /** Plain ws:// port; 0: none (wss only). */
  port: number;
  /** wss:// port (MSG_SERVER_WSS_PORT); absent or 0: off. */
  tlsPort?: number;
  host?: string;
  path: string;
  /** Port handed to clients; 0 = port. */
  advertisePort?: number;
  maxFrameBytes: number;
  idleTimeoutMs: number;
  maxContentBytes: number;
}

export interface MsgServerDeps {
  config: MsgServerConfig;
  db: DbProxyClient;
  bus: MessageBus;
  log: Logger;
  metricsRegistry: Registry;
  /** Where push jobs for push_server go (JetStream or in-process); none = no push. */
  pushJobs?: Pick<JobQueue, 'enqueue'>;
  /** Where webhook calls wait and are worked (JetStream in cluster mode); none: an in-process queue of this msg_server. */
  webhookJobs?: Pick<JobQueue, 'enqueue' | 'work'>;
  /** The certificate of the TLS listeners (CLIENT_TLS_*); needed when a TLS port is set. */
  tls?: ReloadingServerTls;
}

export interface RunningMsgServer {
  /** Unique per process start: the key other roles know this msg_server by. */
  instanceId: string;
  port: number;
  /** Immediate: dependencies are checked in the background (READINESS_GRACE_MS). */
  readiness(): Promise<{ ok: boolean; details: Record<string, unknown> }>;
  /** Stops taking clients, closes them, tells the cluster it left. */
  drain(): Promise<void>;
  /** Operator actions served on the admin port (POST /admin/<name>). */
  operations: Record<string, (body: unknown) => Promise<unknown>>;
}


/**
 * How long the other roles keep this server without a report. At least three
 * report intervals, and long enough that a main loop stalled just under the
 * hang timeout (beacons still flowing) is not dropped by report expiry before
 * the failure detector would have declared it dead: expiry does not fence.
 */
export function reportTtlMs(config: Pick<MsgServerConfig, 'reportIntervalMs' | 'beacon'>): number {
  const floor = 3 * config.reportIntervalMs;
  if (!config.beacon) return floor;
  return Math.max(floor, config.beacon.hangTimeoutMs + config.beacon.suspicionTimeoutMs + config.reportIntervalMs);
}

export async function startMsgServer(deps: MsgServerDeps): Promise<RunningMsgServer> {
  const { config, db, bus, log } = deps;
  const subjects = clusterSubjects(config.subjectPrefix);
  const name = config.serverId || `${os.hostname()}:${config.port}`;
  const instanceId = `${name.replace(/[^A-Za-z0-9_-]/g, '_')}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const metrics = createMsgServerMetrics(deps.metricsRegistry);
  const registry = new ConnectionRegistry();
  const presence = new PresencePublisher(bus, registry, instanceId, subjects, (conn, online) =>
    webhooks.presenceChanged(online, { userId: conn.userId, name: conn.identity?.name, clientType: conn.identity?.clientType ?? 0, front: conn.front.name, connId: conn.id }),
    () => cluster.incarnation,
  );
  const delivery = new Delivery(
    registry,
    bus,
    log,
    { serverId: instanceId, subjects, soleServer: config.soleServer, mayBeElsewhere: (userIds) => cluster.mayBeElsewhere(userIds) },
    () => metrics.undelivered.inc(),
  );
  const statusNotifier = new StatusNotifier(registry, config.statusNotifyBatchMs ?? 200, (users) => metrics.statusNotifies.inc(users));
  const beaconOptions = (): ClusterBeaconOptions | undefined => {
    if (config.soleServer || !config.beacon) return undefined;
    const { suspicionTimeoutMs: _routeServers, ...beacon } = config.beacon;
    return { ...beacon, log, onWithheld: () => metrics.beaconsWithheld.inc() };
  };
  const cluster = new ClusterView(bus, subjects, instanceId, {
    statusChanged: (change) => statusNotifier.statusChanged(change),
    pcLoginChanged: (userId, online) => {
      // TeamTalk tells the user's mobile clients when their PC logs in or out.
      const body = IM.Buddy.IMPCLoginStatusNotify.encode({ userId, loginStat: online ? UserStatType.USER_STATUS_ONLINE : UserStatType.USER_STATUS_OFFLINE }).finish();
      const pdu = encodePdu(ServiceID.SID_BUDDY_LIST, BuddyListCmdID.CID_BUDDY_LIST_PC_LOGIN_STATUS_NOTIFY, 0, body);
      for (const conn of registry.ofUser(userId)) if (conn.front.name === 'teamtalk' && isMobileClient(conn.identity!.clientType)) conn.write(pdu);
    },
    declaredDead: (silentMs) => fence(silentMs),
  }, 3 * config.reportIntervalMs, beaconOptions());
  const kicker = new Kicker(registry, bus, subjects, instanceId, cluster);
  let listenPort = config.port;
  const messages = new MessageStore(db, { onBatch: (n) => metrics.saveBatchSize.observe(n) });
  const directory = new UserDirectory(db);
  const content = new ContentCodec(config.contentKey || undefined);
  const push = new PushJobProducer(deps.pushJobs, (userId) => cluster.hasMobileOnline(userId), metrics, log);
  const nowSeconds = () => Math.floor(Date.now() / 1000);
  const monitors = new SessionMonitors({ db, delivery, log });
  delivery.onServerEvent((event) => event.monitorChanged && monitors.apply(event.monitorChanged));
  // Webhook calls: the deployment's job queue, or (standalone) one in this process.
  const ownWebhookJobs = deps.webhookJobs ? undefined : new MemoryJobQueue();
  const webhooks = new Webhooks({ db, bus, subjectPrefix: config.subjectPrefix, jobs: deps.webhookJobs ?? ownWebhookJobs, metrics: createWebhookMetrics(deps.metricsRegistry), log, content, serverId: instanceId });
  const core = new ConversationCore({ db, messages, delivery, push, directory, metrics, log, nowSeconds, recallWindowSeconds: config.recallWindowSeconds ?? 120, monitors, webhooks });
  // Client-caused warnings (bad bodies, broken frames, floods): the first per connection and kind, then a count.
  const logThrottle = new LogThrottle(log);
  const ctx: MsgServerContext = {
    db,
    messages,
    core,
    monitors,
    groups: new GroupAdmin({ db, delivery, directory }),
    social: new Social({ db, delivery, directory }),
    directory,
    content,
    registry,
    delivery,
    presence,
    messageLimiter: new RateLimiter(config.msgRateLimit),
    metrics,
    cluster,
    kicker,
    push,
    log,
    logThrottle,
    nowSeconds,
    selfAddress: () => ({ ip1: config.advertiseIp, ip2: config.advertiseIp2 || config.advertiseIp, port: config.advertisePort || listenPort }),
  };

  // One labelled child per command name (a few dozen), looked up once instead of hashing a labels object for every PDU.
  const handledCounters = new Map<string, { inc(): void }>();
  const handledCounter = (command: string) => {
    let child = handledCounters.get(command);
    if (!child) handledCounters.set(command, (child = metrics.pdusHandled.labels({ command })));
    return child;
  };
  /** A request the client got wrong: counted, logged at info (throttled); true if err was one. */
  const refusedAsBadInput = (conn: ClientConnection, cid: number, err: unknown) => {
    const mistake = badInputOf(err);
    if (mistake === undefined) return false;
    metrics.pdusDropped.inc({ reason: 'bad_request' });
    logThrottle.info(conn.id, 'bad_request', { connId: conn.id, userId: conn.userId, commandId: cid, err: mistake }, 'request refused: bad input');
    return true;
  };
  const router = new CommandRouter({
    unknownCommand: (conn, cid) => {
      metrics.pdusDropped.inc({ reason: 'unknown_command' });
      logThrottle.write('debug', conn.id, 'unknown_command', { connId: conn.id, commandId: cid }, 'unknown command ignored');
    },
    badBody: (conn, cid, err) => {
      metrics.pdusDropped.inc({ reason: 'bad_body' });
      logThrottle.warn(conn.id, 'bad_body', { connId: conn.id, userId: conn.userId, commandId: cid, err: clip(err.message) }, 'body did not parse; dropped');
    },
    notLoggedIn: (conn, cid) => {
      metrics.pdusDropped.inc({ reason: 'not_logged_in' });
      logThrottle.write('debug', conn.id, 'not_logged_in', { connId: conn.id, commandId: cid }, 'request before login ignored');
    },
    queueFull: (conn, cid) => {
      metrics.pdusDropped.inc({ reason: 'queue_full' });
      logThrottle.warn(conn.id, 'queue_full', { connId: conn.id, userId: conn.userId, commandId: cid }, 'too many requests in flight; dropped');
    },
    handlerFailed: (conn, cid, err) => {
      // TeamTalk has no generic error answer: a bad request is dropped, as the original server does.
      if (refusedAsBadInput(conn, cid, err)) return;
      metrics.pdusDropped.inc({ reason: 'handler_error' });
      log.error({ connId: conn.id, userId: conn.userId, commandId: cid, err }, 'request failed');
    },
    handled: (command) => handledCounter(command).inc(),
  });
  /** The WebSocket front's router: the same queue machinery; errors go back in the seed's response shape. */
  const createWsRouter = () => {
    const answerError = (conn: ClientConnection, commandId: number, seqNum: number, errorCode: number, errorMsg: string) => {
      // Every response of the seed starts with error_code = 1, error_msg = 2; the response's command is the request's + 1.
      conn.send(commandId + 1, IM.Ws.ErrorNotice, { errorCode, errorMsg }, seqNum);
    };
    return new CommandRouter({
      unknownCommand: (conn, cid, seqNum) => {
        metrics.pdusDropped.inc({ reason: 'unknown_command' });
        answerError(conn, cid, seqNum, IM.Ws.ErrorCode.ERR_INVALID_PARAM, `unknown command ${cid}`);
      },
      badBody: (conn, cid, err, seqNum) => {
        metrics.pdusDropped.inc({ reason: 'bad_body' });
        logThrottle.write('debug', conn.id, 'bad_body', { connId: conn.id, userId: conn.userId, commandId: cid, err: clip(err.message) }, 'ws body did not parse');
        answerError(conn, cid, seqNum, IM.Ws.ErrorCode.ERR_INVALID_PARAM, 'body does not decode as this command\'s message');
      },
      notLoggedIn: (conn, cid, seqNum) => {
        metrics.pdusDropped.inc({ reason: 'not_logged_in' });
        answerError(conn, cid, seqNum, IM.Ws.ErrorCode.ERR_AUTH_FAILED, 'authenticate first (CMD_AUTH_REQ)');
        (conn as WsConnection).closeWith(1008, 'not authenticated');
      },
      queueFull: (conn, cid, seqNum) => {
        metrics.pdusDropped.inc({ reason: 'queue_full' });
        answerError(conn, cid, seqNum, IM.Ws.ErrorCode.ERR_SEND_TOO_FAST, 'too many requests in flight');
      },
      handlerFailed: (conn, cid, err) => {
        // The handlers answer their own errors (answering); what reaches here is only logged.
        if (refusedAsBadInput(conn, cid, err)) return;
        metrics.pdusDropped.inc({ reason: 'handler_error' });
        log.error({ connId: conn.id, userId: conn.userId, commandId: cid, err }, 'ws request failed');
      },
      handled: (command) => handledCounter(command).inc(),
    });
  };
  registerLoginHandlers(router, ctx);
  registerMessageHandlers(router, ctx);
  registerBuddyHandlers(router, ctx);
  registerSwitchHandlers(router, ctx);
  registerGroupHandlers(router, ctx);
  const fileServers = new FileServerDirectory(bus, subjects, { timeoutMs: config.fileServerTimeoutMs ?? 5000, tls: config.rpcTls });
  registerFileHandlers(router, ctx, fileServers);

  const limits = config.connectionLimits ?? DEFAULT_CONNECTION_LIMITS;
  let nextConnId = 1;
  let draining = false;
  const nextId = () => {
    const id = nextConnId++;
    if (nextConnId > 0xfffffff0) nextConnId = 1;
    return id;
  };
  const countConnections = () => {
    metrics.connections.set(registry.size);
    metrics.loggedIn.set(registry.loggedInCount);
  };
  /** What every front's connections report: requests to their front's router, broken frames, closes. */
  const connectionEvents = (dispatch: (c: ClientConnection, request: { commandId: number; seqNum: number; body: Uint8Array }) => void): ConnectionEvents => ({
    onRequest: dispatch,
    onFrameError: (c, err) => {
      metrics.frameErrors.inc();
      logThrottle.warn(c.id, 'broken_frame', { connId: c.id, front: c.front.name, userId: c.userId, remote: c.remoteAddress, err: clip(err.message) }, 'broken frame; connection closed');
    },
    onClose: (c) => {
      logThrottle.forget(c.id);
      registry.remove(c);
      if (c.identity) presence.offline(c);
      metrics.frontConnections.dec({ front: c.front.name });
      countConnections();
    },
    onCutOff: (c, reason) => {
      metrics.connectionsCutOff.inc({ reason });
      log.warn({ connId: c.id, front: c.front.name, userId: c.userId, remote: c.remoteAddress, reason }, 'client holds too much unsent output; connection cut off');
    },
  });
  const accept = (conn: ClientConnection) => {
    registry.add(conn);
    metrics.frontConnections.inc({ front: conn.front.name });
    countConnections();
  };
  /**
   * A WebSocket front's listener on a port, plain or TLS (the WebSocket front, MSync over WebSocket): one
   * upgrade path, refused while draining, each upgraded socket a registered connection of that front.
   */
  const wsFrontMount =
    (front: { host?: string; path: string; maxFrameBytes: number; connect: (...accepted: Parameters<WsListenerOptions['onConnection']>) => ClientConnection }) =>
    (port: number, tls?: ReloadingServerTls) =>
      listenWs({
        host: front.host ?? config.host,
        port,
        path: front.path,
        maxFrameBytes: front.maxFrameBytes,
        tls,
        accepting: () => !draining,
        onConnection: (socket, remote) => accept(front.connect(socket, remote)),
      });
  /**
   * Mounts a TCP front that has its own router (tcp12, OMTP): its connections report to that router, a frame
   * answered before it reached a handler is counted (pdusDropped `<name>_rejected`) and logged, and each
   * accepted socket becomes a registered connection. Each front states only what differs.
   */
  const mountTcpFront = (front: {
    name: string;
    host: string;
    port: number;
    router: CommandRouter;
    /** The debug line of a rejected frame, and its fields' names for the command and the status answered. */
    rejectedLog: { message: string; fields: [command: string, status: string] };
    connect(id: number, socket: net.Socket, events: ConnectionEvents, onRejected: (c: ClientConnection, command: number, status: number, reason: string) => void): ClientConnection;
    /** Over TLS with this certificate. */
    tls?: ReloadingServerTls;
  }): Promise<TcpListener> => {
    const events = connectionEvents((c, request) => front.router.dispatch(c, request));
    const [commandField, statusField] = front.rejectedLog.fields;
    const onRejected = (c: ClientConnection, command: number, status: number, reason: string) => {
      metrics.pdusDropped.inc({ reason: `${front.name}_rejected` });
      logThrottle.write('debug', c.id, `${front.name}_rejected`, { connId: c.id, userId: c.userId, [commandField]: command, [statusField]: status, why: clip(reason) }, front.rejectedLog.message);
    };
    return listenTcp(front.name, { host: front.host, port: front.port, tls: front.tls, accepting: () => !draining, onConnection: (socket) => accept(front.connect(nextId(), socket, events, onRejected)) }, log);
  };
  /** The certificate a TLS port needs (openClientTls has checked the settings; this guards other callers). */
  const tlsFor = (setting: string): ReloadingServerTls => {
    if (!deps.tls) throw new Error(`${setting} is set but there is no TLS certificate (CLIENT_TLS_CERT_FILE, CLIENT_TLS_KEY_FILE)`);
    return deps.tls;
  };

  // The TeamTalk front: TCP, 16-byte-header PDUs.
  const teamTalkFront = new TeamTalkFront({ pcIdleTimeoutMs: config.pcIdleTimeoutMs, mobileIdleTimeoutMs: config.mobileIdleTimeoutMs });
  const teamTalkEvents = connectionEvents((c, pdu) => router.dispatch(c, pdu));
  const server = net.createServer((socket) => {
    if (draining) {
      socket.destroy();
      return;
    }
    accept(new TcpConnection(nextId(), teamTalkFront, socket, { maxFrameBytes: config.maxFrameBytes, limits }, teamTalkEvents));
  });
  server.on('error', (err) => log.error({ err }, 'msg_server listener error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  listenPort = port;
  // TeamTalk over TLS: its own port, the same connections.
  const teamTalkTls = config.tlsPort
    ? await listenTcp(
        'teamtalk',
        {
          host: config.host,
          port: config.tlsPort,
          tls: tlsFor('MSG_SERVER_TLS_PORT'),
          accepting: () => !draining,
          onConnection: (socket) => accept(new TcpConnection(nextId(), teamTalkFront, socket, { maxFrameBytes: config.maxFrameBytes, limits }, teamTalkEvents)),
        },
        log,
      )
    : undefined;

  // The WebSocket front (seed 003): its own port and router, the same core.
  let wsListener: WsListener | undefined;
  let wssListener: WsListener | undefined;
  if (config.ws) {
    const wsFront = new WsFront({ idleTimeoutMs: config.ws.idleTimeoutMs }, content, directory);
    const wsRouter = createWsRouter();
    registerWsHandlers(wsRouter, ctx, wsFront, { jwtSecret: config.jwtSecret ?? '', maxContentBytes: config.ws.maxContentBytes });
    const wsEvents = connectionEvents((c, request) => wsRouter.dispatch(c, request));
    const ws = config.ws;
    const listenWsFront = wsFrontMount({ host: ws.host, path: ws.path, maxFrameBytes: ws.maxFrameBytes, connect: (socket, remote) => new WsConnection(nextId(), wsFront, socket, remote, wsEvents, limits) });
    if (ws.port) wsListener = await listenWsFront(ws.port);
    if (ws.tlsPort) wssListener = await listenWsFront(ws.tlsPort, tlsFor('MSG_SERVER_WSS_PORT'));
    if (!config.jwtSecret) log.warn('AUTH_JWT_SECRET is not set: the WebSocket front refuses every login');
  }

  // The tcp12 front (seed 001): 12-byte-header frames on its own port, its own router, the same core.
  let tcp12Listener: TcpListener | undefined;
  let tcp12TlsListener: TcpListener | undefined;
  if (config.tcp12) {
    const tcp12 = config.tcp12;
    const tcp12Front = new Tcp12Front({ idleTimeoutMs: tcp12.idleTimeoutMs }, content, directory);
    const tcp12Router = createTcp12Router(metrics, log, (command) => handledCounter(command).inc());
    registerTcp12Handlers(tcp12Router, ctx, tcp12Front, { jwtSecret: config.jwtSecret ?? '', maxContentBytes: tcp12.maxContentBytes });
    const cipher = BodyCipher.fromHex(tcp12.aesKeyHex);
    const mountTcp12 = (port: number, tls?: ReloadingServerTls) =>
      mountTcpFront({
        name: 'tcp12',
        host: tcp12.host ?? config.host,
        port,
        tls,
        router: tcp12Router,
        rejectedLog: { message: 'tcp12 frame rejected', fields: ['command', 'status'] },
        connect: (id, socket, events, onRejected) =>
          new Tcp12Connection(id, tcp12Front, socket, { maxFrameBytes: tcp12.maxFrameBytes, limits, cipher, onRejected }, events),
      });
    if (tcp12.port) tcp12Listener = await mountTcp12(tcp12.port);
    if (tcp12.tlsPort) tcp12TlsListener = await mountTcp12(tcp12.tlsPort, tlsFor('MSG_SERVER_TCP12_TLS_PORT'));
  }

  // The MSync front (seed 002): WebSocket and length-prefixed TCP, one router, the same core.
  let msyncWs: WsListener | undefined;
  let msyncTcp: TcpListener | undefined;
  let msyncWss: WsListener | undefined;
  let msyncTcpTls: TcpListener | undefined;
  if (config.msync) {
    const msync = config.msync;
    const msyncFront = new MsyncFront({ idleTimeoutMs: msync.idleTimeoutMs }, content, directory);
    const answers = msyncRouterAnswers(msyncFront);
    const { Status } = IM.MSync;
    const closeMsync = (conn: ClientConnection, reason: string) => (conn as MsyncWsConnection).closeWith(1008, reason);
    const msyncRouter = new CommandRouter({
      unknownCommand: (conn, cid) => {
        metrics.pdusDropped.inc({ reason: 'unknown_command' });
        answers.answer(conn, cid, Status.ErrorCode.UNKNOWN_COMMAND, `unknown command ${cid}`);
      },
      badBody: (conn, cid, err) => {
        metrics.pdusDropped.inc({ reason: 'bad_body' });
        answers.answer(conn, cid, Status.ErrorCode.PB_PARSER_ERROR, err.message.slice(0, 120));
      },
      notLoggedIn: (conn, cid) => {
        metrics.pdusDropped.inc({ reason: 'not_logged_in' });
        answers.answer(conn, cid, Status.ErrorCode.UNAUTHORIZED, 'PROVISION first');
        closeMsync(conn, 'not provisioned');
      },
      queueFull: (conn, cid) => {
        metrics.pdusDropped.inc({ reason: 'queue_full' });
        answers.answer(conn, cid, Status.ErrorCode.FAIL, 'too many requests in flight');
      },
      handlerFailed: (conn, cid, err) => {
        if (refusedAsBadInput(conn, cid, err)) return answers.answer(conn, cid, Status.ErrorCode.WRONG_PARAMETER, badInputOf(err)!.slice(0, 120));
        metrics.pdusDropped.inc({ reason: 'handler_error' });
        log.error({ connId: conn.id, userId: conn.userId, commandId: cid, err }, 'msync request failed');
        answers.answer(conn, cid, Status.ErrorCode.FAIL, 'internal error');
      },
      handled: (command) => handledCounter(command).inc(),
    });
    registerMsyncHandlers(msyncRouter, ctx, msyncFront, { ...msync, jwtSecret: config.jwtSecret ?? '' });
    const msyncEvents = connectionEvents((c, request) => msyncRouter.dispatch(c, request));
    const listenMsyncWs = wsFrontMount({ host: msync.host, path: msync.wsPath, maxFrameBytes: msync.maxFrameBytes, connect: (socket, remote) => new MsyncWsConnection(nextId(), msyncFront, socket, remote, msyncEvents, limits) });
    const listenMsyncTcp = (port: number, tls?: ReloadingServerTls) =>
      listenTcp(
        'msync',
        { host: msync.host ?? config.host, port, tls, accepting: () => !draining, onConnection: (socket) => accept(new MsyncTcpConnection(nextId(), msyncFront, socket, msync.maxFrameBytes, msyncEvents, limits)) },
        log,
      );
    if (msync.wsPort) msyncWs = await listenMsyncWs(msync.wsPort);
    if (msync.tcpPort) msyncTcp = await listenMsyncTcp(msync.tcpPort);
    if (msync.wssPort) msyncWss = await listenMsyncWs(msync.wssPort, tlsFor('MSG_SERVER_MSYNC_WSS_PORT'));
    if (msync.tcpTlsPort) msyncTcpTls = await listenMsyncTcp(msync.tcpTlsPort, tlsFor('MSG_SERVER_MSYNC_TCP_TLS_PORT'));
  }

  // The OMTP front (seed 004): length-prefixed Tars packs on its own port, its own router, the same core.
  let omtpListener: TcpListener | undefined;
  let omtpTlsListener: TcpListener | undefined;
  if (config.omtp) {
    const o = config.omtp;
    const omtpFront = new OmtpFront({ idleTimeoutMs: o.idleTimeoutMs }, content, directory);
    const omtpRouter = createOmtpRouter(metrics, log, (command) => handledCounter(command).inc());
    registerOmtpHandlers(omtpRouter, ctx, omtpFront, { jwtSecret: config.jwtSecret ?? '', maxContentBytes: o.maxContentBytes, hotSessions: o.hotSessions, hotSessionMessages: o.hotSessionMessages });
    const aesKey = parseAesKey(o.aesKeyHex);
    const replays = new ReplayCache();
    const mountOmtp = (port: number, tls?: ReloadingServerTls) =>
      mountTcpFront({
        name: 'omtp',
        host: o.host ?? config.host,
        port,
        tls,
        router: omtpRouter,
        rejectedLog: { message: 'omtp packet rejected', fields: ['type', 'code'] },
        connect: (id, socket, events, onRejected) =>
          new OmtpConnection(id, omtpFront, socket, { maxFrameBytes: o.maxFrameBytes, limits, aesKey, onRejected, replays }, events),
      });
    if (o.port) omtpListener = await mountOmtp(o.port);
    if (o.tlsPort) omtpTlsListener = await mountOmtp(o.tlsPort, tlsFor('MSG_SERVER_OMTP_TLS_PORT'));
  }

  delivery.listen();
  await webhooks.start();
  monitors.start();
  presence.listen();
  cluster.listen();
  kicker.listen();
  fileServers.listen();

  const fronts: IM.Core.IFrontAddress[] = [{ protocol: 'teamtalk', port: config.advertisePort || port }];
  if (wsListener) fronts.push({ protocol: 'ws', port: config.ws!.advertisePort || wsListener.port, path: config.ws!.path });
  if (msyncWs) fronts.push({ protocol: 'msync', port: config.msync!.wsAdvertisePort || msyncWs.port, path: config.msync!.wsPath });
  if (msyncTcp) fronts.push({ protocol: 'msync-tcp', port: config.msync!.tcpAdvertisePort || msyncTcp.port });
  if (tcp12Listener) fronts.push({ protocol: 'tcp12', port: config.tcp12!.advertisePort || tcp12Listener.port });
  if (omtpListener) fronts.push({ protocol: 'omtp', port: config.omtp!.advertisePort || omtpListener.port });
  // TLS listeners: one more address per protocol, marked tls (plain ones first: login_server picks the first of a protocol).
  if (teamTalkTls) fronts.push({ protocol: 'teamtalk', port: teamTalkTls.port, tls: true });
  if (wssListener) fronts.push({ protocol: 'ws', port: wssListener.port, path: config.ws!.path, tls: true });
  if (msyncWss) fronts.push({ protocol: 'msync', port: msyncWss.port, path: config.msync!.wsPath, tls: true });
  if (msyncTcpTls) fronts.push({ protocol: 'msync-tcp', port: msyncTcpTls.port, tls: true });
  if (tcp12TlsListener) fronts.push({ protocol: 'tcp12', port: tcp12TlsListener.port, tls: true });
  if (omtpTlsListener) fronts.push({ protocol: 'omtp', port: omtpTlsListener.port, tls: true });
  // The stored-messages counter as of the previous report (prom-client reads counters asynchronously).
  let messagesStored = 0;
  const report = () => {
    void metrics.messagesStored.get().then((m) => {
      messagesStored = m.values[0]?.value ?? messagesStored;
    });
    const info = {
      ip1: config.advertiseIp,
      ip2: config.advertiseIp2 || config.advertiseIp,
      port: config.advertisePort || port,
      maxConnCnt: config.maxConnections,
      curConnCnt: registry.size,
      hostName: name,
    };
    bus.publish(subjects.msgServerReport, IM.Cluster.MsgServerReport.encode({ serverId: instanceId, info, ttlMs: reportTtlMs(config), draining, startedAt: startedAt, fronts, messagesStored, incarnation: cluster.incarnation }).finish());
  };
  /**
   * Fencing (docs/ARCHITECTURE.md, "Failure detection and fencing"): route_server
   * declared this incarnation dead while it was hung or cut off, so messages to
   * its clients were stored but not delivered. Every client is closed (after the
   * requests it already sent are answered) so it reconnects and syncs; the server
   * goes on as a new incarnation whose presence starts empty.
   */
  function fence(silentMs: number): void {
    if (draining) return;
    const conns = [...registry.values()];
    presence.retire(conns);
    const incarnation = cluster.reincarnate();
    report();
    presence.publishSnapshot();
    metrics.fencings.inc();
    log.warn({ instanceId, incarnation, silentMs, connections: conns.length }, 'declared dead by route_server: closing every client connection so they reconnect and sync (fencing)');
    for (const conn of conns) {
      conn.stopReading();
      void Promise.race([router.idle(conn), new Promise((r) => setTimeout(r, 1000).unref())]).then(() => conn.close());
    }
  }
  const startedAt = Date.now();
  report();
  presence.publishSnapshot();
  const reportTimer = setInterval(report, config.reportIntervalMs);
  reportTimer.unref();

  // Logged-in connections: each front's idle limit and heartbeat; the others: the login deadline.
  const sweeper = startIdleSweeper({
    connections: () => registry.values(),
    limitsMs: [config.pcIdleTimeoutMs, config.mobileIdleTimeoutMs, ...(config.ws ? [config.ws.idleTimeoutMs] : []), ...(config.msync ? [config.msync.idleTimeoutMs] : []), ...(config.tcp12 ? [config.tcp12.idleTimeoutMs] : []), ...(config.omtp ? [config.omtp.idleTimeoutMs] : [])],
    loginTimeoutMs: config.loginTimeoutMs,
    idleLimitMs: (conn) => conn.front.idleLimitMs(conn),
    onIdle: (conn) => log.info({ connId: conn.id, front: conn.front.name, userId: conn.userId }, 'client silent too long; closed'),
    heartbeat: { intervalMs: config.heartbeatIntervalMs, send: (conn) => conn.front.heartbeat?.(conn) },
    afterSweep: () => ctx.messageLimiter.sweep(),
  });

  log.info({ port, tlsPort: teamTalkTls?.port, instanceId, advertise: config.advertiseIp }, 'msg_server listening');

  // Ready = can serve clients: not draining, and NATS and db_proxy answer or have
  // failed for less than READINESS_GRACE_MS (a short MySQL/Redis/db_proxy blip,
  // seen by every msg_server at once, must not empty the load balancer; logins
  // meanwhile get TeamTalk's REFUSE_REASON_NO_DB_SERVER). Checked in the background.
  const dependencies = watchDependencies({
    checks: { bus: () => bus.isConnected(), dbProxy: () => db.ping({}).then(() => true) },
    graceMs: config.readinessGraceMs ?? 60_000,
    onChange: (dependency, up) => (up ? log.info({ dependency }, 'dependency back') : log.warn({ dependency }, 'dependency not answering')),
  });

  const running: RunningMsgServer = {
    instanceId,
    port,
    operations: {
      notify: (body) => businessNotify(ctx, body),
      // After ttctl monitor revoke: every msg_server stops copying at once (else within the 30 s reload).
      'monitors-reload': async () => {
        await monitors.reloadEverywhere();
        return { reloaded: true };
      },
    },
    readiness: async () => {
      const deps = dependencies.state();
      return { ok: !draining && deps.ok, details: { ...deps.details, draining } };
    },
    drain: async () => {
      if (draining) return;
      draining = true;
      server.close();
      for (const listener of [teamTalkTls, wsListener, wssListener, msyncWs, msyncWss, msyncTcp, msyncTcpTls, tcp12Listener, tcp12TlsListener, omtpListener, omtpTlsListener]) listener?.close();
      report(); // login_server stops sending clients here
      const deadline = Date.now() + config.drainTimeoutMs;
      const rate = config.drainRate ?? 2000;
      const conns = [...registry.values()];
      log.info({ instanceId, connections: conns.length, rate, timeoutMs: config.drainTimeoutMs }, 'draining: closing client connections');
      // A connection is closed once the requests it already sent are handled,
      // so a message whose store is under way still gets its ack. Batches at
      // a fixed rate let the clients reconnect elsewhere without a stampede.
      const closeGently = async (conn: ClientConnection) => {
        conn.stopReading();
        await Promise.race([router.idle(conn), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref())]);
        conn.close();
      };
      const perTick = Math.max(1, Math.ceil(rate / 10));
      const closing: Array<Promise<void>> = [];
      for (let i = 0; i < conns.length && Date.now() < deadline; i += perTick) {
        for (const conn of conns.slice(i, i + perTick)) closing.push(closeGently(conn));
        if (i + perTick < conns.length) await new Promise((r) => setTimeout(r, 100));
      }
      await Promise.all(closing);
      while (registry.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (registry.size > 0) log.warn({ instanceId, left: registry.size }, 'drain time is up; cutting the remaining connections');
      for (const conn of registry.values()) conn.destroy();
      // Messages stored before the drain still reach their recipients live.
      await Promise.race([delivery.settled(), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())).unref())]);
      clearInterval(reportTimer);
      monitors.stop();
      sweeper.stop();
      logThrottle.close();
      await cluster.close();
      fileServers.close();
      statusNotifier.close();
      admin.close();
      await webhooks.stop();
      await ownWebhookJobs?.close();
      presence.flush();
      bus.publish(subjects.msgServerLeaving, IM.Cluster.MsgServerLeaving.encode({ serverId: instanceId }).finish());
      await bus.flush().catch(() => {});
      log.info({ instanceId }, 'msg_server drained');
    },
  };
  // The operator API's requests (kick, send, notify, recall, group changes, drain) over the bus.
  const admin = new AdminService({
    ctx,
    bus,
    subjects,
    serverId: instanceId,
    systemAccount: config.systemAccount || 'system',
    createSystemAccount: config.createSystemAccount ?? ((name) => createDisabledAccount(db, name)),
    drain: () => running.drain(),
  });
  admin.listen();
  return running;
}

/**
 * POST /admin/notify {"users": [names] | "group": id, "content": text, "contentType"?: n, "from"?: operator}:
 * an operator's business notification (OMTP BIZ_NOTIFY) to users or a group's members, now online anywhere.
 */
async function businessNotify(ctx: MsgServerContext, body: unknown): Promise<{ addressed: number }> {
  const b = (body ?? {}) as { users?: unknown; group?: unknown; content?: unknown; contentType?: unknown; from?: unknown };
  if (typeof b.content !== 'string' || b.content === '') throw new AdminInputError('content (a string) is required');
  if (Buffer.byteLength(b.content) > 16 * 1024) throw new AdminInputError('content is longer than 16 KB');
  const contentType = b.contentType === undefined ? 1 : Number(b.contentType);
  if (!Number.isInteger(contentType) || contentType < 0 || contentType > 0x7fffffff) throw new AdminInputError('contentType is a number');
  const from = typeof b.from === 'string' ? b.from.slice(0, 128) : 'operator';
  if (b.group !== undefined) {
    const groupId = Number(b.group);
    if (!Number.isInteger(groupId) || groupId <= 0) throw new AdminInputError('group is a group id');
    try {
      return { addressed: await ctx.social.businessNotify({ groupId }, { from, contentType, content: b.content }) };
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('no group')) throw new AdminInputError(err.message);
      throw err;
    }
  }
  if (!Array.isArray(b.users) || b.users.length === 0 || b.users.length > 10_000 || !b.users.every((u) => typeof u === 'string')) throw new AdminInputError('users (account names) or group is required');
  const userIds: number[] = [];
  for (const name of b.users as string[]) {
    const id = await ctx.directory.idOf(name);
    if (id === undefined) throw new AdminInputError(`no user ${JSON.stringify(name.slice(0, 80))}`);
    userIds.push(id);
  }
  return { addressed: await ctx.social.businessNotify({ userIds }, { from, contentType, content: b.content }) };
}

/**
 * Creates the system sender's account: a random password nobody knows, then
 * disabled, so nobody can log in as it (a disabled account may still send:
 * the operator API's system messages).
 */
async function createDisabledAccount(db: DbProxyClient, name: string): Promise<number> {
  let user: IM.Admin.IChatUser;
  try {
    user = await db.adminUserCreate({ name, password: randomBytes(24).toString('base64url'), nick: name });
  } catch (err) {
    // Another msg_server created it first.
    const found = await db.adminUserGet({ name });
    if (!found.user) throw err;
    return found.user.id!;
  }
  await db.adminUserUpdate({ id: user.id!, disabled: true });
  return user.id!;
}
