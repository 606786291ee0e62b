export { startLoginServer, type LoginServerDeps, type RunningLoginServer } from './login-server';
export { MsgServerRegistry } from './msg-server-registry';
