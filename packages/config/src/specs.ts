// Every environment variable the project reads, grouped by who reads it.
// docs/CONFIG.md is generated from here (scripts/gen-config-doc.mjs) and a
// test fails when it is out of date.
import { EnvError, makeValidator } from 'envalid';
import { ConfigError, bool, int, port, str } from './loader';

/** An AES-256 key as 64 hex digits, or empty (off). */
const aesKeyHex = makeValidator<string>((input: string) => {
  const key = input.trim();
  if (key !== '' && !/^[0-9a-fA-F]{64}$/.test(key)) throw new EnvError('must be 64 hex digits (an AES-256 key) or empty');
  return key;
});

export const commonSpec = {
  LOG_LEVEL: str({ default: 'info', choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], desc: 'pino log level.' }),
  LOG_FORMAT: str({ default: 'auto', choices: ['json', 'pretty', 'auto'], desc: 'Log line format: json (one JSON object a line, for containers and log shippers), pretty (readable lines through pino-pretty), auto = pretty when stdout is a terminal, else json.' }),
  LOG_REPEAT_INTERVAL_MS: int({ default: 10000, min: 10, max: 3600000, desc: 'Repeated client-caused warnings (bad bodies, broken frames, rate limits, ...): a connection logs each kind once per this window, then one summary line per kind with the count not logged. Metrics count every event.' }),
  ADMIN_HOST: str({ default: '0.0.0.0', desc: 'Address of the HTTP admin server (/healthz, /readyz, /metrics).' }),
  ADMIN_TOKEN: str({ default: '', desc: 'Bearer token of the operator actions on the admin port (POST /admin/..., e.g. msg_server\'s notify, used by ttctl notify). Empty: only callers on the same host (loopback) may use them.' }),
  TT_SUBJECT_PREFIX: str({ default: 'tt', desc: 'Prefix of every NATS subject, so several clusters can share one NATS.' }),
};

export const natsSpec = {
  NATS_URL: str({ default: 'nats://127.0.0.1:4222', desc: 'NATS server(s), comma-separated (cluster mode).' }),
  NATS_USER: str({ default: '', desc: 'NATS user name (user/password authentication); needs NATS_PASSWORD.' }),
  NATS_PASSWORD: str({ default: '', desc: 'NATS password of NATS_USER (in Kubernetes: from a Secret).' }),
  NATS_TOKEN: str({ default: '', desc: 'NATS token authentication; instead of NATS_USER/NATS_PASSWORD.' }),
  NATS_CREDS_FILE: str({ default: '', desc: 'NATS credentials file (user JWT and NKey seed, as `nsc` writes it); instead of user/password or token.' }),
  NATS_TLS_CA_FILE: str({ default: '', desc: 'PEM CA bundle the NATS server certificate must chain to; set: TLS to NATS (also implied by tls:// URLs or a client certificate).' }),
  NATS_TLS_CERT_FILE: str({ default: '', desc: 'PEM client certificate for NATS servers that verify clients (with NATS_TLS_KEY_FILE).' }),
  NATS_TLS_KEY_FILE: str({ default: '', desc: 'PEM private key of NATS_TLS_CERT_FILE.' }),
};

/** msg_server liveness (beacons) and how soon route_server gives up on a silent one; read by both roles. */
export const failureDetectorSpec = {
  MSG_SERVER_BEACON_INTERVAL_MS: int({ default: 250, min: 20, max: 60_000, desc: 'How often each msg_server tells the route_servers it is alive (a tiny NATS message: id, incarnation, sequence).' }),
  MSG_SERVER_SUSPICION_TIMEOUT_MS: int({ default: 750, min: 60, max: 600_000, desc: 'A msg_server silent this long is declared dead by route_server: its users are shown offline, login_server stops handing it out, and if it was only hung it closes every client connection when it wakes (fencing). At least 3 x MSG_SERVER_BEACON_INTERVAL_MS.' }),
};

/** The failure detector's settings depend on each other: a timeout under 3 beacon intervals kills on two late beacons. */
export function checkDetectorTimes(cfg: { MSG_SERVER_BEACON_INTERVAL_MS: number; MSG_SERVER_SUSPICION_TIMEOUT_MS: number }): void {
  if (cfg.MSG_SERVER_SUSPICION_TIMEOUT_MS < 3 * cfg.MSG_SERVER_BEACON_INTERVAL_MS) {
    throw new ConfigError([`MSG_SERVER_SUSPICION_TIMEOUT_MS (${cfg.MSG_SERVER_SUSPICION_TIMEOUT_MS}) must be at least 3 x MSG_SERVER_BEACON_INTERVAL_MS (${cfg.MSG_SERVER_BEACON_INTERVAL_MS})`]);
  }
}

export const redisSpec = {
  REDIS_URL: str({ default: 'redis://127.0.0.1:6379', desc: 'Redis URL (cluster mode; used by db_proxy only): redis://[:password@]host:port[/db], or rediss:// for TLS.' }),
  REDIS_PASSWORD: str({ default: '', desc: 'Redis password (AUTH); overrides one in REDIS_URL, so the URL can stay free of secrets.' }),
  REDIS_TLS_CA_FILE: str({ default: '', desc: 'PEM CA bundle the Redis server certificate must chain to; set: TLS to Redis even with a redis:// URL (rediss:// alone verifies against the system CAs).' }),
};

export const mysqlSpec = {
  MYSQL_HOST: str({ default: '127.0.0.1', desc: 'MySQL/MariaDB host (cluster mode).' }),
  MYSQL_PORT: port({ default: 3306, desc: 'MySQL/MariaDB port.' }),
  MYSQL_USER: str({ default: 'root', desc: 'MySQL/MariaDB user.' }),
  MYSQL_PASSWORD: str({ default: '', desc: 'MySQL/MariaDB password.' }),
  MYSQL_DATABASE: str({ default: 'teamtalk', desc: 'Database name; created if missing.' }),
  MYSQL_POOL_SIZE: int({ default: 10, min: 1, max: 500, desc: 'Connections in the MySQL pool of each db_proxy.' }),
  MYSQL_TLS: str({ default: 'off', choices: ['off', 'on', 'verify'], desc: 'TLS to MySQL/MariaDB: off; on = encrypted, the server certificate is not checked; verify = encrypted, and the certificate must chain to MYSQL_TLS_CA_FILE (or the system CAs) and name MYSQL_HOST when that is a host name. A server without TLS is refused unless off.' }),
  MYSQL_TLS_CA_FILE: str({ default: '', desc: 'PEM CA bundle of the MySQL/MariaDB server certificate (MYSQL_TLS=verify).' }),
};

export const modeSpec = {
  TT_MODE: str({ default: 'standalone', choices: ['standalone', 'cluster'], desc: 'Which store the admin CLI (ttctl) opens: standalone = the SQLite file in TT_DATA_DIR, cluster = MySQL.' }),
  TT_DATA_DIR: str({ default: './data', desc: 'Standalone mode: directory of the embedded SQLite database.' }),
};

export const passwordSpec = {
  PASSWORD_SCRYPT_N: int({ default: 16384, min: 1024, max: 1048576, desc: 'scrypt cost (N) for new password hashes; a power of two.' }),
};

/** gRPC between roles: db_proxy and file_server serve it; msg_server, login_server, push_server and file_server call it. */
export const grpcTlsSpec = {
  GRPC_TLS_CERT_FILE: str({ default: '', desc: 'PEM certificate (chain) of this role on gRPC, with GRPC_TLS_KEY_FILE. Servers (db_proxy, file_server) serve TLS with it; callers present it as their client certificate (mTLS). Empty, with GRPC_TLS_CA_FILE empty too: gRPC in cleartext.' }),
  GRPC_TLS_KEY_FILE: str({ default: '', desc: 'PEM private key of GRPC_TLS_CERT_FILE.' }),
  GRPC_TLS_CA_FILE: str({ default: '', desc: 'PEM CA bundle. Callers: servers must present a certificate it signed (set: calls use TLS). Servers: callers must present a certificate it signed (mTLS).' }),
  GRPC_TLS_SERVER_NAME: str({ default: '', desc: 'Name callers expect in server certificates when it differs from the host they dial (e.g. the Service name when the address is a pod IP or dns:/// list).' }),
};

export const dbProxyClientSpec = {
  DB_PROXY_ADDR: str({ default: '127.0.0.1:10600', desc: 'db_proxy gRPC address: host:port, a comma-separated list of IP:port, or dns:///name:port (a headless Service in Kubernetes); calls are balanced round-robin over every address.' }),
  DB_PROXY_TIMEOUT_MS: int({ default: 5000, min: 100, max: 120000, desc: 'Deadline of one call to db_proxy, including the wait for a connection while db_proxy starts or restarts.' }),
};

// Access tokens (JWT, HS256) for the WebSocket front: login_server issues them (POST /auth/token), msg_server verifies them.
export const authTokenSpec = {
  AUTH_JWT_SECRET: str({ default: '', desc: 'Shared HMAC secret of the access tokens; the same value on login_server and every msg_server (e.g. 32 random bytes, base64). Empty: login_server answers POST /auth/token with 503 and WebSocket logins fail (a warning at start).' }),
  AUTH_JWT_TTL_S: int({ default: 86400, min: 60, max: 30 * 86400, desc: 'Lifetime of an access token, in seconds.' }),
};

// Limits of file_server (cluster process and the standalone process alike).
/** TeamTalk clients' shared content key: msg_server converts text between fronts with it, push_server shows previews. */
export const contentKeySpec = {
  TT_CONTENT_KEY: str({ default: '', desc: 'The 32-character key TeamTalk clients encrypt message text with (the stock clients\' default is 12345678901234567890123456789012). Set: text is converted between TeamTalk and the other client protocols, and notifications show a preview. Unset: TeamTalk content passes through as opaque bytes and previews are generic. PUSH_CONTENT_KEY is its old name, still read.' }),
};

/** TLS on the client listeners (docs/TLS.md): one certificate per process for every TLS port it opens, next to the plain ports. */
export const clientTlsSpec = {
  CLIENT_TLS_CERT_FILE: str({ default: '', desc: 'PEM certificate (leaf first, then intermediates) of this process\'s client TLS ports (the *_TLS_PORT, *_WSS_PORT and *_HTTPS_PORT settings); required when one of them is set. Re-read when it changes on disk or on SIGHUP: new connections get the new certificate without a restart; a bad new file is logged and the old certificate kept.' }),
  CLIENT_TLS_KEY_FILE: str({ default: '', desc: 'PEM private key of CLIENT_TLS_CERT_FILE (not encrypted).' }),
  CLIENT_TLS_CA_FILE: str({ default: '', desc: 'PEM CA bundle; set: TLS clients must present a certificate it signed (client certificates). Empty: any client may connect (it logs in as usual).' }),
  CLIENT_TLS_RELOAD_INTERVAL_MS: int({ default: 10000, min: 0, max: 3600000, desc: 'How often the certificate files are checked for a change (a Kubernetes Secret update included); 0 = only on SIGHUP.' }),
};

/** The WebSocket front of msg_server (seed 003) and what every front shares. */
export const frontsSpec = {
  MSG_SERVER_WS_PORT: int({ default: 8081, min: 0, max: 65535, desc: 'WebSocket front (seed 003) port; 0 = the front is off.' }),
  MSG_SERVER_WSS_PORT: int({ default: 0, min: 0, max: 65535, desc: 'WebSocket front over TLS (wss://, same path) on this port, next to the plain one; 0 = off. Needs CLIENT_TLS_CERT_FILE. MSG_SERVER_WS_PORT=0 with this set: wss only.' }),
  MSG_SERVER_WS_PATH: str({ default: '/ws', desc: 'The WebSocket front\'s URL path; other paths get 404.' }),
  MSG_SERVER_WS_ADVERTISE_PORT: int({ default: 0, min: 0, max: 65535, desc: 'WebSocket port handed to clients by login_server; 0 = MSG_SERVER_WS_PORT.' }),
  MSG_SERVER_WS_MAX_FRAME_BYTES: int({ default: 1048576, min: 1024, max: 64 * 1048576, desc: 'Largest WebSocket message accepted; a bigger one closes the connection (1009).' }),
  MSG_SERVER_WS_IDLE_TIMEOUT_MS: int({ default: 90000, min: 100, desc: 'A WebSocket client silent this long is closed (the seed: 90 s; clients send a heartbeat every 30 s).' }),
  MSG_SERVER_MAX_CONTENT_BYTES: int({ default: 262144, min: 16, max: 16 * 1048576, desc: 'Largest message content the non-TeamTalk fronts accept (ERR_MESSAGE_TOO_LARGE beyond).' }),
  MSG_SERVER_RECALL_WINDOW_S: int({ default: 120, min: 0, max: 30 * 86400, desc: 'How long after sending a sender may recall a message (a group owner may recall any time).' }),
  MSG_SERVER_TCP12_PORT: int({ default: 8082, min: 0, max: 65535, desc: 'tcp12 front (seed 001: 12-byte header + protobuf over TCP) port; 0 = the front is off.' }),
  MSG_SERVER_TCP12_TLS_PORT: int({ default: 0, min: 0, max: 65535, desc: 'tcp12 front over TLS on this port, next to the plain one; 0 = off. Needs CLIENT_TLS_CERT_FILE.' }),
  MSG_SERVER_TCP12_ADVERTISE_PORT: int({ default: 0, min: 0, max: 65535, desc: 'tcp12 port handed to clients by login_server; 0 = MSG_SERVER_TCP12_PORT.' }),
  MSG_SERVER_TCP12_MAX_FRAME_BYTES: int({ default: 1048576, min: 1024, max: 64 * 1048576, desc: 'Largest tcp12 frame body (the header\'s len, and the body once gunzipped); a longer len closes the connection, a bigger gunzipped body is answered BAD_GZIP.' }),
  MSG_SERVER_TCP12_IDLE_TIMEOUT_MS: int({ default: 90000, min: 100, desc: 'A logged-in tcp12 client silent this long is closed (clients send PING every 30 s).' }),
  MSG_SERVER_TCP12_AES_KEY: aesKeyHex({ default: '', desc: 'AES-256 key of tcp12 frames with encryption 1 (AES-256-CBC, PKCS#7, a random IV before the ciphertext), as 64 hex digits; the same on every msg_server. Empty: encrypted frames are answered ENCRYPTION_NOT_SUPPORTED.' }),
  MSG_SERVER_OMTP_PORT: int({ default: 8085, min: 0, max: 65535, desc: 'OMTP front (seed 004: 4-byte length + Tars OTIMPack over TCP) port; 0 = the front is off.' }),
  MSG_SERVER_OMTP_TLS_PORT: int({ default: 0, min: 0, max: 65535, desc: 'OMTP front over TLS on this port, next to the plain one; 0 = off. Needs CLIENT_TLS_CERT_FILE.' }),
  MSG_SERVER_OMTP_ADVERTISE_PORT: int({ default: 0, min: 0, max: 65535, desc: 'OMTP port handed to clients by login_server; 0 = MSG_SERVER_OMTP_PORT.' }),
  MSG_SERVER_OMTP_MAX_FRAME_BYTES: int({ default: 1048576, min: 1024, max: 64 * 1048576, desc: 'Largest OMTP frame (its length, and a payload once inflated); a longer length closes the connection, a bigger inflated payload is answered 413.' }),
  MSG_SERVER_OMTP_IDLE_TIMEOUT_MS: int({ default: 90000, min: 100, desc: 'A logged-in OMTP client silent this long is closed (clients send PT_PING every 30 s).' }),
  MSG_SERVER_OMTP_AES_KEY: aesKeyHex({ default: '', desc: 'AES-256 key of OMTP payloads with CRYPTO 1 (AES-256-CBC, PKCS#7, a random IV before the ciphertext), as 64 hex digits; the same on every msg_server. Empty: CRYPTO 1 is answered 415.' }),
  MSG_SERVER_OMTP_HOT_SESSIONS: int({ default: 200, min: 1, max: 500, desc: 'Sessions one OMTP HOTSESSION_SYNC answer holds at most (newest first).' }),
  MSG_SERVER_OMTP_HOT_SESSION_MESSAGES: int({ default: 3, min: 0, max: 50, desc: 'Newest messages each session of a HOTSESSION_SYNC / SESSION_MONITOR_SYNC answer carries.' }),
  MSG_SERVER_MSYNC_WS_PORT: int({ default: 8083, min: 0, max: 65535, desc: 'MSync front (seed 002, Easemob clients) WebSocket port; 0 = off.' }),
  MSG_SERVER_MSYNC_WSS_PORT: int({ default: 0, min: 0, max: 65535, desc: 'MSync front over WebSocket with TLS (wss://, same path) on this port; 0 = off. Needs CLIENT_TLS_CERT_FILE.' }),
  MSG_SERVER_MSYNC_WS_PATH: str({ default: '/ws', desc: 'The MSync WebSocket URL path; other paths get 404.' }),
  MSG_SERVER_MSYNC_WS_ADVERTISE_PORT: int({ default: 0, min: 0, max: 65535, desc: 'MSync WebSocket port handed to clients by login_server; 0 = MSG_SERVER_MSYNC_WS_PORT.' }),
  MSG_SERVER_MSYNC_TCP_PORT: int({ default: 8084, min: 0, max: 65535, desc: 'MSync front TCP port (each message after a 4-byte big-endian length); 0 = off.' }),
  MSG_SERVER_MSYNC_TCP_TLS_PORT: int({ default: 0, min: 0, max: 65535, desc: 'MSync front over TCP with TLS on this port; 0 = off. Needs CLIENT_TLS_CERT_FILE.' }),
  MSG_SERVER_MSYNC_TCP_ADVERTISE_PORT: int({ default: 0, min: 0, max: 65535, desc: 'MSync TCP port handed to clients by login_server; 0 = MSG_SERVER_MSYNC_TCP_PORT.' }),
  MSG_SERVER_MSYNC_MAX_FRAME_BYTES: int({ default: 1048576, min: 1024, max: 64 * 1048576, desc: 'Largest MSync message (WebSocket frame or TCP length); a bigger one closes the connection.' }),
  MSG_SERVER_MSYNC_IDLE_TIMEOUT_MS: int({ default: 120000, min: 100, desc: 'An MSync client silent this long is closed (the Web SDK sends UNREAD after 30 s without a frame).' }),
  MSG_SERVER_MSYNC_MAX_DEVICES: int({ default: 5, min: 0, max: 1000, desc: 'MSync devices (resources) per user: a new one beyond gets TOO_MANY_DEVICES (1: BIND_ANOTHER_DEVICE); 0 = no limit.' }),
  MSG_SERVER_MSYNC_DEVICE_TTL_S: int({ default: 30 * 86400, min: 60, desc: 'An MSync device not seen for this long no longer counts against MSG_SERVER_MSYNC_MAX_DEVICES.' }),
  MSG_SERVER_MSYNC_PULL_LIMIT: int({ default: 50, min: 1, max: 500, desc: 'Metas in one MSync SYNC answer (the client pulls again from next_key).' }),
  MSG_SERVER_MSYNC_NEW_DEVICE_BACKLOG: int({ default: 100, min: 0, max: 100000, desc: 'A user\'s first MSync device starts this many sync seqs back (later devices start where the user\'s devices have confirmed).' }),
  MSG_SERVER_MSYNC_APP_KEY: str({ default: '', desc: 'The Easemob app key (org#app) MSync clients must send; empty = any.' }),
};

export const fileLimitsSpec = {
  FILE_SERVER_MAX_FILE_BYTES: int({ default: 104857600, min: 1, max: 4294967295, desc: 'Largest file a transfer task may announce (IMFileReq file_size); bigger requests get FILE_SERVER_ERRNO_CREATE_TASK_ERROR.' }),
  FILE_SERVER_QUOTA_BYTES: int({ default: 10737418240, min: 1, desc: 'Storage quota of one file_server: offline files, partial uploads and images together; a task or image that does not fit is refused.' }),
  FILE_SERVER_CHUNK_BYTES: int({ default: 65536, min: 1024, max: 4194304, desc: 'Chunk size: what file_server asks uploaders for, and the largest IMFilePullDataReq data_size it answers (bigger: FILE_SERVER_ERRNO_PULL_DATA_ALLOC_MEM_ERROR).' }),
  FILE_SERVER_TASK_EXPIRY_MS: int({ default: 3600000, min: 100, desc: 'A transfer task not finished this long after msg_server created it is dropped, with its partial upload.' }),
  FILE_SERVER_OFFLINE_EXPIRY_MS: int({ default: 604800000, min: 100, desc: 'A stored offline file is removed this long after its upload completed (and is no longer listed).' }),
  FILE_SERVER_SWEEP_INTERVAL_MS: int({ default: 60000, min: 50, desc: 'How often expired tasks and files are removed.' }),
  FILE_SERVER_IDLE_TIMEOUT_MS: int({ default: 120000, min: 100, desc: 'A file client connection silent this long is closed.' }),
  FILE_SERVER_MAX_IMAGE_BYTES: int({ default: 10485760, min: 1, desc: 'Largest image the image store (HTTP upload) accepts; bigger: 413.' }),
  FILE_SERVER_IMAGE_TYPES: str({ default: 'image/jpeg,image/png,image/gif,image/webp,image/bmp', desc: 'Image types the store accepts, comma-separated, as recognised from the bytes (not the declared type); others: 415.' }),
};

/** Readiness (msg_server, db_proxy): dependencies failing for less than this keep the replica ready. */
export const readinessSpec = {
  READINESS_GRACE_MS: int({ default: 60000, min: 0, max: 3600000, desc: 'How long a dependency (msg_server: NATS, db_proxy; db_proxy: MySQL, Redis) may fail without a break before GET /readyz answers 503. Every replica sees a blip at once: a short one must not take them all out of their Service. A dependency never reached since start counts at once; 0 = at once always.' }),
};

/** The operator HTTP API (/api/v1), served by login_server (and the standalone process). */
/** Back-off after failed log-ins (db_proxy for every front and the token endpoints; login_server for operator log-ins; standalone). */
export const loginThrottleSpec = {
  LOGIN_THROTTLE_ACCOUNT_FAILURES: int({ default: 5, min: 0, max: 10000, desc: 'Failed log-ins of one account allowed without a wait; after them each attempt must wait LOGIN_THROTTLE_BASE_DELAY_MS, doubling per failure (refused meanwhile without a password check). A success resets the count. 0 = no per-account throttle.' }),
  LOGIN_THROTTLE_ADDRESS_FAILURES: int({ default: 50, min: 0, max: 1000000, desc: 'Failed log-ins from one source address allowed without a wait, then the same back-off; keep it above the per-account one (offices behind one NAT). Behind a proxy or load balancer that hides client addresses (an HTTP ingress, a Service that SNATs) all clients share its address: raise it a lot or set 0. 0 = no per-address throttle.' }),
  LOGIN_THROTTLE_WINDOW_S: int({ default: 900, min: 1, max: 86400, desc: "A key's failure count is forgotten after this many seconds without a new failure." }),
  LOGIN_THROTTLE_BASE_DELAY_MS: int({ default: 1000, min: 1, max: 3600000, desc: 'The first back-off wait (after the free failures); it doubles with every further failure.' }),
  LOGIN_THROTTLE_MAX_DELAY_MS: int({ default: 300000, min: 1, max: 86400000, desc: 'The longest back-off wait.' }),
};

export const adminApiSpec = {
  ADMIN_API_TOKEN_TTL_S: int({ default: 900, min: 60, max: 86400, desc: 'Lifetime of an operator log-in token (POST /api/v1/auth/login), in seconds. The token is signed with a key derived from AUTH_JWT_SECRET for this purpose only: it never works as a chat token, nor a chat token here.' }),
  ADMIN_API_RATE_LIMIT: int({ default: 600, min: 0, max: 1_000_000, desc: 'Operator API requests per minute per client address (then 429 with Retry-After); 0 = no limit.' }),
  ADMIN_API_CORS_ORIGINS: str({ default: '', desc: 'Comma-separated origins (e.g. https://ops.example.com) whose pages may call the operator API from a browser; empty = no CORS headers (the console is served from the same origin and needs none).' }),
};

export const loginServerSpec = {
  ...commonSpec,
  ...natsSpec,
  ...dbProxyClientSpec,
  ...grpcTlsSpec,
  // The operator API's message search shows TeamTalk text decrypted with it.
  ...contentKeySpec,
  ...authTokenSpec,
  ...adminApiSpec,
  ...loginThrottleSpec,
  ...clientTlsSpec,
  ADMIN_PORT: port({ default: 9101, desc: 'login_server admin HTTP port.' }),
  LOGIN_HTTP_HOST: str({ default: '0.0.0.0', desc: 'Address login_server listens on.' }),
  LOGIN_HTTP_PORT: port({ default: 8080, desc: 'login_server HTTP port (GET /msg_server, POST /auth/token, the browser chat page under /chat/).' }),
  LOGIN_HTTPS_PORT: int({ default: 0, min: 0, max: 65535, desc: 'login_server over HTTPS on this port too (the same answers as LOGIN_HTTP_PORT); 0 = off. Needs CLIENT_TLS_CERT_FILE.' }),
  LOGIN_MSFS_URL: str({ default: '', desc: 'File/image store URL returned as msfsPrior and msfsBackup.' }),
  LOGIN_DISCOVERY_URL: str({ default: '', desc: 'Discovery URL returned to clients.' }),
};

/** Per-connection memory bounds of every client port (msg_server's fronts, file_server): back-pressure, see docs/ARCHITECTURE.md. */
export const connectionLimitsSpec = {
  CONN_MAX_OUTPUT_BYTES: int({ default: 1048576, min: 65536, max: 256 * 1048576, desc: 'Unsent output per client connection above which the server stops reading that client (back-pressure) until the output has drained; output past 8 times this closes the connection at once (reason output_overflow).' }),
  CONN_MAX_INPUT_BYTES: int({ default: 1048576, min: 65536, max: 256 * 1048576, desc: 'Bytes of requests per client connection read but not yet handled above which the server stops reading that client until they are handled (also at 256 queued requests).' }),
  CONN_SLOW_READER_MS: int({ default: 15000, min: 100, max: 3600000, desc: 'A client whose unsent output stays above CONN_MAX_OUTPUT_BYTES this long is closed (reason slow_reader): it keeps the server at the cap without reading.' }),
};

export const msgServerSpec = {
  ...readinessSpec,
  ...connectionLimitsSpec,
  ...commonSpec,
  ...natsSpec,
  ...failureDetectorSpec,
  ...dbProxyClientSpec,
  ...grpcTlsSpec,
  ...authTokenSpec,
  ...contentKeySpec,
  ...frontsSpec,
  FILE_SERVER_TIMEOUT_MS: int({ default: 5000, min: 100, max: 120000, desc: 'Deadline of one call from msg_server to a file_server (task creation, offline file look-ups); file_servers are found through their NATS reports.' }),
  ...clientTlsSpec,
  ADMIN_PORT: port({ default: 9102, desc: 'msg_server admin HTTP port.' }),
  MSG_SERVER_HOST: str({ default: '0.0.0.0', desc: 'Address msg_server listens on for clients.' }),
  MSG_SERVER_PORT: port({ default: 8000, desc: 'msg_server TCP port for clients.' }),
  MSG_SERVER_TLS_PORT: int({ default: 0, min: 0, max: 65535, desc: 'TeamTalk clients over TLS on this port, next to MSG_SERVER_PORT (login_server advertises it as tlsPort); 0 = off. Needs CLIENT_TLS_CERT_FILE.' }),
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
  ADMIN_SYSTEM_ACCOUNT: str({ default: 'system', desc: "Account name of the system sender (the operator API's messages from_id 0); created disabled on first use if missing, so nobody logs in as it." }),
  MSG_SERVER_REPORT_INTERVAL_MS: int({ default: 2000, min: 100, desc: 'How often msg_server reports its load over NATS; the other roles drop it after 3 missed reports (longer when MSG_SERVER_HANG_TIMEOUT_MS needs it: hang + suspicion timeout + one interval).' }),
  MSG_SERVER_HANG_TIMEOUT_MS: int({ default: 5000, min: 100, max: 600_000, desc: 'Beacons leave from a thread of their own, so a msg_server whose event loop is only busy (overload, a long GC) is not declared dead; once the event loop has not turned for this long the thread stops them, and a server hung for good is declared dead MSG_SERVER_SUSPICION_TIMEOUT_MS later. The report TTL grows to cover it.' }),
  MSG_SERVER_STATUS_NOTIFY_BATCH_MS: int({ default: 200, min: 10, max: 10000, desc: 'User status changes are coalesced over this window before IMUserStatNotify goes to PC clients.' }),
  MSG_SERVER_DRAIN_TIMEOUT_MS: int({ default: 25000, min: 0, desc: 'On SIGTERM: the longest a drain may take before the process exits.' }),
  MSG_SERVER_DRAIN_RATE: int({ default: 2000, min: 1, desc: 'On SIGTERM: client connections closed per second (in batches every 100 ms), so clients reconnect elsewhere without a stampede.' }),
};

/** Read by whoever checks passwords (db_proxy; standalone). */
export const passwordCheckSpec = {
  PASSWORD_CHECK_CACHE_TTL_S: int({
    default: 86400,
    min: 0,
    max: 30 * 86400,
    desc: 'How long a successful password check is remembered (in the shared cache: Redis in cluster mode), so reconnecting clients skip the slow scrypt check; a password change invalidates it at once. 0 = check every login.',
  }),
};

/** The conversation core's storage limits (db_proxy; standalone). */
const coreStorageSpec = {
  CLIENT_MSG_ID_RETENTION_HOURS: int({ default: 168, min: 0, max: 87600, desc: 'How long a sender\'s client_msg_id is remembered (a resend within it gets the original answer); 0 = forever. Swept every 10 minutes.' }),
  ROOM_HISTORY_LIMIT: int({ default: 200, min: 1, max: 100000, desc: 'Messages kept per chat room; older ones are deleted as new ones arrive (rooms are for who is there now).' }),
};

export const dbProxySpec = {
  ...readinessSpec,
  ...commonSpec,
  ...coreStorageSpec,
  ...redisSpec,
  ...mysqlSpec,
  ...passwordSpec,
  ...passwordCheckSpec,
  ...loginThrottleSpec,
  ...grpcTlsSpec,
  ADMIN_PORT: port({ default: 9103, desc: 'db_proxy admin HTTP port.' }),
  DB_PROXY_HOST: str({ default: '0.0.0.0', desc: 'Address db_proxy serves gRPC on.' }),
  DB_PROXY_PORT: port({ default: 10600, desc: 'db_proxy gRPC port.' }),
};

export const routeServerSpec = {
  ...commonSpec,
  ...natsSpec,
  ...failureDetectorSpec,
  ADMIN_PORT: port({ default: 9104, desc: 'route_server admin HTTP port.' }),
  ROUTE_SERVER_ID: str({ default: '', desc: 'Unique id of this route_server; default: <hostname>:<pid>.' }),
};

export const fileServerSpec = {
  ...commonSpec,
  ...connectionLimitsSpec,
  ...natsSpec,
  ...fileLimitsSpec,
  ...grpcTlsSpec,
  ...clientTlsSpec,
  ADMIN_PORT: port({ default: 9106, desc: 'file_server admin HTTP port.' }),
  FILE_SERVER_ID: str({ default: '', desc: 'Stable name of this file_server (offline file records name it; keep it with its volume, e.g. the StatefulSet pod name); default: the host name.' }),
  FILE_SERVER_HOST: str({ default: '0.0.0.0', desc: 'Address file_server listens on for file transfer clients.' }),
  FILE_SERVER_PORT: port({ default: 8600, desc: 'file_server TCP port for file transfer clients.' }),
  FILE_SERVER_TLS_PORT: int({ default: 0, min: 0, max: 65535, desc: 'File transfer clients over TLS on this port, next to FILE_SERVER_PORT; 0 = off. Needs CLIENT_TLS_CERT_FILE. (TeamTalk\'s IMFileRsp carries plain addresses only: TLS clients are configured with this port.)' }),
  FILE_SERVER_ADVERTISE_IP: str({ default: '127.0.0.1', desc: 'Address(es) clients are told to connect to (IMFileRsp/IMFileNotify ip_addr_list), comma-separated.' }),
  FILE_SERVER_ADVERTISE_PORT: int({ default: 0, min: 0, max: 65535, desc: 'Port clients are told; 0 = FILE_SERVER_PORT.' }),
  FILE_SERVER_HTTP_HOST: str({ default: '0.0.0.0', desc: 'Address of the image store (HTTP upload and download).' }),
  FILE_SERVER_HTTP_PORT: port({ default: 8700, desc: 'Image store HTTP port.' }),
  FILE_SERVER_HTTPS_PORT: int({ default: 0, min: 0, max: 65535, desc: 'Image store over HTTPS on this port too; 0 = off. Needs CLIENT_TLS_CERT_FILE. Set FILE_SERVER_HTTP_PUBLIC_URL to its https:// URL for upload answers to name it.' }),
  FILE_SERVER_HTTP_PUBLIC_URL: str({ default: '', desc: 'Public base URL of this image store (upload answers carry url = base/path); default http://<first advertised ip>:<http port>.' }),
  FILE_SERVER_RPC_HOST: str({ default: '0.0.0.0', desc: 'Address file_server serves its internal gRPC on (msg_server, other file_servers).' }),
  FILE_SERVER_RPC_PORT: port({ default: 10700, desc: 'file_server internal gRPC port.' }),
  FILE_SERVER_RPC_ADVERTISE: str({ default: '', desc: 'host:port other roles reach the gRPC service at (e.g. the pod IP); default: FILE_SERVER_RPC_HOST (or the host name when that is 0.0.0.0) and the port.' }),
  FILE_SERVER_DATA_DIR: str({ default: './data/files', desc: 'Where offline files and images are stored (a persistent volume in Kubernetes).' }),
  FILE_SERVER_REPORT_INTERVAL_MS: int({ default: 2000, min: 100, desc: 'How often file_server reports itself over NATS; it is dead after 3 missed reports.' }),
};

// push_server: providers (read by loadPushConfig in @tt/push, which checks the files) and the job queue.
export const pushProvidersSpec = {
  PUSH_APNS_URL: str({ default: 'https://api.push.apple.com', desc: 'APNs endpoint (sandbox: https://api.sandbox.push.apple.com); an http:// URL = cleartext HTTP/2 with prior knowledge (tests).' }),
  PUSH_APNS_KEY_FILE: str({ default: '', desc: 'APNs token-auth signing key (.p8, PKCS#8 PEM). Unset = APNs off (said at start-up).' }),
  PUSH_APNS_KEY_ID: str({ default: '', desc: 'Key ID of the .p8 key (10 characters); required with PUSH_APNS_KEY_FILE.' }),
  PUSH_APNS_TEAM_ID: str({ default: '', desc: 'Apple developer Team ID (10 characters); required with PUSH_APNS_KEY_FILE.' }),
  PUSH_APNS_TOPIC: str({ default: '', desc: "The iOS app's bundle id (apns-topic); required with PUSH_APNS_KEY_FILE." }),
  PUSH_FCM_CREDENTIALS_FILE: str({ default: '', desc: 'Firebase service-account JSON key file. Unset = FCM off (said at start-up).' }),
  PUSH_FCM_URL: str({ default: 'https://fcm.googleapis.com', desc: 'FCM HTTP v1 endpoint; an http:// URL = cleartext HTTP/2 with prior knowledge (tests).' }),
  PUSH_FCM_TOKEN_URL: str({ default: '', desc: "OAuth2 token endpoint; default: the credentials' token_uri, else https://oauth2.googleapis.com/token." }),
  ...contentKeySpec,
  PUSH_CONTENT_KEY: str({ default: '', desc: 'Old name of TT_CONTENT_KEY (read when TT_CONTENT_KEY is unset).' }),
  PUSH_PREVIEW_MAX_CHARS: int({ default: 100, min: 1, max: 1000, desc: 'Longest message preview in a notification (characters); longer text is cut with "…".' }),
  PUSH_REQUEST_TIMEOUT_MS: int({ default: 10000, min: 100, max: 120000, desc: 'Deadline of one request to APNs, FCM or the OAuth2 token endpoint.' }),
};

export const pushQueueSpec = {
  PUSH_CONCURRENCY: int({ default: 16, min: 1, max: 1000, desc: 'Push jobs one push_server handles at once (per queue).' }),
  PUSH_MAX_ATTEMPTS: int({ default: 8, min: 1, max: 100, desc: 'Attempts of one push job (db_proxy look-ups, a provider answering 429/5xx or unreachable) before it goes to the dead letters.' }),
  PUSH_RETRY_INITIAL_MS: int({ default: 1000, min: 1, desc: 'Pause before the first retry of a push job; it doubles with every attempt.' }),
  PUSH_RETRY_MAX_MS: int({ default: 300000, min: 1, desc: 'Longest pause between attempts (also caps a provider\'s Retry-After).' }),
};

export const pushServerSpec = {
  ...commonSpec,
  ...natsSpec,
  ...dbProxyClientSpec,
  ...grpcTlsSpec,
  ADMIN_PORT: port({ default: 9105, desc: 'push_server admin HTTP port.' }),
  ...pushProvidersSpec,
  ...pushQueueSpec,
  PUSH_JOB_MAX_AGE_MS: int({ default: 86400000, min: 1000, desc: 'A push job not handled within this is dropped (JetStream stream max age; a notification a day late is noise).' }),
  PUSH_ACK_WAIT_MS: int({ default: 30000, min: 1000, desc: 'A push job whose push_server went silent this long (crashed) is handed to another replica.' }),
  PUSH_STREAM_REPLICAS: int({ default: 1, min: 1, max: 5, desc: 'Replicas of the push job and dead-letter JetStream streams: 1 for one NATS server, 3 on a NATS cluster (at most its JetStream servers). Applied when push_server creates or updates the streams at start.' }),
};

export const standaloneSpec = {
  ...commonSpec,
  ...connectionLimitsSpec,
  ...passwordSpec,
  ...passwordCheckSpec,
  ...loginThrottleSpec,
  ...clientTlsSpec,
  ADMIN_PORT: port({ default: 9100, desc: 'Standalone: admin HTTP port (health and metrics of every role).' }),
  TT_DATA_DIR: modeSpec.TT_DATA_DIR,
  LOGIN_HTTP_PORT: loginServerSpec.LOGIN_HTTP_PORT,
  LOGIN_HTTPS_PORT: loginServerSpec.LOGIN_HTTPS_PORT,
  AUTH_JWT_SECRET: str({ default: '', desc: 'Secret of the access tokens (POST /auth/token, WebSocket logins). Empty: a random secret kept in <TT_DATA_DIR>/jwt-secret (created with mode 0600 on first start), so tokens survive restarts.' }),
  AUTH_JWT_TTL_S: authTokenSpec.AUTH_JWT_TTL_S,
  ...adminApiSpec,
  LOGIN_MSFS_URL: str({ default: '', desc: "File/image store URL returned as msfsPrior and msfsBackup; default: the embedded file_server's image store URL." }),
  MSG_SERVER_PORT: msgServerSpec.MSG_SERVER_PORT,
  MSG_SERVER_TLS_PORT: msgServerSpec.MSG_SERVER_TLS_PORT,
  MSG_SERVER_ADVERTISE_IP: msgServerSpec.MSG_SERVER_ADVERTISE_IP,
  MSG_SERVER_MAX_CONNECTIONS: msgServerSpec.MSG_SERVER_MAX_CONNECTIONS,
  MSG_SERVER_MAX_FRAME_BYTES: msgServerSpec.MSG_SERVER_MAX_FRAME_BYTES,
  MSG_SERVER_MSG_RATE_LIMIT: msgServerSpec.MSG_SERVER_MSG_RATE_LIMIT,
  MSG_SERVER_LOGIN_TIMEOUT_MS: msgServerSpec.MSG_SERVER_LOGIN_TIMEOUT_MS,
  MSG_SERVER_PC_IDLE_TIMEOUT_MS: msgServerSpec.MSG_SERVER_PC_IDLE_TIMEOUT_MS,
  MSG_SERVER_MOBILE_IDLE_TIMEOUT_MS: msgServerSpec.MSG_SERVER_MOBILE_IDLE_TIMEOUT_MS,
  ADMIN_SYSTEM_ACCOUNT: msgServerSpec.ADMIN_SYSTEM_ACCOUNT,
  ...frontsSpec,
  DB_PROXY_PORT: { ...dbProxySpec.DB_PROXY_PORT },
  STANDALONE_BIND_HOST: str({ default: '0.0.0.0', desc: 'Standalone: address the client-facing ports (login HTTP, msg_server TCP, file_server TCP and HTTP) listen on; internal gRPC stays on 127.0.0.1.' }),
  FILE_SERVER_PORT: fileServerSpec.FILE_SERVER_PORT,
  FILE_SERVER_TLS_PORT: fileServerSpec.FILE_SERVER_TLS_PORT,
  FILE_SERVER_HTTP_PORT: fileServerSpec.FILE_SERVER_HTTP_PORT,
  FILE_SERVER_HTTPS_PORT: fileServerSpec.FILE_SERVER_HTTPS_PORT,
  FILE_SERVER_RPC_PORT: { ...fileServerSpec.FILE_SERVER_RPC_PORT },
  FILE_SERVER_ADVERTISE_IP: str({ default: '', desc: 'Standalone: address(es) file transfer clients are told to connect to, comma-separated; default: MSG_SERVER_ADVERTISE_IP.' }),
  FILE_SERVER_HTTP_PUBLIC_URL: fileServerSpec.FILE_SERVER_HTTP_PUBLIC_URL,
  FILE_SERVER_DATA_DIR: str({ default: '', desc: 'Standalone: where offline files and images are stored; default: <TT_DATA_DIR>/files.' }),
  ...fileLimitsSpec,
  ...pushProvidersSpec,
  ...pushQueueSpec,
  ...coreStorageSpec,
};

export const ttctlSpec = {
  ...modeSpec,
  ...mysqlSpec,
  ...passwordSpec,
  TT_ADMIN_URL: str({ default: '', desc: 'ttctl notify: the admin URL of a msg_server (or of the standalone server); empty = http://127.0.0.1:9100 in standalone mode, :9102 in cluster mode.' }),
  ADMIN_TOKEN: str({ default: '', desc: 'ttctl notify: the bearer token the msg_server expects (its ADMIN_TOKEN), if it has one.' }),
  LOG_LEVEL: commonSpec.LOG_LEVEL,
};

export const allSpecs = {
  login_server: loginServerSpec,
  msg_server: msgServerSpec,
  db_proxy: dbProxySpec,
  route_server: routeServerSpec,
  push_server: pushServerSpec,
  file_server: fileServerSpec,
  standalone: standaloneSpec,
  ttctl: ttctlSpec,
};
