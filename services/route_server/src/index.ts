export { startRouteServer, type RouteServerDeps, type RunningRouteServer } from './route-server';
export { RouteTable } from '@tt/presence';
