// The commands each msg_server front registers, read from the handlers'
// own registration code (a router filled with them, never dispatched): a
// suite that must cover every command compares its cases to this list, so
// a command added later without a case fails that suite.
import { CommandRouter } from '../../../services/msg_server/src/command-router';
import type { MsgServerContext } from '../../../services/msg_server/src/context';
import { registerBuddyHandlers } from '../../../services/msg_server/src/fronts/teamtalk/handlers/buddy';
import { registerFileHandlers } from '../../../services/msg_server/src/fronts/teamtalk/handlers/file';
import { registerGroupHandlers } from '../../../services/msg_server/src/fronts/teamtalk/handlers/group';
import { registerLoginHandlers } from '../../../services/msg_server/src/fronts/teamtalk/handlers/login';
import { registerMessageHandlers } from '../../../services/msg_server/src/fronts/teamtalk/handlers/message';
import { registerSwitchHandlers } from '../../../services/msg_server/src/fronts/teamtalk/handlers/switch';
import { registerWsHandlers } from '../../../services/msg_server/src/fronts/ws/handlers';
import { registerTcp12Handlers } from '../../../services/msg_server/src/fronts/tcp12/handlers';
import { registerMsyncHandlers } from '../../../services/msg_server/src/fronts/msync/handlers';
import { registerOmtpHandlers } from '../../../services/msg_server/src/fronts/omtp/handlers';

export type FrontName = 'teamtalk' | 'ws' | 'tcp12' | 'msync' | 'omtp';

export interface RegisteredCommand {
  commandId: number;
  /** The router's name for it (metrics label), e.g. "group_change_member". */
  name: string;
  /** Accepted before login (login itself, heartbeats). */
  beforeLogin: boolean;
}

const ignore = () => undefined;

/** Registration only stores handlers; nothing here is called until a request is dispatched. */
const unused = {} as never;

export function registeredCommands(front: FrontName): RegisteredCommand[] {
  const router = new CommandRouter({ unknownCommand: ignore, badBody: ignore, notLoggedIn: ignore, queueFull: ignore, handlerFailed: ignore, handled: ignore });
  const ctx = unused as MsgServerContext;
  switch (front) {
    case 'teamtalk':
      registerLoginHandlers(router, ctx);
      registerMessageHandlers(router, ctx);
      registerBuddyHandlers(router, ctx);
      registerSwitchHandlers(router, ctx);
      registerGroupHandlers(router, ctx);
      registerFileHandlers(router, ctx, unused);
      break;
    case 'ws':
      registerWsHandlers(router, ctx, unused, { jwtSecret: '', maxContentBytes: 1 });
      break;
    case 'tcp12':
      registerTcp12Handlers(router, ctx, unused, { jwtSecret: '', maxContentBytes: 1 });
      break;
    case 'msync':
      registerMsyncHandlers(router, ctx, unused, { jwtSecret: '', appKey: '', maxContentBytes: 1, maxDevices: 0, deviceTtlSeconds: 0, pullLimit: 1, newDeviceBacklog: 0 });
      break;
    case 'omtp':
      registerOmtpHandlers(router, ctx, unused, { jwtSecret: '', maxContentBytes: 1, hotSessions: 1, hotSessionMessages: 1 });
      break;
  }
  return router.commands();
}
