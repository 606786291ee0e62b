export { TeamTalkClient, fetchMsgServer, md5Hex, type ClientOptions, type LoginOptions, type ReceivedPdu, type MessageType } from './teamtalk-client';
export { encryptContent, decryptContent, DEFAULT_CONTENT_KEY } from '@tt/codec';
export { FileServerConnection, requestFileTransfer, queryOfflineFiles, addOfflineFile, deleteOfflineFile, type FileServerAddress, type PullOptions } from './file-transfer';
