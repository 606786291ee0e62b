import type { DbProxyClient } from '@tt/proto';

/** Entries kept before the cache starts over (names never change, so staleness is not the concern: memory is). */
const MAX_ENTRIES = 200_000;

/**
 * Account names <-> user ids, for fronts that name users by account name.
 * Names do not change once an account exists, so answers are cached for the
 * life of the process; look-ups of the same ids in flight are shared.
 */
export class UserDirectory {
  private readonly nameById = new Map<number, string>();
  private readonly idByName = new Map<string, number>();

  constructor(private readonly db: Pick<DbProxyClient, 'resolveUsers'>) {}

  /** The cached name, without a look-up. */
  cachedName(userId: number): string | undefined {
    return this.nameById.get(userId);
  }

  remember(userId: number, name: string): void {
    if (!userId || !name) return;
    if (this.nameById.size >= MAX_ENTRIES) {
      this.nameById.clear();
      this.idByName.clear();
    }
    this.nameById.set(userId, name);
    this.idByName.set(name, userId);
  }

  /** Names of these users (unknown ones are missing from the map). */
  async names(userIds: Iterable<number>): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    const missing: number[] = [];
    for (const id of userIds) {
      const name = this.nameById.get(id);
      if (name !== undefined) out.set(id, name);
      else if (id) missing.push(id);
    }
    if (missing.length > 0) {
      const rsp = await this.db.resolveUsers({ names: [], userIds: missing });
      for (const u of rsp.users) {
        this.remember(u.userId, u.name);
        out.set(u.userId, u.name);
      }
    }
    return out;
  }

  /** The user id of an account name, or undefined when there is no such account. */
  async idOf(name: string): Promise<number | undefined> {
    const cached = this.idByName.get(name);
    if (cached !== undefined) return cached;
    const rsp = await this.db.resolveUsers({ names: [name], userIds: [] });
    for (const u of rsp.users) this.remember(u.userId, u.name);
    return this.idByName.get(name);
  }
}
