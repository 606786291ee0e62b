import { RouteTable } from './route-table';

const conn = (userId: number, connId: number, clientType = 1) => ({ userId, connId, clientType, status: 1 });

describe('RouteTable', () => {
  let clock = 0;
  const table = () => new RouteTable(() => clock);

  it('finds every msg_server holding a user, once per server', () => {
    const t = table();
    t.applyPresence('ms1', 1, conn(7, 1, 1), true);
    t.applyPresence('ms2', 1, conn(7, 1, 0x11), true);
    t.applyPresence('ms2', 2, conn(8, 2), true);
    expect(Object.fromEntries(t.serversFor([7, 8, 9]))).toEqual({ ms1: [7], ms2: [7, 8] });
    expect(Object.fromEntries(t.serversFor([7], 'ms1'))).toEqual({ ms2: [7] });
  });

  it('tells whether a user has a connection of some kind anywhere', () => {
    const t = table();
    t.applyPresence('ms1', 1, conn(7, 1, 0x01), true);
    t.applyPresence('ms2', 1, conn(7, 1, 0x11), true);
    const mobile = (c: { clientType: number }) => (c.clientType & 0x10) !== 0;
    expect(t.hasConnection(7, mobile)).toBe(true);
    expect(t.hasConnection(8, mobile)).toBe(false);
    t.applyPresence('ms2', 2, conn(7, 1, 0x11), false);
    expect(t.hasConnection(7, mobile)).toBe(false);
  });

  it('forgets a connection that went offline', () => {
    const t = table();
    t.applyPresence('ms1', 1, conn(7, 1), true);
    t.applyPresence('ms1', 2, conn(7, 2), true);
    t.applyPresence('ms1', 3, conn(7, 1), false);
    expect(t.connectionsOf(7).map((c) => c.connId)).toEqual([2]);
    t.applyPresence('ms1', 4, conn(7, 2), false);
    expect(t.serversFor([7]).size).toBe(0);
  });

  it('ignores replayed events and reports a gap in the sequence', () => {
    const t = table();
    expect(t.applyPresence('ms1', 1, conn(7, 1), true)).toBe('applied');
    expect(t.applyPresence('ms1', 1, conn(7, 1), false)).toBe('stale');
    expect(t.applyPresence('ms1', 5, conn(8, 2), true)).toBe('gap');
    expect(t.connectionsOf(7)).toHaveLength(1);
  });

  it('a snapshot replaces what was known about that server only', () => {
    const t = table();
    t.applyPresence('ms1', 1, conn(7, 1), true);
    t.applyPresence('ms2', 1, conn(9, 1), true);
    t.applySnapshot('ms1', 10, [conn(8, 3)]);
    expect(t.connectionsOf(7)).toEqual([]);
    expect(t.connectionsOf(8)).toHaveLength(1);
    expect(t.connectionsOf(9)).toHaveLength(1);
    expect(t.applyPresence('ms1', 10, conn(8, 3), false)).toBe('stale');
  });

  it('drops a msg_server whose reports stopped, with its users', () => {
    const t = table();
    t.touchServer('ms1', 5000);
    t.touchServer('ms2', 50_000);
    t.applyPresence('ms1', 1, conn(7, 1), true);
    t.applyPresence('ms2', 1, conn(8, 1), true);
    clock += 6000;
    expect(t.expireServers()).toEqual(['ms1']);
    expect(t.serversFor([7, 8]).size).toBe(1);
    expect(t.connectionCount).toBe(1);
  });
});

describe('RouteTable incarnations', () => {
  let clock = 0;
  const conn = (userId: number, connId: number) => ({ userId, connId, clientType: 1, status: 1 });

  it('drops a dead incarnation and ignores what it still says', () => {
    const t = new RouteTable(() => clock);
    expect(t.touchServer('ms1', 6000, 1)).toBe(true);
    t.applySnapshot('ms1', 1, [conn(7, 1)], 1);
    expect(t.markDead('ms1', 1)).toEqual([7]);
    // It wakes up and speaks before it notices: none of it counts.
    expect(t.touchServer('ms1', 6000, 1)).toBe(false);
    expect(t.applyPresence('ms1', 2, conn(8, 2), true, 1)).toBe('stale');
    t.applySnapshot('ms1', 3, [conn(7, 1), conn(8, 2)], 1);
    expect(t.serversFor([7, 8]).size).toBe(0);
    // Its next life counts again, starting empty.
    expect(t.touchServer('ms1', 6000, 2)).toBe(true);
    expect(t.applyPresence('ms1', 1, conn(9, 3), true, 2)).toBe('applied');
    expect(Object.fromEntries(t.serversFor([7, 8, 9]))).toEqual({ ms1: [9] });
  });

  it('a newer incarnation replaces the connections of the older one', () => {
    const t = new RouteTable(() => clock);
    t.applySnapshot('ms1', 5, [conn(7, 1)], 1);
    t.applyPresence('ms1', 1, conn(8, 1), true, 2);
    expect(t.connectionsOf(7)).toEqual([]);
    expect(t.connectionsOf(8)).toHaveLength(1);
    expect(t.applyPresence('ms1', 6, conn(7, 2), true, 1)).toBe('stale');
  });
});
