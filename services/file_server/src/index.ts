export { startFileServer, type FileServerConfig, type FileServerDeps, type RunningFileServer } from './file-server';
export { TransferService, type TransferLimits, type FilePeer, type OfflineSource } from './transfer';
export { OfflineStore, type OfflineMeta } from './offline-store';
export { ImageStore, sniffImageType } from './image-store';
export { DiskQuota } from './quota';
