export { TeamTalkClient, fetchMsgServer, md5Hex, type ClientOptions, type LoginOptions, type ReceivedPdu, type MessageType } from './teamtalk-client';
export { encryptContent, decryptContent, DEFAULT_CONTENT_KEY } from '@tt/codec';
export { FileServerConnection, requestFileTransfer, queryOfflineFiles, addOfflineFile, deleteOfflineFile, type FileServerAddress, type PullOptions } from './file-transfer';
export {
  WsImClient,
  openWebSocket,
  fetchToken,
  wsUrlVia,
  singleConversationId,
  groupConversationId,
  parseMessageId,
  encodeFrame,
  decodeFrame,
  ok,
  wsErrorName,
  commandName,
  WsResponseError,
  WS_PUSH_TYPES,
  type WsFrame,
  type WsClientOptions,
  type WsTarget,
  type WsPushTypes,
  type WsPushCommand,
} from './ws-client';
export { Tcp12Client, Tcp12StatusError, tcp12StatusName, encodeTcp12Frame, connectFlag, conversationOf, aesEncrypt, aesDecrypt, TCP12_HEADER, type Tcp12Frame, type Tcp12Mode, type Tcp12ClientOptions } from './tcp12-client';
export { OmtpClient, type OmtpClientOptions, type OmtpPacket, type OmtpAnswer, type OmtpRequestOptions, type OmtpSendOptions } from './omtp-client';
export { connectStream, peerFingerprintOf, type ClientTls, type WebSocketTls } from './stream';
export { MsyncClient, decodeSyncAnswer, msyncField, msyncUint64Field, type MsyncLogin, type ReceivedMeta, type SyncAnswer } from './msync-client';
/** `ws`'s WebSocket class, for tests that give browser code a WebSocket (the Easemob SDK). */
export { default as NodeWebSocket } from 'ws';
