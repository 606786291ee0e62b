// A msg_server that dies or hangs is noticed within a second, and one that
// was only hung fences itself when it wakes, so its clients reconnect and
// get what was sent to them meanwhile. NATS going away and coming back
// pauses deliveries only for as long as it is away.
//
// Cluster mode only: standalone runs one msg_server in the same process as
// route_server and login_server, so there is no other server to fail over to.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { IM } from '@tt/proto';
import { fetchMsgServer } from '@tt/client';
import { describeLocal, freePort, restartRole, stopRole, waitUntil, type Deployment, type RoleProcess } from './support/deployment';
import { Fixture, type TestUser } from './support/fixtures';
import { INSPECT_ENV, blockEventLoop } from './support/inspector';
import { RoamingClient, lostMessages, startFlow, type Pair } from './support/roaming-client';
import { usersStat, useRoamingCluster } from './support/roaming-cluster';

jest.setTimeout(60_000);

const { BuddyListCmdID, UserStatType } = IM.BaseDefine;

/** The promise of issue 16: a dead server is noticed within this. */
const NOTICED_WITHIN_MS = 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** When a role first logged a line containing `text` (its JSON line's time), at or after `since`; ms since the epoch, NaN when it did not. */
function loggedAt(role: RoleProcess, text: string, since = 0): number {
  for (const line of role.output.join('').split('\n')) {
    if (!line.includes(text)) continue;
    try {
      const at = Date.parse((JSON.parse(line) as { time: string }).time);
      if (at >= since) return at;
    } catch {
      /* not a JSON line */
    }
  }
  return Number.NaN;
}

/** msg_servers here stop beaconing once their event loop has not turned for this long (MSG_SERVER_HANG_TIMEOUT_MS). */
const HANG_TIMEOUT_MS = 3000;

/** Asks login_server every 50 ms which msg_server to use; remembers when each port was last handed out. */
function watchLoginServer(loginUrl: string): { lastSeen: Map<number, number>; stop(): Promise<void> } {
  const lastSeen = new Map<number, number>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      try {
        const answer = await fetchMsgServer(loginUrl);
        if (answer.code === 0) lastSeen.set(Number(answer.port), Date.now());
      } catch {
        /* counted as not handed out */
      }
      await sleep(Math.max(0, 50 - (Date.now() - started)));
    }
  })();
  return {
    lastSeen,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

describeLocal('a dead or hung msg_server is noticed within a second (cluster mode, two msg_servers)', () => {
  // The inspector lets a test keep a msg_server's main thread busy (support/inspector.ts).
  const cluster = useRoamingCluster('failover_', { msgServers: 2, msgServerEnv: { ...INSPECT_ENV, MSG_SERVER_HANG_TIMEOUT_MS: String(HANG_TIMEOUT_MS) } });
  let d: Deployment;
  let f: Fixture;
  beforeAll(() => {
    ({ d, f } = cluster);
  });

  const roamOn = cluster.roamOnto;

  const other = (port: number) => d.msgServers.findIndex((m) => m.port !== port);

  /** Whether login_server hands out that port (it alternates between equal servers). */
  async function handsOut(port: number): Promise<boolean> {
    for (let i = 0; i < 4; i++) if ((await fetchMsgServer(d.loginUrl)).port === String(port)) return true;
    return false;
  }

  it('kill -9: login_server stops handing the server out and its users are shown offline within 1 s', async () => {
    const victim = d.msgServers[1];
    const [gone, watcher] = await f.newUsers(2);
    await roamOn(gone, victim.port, { reconnect: false });
    const w = await f.login(watcher, other(victim.port));
    await waitUntil(async () => (await usersStat(w, [gone.id])).get(gone.id) === UserStatType.USER_STATUS_ONLINE, 5000, 'the user to be shown online');
    const notifiedOffline = w.waitFor<IM.Buddy.IMUserStatNotify>(BuddyListCmdID.CID_BUDDY_LIST_STATUS_NOTIFY, (m) => m.userStat.userId === gone.id && m.userStat.status === UserStatType.USER_STATUS_OFFLINE, 10_000);
    const login = watchLoginServer(d.loginUrl);
    await sleep(500);
    expect(login.lastSeen.has(victim.port)).toBe(true);

    const killedAt = Date.now();
    await stopRole(victim.process!, 'SIGKILL');
    let shownOfflineAt = 0;
    await waitUntil(async () => {
      if ((await usersStat(w, [gone.id])).get(gone.id) !== UserStatType.USER_STATUS_OFFLINE) return false;
      shownOfflineAt = Date.now();
      return true;
    }, 10_000, 'the dead server’s user to be shown offline');
    await notifiedOffline;
    const notifiedAt = Date.now();
    await sleep(1500);
    await login.stop();

    const handedOutFor = Math.max(0, (login.lastSeen.get(victim.port) ?? 0) - killedAt);
    const offlineAfter = shownOfflineAt - killedAt;
    const declaredAfter = loggedAt(d.role('route_server'), 'msg_server declared dead') - killedAt;
    const droppedAfter = loggedAt(d.role('login_server'), 'no longer handed out') - killedAt;
    console.log(`kill -9: route_server declared it dead after ${declaredAfter} ms, login_server dropped it after ${droppedAfter} ms (last handed out ${handedOutFor} ms after the kill); its user was shown offline after ${offlineAfter} ms (IMUsersStatReq), notified after ${notifiedAt - killedAt} ms (IMUserStatNotify)`);
    expect(droppedAfter).toBeLessThan(NOTICED_WITHIN_MS);
    expect(handedOutFor).toBeLessThan(NOTICED_WITHIN_MS);
    expect(offlineAfter).toBeLessThan(NOTICED_WITHIN_MS + 250);
    expect(d.role('route_server').output.join('')).toMatch(/msg_server declared dead/);

    await restartRole(victim.process!);
    await waitUntil(() => handsOut(victim.port), 10_000, 'login_server to hand out the restarted server');
  });

  /** A sender on one server and a receiver on `port`, the sender sending every 50 ms. */
  async function pairOnto(port: number): Promise<Pair> {
    const [s, r] = await f.newUsers(2);
    const receiver = await roamOn(r, port);
    const sender = await roamOn(s, d.msgServers[other(port)].port);
    return { sender, receiver, acked: [], unacked: 0 };
  }

  /** The second msg_server under a flow (a message every 50 ms to a receiver on it), watched from the first. */
  async function flowOntoVictim() {
    const victim = d.msgServers[1];
    const pair = await pairOnto(victim.port);
    const [watcher] = await f.newUsers(1);
    const w = await f.login(watcher, other(victim.port));
    const flow = startFlow([pair], 50);
    await sleep(500);
    return { victim, pair, w, flow };
  }

  it('a pause shorter than the suspicion timeout (a long GC) changes nothing: no fencing, every message live', async () => {
    const victim = d.msgServers[1];
    const pair = await pairOnto(victim.port);
    const flow = startFlow([pair], 50);
    await sleep(500);
    victim.process!.child.kill('SIGSTOP');
    await sleep(300);
    victim.process!.child.kill('SIGCONT');
    await sleep(1500);
    await flow.stop();

    expect(pair.receiver.reconnects).toBe(0);
    await waitUntil(() => pair.acked.every((id) => pair.receiver.delivered.get(pair.sender.user.id)?.includes(id)), 5000, 'every message to arrive live');
    expect(victim.process!.output.join('')).not.toMatch(/fencing/);
  });

  it('SIGSTOP past the timeout: the woken server fences itself, its client reconnects and gets every message', async () => {
    const { victim, pair, w, flow } = await flowOntoVictim();

    const stoppedAt = Date.now();
    victim.process!.child.kill('SIGSTOP');
    await waitUntil(async () => (await usersStat(w, [pair.receiver.user.id])).get(pair.receiver.user.id) === UserStatType.USER_STATUS_OFFLINE, 5000, 'the hung server’s user to be shown offline');
    const declaredAfter = Date.now() - stoppedAt;
    await sleep(Math.max(0, 3000 - declaredAfter));
    const ackedWhileHung = pair.acked.length;
    victim.process!.child.kill('SIGCONT');
    const resumedAt = Date.now();

    // Fenced: the connection is closed, the client comes back through login_server.
    await waitUntil(() => pair.receiver.reconnects >= 1 && pair.receiver.online, 10_000, 'the receiver to be fenced off and back');
    const backAfter = Date.now() - resumedAt;
    await sleep(1000);
    await flow.stop();

    // What was stored while it hung is there for the client at its new login (TeamTalk clients pull unread then).
    const client = await pair.receiver.ready();
    const unread = await client.unreadCounts();
    const fromSender = unread.unreadinfoList.find((u) => u.sessionId === pair.sender.user.id);
    const delivered = pair.receiver.delivered.get(pair.sender.user.id) ?? [];
    const missedLive = pair.acked.filter((id) => !delivered.includes(id));
    expect(missedLive.length).toBeGreaterThan(0);
    expect(fromSender?.unreadCnt ?? 0).toBeGreaterThanOrEqual(missedLive.length);
    const { lost, gaps } = await lostMessages(pair);
    expect(lost).toEqual([]);
    expect(gaps).toEqual([]);

    // Presence is right afterwards: the receiver online (on its new connection), as seen from the other server.
    await waitUntil(async () => (await usersStat(w, [pair.receiver.user.id])).get(pair.receiver.user.id) === UserStatType.USER_STATUS_ONLINE, 5000, 'the receiver to be shown online again');
    expect(victim.process!.output.join('')).toMatch(/fencing/);
    // Its next incarnation is handed out again.
    await waitUntil(() => handsOut(victim.port), 10_000, 'login_server to hand out the fenced server again');
    console.log(`SIGSTOP 3 s: declared dead after ${declaredAfter} ms; ${ackedWhileHung} messages acknowledged by then, ${missedLive.length} not delivered live (unread at the new login: ${fromSender?.unreadCnt}); client back ${backAfter} ms after SIGCONT; none lost`);
  });

  it('a main thread busy for 2 s (overload, a long GC) is not declared dead: beacons leave from their own thread, no fencing, every message arrives', async () => {
    const { victim, pair, w, flow } = await flowOntoVictim();

    const busy = blockEventLoop(victim.process!, 2000);
    await sleep(1500);
    // Twice the suspicion timeout into the stall: still online as the other server sees it.
    expect((await usersStat(w, [pair.receiver.user.id])).get(pair.receiver.user.id)).toBe(UserStatType.USER_STATUS_ONLINE);
    const { startedAt } = await busy;
    await sleep(1500);
    await flow.stop();

    expect(pair.receiver.reconnects).toBe(0);
    await waitUntil(() => pair.acked.every((id) => pair.receiver.delivered.get(pair.sender.user.id)?.includes(id)), 5000, 'every message to arrive live');
    expect(loggedAt(d.role('route_server'), 'msg_server declared dead', startedAt)).toBeNaN();
    expect(loggedAt(victim.process!, 'fencing', startedAt)).toBeNaN();
    console.log(`main thread busy 2 s: not declared dead, ${pair.acked.length} messages acknowledged, all delivered live without a reconnect`);
  });

  it('a main thread stuck past MSG_SERVER_HANG_TIMEOUT_MS: beacons stop, it is declared dead, and it fences itself once it turns again', async () => {
    const victim = d.msgServers[1];
    const pair = await pairOnto(victim.port);
    const flow = startFlow([pair], 50);
    await sleep(500);

    const { startedAt } = await blockEventLoop(victim.process!, HANG_TIMEOUT_MS + 2000);
    const resumedAt = Date.now();
    await waitUntil(() => pair.receiver.reconnects >= 1 && pair.receiver.online, 10_000, 'the receiver to be fenced off and back');
    await sleep(1000);
    await flow.stop();

    const declaredAfter = loggedAt(d.role('route_server'), 'msg_server declared dead', startedAt) - startedAt;
    expect(declaredAfter).toBeGreaterThanOrEqual(HANG_TIMEOUT_MS);
    expect(declaredAfter).toBeLessThan(HANG_TIMEOUT_MS + 750 + 1000);
    expect(loggedAt(victim.process!, 'beacons withheld', startedAt)).not.toBeNaN();
    expect(loggedAt(victim.process!, 'fencing', startedAt)).not.toBeNaN();
    const { lost, gaps } = await lostMessages(pair);
    expect(lost).toEqual([]);
    expect(gaps).toEqual([]);
    console.log(`main thread stuck ${HANG_TIMEOUT_MS + 2000} ms (hang timeout ${HANG_TIMEOUT_MS}): declared dead after ${declaredAfter} ms, client back ${Date.now() - resumedAt} ms after the loop turned (incl. 1 s of flow); none lost`);
  });
});

/** A NATS server of this test alone (the shared one on :4222 is never touched). */
async function startPrivateNats(port: number, storeDir: string): Promise<ChildProcess> {
  const child = spawn(process.env.NATS_SERVER_BIN || 'nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], { stdio: 'ignore' });
  await waitUntil(() => canConnect(port), 10_000, 'the private nats-server to listen');
  return child;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

describeLocal('NATS restarts (cluster mode, a private nats-server)', () => {
  let nats: ChildProcess;
  let natsPort: number;
  let storeDir: string;
  const cluster = useRoamingCluster(
    'natsout_',
    async () => {
      natsPort = await freePort();
      storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tt-e2e-nats-'));
      nats = await startPrivateNats(natsPort, storeDir);
      return { msgServers: 2, env: { NATS_URL: `nats://127.0.0.1:${natsPort}` } };
    },
    {
      tearDown: async () => {
        if (nats) await stopProcess(nats, 'SIGKILL');
        if (storeDir) fs.rmSync(storeDir, { recursive: true, force: true });
      },
    },
  );

  it('outages of 2, 3 and 4 s: deliveries resume soon after NATS is back, and nothing acknowledged is lost', async () => {
    const [s, r] = await cluster.f.newUsers(2);
    const receiver = await cluster.roam(r);
    let sender: RoamingClient;
    do {
      sender = await cluster.roam(s);
      if (sender.port === receiver.port) sender.stop();
    } while (sender.port === receiver.port);
    const pair: Pair = { sender, receiver, acked: [], unacked: 0 };
    const flow = startFlow([pair], 50);
    const live = () => receiver.delivered.get(s.id)?.length ?? 0;
    await sleep(500);
    expect(live()).toBeGreaterThan(0);

    const resumedAfter: number[] = [];
    for (const outageMs of [2000, 3000, 4000]) {
      await stopProcess(nats, 'SIGKILL');
      await sleep(outageMs);
      const liveBefore = live();
      nats = await startPrivateNats(natsPort, storeDir);
      const backAt = Date.now();
      await waitUntil(() => live() > liveBefore, 10_000, 'a live delivery after NATS is back');
      resumedAfter.push(Date.now() - backAt);
      await sleep(1000);
    }
    await flow.stop();

    const { lost, gaps } = await lostMessages(pair);
    console.log(`NATS outages of 2, 3, 4 s: first live delivery ${resumedAfter.join(', ')} ms after NATS was back; ${pair.acked.length} acknowledged, reconnects: sender ${sender.reconnects}, receiver ${receiver.reconnects}`);
    expect(lost).toEqual([]);
    expect(gaps).toEqual([]);
    for (const ms of resumedAfter) expect(ms).toBeLessThan(3000);
  });
});
