// @tt/proto: the TeamTalk protocol as generated code (scripts/gen-proto.mjs
// turns proto/*.proto into ../generated), plus the command id table.
export { IM } from '../generated/im';
export { DbProxyService, type DbProxyServiceDefinition, type DbProxyHandlers, type DbProxyClient } from '../generated/services';
export { FileServerService, type FileServerServiceDefinition, type FileServerHandlers, type FileServerClient } from '../generated/services';
export { commands, messageForCommand, commandForMessage, serviceIdForCommand, type CommandInfo, type MessageType } from './commands';
export { clusterSubjects, PUSH_QUEUES, type ClusterSubjects } from './subjects';
