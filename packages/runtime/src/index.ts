export { runService, type ServiceLifecycle } from './run-service';
