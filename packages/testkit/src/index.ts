export { freePort, freePorts } from './ports';
