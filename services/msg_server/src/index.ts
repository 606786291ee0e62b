export { startMsgServer, type MsgServerConfig, type MsgServerDeps, type RunningMsgServer } from './msg-server';
