import type { IM } from '@tt/proto';
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

/** Users never disappear, so a positive answer can be remembered for good. */
export class KnownUsers {
  private readonly known = new Set<number>();

  constructor(
    private readonly store: Store,
    private readonly capacity = 1_000_000,
  ) {}

  async exists(userId: number): Promise<boolean> {
    if (this.known.has(userId)) return true;
    const user = await this.store.users.findById(userId);
    if (!user) return false;
    if (this.known.size >= this.capacity) this.known.clear();
    this.known.add(userId);
    return true;
  }
}
