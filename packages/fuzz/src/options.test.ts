// The command line refuses what it cannot run, and says why.
import { parseOptions, UsageError } from './options';

describe('pnpm fuzz options', () => {
  it('defaults: every target, standalone, bounded per target, a seed to replay', () => {
    const o = parseOptions([]);
    expect(o).toMatchObject({ frames: 100_000, seconds: 120, connections: 4, batch: 256, mode: 'standalone', rssGrowthMiB: 128, rssPeakMiB: 512 });
    expect(o.targets).toHaveLength(10);
    expect(Number.isSafeInteger(o.seed)).toBe(true);
  });

  it('takes a seed, targets, cluster mode and server settings', () => {
    const o = parseOptions(['--seed', '7', '--targets', 'omtp,ws', '--cluster', '--server-env', 'LOG_LEVEL=warn', '--frames', '10']);
    expect(o).toMatchObject({ seed: 7, targets: ['omtp', 'ws'], mode: 'cluster', serverEnv: { LOG_LEVEL: 'warn' }, frames: 10 });
  });

  it.each([
    [['--targets', 'nope'], /unknown target "nope"/],
    [['--frames', '0'], /--frames must be a positive integer/],
    [['--seed=-1'], /--seed must be an integer/],
    [['--seed', 'abc'], /--seed must be an integer/],
    [['--server-env', 'NOVALUE'], /KEY=VALUE/],
    [['--bogus'], /Unknown option/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseOptions(argv as string[])).toThrow(UsageError);
    expect(() => parseOptions(argv as string[])).toThrow(message as RegExp);
  });
});
