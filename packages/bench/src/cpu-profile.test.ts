import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { summarizeCpuProfile, summarizeProfileDir, type CpuProfile } from './cpu-profile';

// A profile as V8 writes it: a call tree of nodes and one node id per sample.
const profile: CpuProfile = {
  startTime: 0,
  endTime: 2_000_000,
  nodes: [
    { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
    { id: 2, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
    { id: 3, callFrame: { functionName: 'encode', url: 'file:///repo/packages/codec/dist/pdu.js', lineNumber: 9 } },
    { id: 4, callFrame: { functionName: 'run', url: 'file:///repo/node_modules/.pnpm/better-sqlite3@12/node_modules/better-sqlite3/lib/statement.js', lineNumber: 0 } },
    { id: 5, callFrame: { functionName: '(garbage collector)', url: '', lineNumber: -1 } },
  ],
  samples: [2, 2, 3, 3, 3, 4, 4, 5, 2, 2],
};

describe('CPU profile summaries', () => {
  it('shares self time by file and function, and tells busy from idle', () => {
    const s = summarizeCpuProfile(profile);
    expect(s.samples).toBe(10);
    expect(s.durationMs).toBe(2000);
    expect(s.busyShare).toBeCloseTo(0.6);
    expect(s.byFile[0]).toEqual({ name: '(idle)', share: 0.4 });
    expect(s.byFile).toContainEqual({ name: 'packages/codec/dist/pdu.js', share: 0.3 });
    expect(s.byFile).toContainEqual({ name: 'better-sqlite3/lib/statement.js', share: 0.2 });
    expect(s.byFunction).toContainEqual({ name: 'encode packages/codec/dist/pdu.js:10', share: 0.3 });
    expect(s.byFunction).toContainEqual({ name: '(garbage collector)', share: 0.1 });
  });

  it('writes summary.md for the profiles of a directory, one section per process', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cpuprof-'));
    try {
      expect(summarizeProfileDir(dir)).toBeUndefined();
      fs.writeFileSync(path.join(dir, 'msg_server-1.cpuprofile'), JSON.stringify(profile));
      fs.writeFileSync(path.join(dir, 'db_proxy.cpuprofile'), JSON.stringify(profile));
      const out = summarizeProfileDir(dir)!;
      const md = fs.readFileSync(out, 'utf8');
      expect(md).toContain('## db_proxy');
      expect(md).toContain('## msg_server-1');
      expect(md).toContain('| `packages/codec/dist/pdu.js` | 30.0% |');
      expect(md).toContain('busy 60.0%');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
