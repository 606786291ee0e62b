import { IM } from '@tt/proto';
import type { Cache } from '@tt/cache';
import type { Store, User, VerifiedCredentials } from '@tt/storage';

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
 * Checks a login. The slow KDF runs once per (stored hash, password) pair;
 * after that the shared cache answers (see UserRepository.authenticate).
 */
/**
 * @param checkCacheTtlSeconds how long a successful check is remembered in
 * the shared cache (0: never), so reconnect storms skip the slow KDF.
 */
export async function validateUser(store: Store, cache: Cache, userName: string, passwordMd5: string, checkCacheTtlSeconds = DEFAULT_CHECK_CACHE_TTL_SECONDS): Promise<IM.Server.IIMValidateRsp> {
  const verified: VerifiedCredentials | undefined =
    checkCacheTtlSeconds > 0
      ? {
          isVerified: async (key) => (await cache.get(`auth:${key}`)) === '1',
          markVerified: (key) => cache.set(`auth:${key}`, '1', checkCacheTtlSeconds),
        }
      : undefined;
  const user = userName ? await store.users.authenticate(userName, passwordMd5, verified) : null;
  if (!user) return { userName, resultCode: 1, resultString: 'user name or password is wrong' };
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
