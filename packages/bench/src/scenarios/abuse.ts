// abuse: the attack of issue 16 on every front, one front at a time. N
// connections per front (every other one logged in first) write the front's
// cheapest request (its heartbeat) as fast as the server takes it and never
// read an answer, for a bounded time. Measured: the server's RSS when idle,
// its peak during the flood, and whether a normal client still logs in and is
// answered while the flood goes on. With back-pressure the server stops
// reading a connection whose answers pile up, so its memory stays flat.
import * as fs from 'node:fs';
import * as net from 'node:net';
import { encodePdu } from '@tt/codec';
import { encodeTcp12Frame } from '@tt/client';
import { framePack, OMTP_VERSION, PackType } from '@tt/omtp';
import { IM } from '@tt/proto';
import type { ChatConnection, ClientProtocol } from '../conn';
import { sleep, type RunContext, type ScenarioResult } from '../context';
import type { ServerSampler } from '../metrics';
import type { AbuseFront } from '../options';
import { round1 } from '../stats';


const MiB = 1024 * 1024;
/** Heartbeats per write: one write of a few KiB, as a tight client loop would produce. */
const FRAMES_PER_WRITE = 256;

/** One heartbeat of the front as it goes on the wire (WebSocket: a masked binary frame, mask 0). */
export function heartbeatFrame(front: AbuseFront): Buffer {
  switch (front) {
    case 'teamtalk':
    case 'file': {
      const cid = IM.BaseDefine.OtherCmdID.CID_OTHER_HEARTBEAT;
      return encodePdu(cid >> 8, cid, 0, new Uint8Array());
    }
    case 'ws': {
      const body = IM.Ws.HeartbeatRequest.encode({ clientTime: 1 }).finish();
      const payload = IM.Ws.WebSocketMessage.encode({ command: IM.Ws.CommandType.CMD_HEARTBEAT_REQ, sequence: 1, body }).finish();
      if (payload.length >= 126) throw new Error('heartbeat message too long for a short WebSocket frame');
      return Buffer.concat([Buffer.from([0x82, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
    }
    case 'tcp12':
      return encodeTcp12Frame({ seq: 1, command: IM.Tcp12.IMCommand.PING }, new Uint8Array());
    case 'msync': {
      const envelope = IM.MSync.MSync.encode({ version: IM.MSync.MSync.Version.MSYNC_V1, command: IM.MSync.MSync.Command.UNREAD, payload: new Uint8Array() }).finish();
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(envelope.length, 0);
      return Buffer.concat([prefix, envelope]);
    }
    case 'omtp':
      return framePack({ type: PackType.PT_PING, version: OMTP_VERSION, flags: 0, packId: 'flood' }, new Uint8Array());
  }
}

/** Resident memory of a process (VmRSS), bytes; undefined once it is gone. */
export function processRss(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

interface Flooder {
  socket: net.Socket;
  loggedIn: boolean;
  bytesWritten: number;
  /** ms after the flood started at which the server closed it. */
  closedAfterMs?: number;
}

/** Writes `batch` as fast as the socket takes it until `until` or the socket closes; waits for 'drain' when the kernel buffers are full. */
async function flood(f: Flooder, batch: Buffer, until: number): Promise<void> {
  const { socket } = f;
  while (!socket.destroyed && performance.now() < until) {
    const more = socket.write(batch);
    f.bytesWritten += batch.length;
    if (more) {
      await new Promise<void>((r) => setImmediate(r));
      continue;
    }
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, until - performance.now()));
      socket.once('drain', done);
      socket.once('close', done);
    });
  }
}

export async function runAbuse(ctx: RunContext, sampler: ServerSampler): Promise<ScenarioResult> {
  const o = ctx.opts.abuse;
  const d = ctx.deployment;
  const pids = d.processes.map((p) => p.child.pid).filter((p): p is number => p !== undefined);
  /** The server's RSS: its processes' VmRSS (started deployments), else what its /metrics say. */
  const serverRss = async (): Promise<number> => {
    if (pids.length > 0) return pids.reduce((sum, pid) => sum + (processRss(pid) ?? 0), 0);
    return (await sampler.sample())?.rssBytes ?? 0;
  };
  const users = await ctx.users('a', Math.ceil(o.flooders / 2) + 1);
  const probeUser = users[users.length - 1];
  const t0 = ctx.startClock();
  /** Peak server RSS (MiB) per second of the run, for the chart. */
  const rssBySecond: number[] = [];
  const headline: Record<string, number | string> = { 'flooding connections per front': o.flooders, 'flood seconds': o.floodS };
  // A flooder is cut off as a slow reader only once its output has stayed at the cap this long.
  const slowReaderMs = Number(d.settings.CONN_SLOW_READER_MS ?? 15_000);
  if (o.floodS * 1000 <= slowReaderMs) ctx.warn(`--flood ${o.floodS} s is not longer than CONN_SLOW_READER_MS (${slowReaderMs} ms): no flooder can be cut off as a slow reader; use e.g. --flood ${Math.ceil(slowReaderMs / 1000) + 5}`);
  const counts: Record<string, number> = {};
  const perFront: Record<string, unknown> = {};
  const failures: string[] = [];

  for (const front of o.fronts) {
    if (front === 'file' && d.ports?.fileServer === undefined) {
      ctx.warn('file: the file_server port is only known for a started standalone deployment; skipped');
      continue;
    }
    const protocol: ClientProtocol | undefined = front === 'file' ? undefined : front;
    await sleep(500);
    const idle = await serverRss();
    const flooders: Flooder[] = [];
    const chat: ChatConnection[] = [];
    let setupFailures = 0;
    // Even ones log in first (where the front has a log-in), odd ones stay anonymous.
    await Promise.all(
      Array.from({ length: o.flooders }, async (_, i) => {
        try {
          let socket: net.Socket;
          let loggedIn = false;
          if (protocol && i % 2 === 0) {
            const conn = await ctx.loginAs(users[i / 2], protocol, { heartbeat: false });
            chat.push(conn);
            socket = conn.detachSocket();
            loggedIn = true;
          } else if (protocol === 'ws') {
            const conn = await ctx.connectWs(await ctx.wsUrl(), { heartbeat: false });
            chat.push(conn);
            socket = conn.detachSocket();
          } else {
            const addr =
              front === 'file' ? { host: '127.0.0.1', port: d.ports!.fileServer! } : front === 'teamtalk' ? await ctx.msgServerAddress() : front === 'msync' ? await ctx.msyncAddress() : await ctx.frontAddress(front as 'tcp12' | 'omtp');
            socket = await new Promise<net.Socket>((resolve, reject) => {
              const s = net.connect(addr, () => resolve(s));
              s.once('error', reject);
            });
            socket.pause();
          }
          socket.on('error', () => {});
          flooders.push({ socket, loggedIn, bytesWritten: 0 });
        } catch (err) {
          setupFailures += 1;
          if (setupFailures === 1) ctx.warn(`${front}: a flooder could not connect or log in: ${(err as Error).message}`);
        }
      }),
    );
    ctx.log(`${front}: ${flooders.length} flooders (${flooders.filter((f) => f.loggedIn).length} logged in), idle RSS ${round1(idle / MiB)} MiB; flooding ${o.floodS} s`);
    const start = performance.now();
    const until = start + o.floodS * 1000;
    for (const f of flooders) f.socket.once('close', () => (f.closedAfterMs = Math.round(performance.now() - start)));
    const batch = Buffer.concat(Array.from({ length: FRAMES_PER_WRITE }, () => heartbeatFrame(front)));
    let peak = idle;
    let sampling = true;
    const sampling$ = (async () => {
      while (sampling) {
        const rss = await serverRss();
        peak = Math.max(peak, rss);
        const second = Math.floor((performance.now() - t0) / 1000);
        while (rssBySecond.length <= second) rssBySecond.push(0);
        rssBySecond[second] = Math.max(rssBySecond[second], round1(rss / MiB));
        await sleep(100);
      }
    })();
    const floods = Promise.all(flooders.map((f) => flood(f, batch, until)));
    // Half way through the flood a normal client logs in and is answered (file: a heartbeat answered).
    await sleep((o.floodS * 1000) / 2);
    const probe = await probeFront(ctx, front, protocol, probeUser, d.ports?.fileServer);
    await floods;
    sampling = false;
    await sampling$;
    const closedByServer = flooders.filter((f) => f.closedAfterMs !== undefined).length;
    for (const f of flooders) f.socket.destroy();
    for (const c of chat) c.close();
    await sleep(1000);
    const after = await serverRss();
    const growth = peak - idle;
    const r = {
      flooders: flooders.length,
      loggedIn: flooders.filter((f) => f.loggedIn).length,
      setupFailures,
      idleRssBytes: idle,
      peakRssBytes: peak,
      growthBytes: growth,
      afterRssBytes: after,
      closedByServer,
      firstClosedAfterMs: Math.min(...flooders.map((f) => f.closedAfterMs ?? Infinity)),
      bytesWritten: flooders.reduce((s, f) => s + f.bytesWritten, 0),
      probe,
    };
    perFront[front] = r;
    counts[`${front}ClosedByServer`] = closedByServer;
    counts[`${front}GrowthMiB`] = round1(growth / MiB);
    headline[`${front}: RSS idle / peak / growth (MiB)`] = `${round1(idle / MiB)} / ${round1(peak / MiB)} / +${round1(growth / MiB)}`;
    headline[`${front}: flooders closed by the server`] = `${closedByServer} of ${flooders.length}`;
    headline[`${front}: normal client during the flood`] = probe.ok ? `answered in ${probe.ms} ms` : `FAILED (${probe.error})`;
    ctx.log(`${front}: peak +${round1(growth / MiB)} MiB, ${closedByServer}/${flooders.length} closed by the server, probe ${probe.ok ? `ok in ${probe.ms} ms` : `failed: ${probe.error}`}`);
    if (growth > o.maxGrowthMiB * MiB) failures.push(`${front}: the server grew by ${round1(growth / MiB)} MiB under the flood (limit ${o.maxGrowthMiB} MiB)`);
    if (!probe.ok) failures.push(`${front}: a normal client was not answered during the flood: ${probe.error}`);
    if (setupFailures > 0) failures.push(`${front}: ${setupFailures} flooders could not connect or log in`);
  }

  return {
    headline,
    counts,
    latency: {},
    checks: { passed: failures.length === 0, failures },
    timeline: { title: 'SERVER RSS DURING THE FLOODS (PEAK PER SECOND)', unit: 'MIB', bucketMs: 1000, seconds: rssBySecond.map((_, i) => i + 0.5), series: { rss: rssBySecond } },
    distribution: { title: 'NONE', bins: [], markers: [] },
    details: { fronts: perFront, maxGrowthMiB: o.maxGrowthMiB },
  };
}

/** A normal client of the front: logs in (or, on file_server, has a heartbeat answered) within 10 s. */
async function probeFront(ctx: RunContext, front: AbuseFront, protocol: ClientProtocol | undefined, user: { id: number; name: string }, filePort?: number): Promise<{ ok: boolean; ms: number; error?: string }> {
  const t = performance.now();
  const within = <T>(p: Promise<T>) => Promise.race([p, sleep(10_000).then(() => Promise.reject(new Error('no answer within 10 s')))]);
  try {
    if (protocol) {
      const conn = await within(ctx.loginAs(user as never, protocol, { heartbeat: false }));
      conn.close();
    } else {
      await within(fileHeartbeat(filePort!));
    }
    return { ok: true, ms: Math.round(performance.now() - t) };
  } catch (err) {
    return { ok: false, ms: Math.round(performance.now() - t), error: `${front}: ${(err as Error).message}` };
  }
}

/** Connects to file_server's client port, sends one heartbeat, resolves on the answer. */
function fileHeartbeat(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write(heartbeatFrame('file')));
    s.once('data', () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
    s.once('close', () => reject(new Error('closed before answering')));
  });
}
