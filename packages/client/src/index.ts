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
