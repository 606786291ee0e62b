// The command line: pnpm bench <scenario> [options]. Every run is bounded by
// counts and a duration, targets loopback only, and refuses anything else.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { IM } from '@tt/proto';
import { assertLoopback, assertLoopbackUrl, REPO_ROOT } from './deployment';

export const SCENARIOS = ['connections', 'single-chat', 'group-chat', 'offline-sync', 'abuse', 'logins', 'hold'] as const;
/** What the abuse scenario floods: msg_server's fronts and file_server's client port. */
export const ABUSE_FRONTS = ['teamtalk', 'ws', 'tcp12', 'msync', 'omtp', 'file'] as const;
export type AbuseFront = (typeof ABUSE_FRONTS)[number];
export type Scenario = (typeof SCENARIOS)[number];

export class UsageError extends Error {}

export const USAGE = `usage: pnpm bench <scenario> [options]

scenarios
  connections    N logged-in idle connections held for a while: login rate, msg_server RSS/heap per
                 connection, CPU while idle (heartbeats)
  single-chat    P sender/receiver pairs at a target or the maximum rate: stored/acked/delivered per
                 second, send-to-delivery latency, every message checked for arrival and order
  group-chat     one group of G members, a share of them online, K senders: deliveries per second,
                 fan-out latency
  offline-sync   a user with M unread messages across S sessions logs in and pulls everything
  logins         storms of N logins of existing users (ask login_server, connect, log in, PC first
                 queries, log out): wall time, logins/s, p50/p99 per step, server CPU per login by
                 process; the first storm (passwords checked) apart; then a sustained repeat rate
  abuse          per front, N connections flood heartbeats and never read (every other one logged
                 in): server RSS idle / peak / growth, flooders cut off, a normal client answered
  hold           N logged-in idle connections held by --workers load-generator processes (past one
                 process's open-file limit), probe messages to random held users while held: login
                 rate, RSS per connection of each msg_server, RSS and idle CPU of every role,
                 probe send-to-delivery p50/p95/p99

target (one of)
  --start standalone|cluster   start a fresh deployment (temp data dir / database tt_bench_<id>),
                               measure it, stop it. cluster needs MariaDB, Redis, NATS (MYSQL_*, ...)
  --msg-servers K              with --start cluster: K msg_servers (default 1)
  --server-env KEY=VALUE       extra setting for started processes (repeatable)
  --keep                       keep the started deployment's data dir / database
  --cpu-prof                   started processes write CPU profiles (node --cpu-prof) to
                               <out>/<name>.cpuprof/, summarised there in summary.md
  --login-url URL              a running deployment's login_server, e.g. http://127.0.0.1:8080;
                               users go to the store TT_MODE/TT_DATA_DIR/MYSQL_* point at (as ttctl)
  --admin-url URL[,URL]        msg_server admin endpoint(s) to read /metrics from (standalone 9100,
                               msg_server 9102 / 9200+i); known automatically with --start
  --msg-server HOST:PORT       connect here instead of asking login_server for every connection

users
  --users-via store|ttctl      bulk through @tt/storage (default) or one ttctl process per user
  --user-prefix P              user names P<n> (default bench<run id>_); existing names are reused
  --password PW                (default bench-password)
  --scrypt-n N                 scrypt cost of the created users' password hashes = the cost of each
                               first login on the server (default 1024; 16384 is ttctl's default)

common
  --duration S                 hard bound of the measured phase, seconds (default 60)
  --timeout S                  abort the whole run after this (default duration + 300)
  --source-ips N|LIST          spread client sockets over 127.0.0.1..127.0.0.N or the listed
                               loopback addresses (default: 4, more when N needs it)
  --protocol P                 teamtalk (default): every client speaks TeamTalk over TCP; ws: every
                               client uses the WebSocket front (token from POST /auth/token once per
                               user, URL from GET /msg_server?protocol=ws); mixed: single-chat senders
                               TeamTalk and receivers ws, group-chat and connections alternate;
                               tcp12: every client uses the tcp12 front (seed 001; token login,
                               address from GET /msg_server?protocol=tcp12); msync: every client
                               uses the MSync front's TCP transport (seed 002; token PROVISION,
                               address from GET /msg_server?protocol=msync, NOTICE then pull);
                               omtp: every client uses the OMTP front (seed 004; PT_LOGIN with the
                               password, address from GET /msg_server?protocol=omtp, plain Tars).
                               connections, single-chat and group-chat
  --client-type T              android (default), ios, windows or mac. PC types receive every
                               user status change of the organisation (IMUserStatNotify)
  --heartbeat-ms MS            client heartbeat interval (default 30000, 0 = none)
  --concurrency C              logins (and other setup) in flight at once (default 100)
  --sample-ms MS               /metrics scrape interval (default 1000)
  --out DIR                    where results go (default bench/results)
  --name NAME                  file name stem of the results (default <scenario>-<mode>-<time>)
  --quiet                      no progress lines

connections    --count N (1000)  --login-rate R logins/s (0 = as fast as --concurrency allows)
               --hold S (20) seconds held idle after the ramp
single-chat    --pairs P (10)  --messages M per pair (1000)  --rate R msgs/s in all (0 = max)
               --window W unacked messages per sender (16)  --size B bytes per message (64)
               --drain S wait for late acks/deliveries (10)
               --warmup S also report delivery latency without messages sent in the first S
                 seconds (JIT, caches and connection pools warming up); 0 = off (default)
group-chat     --members G (100)  --online F share online, 0..1 (1)  --senders K (1)
               --messages M per sender (100)  --rate R  --window W  --size B  --drain S
               --group-type tmp|normal (tmp: what clients may create)
offline-sync   --messages M (1000)  --sessions S (10)  --page N messages per IMGetMsgListReq (100)
               --window W seeding window per sender (16)  --parallel N sessions pulled at once (1)
               --rate R seeding msgs/s in all (default: max with --start, else 18/s per sender,
                 under the default per-user limit of 20/s)
logins         --count N users = logins per storm (1000)  --storms K repeat storms (3)
               --in-flight C logins at once (100)  --seconds S sustained repeat logins at C in
               flight for S seconds (5; 0 = off)  --first-queries on|off (on: PC client types
               send the TeamTalk PC client's first queries after IMLoginRes)
abuse          --flooders N per front (16)  --flood S seconds per front (10)
               --fronts LIST of teamtalk,ws,tcp12,msync,omtp,file (all; file: --start standalone)
               --max-growth-mib M  check: peak RSS at most M MiB above idle (64)
hold           --count N held connections (1000)  --workers W processes (4)  --login-rate R in all
               --hold S idle seconds measured (CPU) after the ramp (30)  --probe-rate R probes/s (50)
               --probe-seconds S (20)  --probe-senders K (4)  --max-probe-p99-ms M check (50)
               (the ramp is bounded by --duration: give e.g. --duration 600 for 50 000)`;

export const PROTOCOLS = ['teamtalk', 'ws', 'tcp12', 'msync', 'omtp', 'mixed'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export interface CommonOptions {
  scenario: Scenario;
  /** Which front the simulated clients use (see --protocol). */
  protocol: Protocol;
  start?: 'standalone' | 'cluster';
  msgServers: number;
  serverEnv: Record<string, string>;
  keep: boolean;
  cpuProf: boolean;
  loginUrl?: string;
  adminUrls: string[];
  msgServer?: { host: string; port: number };
  usersVia: 'store' | 'ttctl';
  userPrefix?: string;
  password: string;
  scryptN: number;
  durationS: number;
  timeoutS: number;
  sourceIps?: string[];
  clientType: number;
  clientTypeName: string;
  heartbeatMs: number;
  concurrency: number;
  sampleMs: number;
  outDir: string;
  name?: string;
  quiet: boolean;
}

export interface ConnectionsOptions {
  count: number;
  loginRate: number;
  holdS: number;
}
export interface SingleChatOptions {
  pairs: number;
  messages: number;
  rate: number;
  window: number;
  size: number;
  drainS: number;
  warmupS: number;
}
export interface GroupChatOptions {
  members: number;
  online: number;
  senders: number;
  messages: number;
  rate: number;
  window: number;
  size: number;
  drainS: number;
  groupType: number;
  groupTypeName: string;
}
export interface OfflineSyncOptions {
  /** Seeding rate over all senders (0 = max); undefined: max on a started deployment, 18/s per sender otherwise. */
  rate?: number;
  messages: number;
  sessions: number;
  page: number;
  window: number;
  parallel: number;
}

export interface LoginsOptions {
  count: number;
  storms: number;
  inFlight: number;
  seconds: number;
  firstQueries: boolean;
}

export interface HoldOptions {
  count: number;
  workers: number;
  loginRate: number;
  holdS: number;
  probeRate: number;
  probeSeconds: number;
  probeSenders: number;
  maxProbeP99Ms: number;
}

export interface AbuseOptions {
  flooders: number;
  floodS: number;
  fronts: AbuseFront[];
  maxGrowthMiB: number;
}

export interface BenchOptions {
  common: CommonOptions;
  abuse: AbuseOptions;
  hold: HoldOptions;
  logins: LoginsOptions;
  connections: ConnectionsOptions;
  singleChat: SingleChatOptions;
  groupChat: GroupChatOptions;
  offlineSync: OfflineSyncOptions;
  /** The options as given (for the result file). */
  given: Record<string, unknown>;
}

const CLIENT_TYPES: Record<string, number> = {
  windows: IM.BaseDefine.ClientType.CLIENT_TYPE_WINDOWS,
  mac: IM.BaseDefine.ClientType.CLIENT_TYPE_MAC,
  ios: IM.BaseDefine.ClientType.CLIENT_TYPE_IOS,
  android: IM.BaseDefine.ClientType.CLIENT_TYPE_ANDROID,
};

function num(values: Record<string, unknown>, key: string, def: number, min: number, max: number, integer = true): number {
  const raw = values[key];
  if (raw === undefined) return def;
  const v = Number(raw);
  if (!Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < min || v > max) {
    throw new UsageError(`--${key} must be ${integer ? 'an integer' : 'a number'} between ${min} and ${max}, got ${String(raw)}`);
  }
  return v;
}

/** "4" -> 127.0.0.1..127.0.0.4; "127.0.0.2,127.0.0.3" -> those (loopback only). */
export function parseSourceIps(spec: string): string[] {
  if (/^\d+$/.test(spec)) {
    const n = Number(spec);
    if (n < 1 || n > 254) throw new UsageError('--source-ips N must be between 1 and 254');
    return Array.from({ length: n }, (_, i) => `127.0.0.${i + 1}`);
  }
  const ips = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (ips.length === 0) throw new UsageError('--source-ips is empty');
  for (const ip of ips) {
    try {
      assertLoopback(ip, 'source address');
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  return ips;
}

export function parseOptions(argv: string[]): BenchOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv.filter((a) => a !== '--'),
      allowPositionals: true,
      strict: true,
      options: {
        start: { type: 'string' },
        'msg-servers': { type: 'string' },
        'server-env': { type: 'string', multiple: true },
        keep: { type: 'boolean' },
        'cpu-prof': { type: 'boolean' },
        'login-url': { type: 'string' },
        'admin-url': { type: 'string', multiple: true },
        'msg-server': { type: 'string' },
        'users-via': { type: 'string' },
        'user-prefix': { type: 'string' },
        password: { type: 'string' },
        'scrypt-n': { type: 'string' },
        duration: { type: 'string' },
        timeout: { type: 'string' },
        'source-ips': { type: 'string' },
        'client-type': { type: 'string' },
        protocol: { type: 'string' },
        'heartbeat-ms': { type: 'string' },
        concurrency: { type: 'string' },
        'sample-ms': { type: 'string' },
        out: { type: 'string' },
        name: { type: 'string' },
        quiet: { type: 'boolean' },
        count: { type: 'string' },
        'login-rate': { type: 'string' },
        hold: { type: 'string' },
        pairs: { type: 'string' },
        messages: { type: 'string' },
        rate: { type: 'string' },
        window: { type: 'string' },
        size: { type: 'string' },
        drain: { type: 'string' },
        warmup: { type: 'string' },
        members: { type: 'string' },
        online: { type: 'string' },
        senders: { type: 'string' },
        'group-type': { type: 'string' },
        sessions: { type: 'string' },
        page: { type: 'string' },
        parallel: { type: 'string' },
        flooders: { type: 'string' },
        flood: { type: 'string' },
        fronts: { type: 'string' },
        'max-growth-mib': { type: 'string' },
        storms: { type: 'string' },
        'in-flight': { type: 'string' },
        seconds: { type: 'string' },
        'first-queries': { type: 'string' },
        workers: { type: 'string' },
        'probe-rate': { type: 'string' },
        'probe-seconds': { type: 'string' },
        'probe-senders': { type: 'string' },
        'max-probe-p99-ms': { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) throw new UsageError('');
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'no scenario given' : `one scenario expected, got ${positionals.join(' ')}`);
  const scenario = positionals[0] as Scenario;
  if (!SCENARIOS.includes(scenario)) throw new UsageError(`unknown scenario "${positionals[0]}" (one of ${SCENARIOS.join(', ')})`);
  const v = values as Record<string, unknown>;

  if (values.start !== undefined && values.start !== 'standalone' && values.start !== 'cluster') throw new UsageError('--start must be standalone or cluster');
  if (values.start && values['login-url']) throw new UsageError('give either --start or --login-url, not both');
  if (!values.start && !values['login-url']) throw new UsageError('no target: give --start standalone|cluster or --login-url http://127.0.0.1:8080');
  const wrap = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw err instanceof UsageError ? err : new UsageError((err as Error).message);
    }
  };
  if (values['login-url']) wrap(() => assertLoopbackUrl(values['login-url']!, 'login URL'));
  const adminUrls = (values['admin-url'] ?? []).flatMap((a) => a.split(',')).map((a) => a.trim()).filter(Boolean);
  for (const a of adminUrls) wrap(() => assertLoopbackUrl(a, 'admin URL'));
  let msgServer: CommonOptions['msgServer'];
  if (values['msg-server']) {
    const m = /^(.+):(\d+)$/.exec(values['msg-server']);
    if (!m) throw new UsageError('--msg-server must be HOST:PORT');
    wrap(() => assertLoopback(m[1], 'msg_server'));
    msgServer = { host: m[1], port: Number(m[2]) };
  }
  const serverEnv: Record<string, string> = {};
  for (const kv of values['server-env'] ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new UsageError(`--server-env expects KEY=VALUE, got ${kv}`);
    serverEnv[kv.slice(0, i)] = kv.slice(i + 1);
  }
  if (values['server-env'] && !values.start) throw new UsageError('--server-env only applies with --start');
  if (values['cpu-prof'] && !values.start) throw new UsageError('--cpu-prof only applies with --start');
  const usersVia = (values['users-via'] ?? 'store') as 'store' | 'ttctl';
  if (usersVia !== 'store' && usersVia !== 'ttctl') throw new UsageError('--users-via must be store or ttctl');
  const scryptN = num(v, 'scrypt-n', 1024, 1024, 1048576);
  if ((scryptN & (scryptN - 1)) !== 0) throw new UsageError('--scrypt-n must be a power of two');
  const clientTypeName = values['client-type'] ?? 'android';
  const clientType = CLIENT_TYPES[clientTypeName];
  if (clientType === undefined) throw new UsageError(`--client-type must be one of ${Object.keys(CLIENT_TYPES).join(', ')}`);
  const durationS = num(v, 'duration', 60, 1, 86_400, false);
  const groupTypeName = values['group-type'] ?? 'tmp';
  if (groupTypeName !== 'tmp' && groupTypeName !== 'normal') throw new UsageError('--group-type must be tmp or normal');
  if (values['user-prefix'] !== undefined && !/^[A-Za-z0-9_.-]{1,40}$/.test(values['user-prefix'])) throw new UsageError('--user-prefix: 1-40 letters, digits, _ . -');

  const protocol = (values.protocol ?? 'teamtalk') as Protocol;
  if (!PROTOCOLS.includes(protocol)) throw new UsageError(`--protocol must be one of ${PROTOCOLS.join(', ')}`);
  if (protocol !== 'teamtalk' && scenario === 'offline-sync') throw new UsageError('--protocol: offline-sync pulls the TeamTalk way only (use teamtalk)');
  if (protocol !== 'teamtalk' && scenario === 'hold') throw new UsageError('--protocol: hold holds TeamTalk connections only (use teamtalk)');

  const common: CommonOptions = {
    scenario,
    protocol,
    start: values.start as CommonOptions['start'],
    msgServers: num(v, 'msg-servers', 1, 1, 64),
    serverEnv,
    keep: values.keep ?? false,
    cpuProf: values['cpu-prof'] ?? false,
    loginUrl: values['login-url']?.replace(/\/+$/, ''),
    adminUrls,
    msgServer,
    usersVia,
    userPrefix: values['user-prefix'],
    password: values.password ?? 'bench-password',
    scryptN,
    durationS,
    timeoutS: num(v, 'timeout', durationS + 300, 5, 172_800, false),
    sourceIps: values['source-ips'] ? parseSourceIps(values['source-ips']) : undefined,
    clientType,
    clientTypeName,
    heartbeatMs: num(v, 'heartbeat-ms', 30_000, 0, 3_600_000),
    concurrency: num(v, 'concurrency', 100, 1, 10_000),
    sampleMs: num(v, 'sample-ms', 1000, 100, 60_000),
    outDir: path.resolve(values.out ?? path.join(REPO_ROOT, 'bench', 'results')),
    name: values.name,
    quiet: values.quiet ?? false,
  };
  if (common.msgServers > 1 && common.start !== 'cluster') throw new UsageError('--msg-servers needs --start cluster');
  if (common.name !== undefined && !/^[A-Za-z0-9_.-]{1,100}$/.test(common.name)) throw new UsageError('--name: letters, digits, _ . - only');

  const fronts = (values.fronts ?? ABUSE_FRONTS.join(',')).split(',').map((f) => f.trim()).filter(Boolean) as AbuseFront[];
  for (const f of fronts) if (!ABUSE_FRONTS.includes(f)) throw new UsageError(`--fronts: unknown front "${f}" (of ${ABUSE_FRONTS.join(', ')})`);
  if (fronts.length === 0) throw new UsageError('--fronts is empty');

  const firstQueries = values['first-queries'] ?? 'on';
  if (firstQueries !== 'on' && firstQueries !== 'off') throw new UsageError('--first-queries must be on or off');

  const given: Record<string, unknown> = { scenario, ...values };
  delete given.password;
  return {
    common,
    abuse: { flooders: num(v, 'flooders', 16, 1, 10_000), floodS: num(v, 'flood', 10, 1, 600, false), fronts, maxGrowthMiB: num(v, 'max-growth-mib', 64, 1, 1_000_000, false) },
    hold: {
      count: num(v, 'count', 1000, 1, 2_000_000),
      workers: num(v, 'workers', 4, 1, 64),
      loginRate: num(v, 'login-rate', 0, 0, 1_000_000, false),
      holdS: num(v, 'hold', 30, 0, 86_400, false),
      probeRate: num(v, 'probe-rate', 50, 0, 10_000, false),
      probeSeconds: num(v, 'probe-seconds', 20, 0, 3600, false),
      probeSenders: num(v, 'probe-senders', 4, 1, 1000),
      maxProbeP99Ms: num(v, 'max-probe-p99-ms', 50, 0, 600_000, false),
    },
    logins: { count: num(v, 'count', 1000, 1, 1_000_000), storms: num(v, 'storms', 3, 0, 1000), inFlight: num(v, 'in-flight', 100, 1, 10_000), seconds: num(v, 'seconds', 5, 0, 86_400, false), firstQueries: firstQueries === 'on' },
    connections: { count: num(v, 'count', 1000, 1, 2_000_000), loginRate: num(v, 'login-rate', 0, 0, 1_000_000, false), holdS: num(v, 'hold', 20, 0, 86_400, false) },
    singleChat: {
      pairs: num(v, 'pairs', 10, 1, 500_000),
      messages: num(v, 'messages', 1000, 1, 100_000_000),
      rate: num(v, 'rate', 0, 0, 10_000_000, false),
      window: num(v, 'window', 16, 1, 4096),
      size: num(v, 'size', 64, 28, 64 * 1024),
      drainS: num(v, 'drain', 10, 0, 600, false),
      warmupS: num(v, 'warmup', 0, 0, 3600, false),
    },
    groupChat: {
      members: num(v, 'members', 100, 2, 100_000),
      online: num(v, 'online', 1, 0, 1, false),
      senders: num(v, 'senders', 1, 1, 100_000),
      messages: num(v, 'messages', 100, 1, 10_000_000),
      rate: num(v, 'rate', 0, 0, 10_000_000, false),
      window: num(v, 'window', 16, 1, 4096),
      size: num(v, 'size', 64, 28, 64 * 1024),
      drainS: num(v, 'drain', 10, 0, 600, false),
      groupType: groupTypeName === 'normal' ? IM.BaseDefine.GroupType.GROUP_TYPE_NORMAL : IM.BaseDefine.GroupType.GROUP_TYPE_TMP,
      groupTypeName,
    },
    offlineSync: {
      rate: values.rate === undefined ? undefined : num(v, 'rate', 0, 0, 10_000_000, false),
      messages: num(v, 'messages', 1000, 1, 10_000_000),
      sessions: num(v, 'sessions', 10, 1, 100_000),
      page: num(v, 'page', 100, 1, 100),
      window: num(v, 'window', 16, 1, 4096),
      parallel: num(v, 'parallel', 1, 1, 1000),
    },
    given,
  };
}

/** Ephemeral ports one source address can use towards one destination (ip_local_port_range). */
export function ephemeralPortsPerAddress(): number {
  try {
    const [lo, hi] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (hi > lo) return hi - lo + 1;
  } catch {
    /* not Linux */
  }
  return 28_000;
}

/** Source addresses for `connections` sockets: at least 4, enough that each uses under 90 % of its ports. */
export function defaultSourceIps(connections: number): string[] {
  const perIp = Math.floor(ephemeralPortsPerAddress() * 0.9);
  return parseSourceIps(String(Math.min(254, Math.max(4, Math.ceil(connections / perIp)))));
}

/** The soft limit of open files of this process (Linux), or undefined. */
export function openFilesLimit(): number | undefined {
  try {
    const m = /Max open files\s+(\d+|unlimited)/.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    if (!m) return undefined;
    return m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    return undefined;
  }
}
