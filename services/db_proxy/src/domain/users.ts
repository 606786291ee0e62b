import { IM } from '@tt/proto';
import type { Cache } from '@tt/cache';
import type { Store, User, VerifiedCredentials } from '@tt/storage';
import { retryAfterSeconds, type LoginThrottle } from '@tt/auth';

export const DEFAULT_CHECK_CACHE_TTL_SECONDS = 86400;

export function toUserInfo(user: User): IM.BaseDefine.IUserInfo {
  return {
    userId: user.id,
    userGender: user.sex ?? 0,
    userNickName: user.nick ?? '',
    avatarUrl: user.avatar ?? '',
    departmentId: user.departId ?? 0,
    email: user.email ?? '',
    userRealName: user.realName ?? '',
    userTel: user.phone ?? '',
    userDomain: user.domain ?? '',
    status: user.status ?? 0,
    signInfo: user.signInfo ?? '',
  };
}

/**
 * The cache reads of the logins of one turn of the event loop, made as one
 * MGET (each login reads its success-cache and throttle keys): a login storm
 * costs the cache one round trip per turn instead of one per login.
 */
export class CacheReadBatcher {
  private pending: Array<{ keys: readonly string[]; resolve: (values: Array<string | null>) => void; reject: (err: unknown) => void }> = [];

  constructor(private readonly cache: Pick<Cache, 'mget'>) {}

  mget(keys: readonly string[]): Promise<Array<string | null>> {
    return new Promise((resolve, reject) => {
      if (this.pending.push({ keys, resolve, reject }) === 1) setImmediate(() => this.run());
    });
  }

  private run(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 1) {
      const [one] = batch;
      this.cache.mget(one.keys).then(one.resolve, one.reject);
      return;
    }
    this.cache.mget(batch.flatMap((b) => b.keys)).then(
      (values) => {
        let at = 0;
        for (const b of batch) {
          b.resolve(values.slice(at, at + b.keys.length));
          at += b.keys.length;
        }
      },
      (err: unknown) => {
        for (const b of batch) b.reject(err);
      },
    );
  }
}

const readBatchers = new WeakMap<Cache, CacheReadBatcher>();
function readBatcherOf(cache: Cache): CacheReadBatcher {
  let b = readBatchers.get(cache);
  if (!b) readBatchers.set(cache, (b = new CacheReadBatcher(cache)));
  return b;
}

/** ValidateRsp.result_code: the attempt was refused by the log-in throttle (retry_after_ms says when to try again). */
export const VALIDATE_THROTTLED = 2;

export interface ValidateOptions {
  /** How long a successful check is remembered in the shared cache (0: never), so reconnect storms skip the slow KDF. */
  checkCacheTtlSeconds?: number;
  /** Back-off after failed attempts (LOGIN_THROTTLE_*); absent = none. */
  throttle?: LoginThrottle;
  /** The client's source address (ValidateReq.client_ip). */
  clientIp?: string;
}

/**
 * Checks a login. The slow KDF runs once per (stored hash, password) pair;
 * after that the shared cache answers (see UserRepository.authenticate).
 * The throttle's state is read in the same cache call as the success cache,
 * so an honest reconnect costs no extra round trip; a throttled attempt is
 * refused before any password check (no KDF, no oracle).
 */
export async function validateUser(store: Store, cache: Cache, userName: string, passwordMd5: string, options: ValidateOptions = {}): Promise<IM.DbProxy.IValidateRsp> {
  const ttl = options.checkCacheTtlSeconds ?? DEFAULT_CHECK_CACHE_TTL_SECONDS;
  const throttle = options.throttle;
  const attempt = userName && throttle?.enabled ? throttle.begin({ account: userName, address: options.clientIp ?? '' }) : undefined;
  const verified: VerifiedCredentials | undefined =
    ttl > 0 || attempt
      ? {
          lookup: async (key) => {
            const authKey = ttl > 0 && key !== undefined ? `auth:${key}` : undefined;
            const keys = [...(authKey ? [authKey] : []), ...(attempt?.keys ?? [])];
            if (!keys.length) return 'check';
            // A cache outage lets the attempt through to the KDF (fail open), as before.
            const values = await readBatcherOf(cache).mget(keys).catch((err: unknown) => {
              throttle?.cacheFailed(err);
              return keys.map(() => null);
            });
            const known = authKey !== undefined && values[0] === '1';
            if (!attempt) return known ? 'verified' : 'check';
            if (attempt.load(values.slice(authKey ? 1 : 0))) return 'refuse';
            if (known) return 'verified';
            return (await attempt.count()) ? 'refuse' : 'check';
          },
          markVerified: (key) => (ttl > 0 ? cache.set(`auth:${key}`, '1', ttl) : Promise.resolve()),
        }
      : undefined;
  let user: User | null;
  try {
    user = userName ? await store.users.authenticate(userName, passwordMd5, verified) : null;
  } catch (err) {
    await attempt?.abandoned();
    throw err;
  }
  if (attempt?.wait) {
    const waitMs = Math.ceil(attempt.wait.waitMs);
    return { userName, resultCode: VALIDATE_THROTTLED, resultString: `too many failed log-ins, retry in ${retryAfterSeconds(waitMs)} s`, retryAfterMs: waitMs };
  }
  if (!user) {
    await attempt?.failed();
    return { userName, resultCode: 1, resultString: 'user name or password is wrong' };
  }
  await attempt?.succeeded();
  return { userName, resultCode: 0, resultString: '', userInfo: toUserInfo(user) };
}

/** Users never disappear and their account names never change, so a positive answer can be remembered for good. */
export class KnownUsers {
  private readonly names = new Map<number, string>();

  constructor(
    private readonly store: Store,
    private readonly capacity = 1_000_000,
  ) {}

  async exists(userId: number): Promise<boolean> {
    return (await this.name(userId)) !== undefined;
  }

  /** The user's account name, or undefined when there is no such user. */
  async name(userId: number): Promise<string | undefined> {
    const known = this.names.get(userId);
    if (known !== undefined) return known;
    const user = await this.store.users.findById(userId);
    if (!user) return undefined;
    if (this.names.size >= this.capacity) this.names.clear();
    this.names.set(userId, user.name);
    return user.name;
  }

  /** Puts the sender's and (single chat) the recipient's names on a saved message's answer, for string-id fronts. */
  async nameMessage(saved: IM.DbProxy.ISavedMessage): Promise<IM.DbProxy.ISavedMessage> {
    const ack = saved.ack!;
    const single = ack.sessionType === IM.BaseDefine.SessionType.SESSION_TYPE_SINGLE;
    // Cached names answer without a round trip (nearly always).
    const fromName = this.names.get(ack.userId!) ?? (await this.name(ack.userId!));
    const toName = single ? (this.names.get(ack.sessionId!) ?? (await this.name(ack.sessionId!))) : undefined;
    if (fromName) saved.fromName = fromName;
    if (toName) saved.toName = toName;
    if (saved.stored) {
      if (fromName) saved.stored.fromName = fromName;
      if (toName) saved.stored.toName = toName;
    }
    return saved;
  }
}
