import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { IM, DbProxyService, commandForMessage, commands, messageForCommand, serviceIdForCommand } from './index';

const { ServiceID, LoginCmdID, MessageCmdID, OtherCmdID, ClientType, UserStatType, MsgType, SessionType } = IM.BaseDefine;

describe('command table', () => {
  test('maps command ids to messages and service ids', () => {
    expect(messageForCommand(MessageCmdID.CID_MSG_DATA)).toMatchObject({ serviceId: ServiceID.SID_MSG, commandId: 0x0301, name: 'IM.Message.IMMsgData', type: IM.Message.IMMsgData });
    expect(messageForCommand(LoginCmdID.CID_LOGIN_REQ_USERLOGIN)).toMatchObject({ serviceId: ServiceID.SID_LOGIN, name: 'IM.Login.IMLoginReq' });
    expect(messageForCommand(OtherCmdID.CID_OTHER_HEARTBEAT)).toMatchObject({ serviceId: ServiceID.SID_OTHER, name: 'IM.Other.IMHeartBeat' });
    expect(messageForCommand(OtherCmdID.CID_OTHER_VALIDATE_REQ)).toMatchObject({ serviceId: ServiceID.SID_OTHER, name: 'IM.Server.IMValidateReq' });
    expect(messageForCommand(0x070c)).toBeUndefined();
    expect(messageForCommand(0)).toBeUndefined();
  });

  test('maps messages back to commands', () => {
    expect(commandForMessage(IM.Buddy.IMUserStatNotify)?.commandId).toBe(IM.BaseDefine.BuddyListCmdID.CID_BUDDY_LIST_STATUS_NOTIFY);
    expect(commandForMessage('IM.Group.IMGroupChangeMemberNotify')).toMatchObject({ serviceId: ServiceID.SID_GROUP, commandId: 0x040b });
    expect(commandForMessage(IM.BaseDefine.UserInfo)).toBeUndefined();
    expect(commandForMessage(IM.DbProxy.Empty)).toBeUndefined();
  });

  test('service id is the high byte of the command id', () => {
    expect(serviceIdForCommand(0x0107)).toBe(ServiceID.SID_LOGIN);
    expect(serviceIdForCommand(0x0215)).toBe(ServiceID.SID_BUDDY_LIST);
    expect(serviceIdForCommand(0x040b)).toBe(ServiceID.SID_GROUP);
    expect(serviceIdForCommand(0x050c)).toBe(ServiceID.SID_FILE);
    expect(serviceIdForCommand(0x0601)).toBe(ServiceID.SID_SWITCH_SERVICE);
    expect(serviceIdForCommand(0x0734)).toBe(ServiceID.SID_OTHER);
    for (const c of commands) expect(c.serviceId).toBe(c.commandId >> 8);
  });
});

describe('generated codecs', () => {
  test('IMLoginReq round trip through the command table', () => {
    const info = messageForCommand(LoginCmdID.CID_LOGIN_REQ_USERLOGIN)!;
    const body = info.type
      .encode({ userName: 'alice', password: '0cc175b9c0f1b6a831c399e269772661', onlineStatus: UserStatType.USER_STATUS_ONLINE, clientType: ClientType.CLIENT_TYPE_ANDROID, clientVersion: '1.0' })
      .finish();
    const decoded = info.type.decode(body) as IM.Login.IMLoginReq;
    expect(decoded).toBeInstanceOf(IM.Login.IMLoginReq);
    expect(decoded).toMatchObject({ userName: 'alice', password: '0cc175b9c0f1b6a831c399e269772661', onlineStatus: 1, clientType: 0x12, clientVersion: '1.0' });
  });

  test('IMMsgData round trip keeps bytes, and optional fields stay absent', () => {
    const msg: IM.Message.IIMMsgData = {
      fromUserId: 7,
      toSessionId: 9,
      msgId: 0,
      createTime: 1_700_000_000,
      msgType: MsgType.MSG_TYPE_SINGLE_TEXT,
      msgData: Buffer.from('aGVsbG8=', 'utf8'),
    };
    const decoded = IM.Message.IMMsgData.decode(IM.Message.IMMsgData.encode(msg).finish());
    expect(decoded.fromUserId).toBe(7);
    expect(decoded.toSessionId).toBe(9);
    expect(decoded.createTime).toBe(1_700_000_000);
    expect(Buffer.from(decoded.msgData).toString()).toBe('aGVsbG8=');
    expect(Object.prototype.hasOwnProperty.call(decoded, 'attachData')).toBe(false);
  });

  test('nested and repeated fields round trip (IMUnreadMsgCntRsp)', () => {
    const rsp = IM.Message.IMUnreadMsgCntRsp.decode(
      IM.Message.IMUnreadMsgCntRsp.encode({
        userId: 1,
        totalCnt: 3,
        unreadinfoList: [
          { sessionId: 2, sessionType: SessionType.SESSION_TYPE_SINGLE, unreadCnt: 2, latestMsgId: 5, latestMsgData: new Uint8Array([1, 2]), latestMsgType: 1, latestMsgFromUserId: 2 },
          { sessionId: 3, sessionType: SessionType.SESSION_TYPE_GROUP, unreadCnt: 1, latestMsgId: 9, latestMsgData: new Uint8Array([]), latestMsgType: 0x11, latestMsgFromUserId: 4 },
        ],
      }).finish(),
    );
    expect(rsp.unreadinfoList.map((u) => [u.sessionId, u.sessionType, u.unreadCnt])).toEqual([
      [2, 1, 2],
      [3, 2, 1],
    ]);
  });

  test('64-bit fields are plain numbers', () => {
    const update = IM.Cluster.PresenceUpdate.decode(
      IM.Cluster.PresenceUpdate.encode({ serverId: 'ms1', seq: 2 ** 40 + 1, online: true, conn: { userId: 1, clientType: 1, status: 1, connId: 3 } }).finish(),
    );
    expect(update.seq).toBe(2 ** 40 + 1);
    expect(new IM.Cluster.PresenceUpdate().seq).toBe(0);
    expect(IM.Cluster.PresenceSnapshot.fromObject({ serverId: 'ms1', seq: '12345678901' }).seq).toBe(12345678901);
    expect(IM.Cluster.PresenceUpdate.toObject(update, { longs: String }).seq).toBe(String(2 ** 40 + 1));
  });

  test('decoding a body missing a required field throws', () => {
    const withoutPassword = Buffer.from([0x0a, 0x03, 0x62, 0x6f, 0x62]); // field 1 = "bob"
    expect(() => IM.Login.IMLoginReq.decode(withoutPassword)).toThrow(/missing required 'password'/);
    expect(() => IM.Message.IMMsgDataAck.decode(Buffer.alloc(0))).toThrow(/missing required/);
    // messages without required fields decode from an empty body
    expect(IM.Other.IMHeartBeat.decode(Buffer.alloc(0))).toBeInstanceOf(IM.Other.IMHeartBeat);
  });

  test('truncated bodies throw', () => {
    const body = IM.Login.IMLogoutRsp.encode({ resultCode: 300 }).finish();
    expect(() => IM.Login.IMLogoutRsp.decode(body.subarray(0, body.length - 1))).toThrow();
  });
});

describe('DbProxy gRPC definition', () => {
  test('has a method per rpc with the grpc path and static-class codecs', () => {
    // One method per rpc of proto/IM.DbProxy.proto, in order, camelCased.
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => path.resolve(__dirname, '../../../proto', path.basename(target));
    root.loadSync('IM.DbProxy.proto', { keepCase: true });
    const rpcs = Object.keys(root.lookupService('IM.DbProxy.DbProxy').methods).map((n) => n[0].toLowerCase() + n.slice(1));
    expect(rpcs).toContain('saveMessage');
    expect(Object.keys(DbProxyService)).toEqual(rpcs);
    const m = DbProxyService.saveMessage;
    expect(m).toMatchObject({ path: '/IM.DbProxy.DbProxy/SaveMessage', originalName: 'SaveMessage', requestStream: false, responseStream: false });
    const req = m.requestSerialize({ fromUserId: 1, toSessionId: 2, msgId: 0, createTime: 3, msgType: 1, msgData: Buffer.from('x') });
    expect(Buffer.isBuffer(req)).toBe(true);
    const decodedReq = m.requestDeserialize(req);
    expect(decodedReq).toBeInstanceOf(IM.Message.IMMsgData);
    expect(decodedReq.toSessionId).toBe(2);
    const rsp = m.responseDeserialize(m.responseSerialize({ ack: { userId: 1, sessionId: 2, msgId: 42, sessionType: SessionType.SESSION_TYPE_SINGLE }, recipientIds: [2] }));
    expect(rsp).toBeInstanceOf(IM.DbProxy.SavedMessage);
    expect(rsp.ack.msgId).toBe(42);
    expect(rsp.recipientIds).toEqual([2]);
    expect(DbProxyService.ping.path).toBe('/IM.DbProxy.DbProxy/Ping');
    expect(() => DbProxyService.ping.responseDeserialize(Buffer.alloc(0))).toThrow(/missing required/);
  });
});
