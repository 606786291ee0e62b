// Friends, attributes, session attributes (mute ↔ group shield, muted pushes) and profiles through
// db_proxy's handlers on SQLite. Requests and answers go through the protobuf codec, as gRPC would
// carry them: optional fields are present only when set, and a missing required field fails.
import { IM, type DbProxyHandlers } from '@tt/proto';
import type { Store } from '@tt/storage';
import { md5, openTestDbProxy, request, wire, type Codec, type TestDbProxy } from './testing';

const { SessionType } = IM.BaseDefine;

describe('db_proxy friends, attributes, session attributes and profiles (SQLite)', () => {
  let proxy: TestDbProxy;
  let store: Store;
  let h: DbProxyHandlers;
  let alice: number;
  let bob: number;
  let carol: number;
  let group: number;

  const friendUpdate = async (m: IM.DbProxy.IFriendUpdateReq) =>
    wire(IM.DbProxy.FriendUpdateRsp as Codec<any>, await h.friendUpdate(request(IM.DbProxy.FriendUpdateReq as Codec<any>, m)));
  const friendSync = async (userId: number, since: number) => wire(IM.DbProxy.FriendSyncRsp as Codec<any>, await h.friendSync(request(IM.DbProxy.SinceReq as Codec<any>, { userId, since })));
  const sessionAttrSet = async (userId: number, sessionType: number, peerId: number, name: string, value: string) =>
    wire(
      IM.DbProxy.SessionAttrSetRsp as Codec<any>,
      await h.sessionAttrSet(request(IM.DbProxy.SessionAttrSetReq as Codec<any>, { userId, conversation: { sessionType, peerId }, name, value })),
    );
  const shields = async (userIds: number[], conversation?: IM.Core.IConversationRef) =>
    wire(IM.DbProxy.GetPushShieldsRsp as Codec<any>, await h.getPushShields(request(IM.DbProxy.GetPushShieldsReq as Codec<any>, { userIds, conversation }))).shields.map(
      (s: { userId: number; shieldStatus?: number }) => [s.userId, s.shieldStatus ?? 0],
    );

  beforeAll(async () => {
    proxy = await openTestDbProxy('social');
    ({ store, handlers: h } = proxy);
    // One after the other: the tests expect ids in this order.
    const create = async (name: string) => (await store.users.create({ name, passwordMd5Hex: md5('pw'), nick: name.toUpperCase() })).id;
    alice = await create('alice');
    bob = await create('bob');
    carol = await create('carol');
    group = (await store.groups.create({ type: 1, name: 'Eng', creatorId: alice, memberIds: [bob] })).id;
  });

  afterAll(async () => {
    await proxy?.close();
  });

  describe('friends', () => {
    it('adding is mutual and answers who became friends; adding again only changes the remark', async () => {
      const before = Math.floor(Date.now() / 1000);
      expect(await friendUpdate({ userId: alice, add: [{ friendId: bob, remark: 'Bobby' }, { friendId: carol, remark: '' }] })).toEqual({ ok: true, addedIds: [bob, carol] });
      expect(await friendUpdate({ userId: alice, add: [{ friendId: bob, remark: 'B.' }] })).toEqual({ ok: true });
      const mine = await friendSync(alice, 0);
      expect(mine.friends.map((f: any) => [f.friendId, f.remark, f.deleted ?? false])).toEqual(expect.arrayContaining([[bob, 'B.', false], [carol, '', false]]));
      expect(mine.friends).toHaveLength(2);
      expect(mine.now).toBeGreaterThanOrEqual(before);
      expect((await friendSync(bob, 0)).friends.map((f: any) => [f.friendId, f.remark ?? ''])).toEqual([[alice, '']]);
    });

    it('removing ends both sides: a sync since then sees the removal, a full sync does not list it', async () => {
      const since = Math.floor(Date.now() / 1000);
      expect(await friendUpdate({ userId: carol, remove: [alice] })).toEqual({ ok: true, removedIds: [alice] });
      expect(await friendUpdate({ userId: carol, remove: [alice] })).toEqual({ ok: true });
      expect((await friendSync(alice, since)).friends.filter((f: any) => f.deleted).map((f: any) => f.friendId)).toEqual([carol]);
      expect((await friendSync(alice, 0)).friends.map((f: any) => f.friendId)).toEqual([bob]);
      expect((await friendSync(carol, 0)).friends).toBeUndefined();
    });

    it('an unknown user, oneself or a too long remark changes nothing (ok=false)', async () => {
      for (const m of [
        { userId: alice, add: [{ friendId: 9999, remark: '' }, { friendId: carol, remark: '' }] },
        { userId: alice, remove: [alice] },
        { userId: alice, add: [{ friendId: carol, remark: 'r'.repeat(256) }] },
      ]) {
        const rsp = await friendUpdate(m);
        expect(rsp.ok).toBe(false);
        expect(rsp.errorMessage).toEqual(expect.any(String));
      }
      expect(await store.friends.isFriend(alice, carol)).toBe(false);
      await expect(h.friendUpdate(request(IM.DbProxy.FriendUpdateReq as Codec<any>, { userId: 0, add: [] }))).rejects.toMatchObject({ code: 3 });
    });
  });

  describe('user attributes', () => {
    it('set, overwrite, remove with an empty value, get all', async () => {
      const set = (targetId: number, name: string, value: string) => h.userAttrSet(request(IM.DbProxy.UserAttribute as Codec<any>, { userId: alice, targetId, name, value }));
      await set(bob, 'remark', 'Bob from work');
      await set(carol, 'remark', 'C');
      await set(carol, 'remark', 'Carol');
      await set(bob, 'star', '1');
      await set(bob, 'star', '');
      expect(wire(IM.DbProxy.UserAttributeList as Codec<any>, await h.userAttrGet(request(IM.DbProxy.UserRef as Codec<any>, { userId: alice })))).toEqual({
        attributes: [
          { userId: alice, targetId: bob, name: 'remark', value: 'Bob from work' },
          { userId: alice, targetId: carol, name: 'remark', value: 'Carol' },
        ],
      });
      expect(wire(IM.DbProxy.UserAttributeList as Codec<any>, await h.userAttrGet(request(IM.DbProxy.UserRef as Codec<any>, { userId: bob })))).toEqual({});
    });

    it('an unknown target is NOT_FOUND; an empty or too long name, a too long value INVALID_ARGUMENT', async () => {
      const set = (targetId: number, name: string, value: string) => h.userAttrSet(request(IM.DbProxy.UserAttribute as Codec<any>, { userId: alice, targetId, name, value }));
      await expect(set(9999, 'remark', 'x')).rejects.toMatchObject({ code: 5 });
      await expect(set(bob, '', 'x')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(set(bob, 'n'.repeat(65), 'x')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(set(bob, 'remark', 'v'.repeat(1025))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });
  });

  describe('session attributes', () => {
    it('single chat: set and clear, listed by the store; the peer must be a known user', async () => {
      expect(await sessionAttrSet(alice, SessionType.SESSION_TYPE_SINGLE, bob, 'top', '1')).toEqual({ ok: true });
      expect((await store.sessionAttributes.list(alice)).map((a) => [a.sessionType, a.peerId, a.name, a.value])).toEqual([[1, bob, 'top', '1']]);
      expect(await sessionAttrSet(alice, SessionType.SESSION_TYPE_SINGLE, bob, 'top', '')).toEqual({ ok: true });
      expect(await store.sessionAttributes.list(alice)).toEqual([]);
      expect(await sessionAttrSet(alice, SessionType.SESSION_TYPE_SINGLE, 9999, 'top', '1')).toEqual({ ok: false, errorMessage: expect.stringContaining('9999') });
      expect((await sessionAttrSet(alice, SessionType.SESSION_TYPE_SINGLE, bob, 'x'.repeat(65), '1')).ok).toBe(false);
      expect((await sessionAttrSet(alice, SessionType.SESSION_TYPE_SINGLE, bob, 'note', 'v'.repeat(1025))).ok).toBe(false);
      await expect(sessionAttrSet(alice, 3, bob, 'top', '1')).rejects.toMatchObject({ code: 3 });
    });

    it('group: "mute" sets the member\'s group shield and clearing it clears the shield; a non-member gets ok=false', async () => {
      const versionBefore = (await store.groups.findById(group))!.version;
      expect(await sessionAttrSet(bob, SessionType.SESSION_TYPE_GROUP, group, 'mute', '1')).toEqual({ ok: true });
      expect((await store.groups.member(group, bob))?.shieldStatus).toBe(1);
      expect((await store.groups.findById(group))!.version).toBe(versionBefore + 1);
      // Muting again does not bump the version: the shield is already set.
      expect(await sessionAttrSet(bob, SessionType.SESSION_TYPE_GROUP, group, 'mute', 'yes')).toEqual({ ok: true });
      expect((await store.groups.findById(group))!.version).toBe(versionBefore + 1);
      expect(await sessionAttrSet(bob, SessionType.SESSION_TYPE_GROUP, group, 'mute', '0')).toEqual({ ok: true });
      expect((await store.groups.member(group, bob))?.shieldStatus).toBe(0);
      expect(await sessionAttrSet(bob, SessionType.SESSION_TYPE_GROUP, group, 'mute', '1')).toEqual({ ok: true });
      expect(await sessionAttrSet(bob, SessionType.SESSION_TYPE_GROUP, group, 'mute', '')).toEqual({ ok: true });
      expect((await store.groups.member(group, bob))?.shieldStatus).toBe(0);
      expect(await store.sessionAttributes.list(bob)).toEqual([]);
      // "top" does not touch the shield.
      expect(await sessionAttrSet(bob, SessionType.SESSION_TYPE_GROUP, group, 'top', '1')).toEqual({ ok: true });
      expect((await store.groups.member(group, bob))?.shieldStatus).toBe(0);
      const rsp = await sessionAttrSet(carol, SessionType.SESSION_TYPE_GROUP, group, 'mute', '1');
      expect(rsp.ok).toBe(false);
      expect(rsp.errorMessage).toContain('not a member');
      expect(await store.sessionAttributes.list(carol)).toEqual([]);
    });

    it('GetPushShields with a conversation: a user who muted it counts as shielded', async () => {
      await store.settings.setPushShield(carol, 1);
      // alice mutes her chat with bob; bob mutes the group.
      expect(await sessionAttrSet(alice, SessionType.SESSION_TYPE_SINGLE, bob, 'mute', '1')).toEqual({ ok: true });
      expect(await sessionAttrSet(bob, SessionType.SESSION_TYPE_GROUP, group, 'mute', '1')).toEqual({ ok: true });
      expect(await shields([alice, bob, carol])).toEqual([[alice, 0], [bob, 0], [carol, 1]]);
      // bob writes to alice: she muted him.
      expect(await shields([alice], { sessionType: SessionType.SESSION_TYPE_SINGLE, peerId: bob })).toEqual([[alice, 1]]);
      // carol writes to alice: not muted.
      expect(await shields([alice], { sessionType: SessionType.SESSION_TYPE_SINGLE, peerId: carol })).toEqual([[alice, 0]]);
      // alice writes to bob: he did not mute her.
      expect(await shields([bob], { sessionType: SessionType.SESSION_TYPE_SINGLE, peerId: alice })).toEqual([[bob, 0]]);
      expect(await shields([alice, bob, carol], { sessionType: SessionType.SESSION_TYPE_GROUP, peerId: group })).toEqual([[alice, 0], [bob, 1], [carol, 1]]);
      expect(await sessionAttrSet(bob, SessionType.SESSION_TYPE_GROUP, group, 'mute', 'false')).toEqual({ ok: true });
      expect(await shields([bob], { sessionType: SessionType.SESSION_TYPE_GROUP, peerId: group })).toEqual([[bob, 0]]);
    });
  });

  describe('profiles', () => {
    it('known users only, with birthday; an update changes only the fields it carries', async () => {
      const profiles = async (userIds: number[]) =>
        wire(IM.DbProxy.UserProfilesRsp as Codec<any>, await h.userProfiles(request(IM.DbProxy.UserProfilesReq as Codec<any>, { userIds }))).profiles ?? [];
      const update = async (m: IM.DbProxy.IUserProfileUpdateReq) =>
        wire(IM.DbProxy.UserProfileUpdateRsp as Codec<any>, await h.userProfileUpdate(request(IM.DbProxy.UserProfileUpdateReq as Codec<any>, m)));
      expect(await profiles([carol, 9999, alice])).toEqual([
        { userId: alice, name: 'alice', nick: 'ALICE', avatar: '', phone: '', birthdayMs: 0 },
        { userId: carol, name: 'carol', nick: 'CAROL', avatar: '', phone: '', birthdayMs: 0 },
      ]);
      const birthday = Date.UTC(1991, 0, 2);
      expect(await update({ userId: alice, birthdayMs: birthday, phone: '555-0100' })).toEqual({ ok: true });
      expect(await update({ userId: alice, nick: 'Al' })).toEqual({ ok: true });
      expect(await update({ userId: alice })).toEqual({ ok: true });
      expect(await profiles([alice])).toEqual([{ userId: alice, name: 'alice', nick: 'Al', avatar: '', phone: '555-0100', birthdayMs: birthday }]);
      // TeamTalk's user info sees the change too.
      expect((await h.getUsersInfo(IM.Buddy.IMUsersInfoReq.create({ userId: alice, userIdList: [alice] }))).userInfoList?.[0]).toMatchObject({ userNickName: 'Al', userTel: '555-0100' });
      const tooLong = await update({ userId: alice, nick: 'n'.repeat(65) });
      expect(tooLong.ok).toBe(false);
      expect(tooLong.errorMessage).toContain('nick');
      expect((await update({ userId: 9999, nick: 'x' })).ok).toBe(false);
      expect((await profiles([alice]))[0].nick).toBe('Al');
    });
  });
});
