import { IM } from '@tt/proto';
import { encryptContent } from '@tt/client';
import { alertBody, devicesToNotify, displayName, messageKey, providerFor, pushMessageOf, sendJobsOf, usersWithTokens, type ProviderName } from './notifications';

const { ClientType, MsgType, SessionType } = IM.BaseDefine;
const KEY = '12345678901234567890123456789012';
const both = new Set<ProviderName>(['apns', 'fcm']);

const tok = (userId: number, userType: number, token: string) => ({ userId, userType, token, pushCount: 0, pushType: 0 });

describe('providerFor', () => {
  it('iOS → APNs, Android → FCM, PC → none', () => {
    expect(providerFor(ClientType.CLIENT_TYPE_IOS)).toBe('apns');
    expect(providerFor(ClientType.CLIENT_TYPE_ANDROID)).toBe('fcm');
    expect(providerFor(ClientType.CLIENT_TYPE_WINDOWS)).toBeUndefined();
    expect(providerFor(ClientType.CLIENT_TYPE_MAC)).toBeUndefined();
  });
});

describe('devicesToNotify', () => {
  const tokens = [tok(2, ClientType.CLIENT_TYPE_IOS, 'ios2'), tok(3, ClientType.CLIENT_TYPE_ANDROID, 'and3'), tok(4, ClientType.CLIENT_TYPE_IOS, 'ios4'), tok(4, ClientType.CLIENT_TYPE_ANDROID, 'and4'), tok(5, ClientType.CLIENT_TYPE_WINDOWS, 'pc5')];

  it('every mobile token of each recipient who has not silenced push', () => {
    const { devices, skipped } = devicesToNotify({ recipientIds: [2, 3, 4, 5, 6], tokens, userShields: new Map(), enabled: both });
    expect(devices.map((d) => d.token)).toEqual(['ios2', 'and3', 'ios4', 'and4']);
    expect(skipped).toEqual({ no_token: 2 });
  });

  it('a user-wide shield silences every device; a group shield only that group', () => {
    const { devices, skipped } = devicesToNotify({ recipientIds: [2, 3, 4], tokens, userShields: new Map([[2, 1], [3, 0]]), groupShields: new Map([[4, 1]]), enabled: both });
    expect(devices.map((d) => d.token)).toEqual(['and3']);
    expect(skipped).toEqual({ user_shield: 1, group_shield: 1 });
  });

  it('tokens of a provider that is off are skipped as such', () => {
    const { devices, skipped } = devicesToNotify({ recipientIds: [2, 3, 4], tokens, userShields: new Map(), enabled: new Set(['fcm']) });
    expect(devices.map((d) => d.token)).toEqual(['and3', 'and4']);
    expect(skipped).toEqual({ provider_off: 1 });
    expect(usersWithTokens(tokens, new Set(['fcm']))).toEqual([3, 4]);
  });
});

describe('alertBody', () => {
  const job = (msgType: number, text: string) => ({ fromUserId: 7, toSessionId: 9, msgId: 3, createTime: 1, msgType, msgData: encryptContent(text, KEY), recipientIds: [9] });

  it('single chat: "<sender>: <text>"; group: "<group> <sender>: <text>"', () => {
    expect(alertBody({ job: job(MsgType.MSG_TYPE_SINGLE_TEXT, 'lunch?'), senderName: 'Alice', contentKey: KEY, maxPreview: 100 })).toBe('Alice: lunch?');
    expect(alertBody({ job: job(MsgType.MSG_TYPE_GROUP_TEXT, 'lunch?'), senderName: 'Alice', groupName: 'Eng', contentKey: KEY, maxPreview: 100 })).toBe('Eng Alice: lunch?');
  });

  it('cut to the preview length; generic without a key; voice messages say so', () => {
    expect(alertBody({ job: job(MsgType.MSG_TYPE_SINGLE_TEXT, 'x'.repeat(50)), senderName: 'A', contentKey: KEY, maxPreview: 10 })).toBe(`A: ${'x'.repeat(10)}…`);
    expect(alertBody({ job: job(MsgType.MSG_TYPE_SINGLE_TEXT, 'secret'), senderName: 'A', maxPreview: 100 })).toBe('A: [new message]');
    expect(alertBody({ job: { ...job(MsgType.MSG_TYPE_SINGLE_AUDIO, ''), msgData: Buffer.from('voice') }, senderName: 'A', contentKey: KEY, maxPreview: 100 })).toBe('A: [voice message]');
    expect(alertBody({ job: job(MsgType.MSG_TYPE_GROUP_TEXT, 'hi'), senderName: 'A', contentKey: KEY, maxPreview: 100 })).toBe('Group 9 A: hi');
  });

  it('names: nick, else real name, else the id', () => {
    expect(displayName({ userNickName: 'Al', userRealName: 'Alice' }, 7)).toBe('Al');
    expect(displayName({ userNickName: ' ', userRealName: 'Alice' }, 7)).toBe('Alice');
    expect(displayName(undefined, 7)).toBe('User 7');
  });
});

describe('send jobs and the notification', () => {
  const single = { fromUserId: 7, toSessionId: 9, msgId: 3, createTime: 1_700_000_000, msgType: MsgType.MSG_TYPE_SINGLE_TEXT, msgData: new Uint8Array(), recipientIds: [9] };
  const group = { ...single, toSessionId: 40, msgType: MsgType.MSG_TYPE_GROUP_TEXT, recipientIds: [9, 10] };

  it('one per device, badge per user, session as the recipient sees it, ids stable per message and device', () => {
    const devices = [
      { userId: 9, clientType: ClientType.CLIENT_TYPE_IOS, token: 'a' },
      { userId: 10, clientType: ClientType.CLIENT_TYPE_ANDROID, token: 'b' },
    ];
    const sends = sendJobsOf(group, devices, 'Eng A: hi', new Map([[9, 4]]));
    expect(sends).toEqual([
      { id: 'g40:3:9:17', send: { userId: 9, clientType: 17, deviceToken: 'a', body: 'Eng A: hi', badge: 4, createTime: 1_700_000_000, sessionType: SessionType.SESSION_TYPE_GROUP, sessionId: 40, msgId: 3 } },
      { id: 'g40:3:10:18', send: expect.objectContaining({ userId: 10, badge: 0, sessionId: 40 }) },
    ]);
    expect(sendJobsOf(single, devices.slice(0, 1), 'A: hi', new Map())[0].send).toMatchObject({ sessionType: SessionType.SESSION_TYPE_SINGLE, sessionId: 7 });
    expect(messageKey(single)).toBe(messageKey({ ...single, fromUserId: 9, toSessionId: 7 }));
  });

  it('expires a day after the message was stored', () => {
    const send = sendJobsOf(single, [{ userId: 9, clientType: ClientType.CLIENT_TYPE_IOS, token: 'a' }], 'A: hi', new Map([[9, 2]]))[0].send;
    expect(pushMessageOf(send, (1_700_000_000 + 60) * 1000)).toEqual({
      deviceToken: 'a',
      alert: { body: 'A: hi' },
      badge: 2,
      expirationSeconds: 86400 - 60,
      data: { session_type: '1', session_id: '7', msg_id: '3' },
    });
    expect(pushMessageOf(send, (1_700_000_000 + 86400) * 1000)).toBeUndefined();
  });
});
