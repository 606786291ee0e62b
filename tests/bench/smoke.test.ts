// Smoke runs of every benchmark scenario against a standalone deployment the
// harness starts itself (--start standalone): tiny sizes, checking that the
// harness works and counts correctly (not speed), and that it writes its
// JSON, Markdown and PNG results.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runBench, type RunOutcome } from '@tt/bench';

jest.setTimeout(90_000);

let out: string;
beforeAll(() => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'tt-bench-smoke-'));
});
afterAll(() => {
  fs.rmSync(out, { recursive: true, force: true });
});

async function bench(...argv: string[]): Promise<RunOutcome> {
  const lines: string[] = [];
  try {
    return await runBench([...argv, '--start', 'standalone', '--out', out, '--duration', '30', '--timeout', '80'], { log: (l) => lines.push(l) });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${lines.join('\n')}`);
  }
}

function expectFiles(r: RunOutcome): void {
  const json = JSON.parse(fs.readFileSync(r.files.json, 'utf8'));
  expect(json.schema).toBe('tt-bench/1');
  expect(json.scenario).toBe(r.result.scenario);
  expect(json.machine.cpus).toBeGreaterThan(0);
  expect(json.machine.node).toBe(process.version);
  expect(json.deployment).toMatchObject({ mode: 'standalone', started: true });
  expect(json.deployment.settings.MSG_SERVER_MSG_RATE_LIMIT).toBe('1000000');
  expect(json.server.samples.length).toBeGreaterThan(0);
  const md = fs.readFileSync(r.files.markdown, 'utf8');
  expect(md).toContain(`# ${r.result.scenario} — standalone`);
  expect(md).toContain(path.basename(r.files.png));
  const png = fs.readFileSync(r.files.png);
  expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
  expect(png.length).toBeGreaterThan(2000);
}

function expectPassed(r: RunOutcome): void {
  if (!r.result.checks.passed) throw new Error(`checks failed: ${r.result.checks.failures.join('; ')}`);
  expect(r.exitCode).toBe(0);
}

test('connections: 20 logged-in idle connections over several source addresses', async () => {
  const r = await bench('connections', '--count', '20', '--hold', '2', '--concurrency', '10', '--source-ips', '3');
  expectPassed(r);
  expect(r.result.counts).toMatchObject({ requested: 20, loggedIn: 20, failed: 0, stillOpenAfterHold: 20, closedByServer: 0, kicked: 0 });
  expect(r.result.counts.serverLoggedInGauge).toBeGreaterThanOrEqual(20);
  expect(r.result.latencyMs.total.count).toBe(20);
  expect((r.result.details as any).server.rssPerConnectionBytes).toEqual(expect.any(Number));
  expect(r.result.generator.sourceAddresses).toBe(3);
  expect(r.result.users).toMatchObject({ count: 20, created: 20, via: 'store', scryptN: 1024 });
  expectFiles(r);
});

test('single-chat: 5 pairs × 50 messages, every one delivered once and in order', async () => {
  const r = await bench('single-chat', '--pairs', '5', '--messages', '50', '--window', '8');
  expectPassed(r);
  expect(r.result.counts).toMatchObject({ sent: 250, acked: 250, delivered: 250, lost: 0, unacked: 0, duplicates: 0, outOfOrder: 0, msgIdOrderErrors: 0, ackDeliveryMismatch: 0, misrouted: 0, corrupt: 0 });
  expect(r.result.counts.serverStored).toBe(250);
  expect(r.result.counts.serverRejectedByRate).toBe(0);
  expect(r.result.latencyMs.delivery.count).toBe(250);
  expect(r.result.latencyMs.delivery.p50).toBeGreaterThan(0);
  // The server's own CPU, per stored message (from its /metrics before and after).
  expect(r.result.headline['msg_server CPU per message (µs)']).toBeGreaterThan(0);
  const t = r.result.timeline;
  const sentTotal = t.series.sent.reduce((a, b) => a + b, 0) * (t.bucketMs / 1000);
  expect(Math.abs(sentTotal - 250)).toBeLessThan(30); // the last bucket is scaled to its elapsed part
  expectFiles(r);
});

test('single-chat at a target rate', async () => {
  const r = await bench('single-chat', '--pairs', '2', '--messages', '20', '--rate', '40');
  expectPassed(r);
  expect(r.result.counts).toMatchObject({ sent: 40, acked: 40, delivered: 40, lost: 0 });
  // 40 messages at 40/s take about a second.
  expect((r.result.details as any).sendSeconds).toBeGreaterThanOrEqual(0.8);
});

test('group-chat: 8 members, 6 online, 2 senders', async () => {
  const r = await bench('group-chat', '--members', '8', '--online', '0.75', '--senders', '2', '--messages', '15');
  expectPassed(r);
  expect(r.result.counts).toMatchObject({ membersOnline: 6, senders: 2, sent: 30, acked: 30, expectedDeliveries: 150, delivered: 150, lost: 0, duplicates: 0, outOfOrder: 0, fanoutsComplete: 30 });
  expect(r.result.latencyMs.fanout.count).toBe(30);
  expectFiles(r);
});

test('offline-sync: 200 messages over 4 sessions pulled after login', async () => {
  const r = await bench('offline-sync', '--messages', '200', '--sessions', '4', '--page', '30');
  expectPassed(r);
  expect(r.result.counts).toMatchObject({ seeded: 200, unreadReported: 200, sessionsReported: 4, pulled: 200, missing: 0, duplicates: 0, orderErrors: 0, unreadAfterReadAck: 0 });
  expect(r.result.counts.pages).toBeGreaterThanOrEqual(8); // 50 per session in pages of 30
  expectFiles(r);
});

test('single-chat over the WebSocket front: tokens from login_server, every message delivered once and in order', async () => {
  const r = await bench('single-chat', '--protocol', 'ws', '--pairs', '4', '--messages', '40', '--window', '8');
  expectPassed(r);
  expect(r.result.headline.protocol).toBe('WebSocket');
  expect(r.result.counts).toMatchObject({ sent: 160, acked: 160, delivered: 160, lost: 0, duplicates: 0, outOfOrder: 0, msgIdOrderErrors: 0, ackDeliveryMismatch: 0, rejected: 0, misrouted: 0, corrupt: 0, wsIdErrors: 0, wsUnknownNames: 0, wsMissingSeq: 0, wsSeqOrderErrors: 0 });
  expect(r.result.counts.serverStored).toBe(160);
  const g = r.result.generator as any;
  expect(g.tokenFetches).toBe(8); // once per user
  expect(g.connections.wsFramesInByCommand['202']).toBe(160); // CMD_PUSH_MSG
  expect(g.connections.wsFramesInByCommand['201']).toBe(160); // CMD_SEND_MSG_RSP
  expectFiles(r);
});

// Mixed runs: TeamTalk senders reach WebSocket receivers by account name (sender_id, conversation_id).
test('single-chat mixed: TeamTalk senders, WebSocket receivers', async () => {
  const r = await bench('single-chat', '--protocol', 'mixed', '--pairs', '3', '--messages', '30');
  expectPassed(r);
  expect(r.result.counts).toMatchObject({ sent: 90, acked: 90, delivered: 90, lost: 0, duplicates: 0, outOfOrder: 0, ackDeliveryMismatch: 0, misrouted: 0, corrupt: 0, wsIdErrors: 0, wsUnknownNames: 0 });
  expect((r.result.generator as any).tokenFetches).toBe(3);
});

test('group-chat mixed: members alternate TeamTalk and WebSocket', async () => {
  const r = await bench('group-chat', '--protocol', 'mixed', '--members', '6', '--senders', '2', '--messages', '10');
  expectPassed(r);
  expect(r.result.counts).toMatchObject({ membersOnline: 6, senders: 2, sent: 20, acked: 20, expectedDeliveries: 100, delivered: 100, lost: 0, duplicates: 0, outOfOrder: 0, fanoutsComplete: 20, wsIdErrors: 0, wsMissingSeq: 0 });
});

test('group-chat over the WebSocket front (the group created over TeamTalk first)', async () => {
  const r = await bench('group-chat', '--protocol', 'ws', '--members', '5', '--senders', '1', '--messages', '10');
  expectPassed(r);
  expect(r.result.counts).toMatchObject({ membersOnline: 5, sent: 10, acked: 10, delivered: 40, lost: 0, duplicates: 0, outOfOrder: 0, msgIdOrderErrors: 0, wsIdErrors: 0 });
});

// MSync (Easemob's protocol, TCP transport): PROVISION with a token, sends answered with the server id, deliveries pulled after each NOTICE.
test('single-chat over the MSync front: every message delivered once and in order', async () => {
  const r = await bench('single-chat', '--protocol', 'msync', '--pairs', '3', '--messages', '30', '--window', '8');
  expectPassed(r);
  expect(r.result.headline.protocol).toBe('MSync');
  expect(r.result.counts).toMatchObject({ sent: 90, acked: 90, delivered: 90, lost: 0, duplicates: 0, outOfOrder: 0, msgIdOrderErrors: 0, ackDeliveryMismatch: 0, rejected: 0, misrouted: 0, corrupt: 0, wsIdErrors: 0, wsUnknownNames: 0, wsErrorResponses: 0 });
  expect(r.result.counts.serverStored).toBe(90);
  expect((r.result.generator as any).tokenFetches).toBe(6);
});

test('group-chat over the MSync front (the group created over TeamTalk first)', async () => {
  const r = await bench('group-chat', '--protocol', 'msync', '--members', '4', '--senders', '2', '--messages', '10');
  expectPassed(r);
  expect(r.result.counts).toMatchObject({ membersOnline: 4, sent: 20, acked: 20, expectedDeliveries: 60, delivered: 60, lost: 0, duplicates: 0, outOfOrder: 0, msgIdOrderErrors: 0, wsIdErrors: 0 });
});

test('connections over the MSync front', async () => {
  const r = await bench('connections', '--protocol', 'msync', '--count', '6', '--hold', '1');
  expectPassed(r);
  expect(r.result.headline.protocol).toBe('MSync');
  expect(r.result.counts).toMatchObject({ requested: 6, loggedIn: 6, failed: 0, stillOpenAfterHold: 6, closedByServer: 0 });
});

// OMTP (seed 004, Tars over TCP): PT_LOGIN with the password, sends answered with a MsgAck carrying the seqId, pushes acknowledged.
test('single-chat over the OMTP front: every message delivered once and in order', async () => {
  const r = await bench('single-chat', '--protocol', 'omtp', '--pairs', '3', '--messages', '30', '--window', '8');
  expectPassed(r);
  expect(r.result.headline.protocol).toBe('OMTP');
  expect(r.result.counts).toMatchObject({ sent: 90, acked: 90, delivered: 90, lost: 0, duplicates: 0, outOfOrder: 0, msgIdOrderErrors: 0, ackDeliveryMismatch: 0, rejected: 0, misrouted: 0, corrupt: 0, wsIdErrors: 0, wsUnknownNames: 0, wsErrorResponses: 0 });
  expect(r.result.counts.serverStored).toBe(90);
  expect((r.result.generator as any).tokenFetches).toBe(0);
});

test('group-chat over the OMTP front (the group created over TeamTalk first)', async () => {
  const r = await bench('group-chat', '--protocol', 'omtp', '--members', '4', '--senders', '2', '--messages', '10');
  expectPassed(r);
  expect(r.result.counts).toMatchObject({ membersOnline: 4, sent: 20, acked: 20, expectedDeliveries: 60, delivered: 60, lost: 0, duplicates: 0, outOfOrder: 0, msgIdOrderErrors: 0, wsIdErrors: 0 });
});

test('connections over the OMTP front', async () => {
  const r = await bench('connections', '--protocol', 'omtp', '--count', '6', '--hold', '1');
  expectPassed(r);
  expect(r.result.headline.protocol).toBe('OMTP');
  expect(r.result.counts).toMatchObject({ requested: 6, loggedIn: 6, failed: 0, stillOpenAfterHold: 6, closedByServer: 0 });
  expect(r.result.latencyMs.token).toBeUndefined();
});

// Issue 16: connections that flood heartbeats and never read; the server stops reading them and its memory stays flat.
test('abuse: 2 flooders on the TeamTalk front and on file_server, a normal client still answered', async () => {
  const r = await bench('abuse', '--flooders', '2', '--flood', '2', '--fronts', 'teamtalk,file');
  expectPassed(r);
  const fronts = (r.result.details as any).fronts;
  for (const front of ['teamtalk', 'file']) {
    expect(fronts[front]).toMatchObject({ flooders: 2, setupFailures: 0, probe: { ok: true } });
    expect(fronts[front].bytesWritten).toBeGreaterThan(0);
    expect(fronts[front].peakRssBytes).toBeGreaterThanOrEqual(fronts[front].idleRssBytes);
    expect(fronts[front].growthBytes).toBeLessThan(64 * 1024 * 1024);
  }
  expect(fronts.teamtalk.loggedIn).toBe(1);
  expect(r.result.headline['teamtalk: RSS idle / peak / growth (MiB)']).toMatch(/^[\d.]+ \/ [\d.]+ \/ \+[\d.]+$/);
  expectFiles(r);
});

test('logins: storms of 15 PC logins with the first queries, then a sustained second', async () => {
  const r = await bench('logins', '--count', '15', '--storms', '2', '--in-flight', '5', '--seconds', '1', '--client-type', 'windows');
  expectPassed(r);
  expect(r.result.counts).toMatchObject({ users: 15, storms: 2, failed: 0, kicked: 0 });
  const d = r.result.details as any;
  expect(d.firstQueries).toBe(true);
  expect([d.firstStorm, ...d.storms].map((s: { logins: number }) => s.logins)).toEqual([15, 15, 15]);
  expect(d.sustained.logins).toBeGreaterThan(0);
  // Every step timed, the server's CPU per login read from its /metrics.
  expect(r.result.latencyMs.firstQueries.count).toBe(15);
  expect(r.result.latencyMs.loginRequest.p50).toBeGreaterThan(0);
  expect(d.storms[0].cpuPerLoginUs.standalone).toBeGreaterThan(0);
  expect(r.result.headline['repeat storm logins/s (median)']).toBeGreaterThan(0);
  expectFiles(r);
});

// hold forks its workers from packages/bench/dist (build first, as for the standalone it starts).
test('hold: 2 worker processes × 20 held connections, probes delivered to held users', async () => {
  const r = await bench('hold', '--count', '40', '--workers', '2', '--hold', '1', '--probe-rate', '20', '--probe-seconds', '1', '--probe-senders', '2', '--max-probe-p99-ms', '5000');
  expectPassed(r);
  expect(r.result.counts).toMatchObject({ requested: 40, loggedIn: 40, failed: 0, stillOpenAtEnd: 40, kicked: 0, workers: 2, probesSent: 20, probesAcked: 20, probesDelivered: 20, probesLost: 0, probeDuplicates: 0, probesMisrouted: 0 });
  expect(r.result.latencyMs.probe.count).toBe(20);
  const d = r.result.details as any;
  // The held users (and the probe senders) are on the one msg_server, its RSS per connection measured.
  expect(d.msgServers[0].loggedIn).toBeGreaterThanOrEqual(40);
  expect(d.msgServers[0].rssPerConnectionKiB).toEqual(expect.any(Number));
  expect(d.msgServers[0].idleCpuCoresPerThousandConnections).toEqual(expect.any(Number));
  expect(d.processes.map((p: { process: string }) => p.process)).toEqual(['standalone']);
  expect(d.processes[0].idleCpuCores).toBeGreaterThanOrEqual(0);
  expect(d.generator).toMatchObject({ workers: 2, perWorker: 20, pdusIn: expect.any(Number) });
  expectFiles(r);
});

test('refuses targets off the loopback range', async () => {
  await expect(runBench(['connections', '--login-url', 'http://192.168.1.10:8080'])).rejects.toThrow(/loopback/);
});
