export { freePort, freePorts } from './ports';
export { standaloneListeners, type StandalonePorts } from './standalone';
export { launchBrowser, CHROMIUM_PATH, CHROMIUM_ARGS } from './browser';
export { createTestPki, type TestPki } from './tls-certs';
export { startPrivateServer, type PrivateServer } from './private-server';
