// TeamTalk file transfer from the client's side: asking msg_server for a
// transfer and for offline files, and talking to file_server (login with a
// task id and role, answering its pulls as a sender or uploader, pulling as a
// receiver or downloader).
import { IM } from '@tt/proto';
import { TeamTalkClient, type ReceivedPdu } from './teamtalk-client';
import type { ClientTls } from './stream';

const { FileCmdID, ClientFileState, TransferFileType } = IM.BaseDefine;

export interface FileServerAddress {
  ip: string;
  port: number;
}

/** IMFileReq: msg_server creates a task on a file_server and answers with its id and addresses. */
export function requestFileTransfer(client: TeamTalkClient, toUserId: number, fileName: string, fileSize: number, transMode: number = TransferFileType.FILE_TYPE_ONLINE): Promise<IM.File.IMFileRsp> {
  return client.request(FileCmdID.CID_FILE_REQUEST, IM.File.IMFileReq, { fromUserId: client.userId, toUserId, fileName, fileSize, transMode });
}

/** IMFileHasOfflineReq: the offline files waiting for this user, and where to fetch them. */
export function queryOfflineFiles(client: TeamTalkClient): Promise<IM.File.IMFileHasOfflineRsp> {
  return client.request(FileCmdID.CID_FILE_HAS_OFFLINE_REQ, IM.File.IMFileHasOfflineReq, { userId: client.userId });
}

/** IMFileAddOfflineReq (no answer): the upload is complete, tell the receiver. */
export function addOfflineFile(client: TeamTalkClient, toUserId: number, taskId: string, fileName: string, fileSize: number): void {
  client.send(FileCmdID.CID_FILE_ADD_OFFLINE_REQ, IM.File.IMFileAddOfflineReq, { fromUserId: client.userId, toUserId, taskId, fileName, fileSize });
}

/** IMFileDelOfflineReq (no answer): the file was fetched (or is not wanted). */
export function deleteOfflineFile(client: TeamTalkClient, fromUserId: number, toUserId: number, taskId: string): void {
  client.send(FileCmdID.CID_FILE_DEL_OFFLINE_REQ, IM.File.IMFileDelOfflineReq, { fromUserId, toUserId, taskId });
}

export interface PullOptions {
  taskId: string;
  userId: number;
  transMode: number;
  fileSize: number;
  chunkBytes: number;
  /** Start here (resume); default 0. */
  offset?: number;
  /** Pulls in flight at once (default 4). */
  window?: number;
  timeoutMs?: number;
}

/** One connection to a file_server, for one task. */
export class FileServerConnection {
  /** Every IMFileState received, in order (waitState looks here first). */
  readonly states: IM.File.IMFileState[] = [];

  private constructor(readonly client: TeamTalkClient) {
    client.on('pdu', (pdu: ReceivedPdu) => {
      if (pdu.commandId === FileCmdID.CID_FILE_STATE && pdu.message) this.states.push(pdu.message as IM.File.IMFileState);
    });
  }

  /** opts.tls: over TLS (addr.port then is the file_server's FILE_SERVER_TLS_PORT). */
  static async connect(addr: FileServerAddress, opts: { requestTimeoutMs?: number; tls?: ClientTls } = {}): Promise<FileServerConnection> {
    return new FileServerConnection(await TeamTalkClient.connect({ host: addr.ip, port: addr.port, requestTimeoutMs: opts.requestTimeoutMs ?? 10_000, autoAckDeliveries: false, tls: opts.tls }));
  }

  get closed(): boolean {
    return this.client.closed;
  }

  login(userId: number, taskId: string, fileRole: number): Promise<IM.File.IMFileLoginRsp> {
    return this.client.request(FileCmdID.CID_FILE_LOGIN_REQ, IM.File.IMFileLoginReq, { userId, taskId, fileRole });
  }

  sendState(state: number, taskId: string, userId: number): void {
    this.client.send(FileCmdID.CID_FILE_STATE, IM.File.IMFileState, { state, taskId, userId });
  }

  /** Waits for an IMFileState (any, or one passing the predicate). */
  async waitState(predicate: (s: IM.File.IMFileState) => boolean = () => true, timeoutMs?: number): Promise<IM.File.IMFileState> {
    const seen = this.states.find(predicate);
    if (seen) return seen;
    return this.client.waitFor<IM.File.IMFileState>(FileCmdID.CID_FILE_STATE, predicate, timeoutMs);
  }

  pullOnce(taskId: string, userId: number, transMode: number, offset: number, dataSize: number, timeoutMs?: number): Promise<IM.File.IMFilePullDataRsp> {
    return this.client.request(FileCmdID.CID_FILE_PULL_DATA_REQ, IM.File.IMFilePullDataReq, { taskId, userId, transMode, offset, dataSize }, timeoutMs);
  }

  /** Pulls the file from `offset` to its end (a window of pulls in flight); rejects on a non-zero result. */
  async pull(opts: PullOptions): Promise<Buffer> {
    const start = opts.offset ?? 0;
    const out = Buffer.alloc(opts.fileSize - start);
    let next = start;
    const worker = async () => {
      while (next < opts.fileSize) {
        const offset = next;
        const size = Math.min(opts.chunkBytes, opts.fileSize - offset);
        next += size;
        const rsp = await this.pullOnce(opts.taskId, opts.userId, opts.transMode, offset, size, opts.timeoutMs);
        if (rsp.resultCode !== 0) throw new Error(`pull at ${offset} answered ${rsp.resultCode}`);
        if (rsp.offset !== offset || rsp.fileData.length !== size) throw new Error(`pull at ${offset}: got ${rsp.fileData.length} bytes at ${rsp.offset}`);
        Buffer.from(rsp.fileData).copy(out, offset - start);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, opts.window ?? 4) }, worker));
    return out;
  }

  /**
   * Sender / uploader: answers the server's pulls from `data` until an
   * IMFileState ends the task (its state is returned) or the connection closes
   * (undefined). `stopAfterBytes` answers no more pulls after that many bytes
   * (to test an interrupted upload). Call it before login: the server may
   * pull right after answering the login.
   */
  serve(data: Buffer, taskId: string, userId: number, opts: { stopAfterBytes?: number; timeoutMs?: number } = {}): Promise<number | undefined> {
    let served = 0;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`transfer of ${taskId} not finished within ${opts.timeoutMs ?? 60_000} ms (${served} bytes served)`));
      }, opts.timeoutMs ?? 60_000);
      const onPdu = (pdu: ReceivedPdu) => {
        if (pdu.commandId === FileCmdID.CID_FILE_PULL_DATA_REQ && pdu.message) {
          const req = pdu.message as IM.File.IMFilePullDataReq;
          if (opts.stopAfterBytes !== undefined && served >= opts.stopAfterBytes) return;
          const chunk = data.subarray(req.offset, req.offset + req.dataSize);
          served += chunk.length;
          this.client.send(FileCmdID.CID_FILE_PULL_DATA_RSP, IM.File.IMFilePullDataRsp, { resultCode: 0, taskId, userId, offset: req.offset, fileData: chunk }, pdu.seqNum);
        } else if (pdu.commandId === FileCmdID.CID_FILE_STATE && pdu.message) {
          const s = pdu.message as IM.File.IMFileState;
          if (s.state === ClientFileState.CLIENT_FILE_PEER_READY) return;
          cleanup();
          resolve(s.state);
        }
      };
      const onClose = () => {
        cleanup();
        resolve(undefined);
      };
      const cleanup = () => {
        clearTimeout(timer);
        this.client.off('pdu', onPdu);
        this.client.off('close', onClose);
      };
      this.client.on('pdu', onPdu);
      this.client.on('close', onClose);
      if (this.client.closed) onClose();
    });
  }

  writeRaw(bytes: Uint8Array): void {
    this.client.writeRaw(bytes);
  }

  waitForClose(timeoutMs?: number): Promise<void> {
    return this.client.waitForClose(timeoutMs);
  }

  close(): void {
    this.client.close();
  }
}
