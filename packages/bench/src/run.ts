// One benchmark run, start to finish: target, users, scenario, results.
// Bounded by --duration (measured phase) and --timeout (everything); the
// deployment it started is stopped and every connection closed, whatever
// happens.
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { summarizeProfileDir } from './cpu-profile';
import { RunContext, type ScenarioResult } from './context';
import { externalDeployment, startCluster, startStandalone, type Deployment } from './deployment';
import { GeneratorMonitor, ServerSampler } from './metrics';
import { defaultSourceIps, openFilesLimit, parseOptions, type BenchOptions } from './options';
import { machineFacts, writeResults, type BenchResult, type WrittenFiles } from './report';
import { runAbuse } from './scenarios/abuse';
import { runConnections } from './scenarios/connections';
import { runLogins } from './scenarios/logins';
import { runHold } from './scenarios/hold';
import { runGroupChat } from './scenarios/group-chat';
import { runOfflineSync } from './scenarios/offline-sync';
import { runSingleChat } from './scenarios/single-chat';

export interface RunOutcome {
  result: BenchResult;
  files: WrittenFiles;
  /** 0 = checks passed, 1 = a check failed. */
  exitCode: number;
}

export interface RunBenchOptions {
  log?: (line: string) => void;
  signal?: AbortSignal;
}

/** Connections a scenario holds open at most. */
export function connectionsNeeded(o: BenchOptions): number {
  switch (o.common.scenario) {
    case 'connections':
      return o.connections.count;
    case 'single-chat':
      return o.singleChat.pairs * 2;
    case 'group-chat':
      return Math.max(1, Math.ceil(o.groupChat.members * o.groupChat.online));
    case 'offline-sync':
      return o.offlineSync.sessions + 1;
    case 'abuse':
      return o.abuse.flooders + 1;
    case 'logins':
      return o.logins.inFlight;
    case 'hold':
      // Per process: each worker holds its share, this one the probe senders.
      return Math.max(Math.ceil(o.hold.count / o.hold.workers), o.hold.probeSenders);
  }
}

const STORE_ENV_KEYS = ['TT_MODE', 'TT_DATA_DIR', 'MYSQL_HOST', 'MYSQL_PORT', 'MYSQL_USER', 'MYSQL_PASSWORD', 'MYSQL_DATABASE'];

export async function runBench(argv: string[], ro: RunBenchOptions = {}): Promise<RunOutcome> {
  const log = ro.log ?? (() => {});
  const opts = parseOptions(argv);
  const c = opts.common;
  const say = c.quiet ? () => {} : log;
  const runId = randomBytes(3).toString('hex');
  const runTag = randomBytes(4).readUInt32LE(0);
  const needed = connectionsNeeded(opts);
  const limit = openFilesLimit();
  if (limit !== undefined && needed + 200 > limit) {
    throw new Error(`${needed} connections need more open files than this process may have (ulimit -n is ${limit}); raise it (ulimit -n ${needed + 1000}) for the harness${c.start ? ' and the deployment it starts' : ' and the servers'}`);
  }
  // hold: every worker's sockets share the source addresses' ports.
  const sourceIps = c.sourceIps ?? defaultSourceIps(c.scenario === 'hold' ? opts.hold.count + opts.hold.probeSenders : needed);
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  const stem = c.name ?? `${c.scenario}-${c.start ?? 'external'}-${stamp}`;
  const cpuProfDir = c.cpuProf ? path.join(c.outDir, `${stem}.cpuprof`) : undefined;
  const machine = machineFacts();

  let deployment: Deployment | undefined;
  let ctx: RunContext | undefined;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`run aborted: still running after --timeout ${c.timeoutS} s`)), c.timeoutS * 1000);
    onAbort = () => reject(new Error('run interrupted'));
    ro.signal?.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {});

  const work = async (): Promise<RunOutcome> => {
    if (c.start) {
      say(`starting a ${c.start} deployment${c.start === 'cluster' ? ` with ${c.msgServers} msg_server(s)` : ''}`);
      const startOpts = { msgServers: c.msgServers, env: { PASSWORD_SCRYPT_N: String(c.scryptN), ...c.serverEnv }, keep: c.keep, cpuProfDir, log: say };
      deployment = c.start === 'standalone' ? await startStandalone(startOpts) : await startCluster(startOpts);
      say(`deployment ready: login_server ${deployment.loginUrl}, metrics ${deployment.adminUrls.join(', ')}`);
    } else {
      const storeEnv: NodeJS.ProcessEnv = {};
      for (const k of STORE_ENV_KEYS) if (process.env[k] !== undefined) storeEnv[k] = process.env[k];
      deployment = externalDeployment(c.loginUrl!, c.adminUrls, storeEnv);
    }
    const adminUrls = c.adminUrls.length > 0 ? c.adminUrls : deployment.adminUrls;
    ctx = new RunContext(opts, deployment, runId, runTag, sourceIps, say);
    const t0 = performance.now();
    const sampler = new ServerSampler(adminUrls, t0, c.sampleMs);
    if (!sampler.enabled) ctx.warn('no --admin-url: msg_server memory and CPU are not measured');
    const generator = new GeneratorMonitor();
    sampler.start();
    let scenario: ScenarioResult;
    try {
      switch (c.scenario) {
        case 'connections':
          scenario = await runConnections(ctx, sampler);
          break;
        case 'single-chat':
          scenario = await runSingleChat(ctx, sampler);
          break;
        case 'group-chat':
          scenario = await runGroupChat(ctx, sampler);
          break;
        case 'offline-sync':
          scenario = await runOfflineSync(ctx, sampler);
          break;
        case 'abuse':
          scenario = await runAbuse(ctx, sampler);
          break;
        case 'logins':
          scenario = await runLogins(ctx, sampler);
          break;
        case 'hold':
          scenario = await runHold(ctx, sampler, argv);
          break;
      }
    } finally {
      await sampler.stop();
    }
    if (sampler.failures > 0) ctx.warn(`${sampler.failures} /metrics scrapes failed (last: ${sampler.lastError})`);
    const result: BenchResult = {
      schema: 'tt-bench/1',
      scenario: c.scenario,
      runId,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      machine,
      deployment: {
        mode: deployment.mode === 'external' ? `external ${deployment.settings.store ?? ''}`.trim() : deployment.mode,
        started: deployment.started,
        loginUrl: deployment.loginUrl,
        adminUrls,
        settings: deployment.settings,
      },
      options: opts.given,
      users: ctx.userCreation,
      headline: scenario.headline,
      counts: scenario.counts,
      latencyMs: scenario.latency,
      checks: scenario.checks,
      timeline: scenario.timeline,
      distribution: scenario.distribution,
      details: scenario.details,
      server: { samples: sampler.samples, scrapeFailures: sampler.failures, lastScrapeError: sampler.lastError },
      generator: { ...generator.finish(), sourceAddresses: sourceIps.length, loginServerAsks: ctx.loginServerAsks, tokenFetches: ctx.tokenFetches, connections: ctx.stats.toJSON() },
      warnings: ctx.warnings,
    };
    const files = writeResults(result, c.outDir, stem);
    return { result, files, exitCode: scenario.checks.passed ? 0 : 1 };
  };

  try {
    return await Promise.race([work(), aborted]);
  } finally {
    clearTimeout(timer);
    if (onAbort) ro.signal?.removeEventListener('abort', onAbort);
    (ctx as RunContext | undefined)?.closeAll();
    if (deployment) {
      say('stopping the deployment');
      await (deployment as Deployment).stop().catch((err: Error) => log(`stopping the deployment failed: ${err.message}`));
    }
    if (cpuProfDir) {
      const summary = summarizeProfileDir(cpuProfDir);
      say(summary ? `CPU profiles: ${cpuProfDir} (summary: ${summary})` : `no CPU profiles were written to ${cpuProfDir}`);
    }
  }
}
