import { IM } from '@tt/proto';
import type { Logger } from '@tt/observability';
import { CommandRouter } from '../../command-router';
import type { MsgServerMetrics } from '../../metrics';
import type { Tcp12Connection } from './connection';

const { Status } = IM.Tcp12;

/**
 * The tcp12 front's router: the shared queue machinery; what it cannot run
 * is answered with a status (the request's command and seq).
 */
export function createTcp12Router(metrics: MsgServerMetrics, log: Logger, handled: (command: string) => void): CommandRouter {
  const answer = (conn: unknown, command: number, seq: number, status: number, message: string) => (conn as Tcp12Connection).answer(command, seq, status, message);
  return new CommandRouter({
    unknownCommand: (conn, command, seq) => {
      metrics.pdusDropped.inc({ reason: 'unknown_command' });
      answer(conn, command, seq, Status.UNKNOWN_COMMAND, `unknown command ${command}`);
    },
    badBody: (conn, command, err, seq) => {
      metrics.pdusDropped.inc({ reason: 'bad_body' });
      log.debug({ connId: conn.id, userId: conn.userId, command, err: err.message }, 'tcp12 body did not parse');
      answer(conn, command, seq, Status.BAD_BODY, "body does not decode as this command's message");
    },
    notLoggedIn: (conn, command, seq) => {
      metrics.pdusDropped.inc({ reason: 'not_logged_in' });
      answer(conn, command, seq, Status.NOT_LOGGED_IN, 'log in first (LOGIN)');
      conn.close();
    },
    queueFull: (conn, command, seq) => {
      metrics.pdusDropped.inc({ reason: 'queue_full' });
      answer(conn, command, seq, Status.RATE_LIMITED, 'too many requests in flight');
    },
    handlerFailed: (conn, command, err) => {
      metrics.pdusDropped.inc({ reason: 'handler_error' });
      log.error({ connId: conn.id, userId: conn.userId, command, err }, 'tcp12 request failed');
    },
    handled,
  });
}
