import { freePorts } from './ports';

export interface StandalonePorts {
  login: number;
  msgServer: number;
  /** msg_server's WebSocket front. */
  msgServerWs: number;
  /** msg_server's tcp12 front (seed 001). */
  msgServerTcp12: number;
  /** msg_server's OMTP front (seed 004). */
  msgServerOmtp: number;
  /** msg_server's MSync front (seed 002): WebSocket and TCP. */
  msgServerMsyncWs: number;
  msgServerMsyncTcp: number;
  dbProxy: number;
  admin: number;
  fileServer: number;
  fileServerHttp: number;
  fileServerRpc: number;
}

/**
 * Free ports for every listener of one standalone process on 127.0.0.1, and
 * the settings that give them to it, so deployments started side by side
 * (parallel tests, benchmark runs) never collide.
 */
export async function standaloneListeners(): Promise<{ ports: StandalonePorts; env: Record<string, string> }> {
  const [login, msgServer, dbProxy, admin, fileServer, fileServerHttp, fileServerRpc, msgServerWs, msgServerTcp12, msgServerMsyncWs, msgServerMsyncTcp, msgServerOmtp] = await freePorts(12);
  return {
    ports: { login, msgServer, msgServerWs, msgServerTcp12, msgServerOmtp, msgServerMsyncWs, msgServerMsyncTcp, dbProxy, admin, fileServer, fileServerHttp, fileServerRpc },
    env: {
      LOGIN_HTTP_PORT: String(login),
      MSG_SERVER_PORT: String(msgServer),
      MSG_SERVER_WS_PORT: String(msgServerWs),
      MSG_SERVER_TCP12_PORT: String(msgServerTcp12),
      MSG_SERVER_OMTP_PORT: String(msgServerOmtp),
      MSG_SERVER_MSYNC_WS_PORT: String(msgServerMsyncWs),
      MSG_SERVER_MSYNC_TCP_PORT: String(msgServerMsyncTcp),
      DB_PROXY_PORT: String(dbProxy),
      ADMIN_PORT: String(admin),
      FILE_SERVER_PORT: String(fileServer),
      FILE_SERVER_HTTP_PORT: String(fileServerHttp),
      FILE_SERVER_RPC_PORT: String(fileServerRpc),
      STANDALONE_BIND_HOST: '127.0.0.1',
      ADMIN_HOST: '127.0.0.1',
    },
  };
}
