export { freePort, freePorts } from './ports';
export { standaloneListeners, type StandalonePorts } from './standalone';
