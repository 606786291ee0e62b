import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { IM } from '@tt/proto';
import { createLogger } from '@tt/observability';
import { OfflineStore } from './offline-store';
import { DiskQuota } from './quota';
import { TransferService, type EncodableType, type FilePeer, type TransferLimits } from './transfer';

const { FileCmdID, TransferFileType: T, ClientFileRole: R, ClientFileState: S, FileServerError: E } = IM.BaseDefine;

/** A connection that records what the server sends. */
class FakePeer implements FilePeer {
  static next = 1;
  readonly id = FakePeer.next++;
  readonly sent: Array<{ commandId: number; seq: number; msg: any }> = [];
  ended = false;

  send(commandId: number, type: EncodableType, message: object, seqNum = 0): void {
    this.sendBody(commandId, type.encode(message).finish(), seqNum);
  }

  sendBody(commandId: number, body: Uint8Array, seqNum: number): void {
    const decoder: Record<number, { decode(b: Uint8Array): unknown }> = {
      [FileCmdID.CID_FILE_LOGIN_RES]: IM.File.IMFileLoginRsp,
      [FileCmdID.CID_FILE_STATE]: IM.File.IMFileState,
      [FileCmdID.CID_FILE_PULL_DATA_REQ]: IM.File.IMFilePullDataReq,
      [FileCmdID.CID_FILE_PULL_DATA_RSP]: IM.File.IMFilePullDataRsp,
    };
    this.sent.push({ commandId, seq: seqNum, msg: decoder[commandId]!.decode(body) });
  }

  end(): void {
    this.ended = true;
  }

  last(commandId: number): any {
    return [...this.sent].reverse().find((s) => s.commandId === commandId)?.msg;
  }

  all(commandId: number): any[] {
    return this.sent.filter((s) => s.commandId === commandId).map((s) => s.msg);
  }
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('TransferService', () => {
  let dir: string;
  let clock: number;
  let store: OfflineStore;
  let quota: DiskQuota;
  let svc: TransferService;
  const limits: TransferLimits = { maxFileBytes: 1_000_000, chunkBytes: 1000, taskExpiryMs: 10_000, offlineExpiryMs: 60_000, maxTasks: 100, maxPendingPulls: 4 };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tt-fs-unit-'));
    clock = 1_700_000_000_000;
    store = new OfflineStore(dir);
    await store.init();
    quota = new DiskQuota(50_000);
    svc = new TransferService({ serverId: 'fs-test', store, quota, limits, log: createLogger('test', { level: 'silent' }), now: () => clock });
  });

  afterEach(async () => {
    await svc.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const create = (mode: number, size: number, from = 1, to = 2) => svc.createTask({ fromUserId: from, toUserId: to, fileName: 'f.bin', fileSize: size, transMode: mode });
  const login = (peer: FakePeer, userId: number, taskId: string, fileRole: number) => svc.login(peer, IM.File.IMFileLoginReq.create({ userId, taskId, fileRole }), 7);
  const pull = (peer: FakePeer, taskId: string, userId: number, offset: number, dataSize: number, seq = 9, mode: number = T.FILE_TYPE_OFFLINE) =>
    svc.pullReq(peer, IM.File.IMFilePullDataReq.create({ taskId, userId, transMode: mode, offset, dataSize }), seq);
  const rspFrom = (peer: FakePeer, taskId: string, userId: number, offset: number, data: Buffer) => {
    const msg = { resultCode: 0, taskId, userId, offset, fileData: data };
    const body = IM.File.IMFilePullDataRsp.encode(msg).finish();
    return svc.pullRsp(peer, IM.File.IMFilePullDataRsp.decode(body), body);
  };

  /** Plays the uploader: answers every pull the server sends until it stops asking. */
  async function upload(peer: FakePeer, taskId: string, data: Buffer, stopAt = Infinity) {
    let answered = 0;
    for (;;) {
      const reqs = peer.all(FileCmdID.CID_FILE_PULL_DATA_REQ);
      if (reqs.length <= answered || answered >= stopAt) return;
      const req = reqs[answered++];
      await rspFrom(peer, taskId, 1, req.offset, data.subarray(req.offset, req.offset + req.dataSize));
    }
  }

  test('task creation checks size, users, mode and quota', () => {
    expect(create(T.FILE_TYPE_ONLINE, 10)).toMatchObject({ resultCode: 0, taskId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(create(T.FILE_TYPE_ONLINE, 0).resultCode).toBe(E.FILE_SERVER_ERRNO_CREATE_TASK_ERROR);
    expect(create(T.FILE_TYPE_ONLINE, limits.maxFileBytes + 1).resultCode).toBe(E.FILE_SERVER_ERRNO_CREATE_TASK_ERROR);
    expect(create(T.FILE_TYPE_ONLINE, 10, 3, 3).resultCode).toBe(E.FILE_SERVER_ERRNO_CREATE_TASK_ERROR);
    expect(create(9, 10).resultCode).toBe(E.FILE_SERVER_ERRNO_CREATE_TASK_ERROR);
    expect(create(T.FILE_TYPE_OFFLINE, 40_000).resultCode).toBe(0);
    // 40 000 of the 50 000 bytes are promised to that upload.
    expect(create(T.FILE_TYPE_OFFLINE, 20_000).resultCode).toBe(E.FILE_SERVER_ERRNO_CREATE_TASK_ERROR);
    expect(quota.reservedBytes).toBe(40_000);
  });

  test('online: both sides log in, the receiver hears PEER_READY, pulls are relayed both ways, DONE reaches the sender', async () => {
    const { taskId } = create(T.FILE_TYPE_ONLINE, 2500);
    const sender = new FakePeer();
    const receiver = new FakePeer();
    await login(sender, 1, taskId!, R.CLIENT_REALTIME_SENDER);
    expect(sender.last(FileCmdID.CID_FILE_LOGIN_RES)).toMatchObject({ resultCode: 0, taskId });
    await login(receiver, 2, taskId!, R.CLIENT_REALTIME_RECVER);
    expect(receiver.last(FileCmdID.CID_FILE_STATE)).toMatchObject({ state: S.CLIENT_FILE_PEER_READY, taskId, userId: 1 });

    const data = randomBytes(2500);
    await pull(receiver, taskId!, 2, 2000, 1000, 41, T.FILE_TYPE_ONLINE);
    const relayed = sender.last(FileCmdID.CID_FILE_PULL_DATA_REQ);
    expect(relayed).toMatchObject({ taskId, userId: 2, offset: 2000, dataSize: 500 }); // clipped at the end
    await rspFrom(sender, taskId!, 1, 2000, data.subarray(2000));
    const got = receiver.sent.find((s) => s.commandId === FileCmdID.CID_FILE_PULL_DATA_RSP)!;
    expect(got.seq).toBe(41);
    expect(got.msg).toMatchObject({ resultCode: 0, offset: 2000 });
    expect(Buffer.from(got.msg.fileData).equals(data.subarray(2000))).toBe(true);

    // An answer nobody asked for is not forwarded.
    await rspFrom(sender, taskId!, 1, 0, data.subarray(0, 1000));
    expect(receiver.all(FileCmdID.CID_FILE_PULL_DATA_RSP)).toHaveLength(1);

    await svc.state(receiver, IM.File.IMFileState.create({ state: S.CLIENT_FILE_DONE, taskId: taskId!, userId: 2 }));
    expect(sender.last(FileCmdID.CID_FILE_STATE)).toMatchObject({ state: S.CLIENT_FILE_DONE, userId: 2 });
    expect(receiver.ended).toBe(true);
    await svc.closed(receiver);
    await svc.closed(sender);
    expect(svc.activeTasks).toBe(0);
  });

  test('online: a cancel before the other side connects reaches it when it logs in; a dropped side cancels the other', async () => {
    const a = create(T.FILE_TYPE_ONLINE, 100).taskId!;
    const sender = new FakePeer();
    await login(sender, 1, a, R.CLIENT_REALTIME_SENDER);
    await svc.state(sender, IM.File.IMFileState.create({ state: S.CLIENT_FILE_CANCEL, taskId: a, userId: 1 }));
    const late = new FakePeer();
    await login(late, 2, a, R.CLIENT_REALTIME_RECVER);
    expect(late.last(FileCmdID.CID_FILE_LOGIN_RES).resultCode).toBe(0);
    expect(late.last(FileCmdID.CID_FILE_STATE)).toMatchObject({ state: S.CLIENT_FILE_CANCEL, userId: 1 });
    expect(late.ended).toBe(true);

    const b = create(T.FILE_TYPE_ONLINE, 100).taskId!;
    const s2 = new FakePeer();
    const r2 = new FakePeer();
    await login(s2, 1, b, R.CLIENT_REALTIME_SENDER);
    await login(r2, 2, b, R.CLIENT_REALTIME_RECVER);
    await svc.closed(s2);
    expect(r2.last(FileCmdID.CID_FILE_STATE)).toMatchObject({ state: S.CLIENT_FILE_CANCEL, userId: 1 });
  });

  test('bad logins and pulls get their FILE_SERVER_ERRNO code', async () => {
    const { taskId } = create(T.FILE_TYPE_ONLINE, 5000);
    const p = new FakePeer();
    await login(p, 1, 'no-such-task-0000', R.CLIENT_REALTIME_SENDER);
    expect(p.last(FileCmdID.CID_FILE_LOGIN_RES).resultCode).toBe(E.FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN);
    expect(p.ended).toBe(true);
    const wrongUser = new FakePeer();
    await login(wrongUser, 3, taskId!, R.CLIENT_REALTIME_RECVER);
    expect(wrongUser.last(FileCmdID.CID_FILE_LOGIN_RES).resultCode).toBe(E.FILE_SERVER_ERRNO_INVALID_USER_FOR_TASK);
    const wrongRole = new FakePeer();
    await login(wrongRole, 2, taskId!, R.CLIENT_OFFLINE_DOWNLOAD);
    expect(wrongRole.last(FileCmdID.CID_FILE_LOGIN_RES).resultCode).toBe(E.FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN);
    const upAsOnline = new FakePeer();
    await login(upAsOnline, 1, taskId!, R.CLIENT_OFFLINE_UPLOAD);
    expect(upAsOnline.last(FileCmdID.CID_FILE_LOGIN_RES).resultCode).toBe(E.FILE_SERVER_ERRNO_INVALID_USER_FOR_TASK);

    const receiver = new FakePeer();
    const sender = new FakePeer();
    await login(receiver, 2, taskId!, R.CLIENT_REALTIME_RECVER);
    const code = async (t: string, u: number, offset: number, size: number) => {
      await pull(receiver, t, u, offset, size, 5, T.FILE_TYPE_ONLINE);
      return receiver.last(FileCmdID.CID_FILE_PULL_DATA_RSP).resultCode;
    };
    expect(await code(taskId!, 2, 0, 100)).toBe(E.FILE_SERVER_ERRNO_PULL_DATA_OPEN_FILE_ERROR); // sender not there yet
    await login(sender, 1, taskId!, R.CLIENT_REALTIME_SENDER);
    expect(await code('another-task-123', 2, 0, 100)).toBe(E.FILE_SERVER_ERRNO_PULL_DATA_WITH_INVALID_TASK_ID);
    expect(await code(taskId!, 1, 0, 100)).toBe(E.FILE_SERVER_ERRNO_PULL_DATA_ILLIEAGE_USER);
    expect(await code(taskId!, 2, 0, limits.chunkBytes + 1)).toBe(E.FILE_SERVER_ERRNO_PULL_DATA_ALLOC_MEM_ERROR);
    expect(await code(taskId!, 2, 0, 0)).toBe(E.FILE_SERVER_ERRNO_PULL_DATA_ALLOC_MEM_ERROR);
    expect(await code(taskId!, 2, 5000, 100)).toBe(E.FILE_SERVER_ERRNO_PULL_DATA_FINISHED);
    expect(await code(taskId!, 2, 5001, 100)).toBe(E.FILE_SERVER_ERRNO_PULL_DATA_SEEK_OFFSET_ERROR);
    // At most maxPendingPulls relayed and unanswered.
    for (let i = 0; i < 4; i++) await pull(receiver, taskId!, 2, i * 1000, 1000, 20 + i, T.FILE_TYPE_ONLINE);
    expect(await code(taskId!, 2, 4000, 1000)).toBe(E.FILE_SERVER_ERRNO_PULL_DATA_ALLOC_MEM_ERROR);
    // A sender pulling is not allowed.
    await pull(sender, taskId!, 1, 0, 10, 3, T.FILE_TYPE_ONLINE);
    expect(sender.last(FileCmdID.CID_FILE_PULL_DATA_RSP).resultCode).toBe(E.FILE_SERVER_ERRNO_PULL_DATA_ILLIEAGE_USER);
  });

  test('offline: the server pulls the upload chunk by chunk, resumes after a broken link, stores it; downloads from any offset', async () => {
    const data = randomBytes(3500);
    const { taskId } = create(T.FILE_TYPE_OFFLINE, data.length);
    const up1 = new FakePeer();
    await login(up1, 1, taskId!, R.CLIENT_OFFLINE_UPLOAD);
    expect(up1.last(FileCmdID.CID_FILE_PULL_DATA_REQ)).toMatchObject({ offset: 0, dataSize: 1000, transMode: T.FILE_TYPE_OFFLINE });
    await upload(up1, taskId!, data, 2); // two chunks, then the link breaks
    await svc.closed(up1);
    expect(store.exists(taskId!)).toBe(false);

    const up2 = new FakePeer();
    await login(up2, 1, taskId!, R.CLIENT_OFFLINE_UPLOAD);
    expect(up2.all(FileCmdID.CID_FILE_PULL_DATA_REQ)[0]).toMatchObject({ offset: 2000, dataSize: 1000 });
    // A chunk at the wrong offset is refused and the right one asked again.
    await rspFrom(up2, taskId!, 1, 0, data.subarray(0, 1000));
    expect(up2.all(FileCmdID.CID_FILE_PULL_DATA_REQ)).toHaveLength(2);
    await upload(up2, taskId!, data);
    expect(up2.last(FileCmdID.CID_FILE_STATE)).toMatchObject({ state: S.CLIENT_FILE_DONE, taskId, userId: 1 });
    expect(up2.ended).toBe(true);
    expect(sha(fs.readFileSync(store.dataPath(taskId!)))).toBe(sha(data));
    expect(quota.usedBytes).toBe(3500);
    expect(quota.reservedBytes).toBe(0);
    expect(svc.activeTasks).toBe(0);

    const intruder = new FakePeer();
    await login(intruder, 1, taskId!, R.CLIENT_OFFLINE_DOWNLOAD);
    expect(intruder.last(FileCmdID.CID_FILE_LOGIN_RES).resultCode).toBe(E.FILE_SERVER_ERRNO_INVALID_USER_FOR_TASK);

    const down = new FakePeer();
    await login(down, 2, taskId!, R.CLIENT_OFFLINE_DOWNLOAD);
    expect(down.last(FileCmdID.CID_FILE_LOGIN_RES).resultCode).toBe(0);
    await pull(down, taskId!, 2, 2500, 1000);
    const rsp = down.last(FileCmdID.CID_FILE_PULL_DATA_RSP);
    expect(rsp.resultCode).toBe(0);
    expect(Buffer.from(rsp.fileData).equals(data.subarray(2500))).toBe(true);
    expect(down.last(FileCmdID.CID_FILE_STATE)).toMatchObject({ state: S.CLIENT_FILE_DONE });
    expect(await svc.readLocal(taskId!, 3000, 1000)).toMatchObject({ code: 0 });
  });

  test('expiry: unfinished tasks are dropped with their partial bytes, stored files after their lifetime', async () => {
    const data = randomBytes(2000);
    const unfinished = create(T.FILE_TYPE_OFFLINE, 5000).taskId!;
    const up = new FakePeer();
    await login(up, 1, unfinished, R.CLIENT_OFFLINE_UPLOAD);
    await upload(up, unfinished, randomBytes(5000), 1);
    expect(quota.usedBytes).toBe(1000);
    const done = create(T.FILE_TYPE_OFFLINE, 2000).taskId!;
    const up2 = new FakePeer();
    await login(up2, 1, done, R.CLIENT_OFFLINE_UPLOAD);
    await upload(up2, done, data);
    const online = create(T.FILE_TYPE_ONLINE, 10).taskId!;
    const s = new FakePeer();
    await login(s, 1, online, R.CLIENT_REALTIME_SENDER);

    clock += limits.taskExpiryMs + 1;
    expect(await svc.sweep()).toEqual({ tasks: 2, files: 0 });
    expect(up.ended && s.ended).toBe(true);
    expect(s.last(FileCmdID.CID_FILE_STATE)).toMatchObject({ state: S.CLIENT_FILE_CANCEL });
    expect(fs.existsSync(store.partPath(unfinished))).toBe(false);
    expect(quota.usedBytes).toBe(2000);
    expect(quota.reservedBytes).toBe(0);
    const again = new FakePeer();
    await login(again, 1, online, R.CLIENT_REALTIME_SENDER);
    expect(again.last(FileCmdID.CID_FILE_LOGIN_RES).resultCode).toBe(E.FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN);

    clock += limits.offlineExpiryMs;
    expect(await svc.sweep()).toEqual({ tasks: 0, files: 1 });
    expect(store.exists(done)).toBe(false);
    expect(quota.usedBytes).toBe(0);
    const down = new FakePeer();
    await login(down, 2, done, R.CLIENT_OFFLINE_DOWNLOAD);
    expect(down.last(FileCmdID.CID_FILE_LOGIN_RES).resultCode).toBe(E.FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN);
  });

  test('an uploader cancelling drops the task; deleteLocal removes a stored file; downloads can come from a peer', async () => {
    const t = create(T.FILE_TYPE_OFFLINE, 3000).taskId!;
    const up = new FakePeer();
    await login(up, 1, t, R.CLIENT_OFFLINE_UPLOAD);
    await upload(up, t, randomBytes(3000), 1);
    await svc.state(up, IM.File.IMFileState.create({ state: S.CLIENT_FILE_CANCEL, taskId: t, userId: 1 }));
    expect(svc.activeTasks).toBe(0);
    expect(quota.usedBytes + quota.reservedBytes).toBe(0);

    const data = randomBytes(1500);
    const t2 = create(T.FILE_TYPE_OFFLINE, 1500).taskId!;
    const up2 = new FakePeer();
    await login(up2, 1, t2, R.CLIENT_OFFLINE_UPLOAD);
    await upload(up2, t2, data);
    expect(await svc.deleteLocal(t2)).toBe(true);
    expect(await svc.deleteLocal(t2)).toBe(false);

    const remote = new TransferService({
      serverId: 'other',
      store: new OfflineStore(path.join(dir, 'other')),
      quota: new DiskQuota(1000),
      limits,
      log: createLogger('test', { level: 'silent' }),
      findRemote: async (taskId) =>
        taskId === 'held-by-peer-01'
          ? { meta: { taskId, fromUserId: 1, toUserId: 2, fileName: 'x', fileSize: 4, createdAt: 0, expiresAt: Date.now() + 1000, serverId: 'fs-test' }, read: async (o, n) => Buffer.from('abcd').subarray(o, o + n) }
          : undefined,
    });
    const down = new FakePeer();
    await remote.login(down, IM.File.IMFileLoginReq.create({ userId: 2, taskId: 'held-by-peer-01', fileRole: R.CLIENT_OFFLINE_DOWNLOAD }), 1);
    expect(down.last(FileCmdID.CID_FILE_LOGIN_RES).resultCode).toBe(0);
    await remote.pullReq(down, IM.File.IMFilePullDataReq.create({ taskId: 'held-by-peer-01', userId: 2, transMode: T.FILE_TYPE_OFFLINE, offset: 1, dataSize: 10 }), 2);
    expect(Buffer.from(down.last(FileCmdID.CID_FILE_PULL_DATA_RSP).fileData).toString()).toBe('bcd');
  });
});
