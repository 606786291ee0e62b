// The partial file of an upload is opened once and always closed: an fd left
// to the garbage collector makes Node warn "Closing file descriptor N on
// garbage collection" (issue 16: seen after "file task dropped … cancelled by
// the uploader" while two connections of the uploader logged in together).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { IM } from '@tt/proto';
import { createLogger } from '@tt/observability';
import { OfflineStore } from './offline-store';
import { DiskQuota } from './quota';
import { TransferService, type EncodableType, type FilePeer } from './transfer';

const { TransferFileType: T, ClientFileRole: R, ClientFileState: S, FileServerError: E, FileCmdID } = IM.BaseDefine;

/** A connection that keeps the login answers it gets. */
class Peer implements FilePeer {
  static next = 1;
  readonly id = Peer.next++;
  readonly loginCodes: number[] = [];
  ended = false;
  send(commandId: number, type: EncodableType, message: object): void {
    this.sendBody(commandId, type.encode(message).finish());
  }
  sendBody(commandId: number, body: Uint8Array): void {
    if (commandId === FileCmdID.CID_FILE_LOGIN_RES) this.loginCodes.push(IM.File.IMFileLoginRsp.decode(body).resultCode);
  }
  end(): void {
    this.ended = true;
  }
}

/** How many of this process's open file descriptors point at `file`. */
function openDescriptors(file: string): number {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      if (fs.readlinkSync(`/proc/self/fd/${fd}`) === file) n += 1;
    } catch {
      /* closed meanwhile */
    }
  }
  return n;
}

const linux = process.platform === 'linux' ? describe : describe.skip;

linux('upload file handles', () => {
  let dir: string;
  let store: OfflineStore;
  let svc: TransferService;
  let clock = 1_700_000_000_000;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tt-fs-fd-'));
    store = new OfflineStore(dir);
    await store.init();
    const limits = { maxFileBytes: 1_000_000, chunkBytes: 1000, taskExpiryMs: 10_000, offlineExpiryMs: 60_000, maxTasks: 100, maxPendingPulls: 4 };
    svc = new TransferService({ serverId: 'fs-test', store, quota: new DiskQuota(50_000), limits, log: createLogger('test', { level: 'silent' }), now: () => clock });
  });

  afterEach(async () => {
    await svc.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const upload = () => svc.createTask({ fromUserId: 1, toUserId: 2, fileName: 'f.bin', fileSize: 5000, transMode: T.FILE_TYPE_OFFLINE }).taskId!;
  const login = (peer: Peer, taskId: string) => svc.login(peer, IM.File.IMFileLoginReq.create({ userId: 1, taskId, fileRole: R.CLIENT_OFFLINE_UPLOAD }), 7);

  it('two connections of the uploader logging in together share one handle, and cancelling closes it', async () => {
    const taskId = upload();
    const [a, b] = [new Peer(), new Peer()];
    await Promise.all([login(a, taskId), login(b, taskId)]);
    expect([...a.loginCodes, ...b.loginCodes]).toEqual([E.FILE_SERVER_ERRNO_OK, E.FILE_SERVER_ERRNO_OK]);
    expect(openDescriptors(store.partPath(taskId))).toBe(1);

    await svc.state(b, IM.File.IMFileState.create({ state: S.CLIENT_FILE_CANCEL, taskId, userId: 1 }));
    expect(openDescriptors(store.partPath(taskId))).toBe(0);
  });

  it('a task that ends while its file is opening gets the handle closed and the login refused', async () => {
    const taskId = upload();
    const peer = new Peer();
    const loggingIn = login(peer, taskId);
    // The task expires while the login waits for the file.
    clock += 60_000;
    await svc.sweep();
    await loggingIn;
    expect(peer.loginCodes).toEqual([E.FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN]);
    expect(openDescriptors(store.partPath(taskId))).toBe(0);
  });
});
