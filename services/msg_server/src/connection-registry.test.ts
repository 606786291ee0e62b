import { ConnectionRegistry } from './connection-registry';
import type { ClientConnection } from './connection';

const conn = (id: number, userId: number) => ({ id, userId }) as unknown as ClientConnection;

describe('ConnectionRegistry', () => {
  it('finds a user by each of its connections as they come and go, and counts each logged-in connection once', () => {
    const registry = new ConnectionRegistry();
    const phone = conn(1, 7);
    const laptop = conn(2, 7);
    const other = conn(3, 8);
    for (const c of [phone, laptop, other]) registry.add(c);
    registry.bindUser(phone);
    registry.bindUser(phone); // a second bind changes nothing
    expect([...registry.ofUser(7)]).toEqual([phone]);
    registry.bindUser(laptop);
    registry.bindUser(other);
    expect([...registry.ofUser(7)]).toEqual([phone, laptop]);
    expect(registry.loggedInCount).toBe(3);
    expect(registry.loggedIn()).toEqual([phone, laptop, other]);

    registry.remove(phone);
    expect([...registry.ofUser(7)]).toEqual([laptop]);
    registry.bindUser(laptop);
    expect(registry.loggedInCount).toBe(2);
    registry.remove(laptop);
    registry.remove(laptop); // twice: no harm
    expect([...registry.ofUser(7)]).toEqual([]);
    expect(registry.loggedInCount).toBe(1);
    expect(registry.size).toBe(1);
    expect(registry.get(3)).toBe(other);
  });
});
