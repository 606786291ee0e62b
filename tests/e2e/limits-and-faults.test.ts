// Limits an operator configures, and what clients see when a part fails.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { IM } from '@tt/proto';
import { TeamTalkClient, WsImClient, encryptContent, fetchToken, ok, singleConversationId } from '@tt/client';
import { issueToken } from '@tt/auth';
import { encodePdu, FrameDecoder } from '@tt/codec';
import { describeLocal, restartRole, startDeployment, stopRole, waitUntil, type Deployment, type Mode } from './support/deployment';

jest.setTimeout(90_000);

const { MessageCmdID, ClientType, MsgType, LoginCmdID, OtherCmdID } = IM.BaseDefine;

describeLocal.each<Mode>(['standalone', 'cluster'])('configured limits (%s mode)', (mode) => {
  let d: Deployment;

  beforeAll(async () => {
    d = await startDeployment(mode, {
      env: {
        MSG_SERVER_MAX_FRAME_BYTES: '4096',
        MSG_SERVER_LOGIN_TIMEOUT_MS: '800',
        MSG_SERVER_PC_IDLE_TIMEOUT_MS: '1500',
        MSG_SERVER_MOBILE_IDLE_TIMEOUT_MS: '60000',
        MSG_SERVER_MSG_RATE_LIMIT: '5',
        MSG_SERVER_WS_IDLE_TIMEOUT_MS: '1500',
        MSG_SERVER_MAX_CONTENT_BYTES: '1000',
        MSG_SERVER_RECALL_WINDOW_S: '1',
      },
    });
    await d.addUser('limits_a', 'pw');
    await d.addUser('limits_b', 'pw');
  }, 90_000);

  afterAll(() => d?.stop());

  const connect = async () => TeamTalkClient.connect({ host: d.msgServers[0].host, port: d.msgServers[0].port });

  it('a connection that does not log in in time is closed', async () => {
    const c = await connect();
    await c.waitForClose(5000);
  });

  it('a silent PC client is dropped after its idle time-out; heartbeats keep another alive', async () => {
    const silent = await connect();
    expect((await silent.login({ userName: 'limits_a', password: 'pw', clientType: ClientType.CLIENT_TYPE_MAC })).resultCode).toBe(0);
    const chatty = await TeamTalkClient.connect({ host: d.msgServers[0].host, port: d.msgServers[0].port, heartbeatIntervalMs: 300 });
    expect((await chatty.login({ userName: 'limits_b', password: 'pw', clientType: ClientType.CLIENT_TYPE_WINDOWS })).resultCode).toBe(0);
    await silent.waitForClose(6000);
    expect(chatty.closed).toBe(false);
    chatty.close();
  });

  it('a frame over MSG_SERVER_MAX_FRAME_BYTES closes the connection; one under it is served', async () => {
    const c = await connect();
    const res = await c.login({ userName: 'limits_b', password: 'pw' });
    expect(res.resultCode).toBe(0);
    const other = res.userInfo!.userId - 1 || res.userInfo!.userId + 1;
    const ack = await c.sendMessage(other, MsgType.MSG_TYPE_SINGLE_TEXT, Buffer.alloc(3000, 0x41));
    expect(ack.msgId).toBeGreaterThan(0);
    const body = IM.Message.IMMsgData.encode({ fromUserId: 0, toSessionId: other, msgId: 0, createTime: 0, msgType: 1, msgData: Buffer.alloc(5000, 0x41) }).finish();
    c.writeRaw(encodePdu(3, MessageCmdID.CID_MSG_DATA, 9, body));
    await c.waitForClose(5000);
  });

  it('the message rate limit is the configured one', async () => {
    const c = await connect();
    const res = await c.login({ userName: 'limits_a', password: 'pw', clientType: ClientType.CLIENT_TYPE_ANDROID });
    const other = res.userInfo!.userId + 1;
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => c.sendText(other, `r${i}`)));
    const acked = results.filter((r) => r.status === 'fulfilled').length;
    expect(acked).toBeGreaterThanOrEqual(5);
    expect(acked).toBeLessThanOrEqual(8);
    c.close();
  });
});

describeLocal.each<Mode>(['standalone', 'cluster'])('configured limits of the WebSocket front (%s mode)', (mode) => {
  let d: Deployment;
  const { ErrorCode } = IM.Ws;
  const clients: WsImClient[] = [];

  beforeAll(async () => {
    d = await startDeployment(mode, {
      env: { MSG_SERVER_WS_IDLE_TIMEOUT_MS: '1500', MSG_SERVER_MAX_CONTENT_BYTES: '1000', MSG_SERVER_RECALL_WINDOW_S: '1', MSG_SERVER_MSG_RATE_LIMIT: '5' },
    });
    await d.addUser('wsl_a', 'pw');
    await d.addUser('wsl_b', 'pw');
  }, 90_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await d?.stop();
  });

  const login = async (name: string, opts: { heartbeatIntervalMs?: number } = {}) => {
    const c = await WsImClient.connect(d.msgServers[0].wsUrl!, opts);
    clients.push(c);
    ok(await c.auth(name, await fetchToken(d.loginUrl, name, 'pw')));
    return c;
  };

  it('a silent WebSocket client is closed after its idle time-out; heartbeats keep another alive', async () => {
    const silent = await login('wsl_a');
    const chatty = await login('wsl_b', { heartbeatIntervalMs: 300 });
    await silent.waitForClose(6000);
    expect(chatty.closed).toBe(false);
  });

  it('an expired token gets ERR_TOKEN_EXPIRED and the connection is closed', async () => {
    const c = await WsImClient.connect(d.msgServers[0].wsUrl!);
    clients.push(c);
    const { token } = await issueToken({ userId: 1, name: 'wsl_a' }, { secret: d.authSecret!, ttlSeconds: 60, now: () => Date.now() - 3_600_000 });
    expect((await c.auth('wsl_a', token)).errorCode).toBe(ErrorCode.ERR_TOKEN_EXPIRED);
    await c.waitForClose(5000);
  });

  it('content over MSG_SERVER_MAX_CONTENT_BYTES is refused, sending faster than the rate limit is refused, recall after the window is refused', async () => {
    const a = await login('wsl_a', { heartbeatIntervalMs: 300 });
    expect((await a.send({ receiverId: 'wsl_b', messageType: 1, content: Buffer.alloc(1001, 0x41) })).errorCode).toBe(ErrorCode.ERR_MESSAGE_TOO_LARGE);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => a.sendText({ receiverId: 'wsl_b' }, `r${i}`)));
    const accepted = results.filter((r) => r.errorCode === ErrorCode.ERR_SUCCESS);
    expect(accepted.length).toBeGreaterThanOrEqual(5);
    expect(accepted.length).toBeLessThanOrEqual(8);
    expect(results.filter((r) => r.errorCode === ErrorCode.ERR_SEND_TOO_FAST).length).toBe(12 - accepted.length);
    await new Promise((r) => setTimeout(r, 2100));
    const late = await a.revoke(accepted[0].messageId!, singleConversationId('wsl_a', 'wsl_b'));
    expect(late.errorCode).toBe(ErrorCode.ERR_PERMISSION_DENIED);
  });
});

describeLocal('faults (cluster mode)', () => {
  let d: Deployment;

  beforeAll(async () => {
    d = await startDeployment('cluster', { env: { DB_PROXY_TIMEOUT_MS: '1500' } });
  }, 90_000);

  afterAll(() => d?.stop());

  it('while db_proxy is down a message gets no ack and a login is refused with code 3; afterwards ids continue without a gap', async () => {
    const a = await d.addUser('fault_a', 'pw');
    const b = await d.addUser('fault_b', 'pw');
    const ca = await TeamTalkClient.connect({ host: d.msgServers[0].host, port: d.msgServers[0].port });
    await ca.login({ userName: 'fault_a', password: 'pw' });
    expect((await ca.sendText(b, 'before')).msgId).toBe(1);

    const dbProxy = d.role('db_proxy');
    await stopRole(dbProxy, 'SIGKILL');
    await expect(ca.request(MessageCmdID.CID_MSG_DATA, IM.Message.IMMsgData, { fromUserId: a, toSessionId: b, msgId: 0, createTime: 0, msgType: 1, msgData: encryptContent('lost?') }, 4000)).rejects.toThrow(/no response/);
    const late = await TeamTalkClient.connect({ host: d.msgServers[0].host, port: d.msgServers[0].port });
    expect((await late.login({ userName: 'fault_b', password: 'pw' })).resultCode).toBe(IM.BaseDefine.ResultType.REFUSE_REASON_NO_DB_SERVER);
    expect(dbProxy.output.join('')).not.toContain('"level":60');

    await restartRole(dbProxy);
    // /readyz stays 200 through a short outage (READINESS_GRACE_MS): wait for its details to show db_proxy answering again.
    await waitUntil(async () => ((await (await fetch(`http://127.0.0.1:${d.role('msg_server').adminPort}/readyz`)).json()) as { details: { dbProxy?: unknown } }).details.dbProxy === true, 15_000, 'msg_server to see db_proxy again');
    expect((await ca.sendText(b, 'after')).msgId).toBe(2);
    const cb = await TeamTalkClient.connect({ host: d.msgServers[0].host, port: d.msgServers[0].port });
    await cb.login({ userName: 'fault_b', password: 'pw' });
    const history = await cb.messageList(a, 0, 10);
    expect(history.msgList.map((m) => m.msgId)).toEqual([2, 1]);
    for (const c of [ca, cb, late]) c.close();
  });

  it('a msg_server survives a client that sends random bytes', async () => {
    for (let i = 0; i < 20; i++) {
      const s = net.connect(d.msgServers[0].port, d.msgServers[0].host);
      await new Promise((r) => s.once('connect', r));
      const junk = Buffer.alloc(64 + i * 13);
      for (let j = 0; j < junk.length; j++) junk[j] = (j * 7919 + i * 104729) & 0xff;
      // A plausible length so the body reaches the protobuf decoder.
      junk.writeUInt32BE(junk.length, 0);
      s.write(junk);
      s.end();
    }
    const c = await TeamTalkClient.connect({ host: d.msgServers[0].host, port: d.msgServers[0].port });
    await c.request(IM.BaseDefine.OtherCmdID.CID_OTHER_HEARTBEAT, IM.Other.IMHeartBeat, {});
    expect(d.role('msg_server').child.exitCode).toBeNull();
    c.close();
  });
});

describeLocal('operations', () => {
  it('a role with invalid configuration exits with code 2 and names every bad variable', async () => {
    const { spawnSync } = await import('node:child_process');
    const path = await import('node:path');
    const { REPO_ROOT } = await import('./support/deployment');
    const run = spawnSync(process.execPath, [path.join(REPO_ROOT, 'services/msg_server/dist/main.js')], {
      env: { ...process.env, MSG_SERVER_PORT: 'eighty', MSG_SERVER_MSG_RATE_LIMIT: '-1' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/MSG_SERVER_PORT/);
    expect(run.stderr).toMatch(/MSG_SERVER_MSG_RATE_LIMIT/);
  });

  it('when every msg_server is full login_server answers code 2, and hands one out again once a client leaves', async () => {
    const { fetchMsgServer } = await import('@tt/client');
    const d = await startDeployment('cluster', { msgServers: 2, env: { MSG_SERVER_MAX_CONNECTIONS: '1' } });
    try {
      const [a, b] = [await d.addUser('full_a', 'pw'), await d.addUser('full_b', 'pw')];
      expect(a).toBeGreaterThan(0);
      expect(b).toBeGreaterThan(0);
      const clients = await Promise.all(d.msgServers.map((ms) => TeamTalkClient.connect({ host: ms.host, port: ms.port })));
      expect((await clients[0].login({ userName: 'full_a', password: 'pw' })).resultCode).toBe(0);
      expect((await clients[1].login({ userName: 'full_b', password: 'pw' })).resultCode).toBe(0);
      await waitUntil(async () => (await fetchMsgServer(d.loginUrl)).code === 2, 5000, 'login_server to answer "all full"');
      expect(await fetchMsgServer(d.loginUrl)).toEqual(expect.objectContaining({ code: 2 }));
      clients[0].close();
      await waitUntil(async () => (await fetchMsgServer(d.loginUrl)).port === String(d.msgServers[0].port), 5000, 'the freed msg_server to be handed out');
      clients[1].close();
    } finally {
      await d.stop();
    }
  });

  it('standalone keeps users and history across a restart; ttctl passwd takes effect at once', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tt-restart-'));
    try {
      let d = await startDeployment('standalone', { dataDir });
      await d.addUser('alice', 'old-pw');
      const bob = await d.addUser('bob', 'pw');
      let c = await TeamTalkClient.connect({ host: d.msgServers[0].host, port: d.msgServers[0].port });
      expect((await c.login({ userName: 'alice', password: 'old-pw' })).resultCode).toBe(0);
      await c.sendText(bob, 'kept');
      c.close();
      await d.ttctl('user', 'passwd', 'alice', '--password', 'new-pw');
      c = await TeamTalkClient.connect({ host: d.msgServers[0].host, port: d.msgServers[0].port });
      expect((await c.login({ userName: 'alice', password: 'old-pw' })).resultCode).toBe(6);
      await d.stop();

      d = await startDeployment('standalone', { dataDir });
      c = await TeamTalkClient.connect({ host: d.msgServers[0].host, port: d.msgServers[0].port });
      expect((await c.login({ userName: 'alice', password: 'new-pw' })).resultCode).toBe(0);
      expect((await c.messageList(bob, 0, 10)).msgList.map((m) => m.msgId)).toEqual([1]);
      expect((await d.ttctl('user', 'list')).split('\n').filter((l) => /^\d+\t/.test(l))).toHaveLength(2);
      c.close();
      await d.stop();
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/** Resident memory of a process (VmRSS), bytes. */
function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** A TeamTalk client on a bare socket (an attacker's): logs in, then reads only if told to. */
async function rawLogin(host: string, port: number, userName: string): Promise<net.Socket> {
  const socket = net.connect({ host, port });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const req = IM.Login.IMLoginReq.encode({ userName, password: createHash('md5').update('pw').digest('hex'), onlineStatus: 1, clientType: ClientType.CLIENT_TYPE_ANDROID, clientVersion: 'flood' }).finish();
  socket.write(encodePdu(1, LoginCmdID.CID_LOGIN_REQ_USERLOGIN, 1, req));
  const decoder = new FrameDecoder();
  const res = await new Promise<IM.Login.IMLoginRes>((resolve, reject) => {
    const onData = (chunk: Buffer) =>
      decoder.push(chunk, (pdu) => {
        if (pdu.commandId !== LoginCmdID.CID_LOGIN_RES_USERLOGIN) return;
        socket.off('data', onData);
        // Not reading from here on (a stream without 'data' listeners would still read and discard).
        socket.pause();
        resolve(IM.Login.IMLoginRes.decode(pdu.body));
      });
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`${userName}: closed before the login answer`)));
  });
  expect(res.resultCode).toBe(0);
  return socket;
}

/** Writes heartbeats as fast as the server takes them until stopped or closed. */
function floodHeartbeats(socket: net.Socket): { stop(): void } {
  const beats = Buffer.concat(Array.from({ length: 256 }, () => encodePdu(7, OtherCmdID.CID_OTHER_HEARTBEAT, 0, Buffer.alloc(0))));
  let stopped = false;
  const go = () => {
    while (!stopped && !socket.destroyed && socket.write(beats));
    if (!stopped && !socket.destroyed) socket.once('drain', go);
  };
  go();
  return { stop: () => (stopped = true) };
}

// Issue 16: heartbeats flooded by a client that never reads its answers used to take the process to 1 GiB.
describeLocal.each<Mode>(['standalone', 'cluster'])('back-pressure (%s mode)', (mode) => {
  let d: Deployment;
  const flooders = ['flood_1', 'flood_2', 'flood_3', 'flood_4'];

  beforeAll(async () => {
    d = await startDeployment(mode, { env: { CONN_MAX_OUTPUT_BYTES: '65536', CONN_MAX_INPUT_BYTES: '65536', CONN_SLOW_READER_MS: '2000' } });
    for (const name of [...flooders, 'flood_reader']) await d.addUser(name, 'pw');
  }, 90_000);

  afterAll(() => d?.stop());

  it('a client that floods heartbeats and never reads is cut off and the server\'s memory stays flat; a reading client is fine', async () => {
    const server = mode === 'standalone' ? d.processes[0] : d.msgServers[0].process!;
    const { host, port } = d.msgServers[0];
    const idle = rssOf(server.child.pid!);

    const attackers = await Promise.all(flooders.map((name) => rawLogin(host, port, name)));
    let cut = 0;
    for (const s of attackers) s.once('close', () => (cut += 1));
    const reader = await rawLogin(host, port, 'flood_reader');
    let answered = 0;
    reader.on('data', (chunk: Buffer) => (answered += chunk.length)).resume();
    const floods = [...attackers, reader].map((s) => floodHeartbeats(s));
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, rssOf(server.child.pid!))), 100);
    try {
      // Each attacker is read until its answers fill its kernel buffers and the 64 KiB cap, then kept there 2 s: cut off.
      await waitUntil(() => cut === attackers.length, 30_000, 'every flooder that does not read to be cut off');
      const before = answered;
      await new Promise((r) => setTimeout(r, 500));
      expect(reader.destroyed).toBe(false);
      expect(answered).toBeGreaterThan(before);
    } finally {
      clearInterval(sampler);
      for (const f of floods) f.stop();
      for (const s of [...attackers, reader]) s.destroy();
    }
    expect(peak - idle).toBeLessThan(64 * 1024 * 1024);
    const metrics = await (await fetch(`http://127.0.0.1:${server.adminPort}/metrics`)).text();
    const cutOff = /tt_msg_server_connections_cut_off_total\{[^}]*reason="slow_reader"[^}]*\} (\d+)/.exec(metrics);
    expect(Number(cutOff?.[1])).toBeGreaterThanOrEqual(flooders.length);
  });
});
