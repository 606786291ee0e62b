export { startMsgServer, wsFrontConfig, contentKeyOf, type MsgServerConfig, type MsgServerDeps, type RunningMsgServer, type WsFrontConfig } from './msg-server';
