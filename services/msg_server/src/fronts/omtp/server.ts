import * as omtp from '@tt/omtp';
import type { Logger } from '@tt/observability';
import { CommandRouter } from '../../command-router';
import type { MsgServerMetrics } from '../../metrics';
import { Code } from './codes';
import type { OmtpConnection } from './connection';

/**
 * The OMTP front's router: the shared queue machinery; what it cannot run
 * is answered with a code in the type's answer struct.
 */
export function createOmtpRouter(metrics: MsgServerMetrics, log: Logger, handled: (command: string) => void): CommandRouter {
  const fail = (conn: unknown, seq: number, code: number, desc: string) => (conn as OmtpConnection).fail(seq, code, desc);
  return new CommandRouter({
    unknownCommand: (conn, type, seq) => {
      metrics.pdusDropped.inc({ reason: 'unknown_command' });
      fail(conn, seq, Code.UNSUPPORTED, `unknown packet type ${type}`);
    },
    badBody: (conn, type, err, seq) => {
      metrics.pdusDropped.inc({ reason: 'bad_body' });
      log.debug({ connId: conn.id, userId: conn.userId, type, err: err.message }, 'omtp payload did not decode');
      fail(conn, seq, Code.BAD_REQUEST, `payload does not decode as ${omtp.packTypeName(type)}'s struct`);
    },
    notLoggedIn: (conn, type, seq) => {
      metrics.pdusDropped.inc({ reason: 'not_logged_in' });
      fail(conn, seq, Code.UNAUTHORIZED, 'log in first (PT_LOGIN)');
    },
    queueFull: (conn, type, seq) => {
      metrics.pdusDropped.inc({ reason: 'queue_full' });
      fail(conn, seq, Code.RATE_LIMITED, 'too many requests in flight');
    },
    handlerFailed: (conn, type, err) => {
      metrics.pdusDropped.inc({ reason: 'handler_error' });
      log.error({ connId: conn.id, userId: conn.userId, type, err }, 'omtp request failed');
    },
    handled,
  });
}
