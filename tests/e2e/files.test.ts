// File transfer (IM.File through msg_server and file_server) and the image
// store (file_server over HTTP), end to end with the TypeScript client.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IM } from '@tt/proto';
import { FileServerConnection, TeamTalkClient, fetchMsgServer, queryOfflineFiles, requestFileTransfer, addOfflineFile, deleteOfflineFile } from '@tt/client';
import { encodePdu } from '@tt/codec';
import { MODES, describeLocal, startDeployment, waitUntil, type Deployment, type Mode } from './support/deployment';
import { Fixture, arrivesWithin, type TestUser } from './support/fixtures';

jest.setTimeout(60_000);

const { FileCmdID, TransferFileType: T, ClientFileRole: R, ClientFileState: S, FileServerError: E } = IM.BaseDefine;
const CHUNK = 65536; // FILE_SERVER_CHUNK_BYTES default
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A tiny valid PNG (1×1). */
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a1ad3e1c0000000049454e44ae426082', 'hex');

class Files {
  readonly conns: FileServerConnection[] = [];

  async connect(addr: IM.BaseDefine.IIpAddr): Promise<FileServerConnection> {
    const c = await FileServerConnection.connect({ ip: addr.ip!, port: addr.port! });
    this.conns.push(c);
    return c;
  }

  decodeErrors(): string[] {
    return this.conns.flatMap((c) => c.client.decodeErrors);
  }

  closeAll(): void {
    for (const c of this.conns) c.close();
  }
}

/** Sender asks for a transfer; returns the answer and the receiver's notify. */
async function askTransfer(sender: TeamTalkClient, receiver: TeamTalkClient | undefined, toUserId: number, size: number, mode: number, name = 'data.bin') {
  const notified = receiver?.waitFor<IM.File.IMFileNotify>(FileCmdID.CID_FILE_NOTIFY, (n) => n.fromUserId === sender.userId && n.offlineReady === 0, 10_000);
  const rsp = await requestFileTransfer(sender, toUserId, name, size, mode);
  return { rsp, notify: await notified };
}

/** Offline upload of `data` for a task: the server pulls every chunk, then says DONE. */
async function uploadOffline(files: Files, rsp: IM.File.IMFileRsp, userId: number, data: Buffer): Promise<void> {
  const up = await files.connect(rsp.ipAddrList[0]!);
  const served = up.serve(data, rsp.taskId, userId, { timeoutMs: 30_000 });
  expect(await up.login(userId, rsp.taskId, R.CLIENT_OFFLINE_UPLOAD)).toMatchObject({ resultCode: 0, taskId: rsp.taskId });
  expect(await served).toBe(S.CLIENT_FILE_DONE);
}

describe.each<Mode>(MODES)('file transfer and image store (%s mode)', (mode) => {
  let d: Deployment;
  let f: Fixture;
  let files: Files;
  // Cluster mode: sender on one msg_server, receiver on the other.
  const other = () => (d.msgServers.length > 1 ? 1 : 0);

  beforeAll(async () => {
    d = await startDeployment(mode, { msgServers: mode === 'cluster' ? 2 : 1 });
    f = new Fixture(d, `file_${mode}_`);
    files = new Files();
  }, 90_000);

  afterAll(async () => {
    files?.closeAll();
    f?.closeAll();
    await d?.stop();
  });

  afterEach(() => expect([...f.decodeErrors(), ...files.decodeErrors()]).toEqual([]));

  const loginPair = async (): Promise<[TestUser, TestUser, TeamTalkClient, TeamTalkClient]> => {
    const [a, b] = await f.newUsers(2);
    const pair: [TestUser, TestUser, TeamTalkClient, TeamTalkClient] = [a!, b!, await f.login(a!, 0), await f.login(b!, other())];
    // Whether a transfer is online depends on the receiver being online as the
    // sender's msg_server sees it: wait until presence has travelled there.
    await waitUntil(async () => {
      const rsp = await pair[2].request<IM.Buddy.IMUsersStatRsp>(IM.BaseDefine.BuddyListCmdID.CID_BUDDY_LIST_USERS_STATUS_REQUEST, IM.Buddy.IMUsersStatReq, { userId: a!.id, userIdList: [b!.id] });
      return rsp.userStatList[0]?.status === IM.BaseDefine.UserStatType.USER_STATUS_ONLINE;
    }, 5000, 'the receiver to be online as the sender’s msg_server sees it');
    return pair;
  };

  it('online transfer of 3 MB between users on different msg_servers: relayed by file_server, sha256 verified, DONE reaches the sender', async () => {
    const [a, b, ca, cb] = await loginPair();
    const data = randomBytes(3 * 1024 * 1024 + 123);
    const { rsp, notify } = await askTransfer(ca, cb, b.id, data.length, T.FILE_TYPE_ONLINE, 'big.bin');
    expect(rsp).toMatchObject({ resultCode: 0, fromUserId: a.id, toUserId: b.id, fileName: 'big.bin', transMode: T.FILE_TYPE_ONLINE });
    expect(rsp.taskId).toMatch(/^[0-9a-f-]{36}$/);
    expect(rsp.ipAddrList.length).toBeGreaterThan(0);
    expect(notify).toMatchObject({ fromUserId: a.id, toUserId: b.id, fileName: 'big.bin', fileSize: data.length, taskId: rsp.taskId, transMode: T.FILE_TYPE_ONLINE, offlineReady: 0 });
    expect(notify!.ipAddrList).toEqual(rsp.ipAddrList);

    const sender = await files.connect(rsp.ipAddrList[0]!);
    const serving = sender.serve(data, rsp.taskId, a.id, { timeoutMs: 45_000 });
    expect((await sender.login(a.id, rsp.taskId, R.CLIENT_REALTIME_SENDER)).resultCode).toBe(0);
    const receiver = await files.connect(notify!.ipAddrList[0]!);
    expect((await receiver.login(b.id, notify!.taskId, R.CLIENT_REALTIME_RECVER)).resultCode).toBe(0);
    expect(await receiver.waitState((s) => s.state === S.CLIENT_FILE_PEER_READY)).toMatchObject({ taskId: rsp.taskId, userId: a.id });

    const started = Date.now();
    const got = await receiver.pull({ taskId: rsp.taskId, userId: b.id, transMode: T.FILE_TYPE_ONLINE, fileSize: data.length, chunkBytes: CHUNK, window: 4, timeoutMs: 15_000 });
    expect(sha256(got)).toBe(sha256(data));
    expect(Date.now() - started).toBeLessThan(30_000);
    receiver.sendState(S.CLIENT_FILE_DONE, rsp.taskId, b.id);
    expect(await serving).toBe(S.CLIENT_FILE_DONE);
  });

  it('offline transfer: an online request to an offline user becomes offline; upload, IMFileAddOfflineReq, IMFileHasOfflineReq, download (sha256), IMFileDelOfflineReq', async () => {
    const [a, b] = await f.newUsers(2);
    const ca = await f.login(a!, 0);
    const data = randomBytes(3 * 1024 * 1024);
    const { rsp } = await askTransfer(ca, undefined, b!.id, data.length, T.FILE_TYPE_ONLINE, 'report.pdf');
    expect(rsp).toMatchObject({ resultCode: 0, transMode: T.FILE_TYPE_OFFLINE });
    await uploadOffline(files, rsp, a!.id, data);
    addOfflineFile(ca, b!.id, rsp.taskId, 'report.pdf', data.length);

    // The receiver comes online later, on the other msg_server.
    const cb = await f.login(b!, other());
    await waitUntil(async () => (await queryOfflineFiles(cb)).offlineFileList.length > 0, 5000, 'the offline file to be listed');
    const offline = await queryOfflineFiles(cb);
    expect(offline.userId).toBe(b!.id);
    expect(offline.offlineFileList).toEqual([expect.objectContaining({ fromUserId: a!.id, taskId: rsp.taskId, fileName: 'report.pdf', fileSize: data.length })]);
    expect(offline.ipAddrList.length).toBeGreaterThan(0);

    const down = await files.connect(offline.ipAddrList[0]!);
    expect((await down.login(b!.id, rsp.taskId, R.CLIENT_OFFLINE_DOWNLOAD)).resultCode).toBe(0);
    const got = await down.pull({ taskId: rsp.taskId, userId: b!.id, transMode: T.FILE_TYPE_OFFLINE, fileSize: data.length, chunkBytes: CHUNK, timeoutMs: 15_000 });
    expect(sha256(got)).toBe(sha256(data));
    expect(await down.waitState((s) => s.state === S.CLIENT_FILE_DONE)).toMatchObject({ taskId: rsp.taskId, userId: b!.id });

    deleteOfflineFile(cb, a!.id, b!.id, rsp.taskId);
    await waitUntil(async () => (await queryOfflineFiles(cb)).offlineFileList.length === 0, 5000, 'the offline record to go');
    // The bytes are gone from the file_server too.
    await waitUntil(async () => {
      const again = await files.connect(offline.ipAddrList[0]!);
      const res = await again.login(b!.id, rsp.taskId, R.CLIENT_OFFLINE_DOWNLOAD);
      return res.resultCode === E.FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN;
    }, 5000, 'the offline file to be deleted');
  });

  it('offline: a receiver who is online hears offline_ready; resume from an offset (download) and after a broken link (upload)', async () => {
    const [a, b, ca, cb] = await loginPair();
    const data = randomBytes(1024 * 1024 + 7);
    const { rsp, notify } = await askTransfer(ca, cb, b.id, data.length, T.FILE_TYPE_OFFLINE);
    expect(notify).toMatchObject({ taskId: rsp.taskId, transMode: T.FILE_TYPE_OFFLINE, offlineReady: 0 });

    // First link: answers 5 chunks, then dies.
    const up1 = await files.connect(rsp.ipAddrList[0]!);
    const first = up1.serve(data, rsp.taskId, a.id, { stopAfterBytes: 5 * CHUNK });
    expect((await up1.login(a.id, rsp.taskId, R.CLIENT_OFFLINE_UPLOAD)).resultCode).toBe(0);
    await waitUntil(() => up1.client.received.filter((p) => p.commandId === FileCmdID.CID_FILE_PULL_DATA_REQ).length >= 6, 5000, 'the sixth pull');
    up1.close();
    expect(await first).toBeUndefined();
    // Second link: the server asks from where it stopped.
    const up2 = await files.connect(rsp.ipAddrList[0]!);
    const second = up2.serve(data, rsp.taskId, a.id);
    expect((await up2.login(a.id, rsp.taskId, R.CLIENT_OFFLINE_UPLOAD)).resultCode).toBe(0);
    expect(await second).toBe(S.CLIENT_FILE_DONE);
    const firstPull = up2.client.received.find((p) => p.commandId === FileCmdID.CID_FILE_PULL_DATA_REQ)!.message as IM.File.IMFilePullDataReq;
    expect(firstPull.offset).toBe(5 * CHUNK);

    const ready = cb.waitFor<IM.File.IMFileNotify>(FileCmdID.CID_FILE_NOTIFY, (n) => n.taskId === rsp.taskId && n.offlineReady === 1, 10_000);
    addOfflineFile(ca, b.id, rsp.taskId, 'data.bin', data.length);
    const told = await ready;
    expect(told).toMatchObject({ fromUserId: a.id, toUserId: b.id, fileSize: data.length, transMode: T.FILE_TYPE_OFFLINE });

    // The receiver had the first 300000 bytes already: it pulls the rest only.
    const down = await files.connect(told.ipAddrList[0]!);
    expect((await down.login(b.id, rsp.taskId, R.CLIENT_OFFLINE_DOWNLOAD)).resultCode).toBe(0);
    const rest = await down.pull({ taskId: rsp.taskId, userId: b.id, transMode: T.FILE_TYPE_OFFLINE, fileSize: data.length, chunkBytes: CHUNK, offset: 300_000 });
    expect(sha256(rest)).toBe(sha256(data.subarray(300_000)));
  });

  it('cancel and refuse reach the other side, also one that connects later', async () => {
    const [a, b, ca, cb] = await loginPair();
    // The receiver refuses.
    const one = await askTransfer(ca, cb, b.id, 1000, T.FILE_TYPE_ONLINE);
    const s1 = await files.connect(one.rsp.ipAddrList[0]!);
    const serving = s1.serve(randomBytes(1000), one.rsp.taskId, a.id);
    expect((await s1.login(a.id, one.rsp.taskId, R.CLIENT_REALTIME_SENDER)).resultCode).toBe(0);
    const r1 = await files.connect(one.notify!.ipAddrList[0]!);
    expect((await r1.login(b.id, one.rsp.taskId, R.CLIENT_REALTIME_RECVER)).resultCode).toBe(0);
    r1.sendState(S.CLIENT_FILE_REFUSE, one.rsp.taskId, b.id);
    expect(await serving).toBe(S.CLIENT_FILE_REFUSE);

    // The sender cancels before the receiver connects: the receiver hears it at login.
    const two = await askTransfer(ca, cb, b.id, 1000, T.FILE_TYPE_ONLINE);
    const s2 = await files.connect(two.rsp.ipAddrList[0]!);
    expect((await s2.login(a.id, two.rsp.taskId, R.CLIENT_REALTIME_SENDER)).resultCode).toBe(0);
    s2.sendState(S.CLIENT_FILE_CANCEL, two.rsp.taskId, a.id);
    await s2.waitForClose(5000);
    const r2 = await files.connect(two.notify!.ipAddrList[0]!);
    expect((await r2.login(b.id, two.rsp.taskId, R.CLIENT_REALTIME_RECVER)).resultCode).toBe(0);
    expect(await r2.waitState((s) => s.state !== S.CLIENT_FILE_PEER_READY)).toMatchObject({ state: S.CLIENT_FILE_CANCEL, userId: a.id });

    // A receiver that goes away cancels the transfer for the sender.
    const three = await askTransfer(ca, cb, b.id, 1000, T.FILE_TYPE_ONLINE);
    const s3 = await files.connect(three.rsp.ipAddrList[0]!);
    const serving3 = s3.serve(randomBytes(1000), three.rsp.taskId, a.id);
    expect((await s3.login(a.id, three.rsp.taskId, R.CLIENT_REALTIME_SENDER)).resultCode).toBe(0);
    const r3 = await files.connect(three.notify!.ipAddrList[0]!);
    expect((await r3.login(b.id, three.rsp.taskId, R.CLIENT_REALTIME_RECVER)).resultCode).toBe(0);
    r3.close();
    expect(await serving3).toBe(S.CLIENT_FILE_CANCEL);
  });

  it('bad input gets the matching FILE_SERVER_ERRNO code, never a crash; a broken frame closes the connection', async () => {
    const [a, b, ca, cb] = await loginPair();
    // Requests msg_server refuses: too big, to oneself.
    expect((await requestFileTransfer(ca, b.id, 'huge.iso', 4_000_000_000, T.FILE_TYPE_OFFLINE)).resultCode).toBe(E.FILE_SERVER_ERRNO_CREATE_TASK_ERROR);
    expect((await requestFileTransfer(ca, a.id, 'me.txt', 10, T.FILE_TYPE_ONLINE)).resultCode).toBe(E.FILE_SERVER_ERRNO_CREATE_TASK_ERROR);

    const { rsp } = await askTransfer(ca, cb, b.id, 200_000, T.FILE_TYPE_ONLINE);
    const addr = rsp.ipAddrList[0]!;
    const code = async (userId: number, taskId: string, role: number) => {
      const c = await files.connect(addr);
      const res = await c.login(userId, taskId, role);
      if (res.resultCode !== 0) await c.waitForClose(5000); // a failed login ends the connection
      return res.resultCode;
    };
    expect(await code(b.id, '00000000-0000-4000-8000-000000000000', R.CLIENT_REALTIME_RECVER)).toBe(E.FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN);
    expect(await code(b.id, '../../etc/passwd', R.CLIENT_OFFLINE_DOWNLOAD)).toBe(E.FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN);
    expect(await code(a.id, rsp.taskId, R.CLIENT_REALTIME_RECVER)).toBe(E.FILE_SERVER_ERRNO_INVALID_USER_FOR_TASK);
    expect(await code(b.id, rsp.taskId, R.CLIENT_REALTIME_SENDER)).toBe(E.FILE_SERVER_ERRNO_INVALID_USER_FOR_TASK);
    expect(await code(a.id, rsp.taskId, R.CLIENT_OFFLINE_UPLOAD)).toBe(E.FILE_SERVER_ERRNO_INVALID_USER_FOR_TASK);
    expect(await code(b.id, rsp.taskId, 9)).toBe(E.FILE_SERVER_ERRNO_INVALID_USER_FOR_TASK);

    const sender = await files.connect(addr);
    void sender.serve(randomBytes(200_000), rsp.taskId, a.id).catch(() => undefined);
    expect((await sender.login(a.id, rsp.taskId, R.CLIENT_REALTIME_SENDER)).resultCode).toBe(0);
    const receiver = await files.connect(addr);
    expect((await receiver.login(b.id, rsp.taskId, R.CLIENT_REALTIME_RECVER)).resultCode).toBe(0);
    const pull = (taskId: string, userId: number, offset: number, size: number) => receiver.pullOnce(taskId, userId, T.FILE_TYPE_ONLINE, offset, size).then((r) => r.resultCode);
    expect(await pull('11111111-1111-4111-8111-111111111111', b.id, 0, 100)).toBe(E.FILE_SERVER_ERRNO_PULL_DATA_WITH_INVALID_TASK_ID);
    expect(await pull(rsp.taskId, a.id, 0, 100)).toBe(E.FILE_SERVER_ERRNO_PULL_DATA_ILLIEAGE_USER);
    expect(await pull(rsp.taskId, b.id, 0, CHUNK + 1)).toBe(E.FILE_SERVER_ERRNO_PULL_DATA_ALLOC_MEM_ERROR);
    expect(await pull(rsp.taskId, b.id, 200_001, 100)).toBe(E.FILE_SERVER_ERRNO_PULL_DATA_SEEK_OFFSET_ERROR);
    expect(await pull(rsp.taskId, b.id, 200_000, 100)).toBe(E.FILE_SERVER_ERRNO_PULL_DATA_FINISHED);
    // Still works after all that.
    expect(await pull(rsp.taskId, b.id, 199_990, 100)).toBe(0);
    // A body that does not parse is dropped; the connection stays.
    receiver.writeRaw(encodePdu(0x05, FileCmdID.CID_FILE_PULL_DATA_REQ, 77, Buffer.from([0xff, 0xff, 0xff])));
    expect(await pull(rsp.taskId, b.id, 0, 10)).toBe(0);

    // Broken frames: a length under the header, and an absurd length.
    for (const bad of [Buffer.from([0, 0, 0, 5, 0, 1, 0, 0, 0, 5, 5, 1, 0, 1, 0, 0]), Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 1, 0, 0, 0, 5, 5, 1, 0, 1, 0, 0])]) {
      const c = await files.connect(addr);
      c.writeRaw(bad);
      await c.waitForClose(5000);
    }
    // Heartbeats are answered.
    const hb = await files.connect(addr);
    await hb.client.request(IM.BaseDefine.OtherCmdID.CID_OTHER_HEARTBEAT, IM.Other.IMHeartBeat, {});
    expect(await arrivesWithin(cb, FileCmdID.CID_FILE_NOTIFY, 200, (n: IM.File.IMFileNotify) => n.fileName === 'me.txt')).toBe(false);
  });

  it('image store: multipart upload answers path and url; GET with content type, ETag/304 and Range/206; bad uploads refused', async () => {
    const login = await fetchMsgServer(d.loginUrl);
    expect(login.msfsPrior).toMatch(/^http:\/\//);
    expect(login.msfsBackup).toBe(login.msfsPrior);
    const base = login.msfsPrior!.replace(/\/+$/, '');
    const form = new FormData();
    form.append('file', new Blob([PNG], { type: 'application/octet-stream' }), 'avatar_100x100.png');
    const res = await fetch(`${base}/`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as { error_code: number; path: string; url: string };
    expect(answer.error_code).toBe(0);
    expect(answer.path).toMatch(/^i\/[0-9a-f]{2}\/[0-9a-f]{64}\.png$/);
    expect(answer.url).toBe(`${base}/${answer.path}`);

    const get = await fetch(answer.url);
    expect(get.status).toBe(200);
    expect(get.headers.get('content-type')).toBe('image/png');
    const etag = get.headers.get('etag');
    expect(etag).toBe(`"${sha256(PNG)}"`);
    expect(Buffer.from(await get.arrayBuffer()).equals(PNG)).toBe(true);
    const cached = await fetch(answer.url, { headers: { 'If-None-Match': etag! } });
    expect(cached.status).toBe(304);
    const part = await fetch(answer.url, { headers: { Range: 'bytes=8-15' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 8-15/${PNG.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(PNG.subarray(8, 16))).toBe(true);
    expect((await fetch(answer.url, { headers: { Range: `bytes=${PNG.length}-` } })).status).toBe(416);
    expect((await fetch(`${base}/i/00/${'0'.repeat(64)}.png`)).status).toBe(404);
    expect((await fetch(`${base}/../../etc/passwd`)).status).toBe(404);

    // Not an image (whatever it claims), and not multipart.
    const text = new FormData();
    text.append('file', new Blob([Buffer.from('just text, not a picture')], { type: 'image/png' }), 'fake.png');
    const refused = await fetch(`${base}/`, { method: 'POST', body: text });
    expect(refused.status).toBe(415);
    expect(((await refused.json()) as { error_code: number }).error_code).not.toBe(0);
    expect((await fetch(`${base}/`, { method: 'POST', body: 'x', headers: { 'Content-Type': 'text/plain' } })).status).toBe(400);
    expect((await fetch(`${base}/`, { method: 'POST', body: new FormData() })).status).toBe(400);
  });
});

describeLocal.each<Mode>(['standalone', 'cluster'])('file_server limits, expiry and replicas (%s mode)', (mode) => {
  let d: Deployment;
  let f: Fixture;
  let files: Files;

  beforeAll(async () => {
    d = await startDeployment(mode, {
      msgServers: mode === 'cluster' ? 2 : 1,
      fileServers: 2,
      env: {
        FILE_SERVER_TASK_EXPIRY_MS: '1500',
        FILE_SERVER_OFFLINE_EXPIRY_MS: '3000',
        FILE_SERVER_SWEEP_INTERVAL_MS: '200',
        FILE_SERVER_MAX_FILE_BYTES: '300000',
        FILE_SERVER_QUOTA_BYTES: '700000',
        FILE_SERVER_MAX_IMAGE_BYTES: '1000',
        FILE_SERVER_CHUNK_BYTES: '16384',
      },
    });
    f = new Fixture(d, `filex_${mode}_`);
    files = new Files();
  }, 90_000);

  afterAll(async () => {
    files?.closeAll();
    f?.closeAll();
    await d?.stop();
  });

  afterEach(() => expect([...f.decodeErrors(), ...files.decodeErrors()]).toEqual([]));

  it('size and quota limits refuse tasks; an image over the limit gets 413', async () => {
    const [a, b] = await f.newUsers(2);
    const ca = await f.login(a!);
    expect((await requestFileTransfer(ca, b!.id, 'big', 300_001, T.FILE_TYPE_ONLINE)).resultCode).toBe(E.FILE_SERVER_ERRNO_CREATE_TASK_ERROR);
    // Offline tasks reserve their size: three of 300000 bytes do not fit in 700000 (per file_server).
    const codes: number[] = [];
    for (let i = 0; i < (mode === 'cluster' ? 6 : 3); i++) codes.push((await requestFileTransfer(ca, b!.id, `q${i}`, 300_000, T.FILE_TYPE_OFFLINE)).resultCode);
    expect(codes.filter((c) => c === 0).length).toBe(mode === 'cluster' ? 4 : 2);
    expect(codes.filter((c) => c !== 0).every((c) => c === E.FILE_SERVER_ERRNO_CREATE_TASK_ERROR || c === 1)).toBe(true);

    const base = (await fetchMsgServer(d.loginUrl)).msfsPrior!.replace(/\/+$/, '');
    const form = new FormData();
    form.append('file', new Blob([Buffer.concat([PNG, randomBytes(2000)])]), 'big.png');
    expect((await fetch(`${base}/`, { method: 'POST', body: form })).status).toBe(413);
    // The reservations go when the tasks expire.
    await new Promise((r) => setTimeout(r, 2000));
    expect((await requestFileTransfer(ca, b!.id, 'again', 300_000, T.FILE_TYPE_OFFLINE)).resultCode).toBe(0);
  });

  it('expired tasks and offline files are removed: login refused, no longer listed, gone from disk', async () => {
    const [a, b] = await f.newUsers(2);
    const ca = await f.login(a!);
    const online = await requestFileTransfer(ca, b!.id, 'late.txt', 100, T.FILE_TYPE_OFFLINE);
    const data = randomBytes(50_000);
    const offline = await requestFileTransfer(ca, b!.id, 'soon-gone.bin', data.length, T.FILE_TYPE_OFFLINE);
    await uploadOffline(files, offline, a!.id, data);
    addOfflineFile(ca, b!.id, offline.taskId, 'soon-gone.bin', data.length);
    const cb = await f.login(b!);
    await waitUntil(async () => (await queryOfflineFiles(cb)).offlineFileList.length === 1, 5000, 'the offline file to be listed');
    const stored = d.fileServers.map((s) => s.dataDir!).find((dir) => fs.existsSync(path.join(dir, 'offline', offline.taskId.slice(0, 2), `${offline.taskId}.bin`)));
    expect(stored).toBeDefined();

    await new Promise((r) => setTimeout(r, 1800));
    const late = await files.connect(online.ipAddrList[0]!);
    expect((await late.login(a!.id, online.taskId, R.CLIENT_OFFLINE_UPLOAD)).resultCode).toBe(E.FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN);

    await waitUntil(() => !fs.existsSync(path.join(stored!, 'offline', offline.taskId.slice(0, 2), `${offline.taskId}.bin`)), 5000, 'the expired file to be removed');
    expect((await queryOfflineFiles(cb)).offlineFileList).toEqual([]);
    const down = await files.connect(offline.ipAddrList[0]!);
    expect((await down.login(b!.id, offline.taskId, R.CLIENT_OFFLINE_DOWNLOAD)).resultCode).toBe(E.FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN);
  });

  it('with two file_servers, tasks spread over both and an offline file can be downloaded through either', async () => {
    if (mode === 'standalone') return; // one embedded file_server
    const [a, b] = await f.newUsers(2);
    const ca = await f.login(a!, 0);
    const ports = new Set<number>();
    for (let i = 0; i < 8 && ports.size < 2; i++) {
      const r = await requestFileTransfer(ca, b!.id, 'spread', 10, T.FILE_TYPE_ONLINE);
      ports.add(r.ipAddrList[0]!.port!);
    }
    expect(ports.size).toBe(2);

    const data = randomBytes(100_000);
    const rsp = await requestFileTransfer(ca, b!.id, 'either.bin', data.length, T.FILE_TYPE_OFFLINE);
    await uploadOffline(files, rsp, a!.id, data);
    const elsewhere = d.fileServers.find((s) => s.port !== rsp.ipAddrList[0]!.port)!;
    const down = await files.connect({ ip: elsewhere.host, port: elsewhere.port });
    expect((await down.login(b!.id, rsp.taskId, R.CLIENT_OFFLINE_DOWNLOAD)).resultCode).toBe(0);
    const got = await down.pull({ taskId: rsp.taskId, userId: b!.id, transMode: T.FILE_TYPE_OFFLINE, fileSize: data.length, chunkBytes: 16384 });
    expect(sha256(got)).toBe(sha256(data));
  });
});
