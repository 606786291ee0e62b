// push_server over the in-process job queue, with a db_proxy stand-in and
// recording providers: the flow from a message job to provider calls.
import { IM, PUSH_QUEUES, type DbProxyClient } from '@tt/proto';
import { MemoryJobQueue } from '@tt/bus';
import { encryptContent } from '@tt/client';
import { createLogger } from '@tt/observability';
import type { PushMessage, PushProvider, PushResult } from '@tt/push';
import { Registry } from 'prom-client';
import { startPushServer, type RunningPushServer } from './push-server';

const { ClientType, MsgType } = IM.BaseDefine;
const KEY = '12345678901234567890123456789012';
const tok = (userId: number, userType: number, token: string): IM.BaseDefine.IUserTokenInfo => ({ userId, userType, token, pushCount: 0, pushType: 0 });

class RecordingProvider implements PushProvider {
  readonly sent: PushMessage[] = [];
  readonly script: PushResult[] = [];
  constructor(readonly name: 'apns' | 'fcm') {}
  async send(m: PushMessage): Promise<PushResult> {
    const r = this.script.shift() ?? { kind: 'ok' };
    if (r.kind === 'ok') this.sent.push(m);
    return r;
  }
  async close() {}
}

function fakeDb() {
  const state = {
    tokens: [] as IM.BaseDefine.IUserTokenInfo[],
    shields: new Map<number, number>(),
    groupShields: new Map<number, number>(),
    /** Conversations each user muted, "<session type>:<peer id>" as the user sees them. */
    muted: new Map<number, Set<string>>(),
    unread: new Map<number, number>(),
    removed: [] as string[],
    failTokens: 0,
  };
  const db = {
    getDeviceTokens: async (req: IM.Server.IIMGetDeviceTokenReq) => {
      if (state.failTokens > 0) {
        state.failTokens--;
        throw new Error('UNAVAILABLE: db_proxy down');
      }
      return { userTokenInfo: state.tokens.filter((t) => req.userId!.includes(t.userId!)) };
    },
    // As db_proxy: a user who muted the conversation being pushed counts as shielded.
    getPushShields: async (req: IM.DbProxy.IGetPushShieldsReq) => ({
      shields: req.userIds!.map((userId) => {
        const muted = req.conversation != null && (state.muted.get(userId)?.has(`${req.conversation.sessionType}:${req.conversation.peerId}`) ?? false);
        return { userId, shieldStatus: muted ? 1 : (state.shields.get(userId) ?? 0) };
      }),
    }),
    getGroupShield: async (req: IM.Server.IIMGroupGetShieldReq) => ({ groupId: req.groupId, shieldStatusList: req.userId!.map((userId) => ({ userId, groupId: req.groupId, shieldStatus: state.groupShields.get(userId) ?? 0 })) }),
    getUsersInfo: async (req: IM.Buddy.IIMUsersInfoReq) => ({ userId: req.userId, userInfoList: req.userIdList!.map((userId) => ({ userId, userNickName: `Nick${userId}` })) }),
    getGroupInfo: async (req: IM.Group.IIMGroupInfoListReq) => ({ userId: req.userId, groupInfoList: req.groupVersionList!.map((g) => ({ groupId: g.groupId, groupName: 'Eng' })) }),
    getUnreadCount: async (req: IM.Message.IIMUnreadMsgCntReq) => ({ userId: req.userId, totalCnt: state.unread.get(req.userId!) ?? 0, unreadinfoList: [] }),
    removeDeviceTokens: async (req: IM.DbProxy.IRemoveDeviceTokensReq) => {
      state.removed.push(...req.tokens!);
      state.tokens = state.tokens.filter((t) => !req.tokens!.includes(t.token!));
      return { removed: req.tokens!.length };
    },
    ping: async () => ({ serverId: 'fake', serverTime: 0 }),
  };
  return { state, db: db as unknown as DbProxyClient };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let jobs: MemoryJobQueue;
let server: RunningPushServer;
let apns: RecordingProvider;
let fcm: RecordingProvider;
let f: ReturnType<typeof fakeDb>;
let registry: Registry;

async function start(providers: { apns?: PushProvider; fcm?: PushProvider } = { apns, fcm }) {
  server = await startPushServer({
    jobs,
    db: f.db,
    providers,
    log: createLogger('push_server', { level: 'silent' }),
    metricsRegistry: registry,
    config: { contentKey: KEY, previewMaxChars: 100, concurrency: 2, retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 50, jitter: 0 } },
  });
}

beforeEach(() => {
  jobs = new MemoryJobQueue();
  apns = new RecordingProvider('apns');
  fcm = new RecordingProvider('fcm');
  f = fakeDb();
  registry = new Registry();
});
afterEach(async () => {
  await server?.close();
  await jobs.close();
});

const job = (over: Partial<IM.Cluster.IPushJob> = {}) =>
  IM.Cluster.PushJob.encode({ fromUserId: 1, toSessionId: 2, msgId: 5, createTime: Math.floor(Date.now() / 1000), msgType: MsgType.MSG_TYPE_SINGLE_TEXT, msgData: encryptContent('hello', KEY), recipientIds: [2], ...over }).finish();

const metric = async (name: string) => (await registry.getSingleMetric(name)?.get())?.values ?? [];

test('a message job becomes one notification per device: iOS through APNs, Android through FCM, with text and badge', async () => {
  f.state.tokens = [
    tok(2, ClientType.CLIENT_TYPE_IOS, 'ios-2'),
    tok(2, ClientType.CLIENT_TYPE_ANDROID, 'and-2'),
  ];
  f.state.unread.set(2, 7);
  await start();
  await jobs.enqueue(PUSH_QUEUES.message, job());
  await until(() => apns.sent.length === 1 && fcm.sent.length === 1, 'both notifications');
  expect(apns.sent[0]).toMatchObject({ deviceToken: 'ios-2', alert: { body: 'Nick1: hello' }, badge: 7 });
  expect(fcm.sent[0]).toMatchObject({ deviceToken: 'and-2', alert: { body: 'Nick1: hello' }, badge: 7 });
});

test('group message: "<group> <sender>: …", shields honoured per user and per group', async () => {
  f.state.tokens = [3, 4, 5].map((userId) => tok(userId, ClientType.CLIENT_TYPE_ANDROID, `and-${userId}`));
  f.state.shields.set(4, 1);
  f.state.groupShields.set(5, 1);
  await start();
  await jobs.enqueue(PUSH_QUEUES.message, job({ toSessionId: 40, msgType: MsgType.MSG_TYPE_GROUP_TEXT, recipientIds: [3, 4, 5] }));
  await until(() => fcm.sent.length === 1, 'one notification');
  await new Promise((r) => setTimeout(r, 50));
  expect(fcm.sent.map((m) => [m.deviceToken, m.alert.body])).toEqual([['and-3', 'Eng Nick1: hello']]);
  expect(await metric('tt_push_skipped_total')).toEqual(expect.arrayContaining([expect.objectContaining({ labels: { reason: 'user_shield' }, value: 1 }), expect.objectContaining({ labels: { reason: 'group_shield' }, value: 1 })]));
});

test('a muted single chat gets no push: the recipient muted the sender; another sender still pushes', async () => {
  f.state.tokens = [tok(2, ClientType.CLIENT_TYPE_ANDROID, 'and-2')];
  // User 2 muted the chat with user 1 (single chat, peer 1 from 2's side).
  f.state.muted.set(2, new Set(['1:1']));
  await start();
  await jobs.enqueue(PUSH_QUEUES.message, job({ fromUserId: 1, msgId: 1 }));
  await jobs.enqueue(PUSH_QUEUES.message, job({ fromUserId: 3, msgId: 2 }));
  await until(() => fcm.sent.length === 1, 'the unmuted notification');
  await until(() => jobs.size(PUSH_QUEUES.message) === 0, 'both jobs to be taken');
  await new Promise((r) => setTimeout(r, 50));
  expect(fcm.sent.map((m) => [m.deviceToken, m.alert.body])).toEqual([['and-2', 'Nick3: hello']]);
  expect(await metric('tt_push_skipped_total')).toEqual(expect.arrayContaining([expect.objectContaining({ labels: { reason: 'user_shield' }, value: 1 })]));
});

test('a muted group gets no push for the members who muted it; the same group id as a single-chat peer is not muted', async () => {
  f.state.tokens = [3, 4].map((userId) => tok(userId, ClientType.CLIENT_TYPE_IOS, `ios-${userId}`));
  f.state.muted.set(4, new Set(['2:40']));
  f.state.muted.set(3, new Set(['1:40']));
  await start();
  await jobs.enqueue(PUSH_QUEUES.message, job({ toSessionId: 40, msgType: MsgType.MSG_TYPE_GROUP_TEXT, recipientIds: [3, 4] }));
  await until(() => apns.sent.length === 1, 'one notification');
  await new Promise((r) => setTimeout(r, 50));
  expect(apns.sent.map((m) => m.deviceToken)).toEqual(['ios-3']);
});

test('a dead token is removed through db_proxy; a retry answer is retried; a refusal is dead-lettered', async () => {
  f.state.tokens = [tok(2, ClientType.CLIENT_TYPE_IOS, 'ios-2')];
  await start();
  apns.script.push({ kind: 'dead-token', reason: 'Unregistered' });
  await jobs.enqueue(PUSH_QUEUES.message, job({ msgId: 1 }));
  await until(() => f.state.removed.length === 1, 'the removal');
  expect(f.state.removed).toEqual(['ios-2']);

  f.state.tokens = [tok(2, ClientType.CLIENT_TYPE_IOS, 'ios-2b')];
  apns.script.push({ kind: 'retry', reason: '503' }, { kind: 'retry', reason: '503' });
  await jobs.enqueue(PUSH_QUEUES.message, job({ msgId: 2 }));
  await until(() => apns.sent.length === 1, 'the delivery after two retries');

  apns.script.push({ kind: 'failed', reason: 'BadTopic' });
  await jobs.enqueue(PUSH_QUEUES.message, job({ msgId: 3 }));
  await until(() => jobs.deadLetters.length === 1, 'the dead letter');
  expect(jobs.deadLetters[0]).toMatchObject({ queue: 'send', attempts: 1, reason: 'apns: BadTopic' });
  expect(await metric('tt_push_dead_letters_total')).toEqual([expect.objectContaining({ labels: { queue: 'send' }, value: 1 })]);
});

test('db_proxy down: the message job is retried until it answers', async () => {
  f.state.tokens = [tok(2, ClientType.CLIENT_TYPE_ANDROID, 'and-2')];
  f.state.failTokens = 2;
  await start();
  await jobs.enqueue(PUSH_QUEUES.message, job());
  await until(() => fcm.sent.length === 1, 'the notification');
  expect(await metric('tt_push_retries_total')).toEqual([expect.objectContaining({ labels: { queue: 'message' }, value: 2 })]);
});

test('without providers, jobs are taken and dropped without look-ups', async () => {
  f.state.failTokens = 100;
  await start({});
  await jobs.enqueue(PUSH_QUEUES.message, job());
  await until(() => jobs.size(PUSH_QUEUES.message) === 0, 'the job to be taken');
  expect(f.state.failTokens).toBe(100);
  expect(jobs.deadLetters).toEqual([]);
});
