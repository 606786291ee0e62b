// The command line: pnpm fuzz [options]. Every run is bounded in frames and
// time per target and only ever talks to processes it started on 127.0.0.1.
import { parseArgs } from 'node:util';
import type { FuzzOptions } from './run';
import { TARGET_NAMES, type TargetName } from './targets/target';

export class UsageError extends Error {}

export const USAGE = `usage: pnpm fuzz [options]

Starts a deployment on free 127.0.0.1 ports, then fuzzes each target in turn with valid frames of
every message type (random field values), the same mutated (bit flips, truncation, length fields,
extension, random bodies in valid headers) and pure random bytes, before and after a real login.
After each target: every process alive and /healthz ok, the port answers a fresh connection, a
fresh TeamTalk client logs in and a message round-trips, RSS within bounds, no error logged. Exit 1 on any failure.

  --seed N              deterministic seed (default: random, printed), replays the same frames
  --frames N            frames per target (default 100000)
  --seconds S           longest phase per target (default 120)
  --targets a,b,...     targets (default all): ${TARGET_NAMES.join(', ')}
  --connections N       connections per target, odd ones logged in (default 4)
  --batch N             frames per write (default 256)
  --cluster             start every cluster role (MariaDB, Redis, NATS on this machine) instead of standalone
  --rss-growth-mib N    fail when RSS after a phase exceeds the RSS before it by more (default 128)
  --rss-peak-mib N      fail when RSS during a phase exceeds the idle RSS by more (default 512)
  --server-env K=V      extra setting for the started processes (repeatable), e.g. LOG_LEVEL=warn
  --json FILE           also write the results as JSON
  --server-log FILE     copy the started processes' output (their logs) to FILE
`;

export interface CliOptions extends FuzzOptions {
  json?: string;
  serverLog?: string;
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

export function parseOptions(argv: string[]): CliOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      options: {
        seed: { type: 'string' },
        frames: { type: 'string' },
        seconds: { type: 'string' },
        targets: { type: 'string' },
        connections: { type: 'string' },
        batch: { type: 'string' },
        cluster: { type: 'boolean' },
        'rss-growth-mib': { type: 'string' },
        'rss-peak-mib': { type: 'string' },
        'server-env': { type: 'string', multiple: true },
        json: { type: 'string' },
        'server-log': { type: 'string' },
        help: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) throw new UsageError('');
  let seed: number;
  if (v.seed === undefined) seed = Math.floor(Math.random() * 2 ** 31);
  else {
    seed = Number(v.seed);
    if (!Number.isSafeInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new UsageError(`--seed must be an integer 0..2^32-1, got ${JSON.stringify(v.seed)}`);
  }
  const targets = v.targets === undefined ? [...TARGET_NAMES] : v.targets.split(',').map((t) => t.trim());
  for (const t of targets) if (!(TARGET_NAMES as readonly string[]).includes(t)) throw new UsageError(`unknown target ${JSON.stringify(t)} (known: ${TARGET_NAMES.join(', ')})`);
  const serverEnv: Record<string, string> = {};
  for (const kv of v['server-env'] ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new UsageError(`--server-env takes KEY=VALUE, got ${JSON.stringify(kv)}`);
    serverEnv[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return {
    seed,
    frames: positiveInt('frames', v.frames, 100_000),
    seconds: positiveInt('seconds', v.seconds, 120),
    connections: positiveInt('connections', v.connections, 4),
    batch: positiveInt('batch', v.batch, 256),
    targets: targets as TargetName[],
    mode: v.cluster ? 'cluster' : 'standalone',
    rssGrowthMiB: positiveInt('rss-growth-mib', v['rss-growth-mib'], 128),
    rssPeakMiB: positiveInt('rss-peak-mib', v['rss-peak-mib'], 512),
    serverEnv,
    json: v.json,
    serverLog: v['server-log'],
  };
}
