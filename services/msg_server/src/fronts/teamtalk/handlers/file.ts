import { encodePdu } from '@tt/codec';
import { clip } from '@tt/observability';
import { frontPayload } from '../../front';
import { IM } from '@tt/proto';
import type { CommandRouter } from '../../../command-router';
import type { MsgServerContext } from '../../../context';
import type { FileServerDirectory, FileServerInfo } from '../../../file-servers';

const { FileCmdID, ServiceID, TransferFileType, UserStatType, FileServerError: E } = IM.BaseDefine;

/** The original msg_server's answer when no file_server can take the task. */
export const NO_FILE_SERVER = 1;

/** File transfer is TeamTalk's only: its notifies are events for the TeamTalk front. */
const filePdu = (commandId: number, body: Uint8Array) => frontPayload('teamtalk', encodePdu(ServiceID.SID_FILE, commandId, 0, body));

/**
 * IM.File on msg_server: brokers a transfer between two users (task on a
 * file_server, IMFileRsp to the sender, IMFileNotify to the receiver on any
 * msg_server) and keeps the offline file records through db_proxy.
 */
export function registerFileHandlers(router: CommandRouter, ctx: MsgServerContext, files: FileServerDirectory): void {
  router.on(FileCmdID.CID_FILE_REQUEST, 'file_request', IM.File.IMFileReq, async ({ conn, reply }, req) => {
    const fromUserId = conn.userId;
    let transMode = req.transMode;
    const answer = (resultCode: number, taskId = '', server?: FileServerInfo) =>
      reply(FileCmdID.CID_FILE_RESPONSE, IM.File.IMFileRsp, { resultCode, fromUserId, toUserId: req.toUserId, fileName: req.fileName, taskId, ipAddrList: server?.addrs ?? [], transMode });
    if (!req.toUserId || req.toUserId === fromUserId || (transMode !== TransferFileType.FILE_TYPE_ONLINE && transMode !== TransferFileType.FILE_TYPE_OFFLINE)) {
      return answer(E.FILE_SERVER_ERRNO_CREATE_TASK_ERROR);
    }
    // As the original: an online transfer to a user who is not online becomes an offline one.
    if (transMode === TransferFileType.FILE_TYPE_ONLINE && ctx.cluster.statusOf(req.toUserId) === UserStatType.USER_STATUS_OFFLINE) {
      transMode = TransferFileType.FILE_TYPE_OFFLINE;
    }
    const server = files.pick(req.fileSize, transMode === TransferFileType.FILE_TYPE_OFFLINE);
    if (!server) {
      ctx.log.warn({ from: fromUserId, to: req.toUserId }, 'file request: no file_server available');
      return answer(NO_FILE_SERVER);
    }
    let rsp: IM.Server.IMFileTransferRsp;
    try {
      rsp = await files.client(server).createTask({ fromUserId, toUserId: req.toUserId, fileName: req.fileName, fileSize: req.fileSize, transMode });
    } catch (err) {
      ctx.log.warn({ err, serverId: server.serverId }, 'file request: file_server did not answer');
      return answer(NO_FILE_SERVER);
    }
    answer(rsp.resultCode, rsp.taskId ?? '', server);
    if (rsp.resultCode !== 0) return;
    const notify = IM.File.IMFileNotify.encode({
      fromUserId,
      toUserId: req.toUserId,
      fileName: req.fileName,
      fileSize: req.fileSize,
      taskId: rsp.taskId ?? '',
      ipAddrList: server.addrs,
      transMode,
      offlineReady: 0,
    }).finish();
    await ctx.delivery.toUsers([req.toUserId], filePdu(FileCmdID.CID_FILE_NOTIFY, notify));
  });

  router.on(FileCmdID.CID_FILE_HAS_OFFLINE_REQ, 'file_has_offline', IM.File.IMFileHasOfflineReq, async ({ conn, reply }, req) => {
    const { files: records } = await ctx.db.getOfflineFiles({ userId: conn.userId });
    // Addresses of the servers holding the files first (in file order); any live
    // server can serve a download anyway (it fetches the bytes from the holder).
    const live = files.live();
    const holders = [...new Set(records.map((r) => r.serverId))].map((id) => live.find((s) => s.serverId === id)).filter((s): s is FileServerInfo => s !== undefined);
    const servers = holders.length > 0 ? holders : live.slice(0, 1);
    const ipAddrList = servers.flatMap((s) => s.addrs);
    reply(FileCmdID.CID_FILE_HAS_OFFLINE_RES, IM.File.IMFileHasOfflineRsp, {
      userId: conn.userId,
      offlineFileList: records.map((r) => r.info),
      ipAddrList,
      attachData: req.attachData,
    });
  });

  router.on(FileCmdID.CID_FILE_ADD_OFFLINE_REQ, 'file_add_offline', IM.File.IMFileAddOfflineReq, async ({ conn }, req) => {
    const fromUserId = conn.userId;
    // Only a file that really was uploaded, by this user, for that receiver, is recorded.
    const found = await files.findOffline(req.taskId);
    if (!found || found.meta.fromUserId !== fromUserId || found.meta.toUserId !== req.toUserId) {
      ctx.metrics.pdusDropped.inc({ reason: 'bad_offline_file' });
      ctx.logThrottle.info(`user:${fromUserId}`, 'bad_offline_file', { from: fromUserId, to: req.toUserId, taskId: clip(req.taskId, 64) }, 'offline file not found on any file_server; not recorded');
      return;
    }
    const { meta, server } = found;
    const fileName = req.fileName || meta.fileName;
    await ctx.db.addOfflineFile({
      info: { fromUserId, taskId: req.taskId, fileName, fileSize: meta.fileSize },
      toUserId: req.toUserId,
      serverId: meta.serverId,
      expiresAt: Math.floor(meta.expiresAt / 1000),
    });
    const holder = files.get(meta.serverId) ?? server;
    const notify = IM.File.IMFileNotify.encode({
      fromUserId,
      toUserId: req.toUserId,
      fileName,
      fileSize: meta.fileSize,
      taskId: req.taskId,
      ipAddrList: holder.addrs,
      transMode: TransferFileType.FILE_TYPE_OFFLINE,
      offlineReady: 1,
    }).finish();
    await ctx.delivery.toUsers([req.toUserId], filePdu(FileCmdID.CID_FILE_NOTIFY, notify));
  });

  router.on(FileCmdID.CID_FILE_DEL_OFFLINE_REQ, 'file_del_offline', IM.File.IMFileDelOfflineReq, async ({ conn }, req) => {
    // The receiver (after downloading) or the sender may remove it, nobody else.
    if (conn.userId !== req.fromUserId && conn.userId !== req.toUserId) {
      ctx.metrics.pdusDropped.inc({ reason: 'bad_offline_file' });
      return;
    }
    const { removed } = await ctx.db.delOfflineFile({ fromUserId: req.fromUserId, toUserId: req.toUserId, taskId: req.taskId });
    if (!removed) return;
    const holder = files.get(removed.serverId);
    if (!holder) return; // the expiry sweep of that server removes the bytes later
    await files
      .client(holder)
      .deleteOfflineFile({ taskId: req.taskId })
      .catch((err: unknown) => ctx.log.warn({ err, taskId: req.taskId, serverId: removed.serverId }, 'file_server did not delete an offline file'));
  });
}
