import { generateKeyPairSync } from 'node:crypto';
import { decodeJwt, FakeFcmServer, FcmProvider, googleError, makeTestCredentials, type TestCredentials } from './index';

let creds: TestCredentials;
let now: number;
let fake: FakeFcmServer;
let fcm: FcmProvider;
const PROJECT = 'tt-push-test';
const DEAD = 'fcm-token-dead';

beforeAll(() => {
  creds = makeTestCredentials({ projectId: PROJECT });
});
afterAll(() => creds.cleanup());

beforeEach(async () => {
  now = Date.UTC(2025, 0, 1, 12, 0, 0);
  fake = await new FakeFcmServer({ publicKey: creds.fcm.publicKey, clientEmail: creds.fcm.serviceAccount.client_email, projectId: PROJECT, now: () => now }).start();
  fcm = new FcmProvider({ serviceAccount: creds.fcm.serviceAccount, url: fake.url, tokenUrl: fake.tokenUrl, now: () => now });
});
afterEach(async () => {
  await fcm.close();
  await fake.close();
});

const message = (deviceToken = 'fcm-token-1') => ({ deviceToken, alert: { body: 'Alice: hello' }, badge: 3 });

test('gets an access token with a signed JWT, then sends the v1 message', async () => {
  const result = await fcm.send({ ...message(), alert: { title: 'Engineering', body: 'Alice: hi' }, collapseId: 's7', data: { session: 'g:7' } });
  expect(result).toEqual({ kind: 'ok', id: `projects/${PROJECT}/messages/1` });

  const [tokenReq] = fake.tokenRequests;
  expect(tokenReq).toMatchObject({ method: 'POST', path: '/token', status: 200 });
  expect(tokenReq.headers['content-type']).toBe('application/x-www-form-urlencoded');
  const form = new URLSearchParams(tokenReq.body);
  expect(form.get('grant_type')).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
  const jwt = decodeJwt(form.get('assertion')!)!;
  expect(jwt.header).toEqual({ alg: 'RS256', typ: 'JWT', kid: creds.fcm.serviceAccount.private_key_id });
  expect(jwt.claims).toEqual({
    iss: creds.fcm.serviceAccount.client_email,
    scope: 'https://www.googleapis.com/auth/firebase.messaging',
    aud: fake.tokenUrl,
    iat: now / 1000,
    exp: now / 1000 + 3600,
  });

  const [sendReq] = fake.sendRequests;
  expect(sendReq).toMatchObject({ method: 'POST', path: `/v1/projects/${PROJECT}/messages:send`, status: 200 });
  expect(sendReq.headers.authorization).toBe(`Bearer ${fake.issuedTokens[0]}`);
  expect(fake.delivered[0].message).toEqual({
    token: 'fcm-token-1',
    notification: { title: 'Engineering', body: 'Alice: hi' },
    android: { priority: 'HIGH', ttl: '86400s', collapse_key: 's7', notification: { notification_count: 3, tag: 's7' } },
    apns: { payload: { aps: { badge: 3 } } },
    data: { session: 'g:7' },
  });
});

test('caches the access token over one connection and renews it before it expires', async () => {
  for (let i = 0; i < 3; i++) expect(await fcm.send(message())).toMatchObject({ kind: 'ok' });
  expect(fake.tokenRequests).toHaveLength(1);
  now += 54 * 60_000;
  await fcm.send(message());
  expect(fake.tokenRequests).toHaveLength(1);
  now += 2 * 60_000; // 56 min: within 5 min of expires_in = 3600
  await fcm.send(message());
  expect(fake.tokenRequests).toHaveLength(2);
  expect(fake.delivered[4].accessToken).toBe(fake.issuedTokens[1]);
  expect(fcm.connects).toBe(1);
});

test('concurrent sends share one token request', async () => {
  const results = await Promise.all(Array.from({ length: 5 }, (_, i) => fcm.send(message(`t${i}`))));
  expect(results.every((r) => r.kind === 'ok')).toBe(true);
  expect(fake.tokenRequests).toHaveLength(1);
});

test('401: gets a new access token and sends again', async () => {
  await fcm.send(message());
  fake.revokeAccessTokens();
  expect(await fcm.send(message())).toMatchObject({ kind: 'ok' });
  expect(fake.sendRequests.map((r) => r.status)).toEqual([200, 401, 200]);
  expect((fake.sendRequests[1].response as { error: { status: string } }).error.status).toBe('UNAUTHENTICATED');
  expect(fake.tokenRequests).toHaveLength(2);
  // A second 401 with a fresh token is a failure, not a loop.
  fake.failNext(2, 401, googleError(401, 'UNAUTHENTICATED', 'nope').body);
  expect(await fcm.send(message())).toEqual({ kind: 'failed', reason: expect.stringContaining('UNAUTHENTICATED') });
});

test.each([
  [500, 'INTERNAL', undefined],
  [503, 'UNAVAILABLE', undefined],
  [429, 'RESOURCE_EXHAUSTED', 'QUOTA_EXCEEDED'],
])('%i %s is retried later', async (status, grpcStatus, fcmCode) => {
  const details = fcmCode ? [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: fcmCode }] : undefined;
  fake.failNext(1, status, googleError(status, grpcStatus, 'try later', details).body, { 'retry-after': '30' });
  expect(await fcm.send(message())).toEqual({ kind: 'retry', reason: `${fcmCode ?? grpcStatus}: try later`, retryAfterMs: 30_000 });
  expect(await fcm.send(message())).toMatchObject({ kind: 'ok' });
});

test('UNREGISTERED means the token is dead', async () => {
  fake.markDead(DEAD);
  expect(await fcm.send(message(DEAD))).toEqual({ kind: 'dead-token', reason: 'UNREGISTERED: Requested entity was not found.' });
  expect(fake.sendRequests[0]).toMatchObject({
    status: 404,
    response: { error: { code: 404, status: 'NOT_FOUND', details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'UNREGISTERED' }] } },
  });
});

test('INVALID_ARGUMENT is a dead token only when it is about the token', async () => {
  const fcmError = [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'INVALID_ARGUMENT' }];
  fake.failNext(1, 400, googleError(400, 'INVALID_ARGUMENT', 'The registration token is not a valid FCM registration token', fcmError).body);
  expect(await fcm.send(message())).toMatchObject({ kind: 'dead-token' });
  // The fake's own check of the message: an empty token names message.token.
  expect(await fcm.send(message(''))).toMatchObject({ kind: 'dead-token' });
  expect(fake.sendRequests[1].status).toBe(400);
  // Any other field: the request is wrong, the token stays.
  expect(await fcm.send({ ...message(), data: { n: 1 as unknown as string } })).toEqual({
    kind: 'failed',
    reason: expect.stringContaining("Invalid value at 'message.data[n].value'"),
  });
});

test('other errors fail; a bare 404 (wrong URL) never deletes a token', async () => {
  fake.failNext(1, 403, googleError(403, 'PERMISSION_DENIED', 'SenderId mismatch', [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'SENDER_ID_MISMATCH' }]).body);
  expect(await fcm.send(message())).toEqual({ kind: 'failed', reason: 'SENDER_ID_MISMATCH: SenderId mismatch' });
  const wrongProject = new FcmProvider({ serviceAccount: { ...creds.fcm.serviceAccount, project_id: 'other' }, url: fake.url, tokenUrl: fake.tokenUrl, now: () => now });
  const wrongPath = new FcmProvider({ serviceAccount: creds.fcm.serviceAccount, url: fake.url, tokenUrl: fake.tokenUrl, now: () => now });
  try {
    expect(await wrongProject.send(message())).toMatchObject({ kind: 'failed', reason: expect.stringContaining('PERMISSION_DENIED') });
    fake.failNext(1, 404, '<html>Not Found</html>');
    expect(await wrongPath.send(message())).toEqual({ kind: 'failed', reason: 'HTTP 404' });
  } finally {
    await wrongProject.close();
    await wrongPath.close();
  }
});

test('token endpoint answers: 5xx is a retry, invalid_grant a failure', async () => {
  fake.failNextToken(1, 503, { error: 'temporarily_unavailable' });
  expect(await fcm.send(message())).toEqual({ kind: 'retry', reason: 'OAuth2 token request failed: temporarily_unavailable' });
  expect(await fcm.send(message())).toMatchObject({ kind: 'ok' });

  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const wrongKey = new FcmProvider({ serviceAccount: { ...creds.fcm.serviceAccount, private_key: otherKey }, url: fake.url, tokenUrl: fake.tokenUrl, now: () => now });
  const wrongAud = new FcmProvider({ serviceAccount: creds.fcm.serviceAccount, url: fake.url, tokenUrl: fake.tokenUrl.replace('127.0.0.1', 'localhost'), now: () => now });
  try {
    expect(await wrongKey.send(message())).toEqual({ kind: 'failed', reason: 'OAuth2 token request failed: invalid_grant: Invalid JWT Signature.' });
    expect(await wrongAud.send(message())).toMatchObject({ kind: 'failed', reason: expect.stringContaining('audience') });
  } finally {
    await wrongKey.close();
    await wrongAud.close();
  }
});

test('the token_uri of the service account is the default token URL', async () => {
  const p = new FcmProvider({ serviceAccount: { ...creds.fcm.serviceAccount, token_uri: fake.tokenUrl }, url: fake.url, now: () => now });
  try {
    expect(p.tokenUrl).toBe(fake.tokenUrl);
    expect(await p.send(message())).toMatchObject({ kind: 'ok' });
  } finally {
    await p.close();
  }
});

test('an unreachable FCM is a retry', async () => {
  await fcm.send(message());
  await fake.close();
  expect(await fcm.send(message())).toEqual({ kind: 'retry', reason: expect.stringContaining('FCM unreachable') });
});
