import { createHash } from 'node:crypto';
import type { IM } from '@tt/proto';
import type { Cache } from '@tt/cache';
import type { Store, User } from '@tt/storage';

const AUTH_CACHE_TTL_SECONDS = 600;

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
 * after that a shared cache entry, keyed by a digest of both, answers. A
 * password change changes the stored hash, so old entries can never match.
 */
export async function validateUser(store: Store, cache: Cache, userName: string, passwordMd5: string): Promise<IM.Server.IIMValidateRsp> {
  const refused = { userName, resultCode: 1, resultString: 'user name or password is wrong' };
  const user = userName ? await store.users.findByName(userName) : undefined;
  if (!user || !/^[0-9a-fA-F]{32}$/.test(passwordMd5)) return refused;
  const md5 = passwordMd5.toLowerCase();
  const cacheKey = `auth:${createHash('sha256').update(user.passwordHash).update('\0').update(md5).digest('base64url')}`;
  let ok = (await cache.get(cacheKey).catch(() => null)) === '1';
  if (!ok) {
    ok = await store.users.verifyPassword(user, md5);
    if (ok) await cache.set(cacheKey, '1', AUTH_CACHE_TTL_SECONDS).catch(() => {});
  }
  if (!ok) return refused;
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
