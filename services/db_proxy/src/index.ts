export { startDbProxy, type DbProxyDeps, type RunningDbProxy } from './db-proxy';
