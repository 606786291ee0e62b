import * as http from 'node:http';
import type { MsgServerRegistry } from './msg-server-registry';

export interface LoginHttpOptions {
  registry: MsgServerRegistry;
  msfsUrl: string;
  discoveryUrl: string;
  onRequest?: (code: number) => void;
}

/**
 * GET /msg_server, answered exactly as TeamTalk clients expect:
 * code 0 with the addresses, 1 when no msg_server is registered, 2 when all are full.
 */
export function createLoginHttpHandler(opts: LoginHttpOptions): http.RequestListener {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/msg_server') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 404, msg: 'not found' }));
      return;
    }
    const pick = opts.registry.pick();
    const body =
      pick.code === 0
        ? {
            code: 0,
            msg: '',
            priorIP: pick.server.priorIp,
            backupIP: pick.server.backupIp,
            port: String(pick.server.port),
            msfsPrior: opts.msfsUrl,
            msfsBackup: opts.msfsUrl,
            discovery: opts.discoveryUrl,
          }
        : { code: pick.code, msg: pick.reason };
    opts.onRequest?.(pick.code);
    // The original closes after each answer; clients open one connection per request.
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
    res.end(JSON.stringify(body));
  };
}
