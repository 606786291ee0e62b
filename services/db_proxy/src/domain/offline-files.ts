import type { IM } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import type { OfflineFile, Store } from '@tt/storage';

/** Offline file records as db_proxy's gRPC answers them. */
export function toRecord(f: OfflineFile): IM.DbProxy.IOfflineFileRecord {
  return { info: { fromUserId: f.fromId, taskId: f.taskId, fileName: f.fileName, fileSize: f.fileSize }, toUserId: f.toId, serverId: f.serverId, expiresAt: f.expires };
}

export async function addOfflineFile(store: Store, rec: IM.DbProxy.IOfflineFileRecord): Promise<void> {
  const info = rec.info;
  if (!info?.taskId || !info.fromUserId || !rec.toUserId || !rec.serverId) throw RpcError.invalidArgument('task_id, from_user_id, to_user_id and server_id are required');
  await store.offlineFiles.add({
    taskId: info.taskId,
    fromId: info.fromUserId,
    toId: rec.toUserId,
    fileName: info.fileName || info.taskId,
    fileSize: info.fileSize ?? 0,
    serverId: rec.serverId,
    expires: rec.expiresAt ?? 0,
  });
}

let lastPurge = 0;

/** The receiver's unexpired offline files; expired records are purged now and then on the way. */
export async function offlineFilesFor(store: Store, toUserId: number): Promise<IM.DbProxy.IOfflineFileList> {
  if (Date.now() - lastPurge > 60_000) {
    lastPurge = Date.now();
    await store.offlineFiles.purgeExpired();
  }
  return { files: (await store.offlineFiles.listForReceiver(toUserId)).map(toRecord) };
}

export async function delOfflineFile(store: Store, req: IM.File.IIMFileDelOfflineReq): Promise<IM.DbProxy.IDelOfflineFileRsp> {
  if (!req.taskId || !req.fromUserId || !req.toUserId) throw RpcError.invalidArgument('task_id, from_user_id and to_user_id are required');
  const removed = await store.offlineFiles.remove(req.taskId, req.fromUserId, req.toUserId);
  return removed ? { removed: toRecord(removed) } : {};
}
