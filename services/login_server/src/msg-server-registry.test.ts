import { MsgServerRegistry } from './msg-server-registry';

const base = { priorIp: '10.0.0.1', backupIp: '10.0.0.2', port: 8000, maxConnections: 100, connections: 0, draining: false };

describe('MsgServerRegistry', () => {
  let clock = 1_000;
  const registry = () => new MsgServerRegistry(() => clock);

  it('answers code 1 when no msg_server has reported', () => {
    expect(registry().pick()).toEqual({ code: 1, reason: expect.any(String) });
  });

  it('hands out the least-loaded server and spreads a burst between reports', () => {
    const r = registry();
    r.report({ ...base, serverId: 'a', connections: 10 }, 6000);
    r.report({ ...base, serverId: 'b', connections: 12 }, 6000);
    const picks = Array.from({ length: 6 }, () => {
      const p = r.pick();
      return p.code === 0 ? p.server.serverId : '-';
    });
    expect(picks.slice(0, 2)).toEqual(['a', 'a']);
    expect(picks.filter((p) => p === 'a').length).toBe(4);
    expect(picks.filter((p) => p === 'b').length).toBe(2);
  });

  it('answers code 2 when every live server is full', () => {
    const r = registry();
    r.report({ ...base, serverId: 'a', connections: 100 }, 6000);
    expect(r.pick().code).toBe(2);
  });

  it('skips draining servers and forgets servers whose reports stopped', () => {
    const r = registry();
    r.report({ ...base, serverId: 'old', connections: 0 }, 6000);
    r.report({ ...base, serverId: 'leaving', connections: 0, draining: true }, 6000);
    r.report({ ...base, serverId: 'busy', connections: 50 }, 60_000);
    clock += 7000;
    const p = r.pick();
    expect(p.code === 0 && p.server.serverId).toBe('busy');
    expect(r.live().map((s) => s.serverId)).toEqual(['busy']);
  });

  it('spreads a reconnect storm evenly: 300 picks over 3 equal servers between two reports', () => {
    const r = registry();
    for (const id of ['a', 'b', 'c']) r.report({ ...base, serverId: id, connections: 40, maxConnections: 1000 }, 6000);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 300; i++) {
      const p = r.pick();
      if (p.code === 0) counts[p.server.serverId] = (counts[p.server.serverId] ?? 0) + 1;
    }
    expect(counts).toEqual({ a: 100, b: 100, c: 100 });
  });

  it('a report replaces the count of clients sent there since the previous one', () => {
    const r = registry();
    r.report({ ...base, serverId: 'a', connections: 0 }, 6000);
    r.report({ ...base, serverId: 'b', connections: 5 }, 6000);
    for (let i = 0; i < 5; i++) r.pick();
    // a's next report counts the 5 clients that arrived: they are not counted twice.
    r.report({ ...base, serverId: 'a', connections: 5 }, 6000);
    const picks = Array.from({ length: 4 }, () => {
      const p = r.pick();
      return p.code === 0 ? p.server.serverId : '-';
    });
    expect(picks.sort()).toEqual(['a', 'a', 'b', 'b']);
  });

  it('stops handing out a server route_server declared dead, and ignores that life\'s late reports', () => {
    const r = registry();
    r.report({ ...base, serverId: 'a', connections: 0, incarnation: 1 }, 6000);
    r.report({ ...base, serverId: 'b', connections: 50, incarnation: 1 }, 6000);
    expect(r.down('a', 1)).toBe(true);
    r.report({ ...base, serverId: 'a', connections: 0, incarnation: 1 }, 6000); // it was only hung
    const p = r.pick();
    expect(p.code === 0 && p.server.serverId).toBe('b');
    // Fenced, it comes back as its next incarnation.
    r.report({ ...base, serverId: 'a', connections: 0, incarnation: 2 }, 6000);
    const q = r.pick();
    expect(q.code === 0 && q.server.serverId).toBe('a');
    expect(r.down('a', 1)).toBe(false);
  });
});
