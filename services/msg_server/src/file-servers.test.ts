import { MemoryBus } from '@tt/bus';
import { clusterSubjects } from '@tt/proto';
import { FileServerDirectory } from './file-servers';

describe('FileServerDirectory', () => {
  let clock = 1_000_000;
  const dir = new FileServerDirectory(new MemoryBus(), clusterSubjects('t'), { timeoutMs: 1000 }, () => clock);
  const report = (serverId: string, activeTasks: number, freeBytes = 1e9, draining = false) =>
    dir.report({ serverId, rpcAddr: `${serverId}:1`, addrs: { ipAddrList: [{ ip: '10.0.0.1', port: 8600 }] }, httpUrl: 'http://x', ttlMs: 3000, draining, activeTasks, freeBytes });

  afterAll(() => dir.close());

  test('picks the least busy live server, prefers room for offline files, forgets the silent and the draining', () => {
    report('a', 5);
    report('b', 2);
    report('c', 0, 1e9, true);
    expect(dir.pick()?.serverId).toBe('b');
    // Counted at once: b has 3 now, still fewer than a.
    expect(dir.pick()?.serverId).toBe('b');
    report('b', 2, 10);
    expect(dir.pick(1000, true)?.serverId).toBe('a');
    // Nobody reported room: still try one (it refuses if really full).
    report('a', 5, 10);
    expect(dir.pick(1000, true)).toBeDefined();
    clock += 3001;
    expect(dir.pick()).toBeUndefined();
    expect(dir.live()).toEqual([]);
    report('d', 1);
    expect(dir.get('d')?.addrs).toEqual([{ ip: '10.0.0.1', port: 8600 }]);
    dir.remove('d');
    expect(dir.get('d')).toBeUndefined();
  });
});
