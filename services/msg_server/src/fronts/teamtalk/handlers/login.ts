import { IM } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import type { CommandRouter } from '../../../command-router';
import type { MsgServerContext } from '../../../context';
import { isMobileClient, isWebClient } from '../../../domain/client-type';
import { clientIpOf, throttledSeconds, throttledText } from '../../login-throttle';

const { LoginCmdID, OtherCmdID, ResultType, ClientType, UserStatType, KickReasonType } = IM.BaseDefine;

const KNOWN_CLIENT_TYPES = new Set<number>([ClientType.CLIENT_TYPE_WINDOWS, ClientType.CLIENT_TYPE_MAC, ClientType.CLIENT_TYPE_IOS, ClientType.CLIENT_TYPE_ANDROID]);

export function registerLoginHandlers(router: CommandRouter, ctx: MsgServerContext): void {
  router.on(
    LoginCmdID.CID_LOGIN_REQ_USERLOGIN,
    'login',
    IM.Login.IMLoginReq,
    async ({ conn, reply }, req) => {
      // A second login request on a connection is ignored, as in the original.
      if (conn.identity || conn.loginInProgress) return;
      conn.loginInProgress = true;
      const refuse = (resultCode: number, resultString: string) => {
        ctx.metrics.logins.inc({ result: String(resultCode) });
        reply(LoginCmdID.CID_LOGIN_RES_USERLOGIN, IM.Login.IMLoginRes, { serverTime: ctx.nowSeconds(), resultCode, resultString });
        conn.close();
      };
      if (!KNOWN_CLIENT_TYPES.has(req.clientType)) return refuse(ResultType.REFUSE_REASON_DB_VALIDATE_FAILED, 'unsupported client type');

      let validation: IM.DbProxy.ValidateRsp;
      try {
        validation = await ctx.db.validateUser({ userName: req.userName, password: req.password, clientIp: clientIpOf(conn.remoteAddress) });
      } catch (err) {
        ctx.log.error({ err: err instanceof RpcError ? err.message : err, user: req.userName }, 'login: db_proxy unreachable');
        return refuse(ResultType.REFUSE_REASON_NO_DB_SERVER, 'database service unavailable');
      }
      // TeamTalk has no "try later" code: the validation code with the wait in result_string (clients show it).
      const wait = throttledSeconds(validation);
      if (wait) return refuse(ResultType.REFUSE_REASON_DB_VALIDATE_FAILED, throttledText(wait));
      if (validation.resultCode !== 0 || !validation.userInfo) {
        ctx.log.info({ user: req.userName, remote: conn.remoteAddress }, 'login refused: bad credentials');
        return refuse(ResultType.REFUSE_REASON_DB_VALIDATE_FAILED, validation.resultString || 'user name or password is wrong');
      }
      if (conn.closed) return;

      const status = req.onlineStatus === UserStatType.USER_STATUS_LEAVE ? UserStatType.USER_STATUS_LEAVE : UserStatType.USER_STATUS_ONLINE;
      conn.identity = { userId: validation.userInfo.userId, clientType: req.clientType, status };
      conn.loginInProgress = false;
      // One PC and one mobile connection per user: a new one kicks the older of its kind, on any msg_server.
      const mobile = isMobileClient(req.clientType);
      ctx.kicker.kickUser(conn.userId, (clientType) => !isWebClient(clientType) && isMobileClient(clientType) === mobile, KickReasonType.KICK_REASON_DUPLICATE_USER, conn);
      ctx.registry.bindUser(conn);
      ctx.metrics.logins.inc({ result: '0' });
      ctx.metrics.loggedIn.set(ctx.registry.loggedInCount);
      reply(LoginCmdID.CID_LOGIN_RES_USERLOGIN, IM.Login.IMLoginRes, {
        serverTime: ctx.nowSeconds(),
        resultCode: ResultType.REFUSE_REASON_NONE,
        resultString: '',
        onlineStatus: status,
        userInfo: { ...validation.userInfo, status },
      });
      ctx.presence.online(conn);
      ctx.log.debug({ userId: conn.userId, clientType: req.clientType, connId: conn.id }, 'logged in');
    },
    { beforeLogin: true },
  );

  router.on(
    LoginCmdID.CID_LOGIN_REQ_LOGINOUT,
    'logout',
    IM.Login.IMLogoutReq,
    ({ conn, reply }) => {
      reply(LoginCmdID.CID_LOGIN_RES_LOGINOUT, IM.Login.IMLogoutRsp, { resultCode: 0 });
      conn.close();
    },
  );

  router.on(LoginCmdID.CID_LOGIN_REQ_KICKPCCLIENT, 'kick_pc', IM.Login.IMKickPCClientReq, ({ conn, reply }) => {
    // Only a mobile client may kick the user's PC client.
    if (!isMobileClient(conn.identity!.clientType)) {
      reply(LoginCmdID.CID_LOGIN_RES_KICKPCCLIENT, IM.Login.IMKickPCClientRsp, { userId: conn.userId, resultCode: 1 });
      return;
    }
    ctx.kicker.kickUser(conn.userId, (clientType) => !isWebClient(clientType) && !isMobileClient(clientType), KickReasonType.KICK_REASON_MOBILE_KICK);
    reply(LoginCmdID.CID_LOGIN_RES_KICKPCCLIENT, IM.Login.IMKickPCClientRsp, { userId: conn.userId, resultCode: 0 });
  });

  router.on(LoginCmdID.CID_LOGIN_REQ_DEVICETOKEN, 'device_token', IM.Login.IMDeviceTokenReq, async ({ conn, reply }, req) => {
    // The client type is the connection's; the original's reply lacked a required field and crashed it.
    const rsp = await ctx.db.setDeviceToken({ userId: conn.userId, deviceToken: req.deviceToken, clientType: conn.identity!.clientType, attachData: req.attachData });
    reply(LoginCmdID.CID_LOGIN_RES_DEVICETOKEN, IM.Login.IMDeviceTokenRsp, rsp);
  });

  router.on(LoginCmdID.CID_LOGIN_REQ_PUSH_SHIELD, 'push_shield', IM.Login.IMPushShieldReq, async ({ conn, reply }, req) => {
    const rsp = await ctx.db.setPushShield({ userId: conn.userId, shieldStatus: req.shieldStatus, attachData: req.attachData });
    reply(LoginCmdID.CID_LOGIN_RES_PUSH_SHIELD, IM.Login.IMPushShieldRsp, rsp);
  });

  router.on(LoginCmdID.CID_LOGIN_REQ_QUERY_PUSH_SHIELD, 'query_push_shield', IM.Login.IMQueryPushShieldReq, async ({ conn, reply }, req) => {
    const rsp = await ctx.db.queryPushShield({ userId: conn.userId, attachData: req.attachData });
    reply(LoginCmdID.CID_LOGIN_RES_QUERY_PUSH_SHIELD, IM.Login.IMQueryPushShieldRsp, rsp);
  });

  // Deprecated (clients ask login_server over HTTP) but answered: this server's own address.
  router.on(
    LoginCmdID.CID_LOGIN_REQ_MSGSERVER,
    'msg_serv',
    IM.Login.IMMsgServReq,
    ({ reply }) => {
      const self = ctx.selfAddress();
      reply(LoginCmdID.CID_LOGIN_RES_MSGSERVER, IM.Login.IMMsgServRsp, { resultCode: ResultType.REFUSE_REASON_NONE, priorIp: self.ip1, backipIp: self.ip2, port: self.port });
    },
    { beforeLogin: true },
  );

  router.on(
    OtherCmdID.CID_OTHER_HEARTBEAT,
    'heartbeat',
    IM.Other.IMHeartBeat,
    ({ reply }) => reply(OtherCmdID.CID_OTHER_HEARTBEAT, IM.Other.IMHeartBeat, {}),
    { beforeLogin: true, immediate: true },
  );
}

