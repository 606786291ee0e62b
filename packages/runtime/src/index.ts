export { runService, type ServiceLifecycle } from './run-service';
export { applyHeapSettings } from './heap';
