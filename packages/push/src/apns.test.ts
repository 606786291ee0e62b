import { generateKeyPairSync } from 'node:crypto';
import { ApnsProvider, FakeApnsServer, makeTestCredentials, testDeviceToken, type TestCredentials } from './index';

const TOPIC = 'com.example.teamtalk';
let creds: TestCredentials;
let now: number;
let fake: FakeApnsServer;
let apns: ApnsProvider;

beforeAll(() => {
  creds = makeTestCredentials();
});
afterAll(() => creds.cleanup());

beforeEach(async () => {
  now = Date.UTC(2025, 0, 1, 12, 0, 0);
  fake = await new FakeApnsServer({ publicKey: creds.apns.publicKey, keyId: creds.apns.keyId, teamId: creds.apns.teamId, topic: TOPIC, now: () => now }).start();
  apns = new ApnsProvider({ url: fake.url, key: creds.apns.privateKeyPem, keyId: creds.apns.keyId, teamId: creds.apns.teamId, topic: TOPIC, now: () => now });
});
afterEach(async () => {
  await apns.close();
  await fake.close();
});

const message = (deviceToken = testDeviceToken()) => ({ deviceToken, alert: { body: 'Alice: hello' }, badge: 3 });

test('delivers with the headers, payload and provider token APNs requires', async () => {
  const token = testDeviceToken();
  const result = await apns.send({ ...message(token), data: { session: 'u:42' } });
  expect(result).toEqual({ kind: 'ok', id: expect.stringMatching(/^[0-9A-F-]{36}$/) });
  expect(fake.delivered).toHaveLength(1);
  const n = fake.delivered[0];
  expect(fake.requests[0]).toMatchObject({ method: 'POST', path: `/3/device/${token}` });
  expect(n.headers).toMatchObject({
    'apns-topic': TOPIC,
    'apns-push-type': 'alert',
    'apns-priority': '10',
    'apns-expiration': String(now / 1000 + 24 * 3600),
  });
  expect(n.headers['apns-collapse-id']).toBeUndefined();
  expect(n.payload).toEqual({ aps: { alert: { body: 'Alice: hello' }, badge: 3, sound: 'default' }, session: 'u:42' });
  expect(n.jwt.header).toEqual({ alg: 'ES256', kid: creds.apns.keyId });
  expect(n.jwt.claims).toEqual({ iss: creds.apns.teamId, iat: now / 1000 });
  expect(n.headers.authorization).toBe(`bearer ${n.jwt.raw}`);
});

test('sends collapse id and an immediate expiration', async () => {
  expect(await apns.send({ ...message(), collapseId: 'session-7', expirationSeconds: 0 })).toMatchObject({ kind: 'ok' });
  expect(fake.delivered[0].headers).toMatchObject({ 'apns-collapse-id': 'session-7', 'apns-expiration': '0' });
});

test('reuses one HTTP/2 connection and one provider token, renewed after ~50 minutes', async () => {
  for (let i = 0; i < 3; i++) expect(await apns.send(message())).toMatchObject({ kind: 'ok' });
  expect(fake.providerTokens).toHaveLength(1);
  now += 49 * 60_000;
  await apns.send(message());
  expect(fake.providerTokens).toHaveLength(1);
  now += 2 * 60_000; // 51 min after signing
  await apns.send(message());
  expect(fake.providerTokens).toHaveLength(2);
  expect(fake.delivered[4].jwt.claims.iat).toBe(now / 1000);
  expect(fake.connections).toBe(1);
  expect(apns.connects).toBe(1);
});

test('ExpiredProviderToken: signs a new token and sends again', async () => {
  const lazy = new ApnsProvider({
    url: fake.url, key: creds.apns.privateKeyPem, keyId: creds.apns.keyId, teamId: creds.apns.teamId, topic: TOPIC,
    now: () => now, tokenRefreshMs: 3 * 3600_000,
  });
  try {
    expect(await lazy.send(message())).toMatchObject({ kind: 'ok' });
    now += 61 * 60_000; // the fake (like Apple) refuses tokens older than an hour
    expect(await lazy.send(message())).toMatchObject({ kind: 'ok' });
    expect(fake.requests.map((r) => [r.status, (r.response as { reason?: string } | undefined)?.reason])).toEqual([
      [200, undefined],
      [403, 'ExpiredProviderToken'],
      [200, undefined],
    ]);
    expect(fake.providerTokens).toHaveLength(2);
  } finally {
    await lazy.close();
  }
});

test('a key APNs does not know fails after one fresh token', async () => {
  const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const wrong = new ApnsProvider({ url: fake.url, key: other, keyId: creds.apns.keyId, teamId: creds.apns.teamId, topic: TOPIC, now: () => now });
  try {
    const result = await wrong.send(message());
    expect(result).toEqual({ kind: 'failed', reason: expect.stringContaining('InvalidProviderToken') });
    expect(fake.requests.map((r) => r.status)).toEqual([403, 403]);
  } finally {
    await wrong.close();
  }
});

test.each([
  [500, 'InternalServerError'],
  [503, 'ServiceUnavailable'],
  [429, 'TooManyRequests'],
])('%i %s is retried later', async (status, reason) => {
  fake.failNext(1, status, { reason });
  expect(await apns.send(message())).toEqual({ kind: 'retry', reason });
  expect(await apns.send(message())).toMatchObject({ kind: 'ok' });
});

test('Retry-After is passed on', async () => {
  fake.failNext(1, 429, { reason: 'TooManyRequests' }, { 'retry-after': '7' });
  expect(await apns.send(message())).toEqual({ kind: 'retry', reason: 'TooManyRequests', retryAfterMs: 7000 });
});

test('410 Unregistered and BadDeviceToken mean the token is dead', async () => {
  const token = testDeviceToken();
  fake.markDead(token);
  expect(await apns.send(message(token))).toEqual({ kind: 'dead-token', reason: 'Unregistered' });
  expect(fake.requests[0].response).toEqual({ reason: 'Unregistered', timestamp: now });
  // The fake itself refuses a token that is not hex, as APNs does.
  expect(await apns.send(message('not-a-device-token'))).toEqual({ kind: 'dead-token', reason: 'BadDeviceToken' });
  expect(fake.requests[1]).toMatchObject({ status: 400, response: { reason: 'BadDeviceToken' } });
});

test('other client errors fail without deleting the token', async () => {
  fake.failNext(1, 400, { reason: 'BadTopic' });
  expect(await apns.send(message())).toEqual({ kind: 'failed', reason: 'BadTopic (HTTP 400)' });
  fake.failNext(1, 413, { reason: 'PayloadTooLarge' });
  expect(await apns.send(message())).toEqual({ kind: 'failed', reason: 'PayloadTooLarge (HTTP 413)' });
  const otherApp = new ApnsProvider({ url: fake.url, key: creds.apns.privateKeyPem, keyId: creds.apns.keyId, teamId: creds.apns.teamId, topic: 'com.other.app', now: () => now });
  try {
    expect(await otherApp.send(message())).toEqual({ kind: 'failed', reason: 'DeviceTokenNotForTopic (HTTP 400)' });
  } finally {
    await otherApp.close();
  }
});

test('the fake checks the request like APNs', async () => {
  const wrongKid = new ApnsProvider({ url: fake.url, key: creds.apns.privateKeyPem, keyId: 'WRONGKEYID', teamId: creds.apns.teamId, topic: TOPIC, now: () => now });
  expect(await wrongKid.send(message())).toMatchObject({ kind: 'failed', reason: expect.stringContaining('InvalidProviderToken') });
  await wrongKid.close();
  const noBadge = new FakeApnsServer({ publicKey: creds.apns.publicKey, keyId: creds.apns.keyId, teamId: creds.apns.teamId, now: () => now });
  await noBadge.start();
  const p = new ApnsProvider({ url: noBadge.url, key: creds.apns.privateKeyPem, keyId: creds.apns.keyId, teamId: creds.apns.teamId, topic: TOPIC, now: () => now });
  try {
    expect(await p.send({ deviceToken: testDeviceToken(), alert: { body: 'x' } })).toEqual({ kind: 'failed', reason: 'BadPayload (HTTP 400)' });
  } finally {
    await p.close();
    await noBadge.close();
  }
});

test('reconnects after the server sends GOAWAY', async () => {
  expect(await apns.send(message())).toMatchObject({ kind: 'ok' });
  fake.dropConnections();
  await new Promise((r) => setTimeout(r, 50));
  expect(await apns.send(message())).toMatchObject({ kind: 'ok' });
  expect(apns.connects).toBe(2);
  // A send racing the GOAWAY goes out again on a fresh connection.
  fake.dropConnections();
  expect(await apns.send(message())).toMatchObject({ kind: 'ok' });
  expect(apns.connects).toBe(3);
  expect(fake.delivered).toHaveLength(3);
});

test('an unreachable APNs is a retry, not a failure', async () => {
  const url = fake.url;
  await fake.close();
  const down = new ApnsProvider({ url, key: creds.apns.privateKeyPem, keyId: creds.apns.keyId, teamId: creds.apns.teamId, topic: TOPIC });
  try {
    expect(await down.send(message())).toEqual({ kind: 'retry', reason: expect.stringContaining('APNs unreachable') });
  } finally {
    await down.close();
  }
});

test('refuses a key that is not P-256', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
  expect(() => new ApnsProvider({ key: rsa, keyId: 'k', teamId: 't', topic: TOPIC })).toThrow(/P-256/);
});
