// One phase against one target: several connections, each writing batches
// of frames from a pre-built pool (valid, mutated, pure random) as fast as
// the server takes them, reconnecting (and logging in again) whenever the
// server closes — a close is a fine answer to garbage. Bounded by a frame
// count and a duration; deterministic per seed, target and connection.
import { ConnectError, connect, sessionAddress, type FuzzConn } from './conn';
import { mutate } from './mutate';
import { Rng } from './rng';
import type { Target, TargetContext } from './targets/target';

export interface PhaseLimits {
  /** Frames to send (all connections together). */
  frames: number;
  /** Longest the phase may run, in seconds. */
  seconds: number;
  connections: number;
  /** Frames per write. */
  batch: number;
  seed: number;
  signal?: AbortSignal;
}

export interface PhaseStats {
  framesSent: number;
  bytesSent: number;
  /** By kind: valid frames, mutated ones, pure random bytes. */
  valid: number;
  mutated: number;
  random: number;
  /** Frames sent on logged-in connections. */
  afterLogin: number;
  connects: number;
  closedByServer: number;
  logins: number;
  loginFailures: number;
  /** Writes the server did not take, or ends it did not close on, within STALL_MS (the connection was dropped). */
  stalls: number;
  /** Syncs neither answered nor closed within SYNC_MS: a mutated length left the server waiting for more bytes. */
  unsynced: number;
  seconds: number;
  /** Why the phase could not run as asked (the server refused connections, ...). */
  errors: string[];
  /** Last login error, for the report. */
  lastLoginError?: string;
}

const POOL = { valid: 256, mutated: 256, random: 64 };
/** A connection rebuilds its pool after this many frames, so long runs keep drawing fresh values. */
const POOL_REFRESH_FRAMES = 100_000;
const STALL_MS = 15_000;
/** How long a sync may wait: past it, the stream is taken as desynchronised (a mutated length) and the connection dropped. */
const SYNC_MS = 3_000;
const MAX_CONNECT_FAILURES = 20;

interface Pool {
  valid: Buffer[];
  mutated: Buffer[];
  random: Buffer[];
}

function buildPool(target: Target, rng: Rng, ctx: TargetContext, loggedIn: boolean): Pool {
  const valid: Buffer[] = [];
  const mutated: Buffer[] = [];
  for (let i = 0; i < POOL.valid; i++) {
    const s = target.sample(rng, ctx, loggedIn);
    valid.push(s.wrap(s.body));
  }
  for (let i = 0; i < POOL.mutated; i++) mutated.push(mutate(target.sample(rng, ctx, loggedIn), rng));
  const random = Array.from({ length: POOL.random }, () => rng.bytes(rng.size(4096)));
  return { valid, mutated, random };
}

/** A seed of its own for each connection of each target. */
export function connectionSeed(seed: number, target: string, index: number): number {
  let h = seed ^ 0x9e3779b9;
  for (const ch of `${target}#${index}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h | 0;
}

export async function runPhase(target: Target, ctx: TargetContext, limits: PhaseLimits): Promise<PhaseStats> {
  const stats: PhaseStats = { framesSent: 0, bytesSent: 0, valid: 0, mutated: 0, random: 0, afterLogin: 0, connects: 0, closedByServer: 0, logins: 0, loginFailures: 0, stalls: 0, unsynced: 0, seconds: 0, errors: [] };
  const started = performance.now();
  const deadline = started + limits.seconds * 1000;
  const stopped = () => performance.now() >= deadline || limits.signal?.aborted === true;

  const worker = async (index: number) => {
    const loggedIn = target.hasSession && index % 2 === 1;
    const rng = new Rng(connectionSeed(limits.seed, target.name, index));
    // Each connection has its share of the budget (logged-in ones start later, after their login).
    let budget = Math.floor(limits.frames / limits.connections) + (index < limits.frames % limits.connections ? 1 : 0);
    let pool = buildPool(target, rng, ctx, loggedIn);
    let sinceRefresh = 0;
    let connectFailures = 0;
    let loginRound = 0;
    let rounds = 0;
    while (budget > 0 && !stopped()) {
      let conn: FuzzConn;
      try {
        conn = await connect(target.transport, target.endpoint, loggedIn ? sessionAddress(index, ++rounds) : undefined);
        connectFailures = 0;
        stats.connects++;
      } catch (err) {
        if (!(err instanceof ConnectError)) throw err;
        if (++connectFailures >= MAX_CONNECT_FAILURES) {
          stats.errors.push(`${target.name}: ${connectFailures} connects in a row failed: ${err.message}`);
          return;
        }
        await sleep(100);
        continue;
      }
      if (loggedIn && target.login) {
        const user = ctx.users[(index + loginRound++) % ctx.users.length];
        try {
          await target.login(conn, user, ctx, index);
          stats.logins++;
        } catch (err) {
          stats.loginFailures++;
          stats.lastLoginError = (err as Error).message;
          conn.close();
          await sleep(50);
          continue;
        }
      }
      let syncs = 0;
      while (!conn.closed && budget > 0 && !stopped()) {
        const n = Math.min(limits.batch, budget);
        budget -= n;
        const { frames, hostile } = makeBatch(pool, rng, n, stats);
        if (loggedIn) stats.afterLogin += n;
        for (const f of frames) stats.bytesSent += f.length;
        stats.framesSent += n;
        // WebSocket: now and then garbage below the WebSocket framing, for the server's frame parser.
        if (target.transport === 'ws' && rng.chance(0.01)) conn.sendRaw(rng.bytes(rng.size(256)));
        if (!(await withTimeout(conn.send(frames), STALL_MS))) {
          stats.stalls++;
          conn.close();
          break;
        }
        sinceRefresh += n;
        if (sinceRefresh >= POOL_REFRESH_FRAMES) {
          pool = buildPool(target, rng, ctx, loggedIn);
          sinceRefresh = 0;
        }
        // A hostile batch usually breaks the stream, and HTTP has no in-order echo: end the connection
        // (the server reads everything before it closes in turn). Otherwise wait until the server has read this batch.
        if (hostile || !target.sync) break;
        const synced = await withTimeout(target.sync(conn, loggedIn, ++syncs).then(() => true, () => false), SYNC_MS);
        if (synced === true) continue;
        if (conn.closed) stats.closedByServer++;
        else {
          // Neither an answer nor a close: the server is still inside a frame a mutated length announced.
          stats.unsynced++;
          conn.close();
        }
        break;
      }
      if (!conn.closed && !(await conn.finish(STALL_MS))) stats.stalls++;
    }
  };

  await Promise.all(Array.from({ length: limits.connections }, (_, i) => worker(i)));
  stats.seconds = (performance.now() - started) / 1000;
  return stats;
}

/**
 * Half of the batches are valid frames only (they reach the handlers);
 * a third carry a few mutated frames among valid ones; the rest are hostile
 * (mutated and random frames), which usually end the connection.
 */
function makeBatch(pool: Pool, rng: Rng, n: number, stats: PhaseStats): { frames: Buffer[]; hostile: boolean } {
  const r = rng.int(0, 99);
  const mutatedShare = r < 50 ? 0 : r < 85 ? 0.1 : 0.7;
  const randomShare = r < 85 ? 0 : 0.3;
  const out: Buffer[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const x = rng.int(0, 999) / 1000;
    if (x < randomShare) {
      out[i] = rng.pick(pool.random);
      stats.random++;
    } else if (x < randomShare + mutatedShare) {
      out[i] = rng.pick(pool.mutated);
      stats.mutated++;
    } else {
      out[i] = rng.pick(pool.valid);
      stats.valid++;
    }
  }
  return { frames: out, hostile: r >= 85 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What p resolves to, or false after ms. */
function withTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    p.then((v) => {
      clearTimeout(timer);
      resolve(v !== false);
    });
  });
}
