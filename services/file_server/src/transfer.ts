import { randomUUID } from 'node:crypto';
import type * as fsp from 'node:fs/promises';
import type { EncodableType } from '@tt/connection';
import { IM } from '@tt/proto';
import { clip, type Logger } from '@tt/observability';
import type { DiskQuota } from './quota';
import { TASK_ID_RE, type OfflineMeta, type OfflineStore } from './offline-store';

const { FileCmdID, TransferFileType, ClientFileRole, ClientFileState, FileServerError: E } = IM.BaseDefine;

/** Something that encodes a protobuf message (the generated classes). */
export type { EncodableType } from '@tt/connection';

/** One client connection as the transfer logic sees it. */
export interface FilePeer {
  readonly id: number;
  send(commandId: number, type: EncodableType, message: object, seqNum?: number): void;
  /** Sends an already encoded body under a command id. */
  sendBody(commandId: number, body: Uint8Array, seqNum: number): void;
  /** Sends what is buffered, then closes. */
  end(): void;
}

export interface TransferLimits {
  /** Largest file a task may announce. */
  maxFileBytes: number;
  /** Chunk size: what this server asks uploaders for, and the largest pull it answers. */
  chunkBytes: number;
  /** A task not finished this long after its creation is dropped (with its partial data). */
  taskExpiryMs: number;
  /** A stored offline file is removed this long after its upload completed. */
  offlineExpiryMs: number;
  /** Tasks in progress at once. */
  maxTasks: number;
  /** Pull requests of one online task relayed and not yet answered. */
  maxPendingPulls: number;
}

/** An offline file to download: stored here, or held by a peer file_server. */
export interface OfflineSource {
  meta: OfflineMeta;
  read(offset: number, size: number): Promise<Buffer>;
}

export type RemoteOfflineLookup = (taskId: string) => Promise<OfflineSource | undefined>;

type Role = 'sender' | 'receiver' | 'upload' | 'download';

interface Task {
  id: string;
  mode: number;
  fromUserId: number;
  toUserId: number;
  fileName: string;
  fileSize: number;
  createdAt: number;
  expiresAt: number;
  sender?: FilePeer;
  receiver?: FilePeer;
  /** Online: pulls relayed to the sender, by offset: expected length and the receiver's seq_num. */
  pending: Map<number, { len: number; seq: number }>;
  /** Online: the CANCEL/REFUSE/DONE that ended it, delivered to a side that connects later. */
  final?: { state: number; userId: number };
  /** Online: which sides have logged in at some point. */
  joined: Set<'sender' | 'receiver'>;
  /** Offline upload: bytes stored so far, the open partial file, bytes still reserved in the quota. */
  stored: number;
  file?: fsp.FileHandle;
  /** Set while the partial file is being opened: a second login of the uploader waits for it rather than opening another handle. */
  opening?: Promise<boolean>;
  reserved: number;
  /** Offline upload: a write is in progress (responses are handled one at a time per connection anyway). */
  busy: boolean;
}

interface Session {
  role: Role;
  taskId: string;
  userId: number;
  task?: Task;
  download?: OfflineSource;
}

export interface TransferEvents {
  /** A request answered with this FILE_SERVER_ERRNO_* code (0 = ok). */
  answered?(what: 'create' | 'login' | 'pull', code: number): void;
  /** File bytes moved: relayed, uploaded or downloaded. */
  bytes?(kind: 'relayed' | 'uploaded' | 'downloaded', n: number): void;
}

export interface TransferOptions {
  serverId: string;
  store: OfflineStore;
  quota: DiskQuota;
  limits: TransferLimits;
  log: Logger;
  now?: () => number;
  findRemote?: RemoteOfflineLookup;
  events?: TransferEvents;
}

const isFinalState = (s: number) => s === ClientFileState.CLIENT_FILE_CANCEL || s === ClientFileState.CLIENT_FILE_REFUSE || s === ClientFileState.CLIENT_FILE_DONE;

/**
 * TeamTalk file transfer as file_server runs it, without sockets: tasks
 * created for msg_server, client logins with a task id and role, pulls
 * relayed between the two sides of an online task, offline uploads pulled
 * chunk by chunk into storage, downloads served from it (or from the peer
 * file_server holding the file), final states passed to the other side, and
 * the expiry sweep.
 */
export class TransferService {
  private readonly tasks = new Map<string, Task>();
  private readonly sessions = new Map<FilePeer, Session>();
  private readonly now: () => number;

  constructor(private readonly opts: TransferOptions) {
    this.now = opts.now ?? Date.now;
  }

  get activeTasks(): number {
    return this.tasks.size;
  }

  get limits(): TransferLimits {
    return this.opts.limits;
  }

  // ---- msg_server: task creation -----------------------------------------

  createTask(req: IM.Server.IIMFileTransferReq): IM.Server.IIMFileTransferRsp {
    const { limits, quota } = this.opts;
    const rsp: IM.Server.IIMFileTransferRsp = {
      resultCode: E.FILE_SERVER_ERRNO_CREATE_TASK_ERROR,
      fromUserId: req.fromUserId ?? 0,
      toUserId: req.toUserId ?? 0,
      fileName: req.fileName ?? '',
      fileSize: req.fileSize ?? 0,
      taskId: '',
      transMode: req.transMode ?? TransferFileType.FILE_TYPE_ONLINE,
      attachData: req.attachData,
    };
    const answer = (code: number, why?: string) => {
      rsp.resultCode = code;
      if (why) this.opts.log.info({ from: rsp.fromUserId, to: rsp.toUserId, size: rsp.fileSize, why }, 'file task refused');
      this.opts.events?.answered?.('create', code);
      return rsp;
    };
    const mode = req.transMode;
    if (mode !== TransferFileType.FILE_TYPE_ONLINE && mode !== TransferFileType.FILE_TYPE_OFFLINE) return answer(E.FILE_SERVER_ERRNO_CREATE_TASK_ERROR, 'unknown trans_mode');
    if (!req.fromUserId || !req.toUserId || req.fromUserId === req.toUserId) return answer(E.FILE_SERVER_ERRNO_CREATE_TASK_ERROR, 'bad users');
    const name = req.fileName ?? '';
    if (!name || Buffer.byteLength(name) > 255) return answer(E.FILE_SERVER_ERRNO_CREATE_TASK_ERROR, 'bad file name');
    const size = req.fileSize ?? 0;
    if (size <= 0 || size > limits.maxFileBytes) return answer(E.FILE_SERVER_ERRNO_CREATE_TASK_ERROR, `file size ${size} outside 1..${limits.maxFileBytes}`);
    if (this.tasks.size >= limits.maxTasks) return answer(E.FILE_SERVER_ERRNO_CREATE_TASK_ERROR, 'too many tasks');
    if (mode === TransferFileType.FILE_TYPE_OFFLINE && !quota.reserve(size)) return answer(E.FILE_SERVER_ERRNO_CREATE_TASK_ERROR, 'storage quota exhausted');
    const id = randomUUID();
    if (!TASK_ID_RE.test(id)) return answer(E.FILE_SERVER_ERRNO_CREATE_TASK_ID_ERROR, 'task id');
    const now = this.now();
    this.tasks.set(id, {
      id,
      mode,
      fromUserId: req.fromUserId,
      toUserId: req.toUserId,
      fileName: name,
      fileSize: size,
      createdAt: now,
      expiresAt: now + limits.taskExpiryMs,
      pending: new Map(),
      joined: new Set(),
      stored: 0,
      reserved: mode === TransferFileType.FILE_TYPE_OFFLINE ? size : 0,
      busy: false,
    });
    rsp.taskId = id;
    this.opts.log.info({ taskId: id, mode, from: req.fromUserId, to: req.toUserId, size }, 'file task created');
    return answer(E.FILE_SERVER_ERRNO_OK);
  }

  // ---- client connections --------------------------------------------------

  async login(peer: FilePeer, req: IM.File.IMFileLoginReq, seq: number): Promise<void> {
    const reply = (code: number) => {
      peer.send(FileCmdID.CID_FILE_LOGIN_RES, IM.File.IMFileLoginRsp, { resultCode: code, taskId: req.taskId }, seq);
      this.opts.events?.answered?.('login', code);
    };
    const refuse = (code: number) => {
      reply(code);
      // As the original file_server does: a failed login ends the connection.
      peer.end();
    };
    if (this.sessions.has(peer)) return reply(E.FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN); // one task per connection
    const role = roleOf(req.fileRole);
    if (!role) return refuse(E.FILE_SERVER_ERRNO_INVALID_USER_FOR_TASK);

    if (role === 'download') {
      const source = await this.findOffline(req.taskId);
      if (!source) return refuse(E.FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN);
      if (source.meta.toUserId !== req.userId) return refuse(E.FILE_SERVER_ERRNO_INVALID_USER_FOR_TASK);
      this.sessions.set(peer, { role, taskId: req.taskId, userId: req.userId, download: source });
      return reply(E.FILE_SERVER_ERRNO_OK);
    }

    const task = this.tasks.get(req.taskId);
    const online = role === 'sender' || role === 'receiver';
    if (!task) {
      // An upload already finished: nothing left to pull, say so.
      if (role === 'upload') {
        const meta = await this.opts.store.meta(req.taskId);
        if (meta && meta.fromUserId === req.userId) {
          reply(E.FILE_SERVER_ERRNO_OK);
          peer.send(FileCmdID.CID_FILE_STATE, IM.File.IMFileState, { state: ClientFileState.CLIENT_FILE_DONE, taskId: req.taskId, userId: req.userId });
          return peer.end();
        }
      }
      return refuse(E.FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN);
    }
    if (online !== (task.mode === TransferFileType.FILE_TYPE_ONLINE)) return refuse(E.FILE_SERVER_ERRNO_INVALID_USER_FOR_TASK);
    const expectedUser = role === 'receiver' ? task.toUserId : task.fromUserId;
    if (req.userId !== expectedUser) return refuse(E.FILE_SERVER_ERRNO_INVALID_USER_FOR_TASK);

    if (role === 'upload') {
      // A second connection of the uploader replaces the first (resume after a broken link).
      const previous = task.sender;
      if (previous && previous !== peer) {
        this.sessions.delete(previous);
        previous.end();
      }
      try {
        // The task may have ended while its file was opening (cancelled by another connection, expired).
        if (!(await this.openPart(task))) return refuse(E.FILE_SERVER_ERRNO_LOGIN_INVALID_TOKEN);
      } catch (err) {
        this.opts.log.error({ err, taskId: task.id }, 'cannot open offline file for writing');
        return refuse(E.FILE_SERVER_ERRNO_PULL_DATA_MKDIR_ERROR);
      }
      task.sender = peer;
      this.sessions.set(peer, { role, taskId: task.id, userId: req.userId, task });
      reply(E.FILE_SERVER_ERRNO_OK);
      if (task.stored >= task.fileSize) return void (await this.finishUpload(task, peer));
      this.askUploader(task, peer);
      return;
    }

    // Online: the sender answers pulls, the receiver pulls.
    const slot = role === 'sender' ? 'sender' : 'receiver';
    const previous = task[slot];
    if (previous && previous !== peer) {
      this.sessions.delete(previous);
      previous.end();
    }
    task[slot] = peer;
    task.joined.add(slot);
    this.sessions.set(peer, { role, taskId: task.id, userId: req.userId, task });
    reply(E.FILE_SERVER_ERRNO_OK);
    if (task.final) {
      // The other side already ended the task (cancel, refuse): tell this one.
      peer.send(FileCmdID.CID_FILE_STATE, IM.File.IMFileState, { state: task.final.state, taskId: task.id, userId: task.final.userId });
      peer.end();
      return;
    }
    if (task.sender && task.receiver) {
      // Both sides are here: the receiver may start pulling.
      task.receiver.send(FileCmdID.CID_FILE_STATE, IM.File.IMFileState, { state: ClientFileState.CLIENT_FILE_PEER_READY, taskId: task.id, userId: task.fromUserId });
    }
  }

  async state(peer: FilePeer, msg: IM.File.IMFileState): Promise<void> {
    const session = this.sessions.get(peer);
    if (!session || session.taskId !== msg.taskId || session.userId !== msg.userId) {
      this.opts.log.debug({ peer: peer.id, taskId: clip(msg.taskId, 64) }, 'file state for another task or user ignored');
      return;
    }
    if (!isFinalState(msg.state)) return;
    const task = session.task;
    if (session.role === 'sender' || session.role === 'receiver') {
      if (!task) return;
      task.final ??= { state: msg.state, userId: msg.userId };
      const other = session.role === 'sender' ? task.receiver : task.sender;
      if (other) other.send(FileCmdID.CID_FILE_STATE, IM.File.IMFileState, { state: msg.state, taskId: msg.taskId, userId: msg.userId });
      task.pending.clear();
      this.opts.log.info({ taskId: task.id, state: msg.state, by: msg.userId }, 'online transfer ended');
      // The side that ended it is done with this connection (as in the original).
      peer.end();
      return;
    }
    if (session.role === 'upload' && task && msg.state !== ClientFileState.CLIENT_FILE_DONE) {
      // The uploader gave up: drop what it sent.
      await this.dropTask(task, 'cancelled by the uploader');
    }
    peer.end();
  }

  async pullReq(peer: FilePeer, req: IM.File.IMFilePullDataReq, seq: number): Promise<void> {
    const session = this.sessions.get(peer);
    const answer = (code: number, data: Uint8Array = Buffer.alloc(0)) => {
      peer.send(FileCmdID.CID_FILE_PULL_DATA_RSP, IM.File.IMFilePullDataRsp, { resultCode: code, taskId: req.taskId, userId: req.userId, offset: req.offset, fileData: data }, seq);
      this.opts.events?.answered?.('pull', code);
    };
    if (!session || session.taskId !== req.taskId) return answer(E.FILE_SERVER_ERRNO_PULL_DATA_WITH_INVALID_TASK_ID);
    if (session.userId !== req.userId || (session.role !== 'receiver' && session.role !== 'download')) return answer(E.FILE_SERVER_ERRNO_PULL_DATA_ILLIEAGE_USER);
    if (req.dataSize <= 0 || req.dataSize > this.opts.limits.chunkBytes) return answer(E.FILE_SERVER_ERRNO_PULL_DATA_ALLOC_MEM_ERROR);
    const fileSize = session.download ? session.download.meta.fileSize : session.task!.fileSize;
    if (req.offset === fileSize) return answer(E.FILE_SERVER_ERRNO_PULL_DATA_FINISHED);
    if (req.offset > fileSize) return answer(E.FILE_SERVER_ERRNO_PULL_DATA_SEEK_OFFSET_ERROR);
    const len = Math.min(req.dataSize, fileSize - req.offset);

    if (session.download) {
      let data: Buffer;
      try {
        data = await session.download.read(req.offset, len);
      } catch (err) {
        this.opts.log.warn({ err, taskId: req.taskId }, 'offline file read failed');
        return answer(E.FILE_SERVER_ERRNO_PULL_DATA_OPEN_FILE_ERROR);
      }
      if (data.length !== len) return answer(E.FILE_SERVER_ERRNO_PULL_DATA_OPEN_FILE_ERROR);
      answer(E.FILE_SERVER_ERRNO_OK, data);
      this.opts.events?.bytes?.('downloaded', len);
      if (req.offset + len === fileSize) {
        peer.send(FileCmdID.CID_FILE_STATE, IM.File.IMFileState, { state: ClientFileState.CLIENT_FILE_DONE, taskId: req.taskId, userId: req.userId });
      }
      return;
    }

    // Online: relay the pull to the sender; its answer comes back through pullRsp.
    const task = session.task!;
    if (task.final) return answer(E.FILE_SERVER_ERRNO_PULL_DATA_FINISHED);
    if (!task.sender) return answer(E.FILE_SERVER_ERRNO_PULL_DATA_OPEN_FILE_ERROR);
    if (task.pending.size >= this.opts.limits.maxPendingPulls && !task.pending.has(req.offset)) return answer(E.FILE_SERVER_ERRNO_PULL_DATA_ALLOC_MEM_ERROR);
    task.pending.set(req.offset, { len, seq });
    task.expiresAt = Math.max(task.expiresAt, this.now() + Math.min(this.opts.limits.taskExpiryMs, 60_000));
    task.sender.send(FileCmdID.CID_FILE_PULL_DATA_REQ, IM.File.IMFilePullDataReq, {
      taskId: task.id,
      userId: req.userId,
      transMode: TransferFileType.FILE_TYPE_ONLINE,
      offset: req.offset,
      dataSize: len,
    });
  }

  async pullRsp(peer: FilePeer, rsp: IM.File.IMFilePullDataRsp, body: Uint8Array): Promise<void> {
    const session = this.sessions.get(peer);
    if (!session || session.taskId !== rsp.taskId || session.userId !== rsp.userId || !session.task) {
      this.opts.log.debug({ peer: peer.id, taskId: clip(rsp.taskId, 64) }, 'pull data response for another task or user ignored');
      return;
    }
    const task = session.task;
    if (session.role === 'sender') {
      const wanted = task.pending.get(rsp.offset);
      if (!wanted || !task.receiver) return;
      task.pending.delete(rsp.offset);
      const size = rsp.fileData?.length ?? 0;
      if (rsp.resultCode === 0 && size !== wanted.len) {
        task.receiver.send(FileCmdID.CID_FILE_PULL_DATA_RSP, IM.File.IMFilePullDataRsp, { resultCode: E.FILE_SERVER_ERRNO_PULL_DATA_SEEK_OFFSET_ERROR, taskId: task.id, userId: rsp.userId, offset: rsp.offset, fileData: Buffer.alloc(0) }, wanted.seq);
        return;
      }
      // Forwarded as the sender wrote it, under the receiver's seq_num.
      task.receiver.sendBody(FileCmdID.CID_FILE_PULL_DATA_RSP, body, wanted.seq);
      this.opts.events?.bytes?.('relayed', size);
      return;
    }
    if (session.role !== 'upload' || task.busy) return;
    const expected = Math.min(this.opts.limits.chunkBytes, task.fileSize - task.stored);
    const data = rsp.fileData ?? Buffer.alloc(0);
    if (rsp.resultCode !== 0 || rsp.offset !== task.stored || data.length !== expected || !task.file) {
      // A wrong chunk: ask again for the one we need.
      this.opts.log.debug({ taskId: task.id, offset: rsp.offset, size: data.length, want: task.stored, expected }, 'unexpected upload chunk; asked again');
      if (rsp.resultCode === 0) this.askUploader(task, peer);
      return;
    }
    task.busy = true;
    try {
      await task.file.write(data, 0, data.length, task.stored);
    } catch (err) {
      task.busy = false;
      this.opts.log.error({ err, taskId: task.id }, 'writing an offline file failed');
      peer.end();
      return;
    }
    task.busy = false;
    task.stored += data.length;
    const fromReservation = Math.min(task.reserved, data.length);
    task.reserved -= fromReservation;
    this.opts.quota.commit(fromReservation);
    if (data.length > fromReservation) this.opts.quota.commit(data.length - fromReservation, false);
    this.opts.events?.bytes?.('uploaded', data.length);
    if (task.stored >= task.fileSize) await this.finishUpload(task, peer);
    else this.askUploader(task, peer);
  }

  /** A connection went away. */
  async closed(peer: FilePeer): Promise<void> {
    const session = this.sessions.get(peer);
    this.sessions.delete(peer);
    const task = session?.task;
    if (!session || !task) return;
    if (session.role === 'upload') {
      if (task.sender === peer) task.sender = undefined;
      // Keep the task and its bytes: the uploader may come back and resume.
      if (task.file && !task.sender) {
        const file = task.file;
        task.file = undefined;
        await file.close().catch(() => undefined);
      }
      return;
    }
    const slot = session.role === 'sender' ? 'sender' : 'receiver';
    if (task[slot] !== peer) return;
    task[slot] = undefined;
    if (!task.final) {
      // The other side must not wait forever for a peer that left.
      task.final = { state: ClientFileState.CLIENT_FILE_CANCEL, userId: session.userId };
      const other = slot === 'sender' ? task.receiver : task.sender;
      if (other) {
        other.send(FileCmdID.CID_FILE_STATE, IM.File.IMFileState, { state: ClientFileState.CLIENT_FILE_CANCEL, taskId: task.id, userId: session.userId });
        other.end();
      }
    }
    // Gone once both sides have had their say; a side that never came still
    // learns how it ended when it logs in (until the task expires).
    if (!task.sender && !task.receiver && task.joined.size === 2) this.tasks.delete(task.id);
  }

  /** Drops expired tasks and removes expired offline files; returns what went. */
  async sweep(): Promise<{ tasks: number; files: number }> {
    const now = this.now();
    let tasks = 0;
    for (const task of [...this.tasks.values()]) {
      if (task.expiresAt > now) continue;
      tasks += 1;
      for (const peer of [task.sender, task.receiver]) {
        if (!peer) continue;
        if (task.mode === TransferFileType.FILE_TYPE_ONLINE && !task.final) {
          peer.send(FileCmdID.CID_FILE_STATE, IM.File.IMFileState, { state: ClientFileState.CLIENT_FILE_CANCEL, taskId: task.id, userId: 0 });
        }
        this.sessions.delete(peer);
        peer.end();
      }
      await this.dropTask(task, 'expired');
    }
    let files = 0;
    const { stored, partial } = await this.opts.store.scan();
    for (const meta of stored) {
      if (meta.expiresAt > now) continue;
      this.opts.quota.free(await this.opts.store.remove(meta.taskId));
      files += 1;
      this.opts.log.info({ taskId: meta.taskId }, 'offline file expired; removed');
    }
    // Partial uploads nobody owns any more (a restart, or another replica's on a shared volume that died).
    for (const part of partial) {
      if (this.tasks.has(part.taskId) || part.mtimeMs + this.opts.limits.taskExpiryMs > now) continue;
      this.opts.quota.free(await this.opts.store.remove(part.taskId));
      files += 1;
    }
    return { tasks, files };
  }

  // ---- offline files for msg_server and peers ------------------------------

  /** A complete offline file stored on this server's volume. */
  localOffline(taskId: string): Promise<OfflineMeta | undefined> {
    return this.opts.store.meta(taskId).then((m) => (m && m.expiresAt > this.now() ? m : undefined));
  }

  async readLocal(taskId: string, offset: number, size: number): Promise<{ code: number; data: Buffer }> {
    const meta = await this.localOffline(taskId);
    if (!meta) return { code: E.FILE_SERVER_ERRNO_PULL_DATA_WITH_INVALID_TASK_ID, data: Buffer.alloc(0) };
    if (size <= 0 || size > this.opts.limits.chunkBytes) return { code: E.FILE_SERVER_ERRNO_PULL_DATA_ALLOC_MEM_ERROR, data: Buffer.alloc(0) };
    if (offset >= meta.fileSize) return { code: E.FILE_SERVER_ERRNO_PULL_DATA_SEEK_OFFSET_ERROR, data: Buffer.alloc(0) };
    try {
      return { code: 0, data: await this.opts.store.read(taskId, offset, Math.min(size, meta.fileSize - offset)) };
    } catch {
      return { code: E.FILE_SERVER_ERRNO_PULL_DATA_OPEN_FILE_ERROR, data: Buffer.alloc(0) };
    }
  }

  async deleteLocal(taskId: string): Promise<boolean> {
    const task = this.tasks.get(taskId);
    if (task) await this.dropTask(task, 'deleted');
    if (!(await this.opts.store.meta(taskId)) && !this.opts.store.exists(taskId)) return Boolean(task);
    this.opts.quota.free(await this.opts.store.remove(taskId));
    return true;
  }

  /** Closes every open partial file (shutdown). */
  async close(): Promise<void> {
    for (const task of this.tasks.values()) {
      const file = task.file;
      task.file = undefined;
      await file?.close().catch(() => undefined);
    }
  }

  // ---- internals -------------------------------------------------------------

  /**
   * Opens the task's partial file once, however many logins of the uploader
   * arrive together; false when the task ended meanwhile (the handle is then
   * closed here: nothing else would, and Node would close it on garbage
   * collection with a warning).
   */
  private openPart(task: Task): Promise<boolean> {
    if (task.file) return Promise.resolve(true);
    task.opening ??= (async () => {
      try {
        const { handle, size } = await this.opts.store.openPart(task.id);
        if (this.tasks.get(task.id) !== task) {
          await handle.close().catch(() => undefined);
          return false;
        }
        task.file = handle;
        task.stored = Math.min(size, task.fileSize);
        return true;
      } finally {
        task.opening = undefined;
      }
    })();
    return task.opening;
  }

  private askUploader(task: Task, peer: FilePeer): void {
    peer.send(FileCmdID.CID_FILE_PULL_DATA_REQ, IM.File.IMFilePullDataReq, {
      taskId: task.id,
      userId: task.fromUserId,
      transMode: TransferFileType.FILE_TYPE_OFFLINE,
      offset: task.stored,
      dataSize: Math.min(this.opts.limits.chunkBytes, task.fileSize - task.stored),
    });
  }

  private async finishUpload(task: Task, peer: FilePeer): Promise<void> {
    const file = task.file;
    task.file = undefined;
    try {
      await file?.sync();
      await file?.close();
      const now = this.now();
      await this.opts.store.complete({
        taskId: task.id,
        fromUserId: task.fromUserId,
        toUserId: task.toUserId,
        fileName: task.fileName,
        fileSize: task.fileSize,
        createdAt: now,
        expiresAt: now + this.opts.limits.offlineExpiryMs,
        serverId: this.opts.serverId,
      });
    } catch (err) {
      this.opts.log.error({ err, taskId: task.id }, 'storing an offline file failed');
      peer.end();
      return;
    }
    this.opts.quota.unreserve(task.reserved);
    task.reserved = 0;
    this.tasks.delete(task.id);
    this.sessions.delete(peer);
    this.opts.log.info({ taskId: task.id, size: task.fileSize }, 'offline file stored');
    peer.send(FileCmdID.CID_FILE_STATE, IM.File.IMFileState, { state: ClientFileState.CLIENT_FILE_DONE, taskId: task.id, userId: task.fromUserId });
    peer.end();
  }

  private async dropTask(task: Task, why: string): Promise<void> {
    this.tasks.delete(task.id);
    task.pending.clear();
    const file = task.file;
    task.file = undefined;
    await file?.close().catch(() => undefined);
    if (task.mode === TransferFileType.FILE_TYPE_OFFLINE) {
      this.opts.quota.unreserve(task.reserved);
      task.reserved = 0;
      this.opts.quota.free(await this.opts.store.remove(task.id).catch(() => 0));
    }
    this.opts.log.info({ taskId: task.id, why }, 'file task dropped');
  }

  private async findOffline(taskId: string): Promise<OfflineSource | undefined> {
    if (!TASK_ID_RE.test(taskId)) return undefined;
    const meta = await this.localOffline(taskId);
    if (meta) return { meta, read: (offset, size) => this.opts.store.read(taskId, offset, size) };
    if (this.tasks.has(taskId)) return undefined; // still uploading here
    return this.opts.findRemote?.(taskId).catch((err: unknown) => {
      this.opts.log.warn({ err, taskId: clip(taskId, 64) }, 'asking peer file_servers failed');
      return undefined;
    });
  }
}

function roleOf(role: number): Role | undefined {
  switch (role) {
    case ClientFileRole.CLIENT_REALTIME_SENDER:
      return 'sender';
    case ClientFileRole.CLIENT_REALTIME_RECVER:
      return 'receiver';
    case ClientFileRole.CLIENT_OFFLINE_UPLOAD:
      return 'upload';
    case ClientFileRole.CLIENT_OFFLINE_DOWNLOAD:
      return 'download';
    default:
      return undefined;
  }
}
