export { startLoginServer, type LoginServerDeps, type RunningLoginServer } from './login-server';
export { MsgServerRegistry } from './msg-server-registry';
export { DbProxyAdminStore } from './api/store';
export { BusAdminCluster } from './api/cluster';
