export { startPushServer, pushProvidersFromEnv, type PushServerDeps, type PushServerConfig, type RunningPushServer } from './push-server';
export { providerFor, type ProviderName } from './domain/notifications';
