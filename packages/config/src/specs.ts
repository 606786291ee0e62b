// Every environment variable the project reads, grouped by who reads it.
// docs/CONFIG.md is generated from here (scripts/gen-config-doc.mjs) and a
// test fails when it is out of date.
import { bool, int, port, str } from './loader';

export const commonSpec = {
  LOG_LEVEL: str({ default: 'info', choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], desc: 'pino log level.' }),
  ADMIN_HOST: str({ default: '0.0.0.0', desc: 'Address of the HTTP admin server (/healthz, /readyz, /metrics).' }),
  TT_SUBJECT_PREFIX: str({ default: 'tt', desc: 'Prefix of every NATS subject, so several clusters can share one NATS.' }),
};

export const natsSpec = {
  NATS_URL: str({ default: 'nats://127.0.0.1:4222', desc: 'NATS server(s), comma-separated (cluster mode).' }),
};

export const redisSpec = {
  REDIS_URL: str({ default: 'redis://127.0.0.1:6379', desc: 'Redis URL (cluster mode; used by db_proxy only).' }),
};

export const mysqlSpec = {
  MYSQL_HOST: str({ default: '127.0.0.1', desc: 'MySQL/MariaDB host (cluster mode).' }),
  MYSQL_PORT: port({ default: 3306, desc: 'MySQL/MariaDB port.' }),
  MYSQL_USER: str({ default: 'root', desc: 'MySQL/MariaDB user.' }),
  MYSQL_PASSWORD: str({ default: '', desc: 'MySQL/MariaDB password.' }),
  MYSQL_DATABASE: str({ default: 'teamtalk', desc: 'Database name; created if missing.' }),
  MYSQL_POOL_SIZE: int({ default: 10, min: 1, max: 500, desc: 'Connections in the MySQL pool of each db_proxy.' }),
};

export const modeSpec = {
  TT_MODE: str({ default: 'standalone', choices: ['standalone', 'cluster'], desc: 'Which store the admin CLI (ttctl) opens: standalone = the SQLite file in TT_DATA_DIR, cluster = MySQL.' }),
  TT_DATA_DIR: str({ default: './data', desc: 'Standalone mode: directory of the embedded SQLite database.' }),
};

export const passwordSpec = {
  PASSWORD_SCRYPT_N: int({ default: 16384, min: 1024, max: 1048576, desc: 'scrypt cost (N) for new password hashes; a power of two.' }),
};

export const dbProxyClientSpec = {
  DB_PROXY_ADDR: str({ default: '127.0.0.1:10600', desc: 'db_proxy gRPC address: host:port, a comma-separated list of IP:port, or dns:///name:port (a headless Service in Kubernetes); calls are balanced round-robin over every address.' }),
  DB_PROXY_TIMEOUT_MS: int({ default: 5000, min: 100, max: 120000, desc: 'Deadline of one call to db_proxy.' }),
};

export const loginServerSpec = {
  ...commonSpec,
  ...natsSpec,
  ADMIN_PORT: port({ default: 9101, desc: 'login_server admin HTTP port.' }),
  LOGIN_HTTP_HOST: str({ default: '0.0.0.0', desc: 'Address login_server listens on.' }),
  LOGIN_HTTP_PORT: port({ default: 8080, desc: 'login_server HTTP port (GET /msg_server).' }),
  LOGIN_MSFS_URL: str({ default: '', desc: 'File/image store URL returned as msfsPrior and msfsBackup.' }),
  LOGIN_DISCOVERY_URL: str({ default: '', desc: 'Discovery URL returned to clients.' }),
};

export const msgServerSpec = {
  ...commonSpec,
  ...natsSpec,
  ...dbProxyClientSpec,
  ADMIN_PORT: port({ default: 9102, desc: 'msg_server admin HTTP port.' }),
  MSG_SERVER_HOST: str({ default: '0.0.0.0', desc: 'Address msg_server listens on for clients.' }),
  MSG_SERVER_PORT: port({ default: 8000, desc: 'msg_server TCP port for clients.' }),
  MSG_SERVER_ID: str({ default: '', desc: 'Unique id of this msg_server in the cluster; default: <hostname>:<port>.' }),
  MSG_SERVER_ADVERTISE_IP: str({ default: '127.0.0.1', desc: 'Address login_server hands to clients (priorIP).' }),
  MSG_SERVER_ADVERTISE_IP2: str({ default: '', desc: 'Second address (backupIP); default: the first.' }),
  MSG_SERVER_ADVERTISE_PORT: int({ default: 0, min: 0, max: 65535, desc: 'Port handed to clients; 0 = MSG_SERVER_PORT.' }),
  MSG_SERVER_MAX_CONNECTIONS: int({ default: 100000, min: 1, desc: 'Connections at which login_server stops sending clients here.' }),
  MSG_SERVER_MAX_FRAME_BYTES: int({ default: 1048576, min: 1024, max: 64 * 1048576, desc: 'Largest PDU accepted from a client; a bigger one closes the connection.' }),
  MSG_SERVER_MSG_RATE_LIMIT: int({ default: 20, min: 1, desc: 'Messages per second one user may send; the excess is dropped and logged.' }),
  MSG_SERVER_LOGIN_TIMEOUT_MS: int({ default: 15000, min: 100, desc: 'A connection that has not logged in by then is closed.' }),
  MSG_SERVER_PC_IDLE_TIMEOUT_MS: int({ default: 120000, min: 100, desc: 'A PC client silent this long is closed.' }),
  MSG_SERVER_MOBILE_IDLE_TIMEOUT_MS: int({ default: 300000, min: 100, desc: 'A mobile client silent this long is closed.' }),
  MSG_SERVER_HEARTBEAT_INTERVAL_MS: int({ default: 30000, min: 100, desc: 'The server sends a heartbeat to a client it has not written to for this long.' }),
  MSG_SERVER_REPORT_INTERVAL_MS: int({ default: 2000, min: 100, desc: 'How often msg_server reports its load over NATS; it is dead after 3 missed reports.' }),
  MSG_SERVER_STATUS_NOTIFY_BATCH_MS: int({ default: 200, min: 10, max: 10000, desc: 'User status changes are coalesced over this window before IMUserStatNotify goes to PC clients.' }),
  MSG_SERVER_DRAIN_TIMEOUT_MS: int({ default: 25000, min: 0, desc: 'On SIGTERM: the longest a drain may take before the process exits.' }),
  MSG_SERVER_DRAIN_RATE: int({ default: 2000, min: 1, desc: 'On SIGTERM: client connections closed per second (in batches every 100 ms), so clients reconnect elsewhere without a stampede.' }),
};

export const dbProxySpec = {
  ...commonSpec,
  ...redisSpec,
  ...mysqlSpec,
  ...passwordSpec,
  ADMIN_PORT: port({ default: 9103, desc: 'db_proxy admin HTTP port.' }),
  DB_PROXY_HOST: str({ default: '0.0.0.0', desc: 'Address db_proxy serves gRPC on.' }),
  DB_PROXY_PORT: port({ default: 10600, desc: 'db_proxy gRPC port.' }),
};

export const routeServerSpec = {
  ...commonSpec,
  ...natsSpec,
  ADMIN_PORT: port({ default: 9104, desc: 'route_server admin HTTP port.' }),
  ROUTE_SERVER_ID: str({ default: '', desc: 'Unique id of this route_server; default: <hostname>:<pid>.' }),
};

export const standaloneSpec = {
  ...commonSpec,
  ...passwordSpec,
  ADMIN_PORT: port({ default: 9100, desc: 'Standalone: admin HTTP port (health and metrics of every role).' }),
  TT_DATA_DIR: modeSpec.TT_DATA_DIR,
  LOGIN_HTTP_PORT: loginServerSpec.LOGIN_HTTP_PORT,
  LOGIN_MSFS_URL: loginServerSpec.LOGIN_MSFS_URL,
  MSG_SERVER_PORT: msgServerSpec.MSG_SERVER_PORT,
  MSG_SERVER_ADVERTISE_IP: msgServerSpec.MSG_SERVER_ADVERTISE_IP,
  MSG_SERVER_MAX_CONNECTIONS: msgServerSpec.MSG_SERVER_MAX_CONNECTIONS,
  MSG_SERVER_MAX_FRAME_BYTES: msgServerSpec.MSG_SERVER_MAX_FRAME_BYTES,
  MSG_SERVER_MSG_RATE_LIMIT: msgServerSpec.MSG_SERVER_MSG_RATE_LIMIT,
  MSG_SERVER_LOGIN_TIMEOUT_MS: msgServerSpec.MSG_SERVER_LOGIN_TIMEOUT_MS,
  MSG_SERVER_PC_IDLE_TIMEOUT_MS: msgServerSpec.MSG_SERVER_PC_IDLE_TIMEOUT_MS,
  MSG_SERVER_MOBILE_IDLE_TIMEOUT_MS: msgServerSpec.MSG_SERVER_MOBILE_IDLE_TIMEOUT_MS,
  DB_PROXY_PORT: { ...dbProxySpec.DB_PROXY_PORT },
  STANDALONE_BIND_HOST: str({ default: '0.0.0.0', desc: 'Standalone: address the client-facing ports (login HTTP, msg_server TCP) listen on; internal gRPC stays on 127.0.0.1.' }),
};

export const ttctlSpec = {
  ...modeSpec,
  ...mysqlSpec,
  ...passwordSpec,
  LOG_LEVEL: commonSpec.LOG_LEVEL,
};

export const allSpecs = {
  login_server: loginServerSpec,
  msg_server: msgServerSpec,
  db_proxy: dbProxySpec,
  route_server: routeServerSpec,
  standalone: standaloneSpec,
  ttctl: ttctlSpec,
};
