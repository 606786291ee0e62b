export { RouteTable, USER_STATUS_ONLINE, USER_STATUS_OFFLINE, USER_STATUS_LEAVE, type RoutedConnection, type PresenceApplyResult } from './route-table';
export { PresenceView, type StatusChange } from './presence-view';
export { FailureDetector, assertDetectorTimes, type BeaconVerdict, type DeadIncarnation, type FailureDetectorOptions } from './failure-detector';
