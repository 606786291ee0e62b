import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ApnsProvider, createPushProviders, FcmProvider, loadPushConfig, makeTestCredentials, type TestCredentials } from './index';

let creds: TestCredentials;
beforeAll(() => {
  creds = makeTestCredentials({ tokenUri: 'https://oauth2.example.test/token' });
});
afterAll(() => creds.cleanup());

const apnsEnv = () => ({
  PUSH_APNS_KEY_FILE: creds.apns.keyFile,
  PUSH_APNS_KEY_ID: creds.apns.keyId,
  PUSH_APNS_TEAM_ID: creds.apns.teamId,
  PUSH_APNS_TOPIC: 'com.example.tt',
});

test('nothing configured: both providers off, and it says why', () => {
  const config = loadPushConfig({});
  expect(config).toEqual({
    apns: undefined,
    fcm: undefined,
    contentKey: undefined,
    status: ['APNs off: PUSH_APNS_KEY_FILE not set', 'FCM off: PUSH_FCM_CREDENTIALS_FILE not set'],
    errors: [],
  });
});

test('full configuration turns both on with their defaults', async () => {
  const config = loadPushConfig({ ...apnsEnv(), PUSH_FCM_CREDENTIALS_FILE: creds.fcm.credentialsFile, PUSH_CONTENT_KEY: '12345678901234567890123456789012' });
  expect(config.errors).toEqual([]);
  expect(config.apns).toMatchObject({ url: 'https://api.push.apple.com', keyId: creds.apns.keyId, teamId: creds.apns.teamId, topic: 'com.example.tt' });
  expect(config.fcm).toMatchObject({ url: 'https://fcm.googleapis.com', tokenUrl: 'https://oauth2.example.test/token' });
  expect(config.fcm!.serviceAccount.project_id).toBe('tt-push-test');
  expect(config.contentKey).toBe('12345678901234567890123456789012');
  expect(config.status).toEqual([
    `APNs on: https://api.push.apple.com, topic com.example.tt, key ${creds.apns.keyId}, team ${creds.apns.teamId}`,
    'FCM on: https://fcm.googleapis.com, project tt-push-test, as push@tt-push-test.iam.gserviceaccount.com',
    'notification text: message preview',
  ]);
  const providers = createPushProviders(config);
  expect(providers.apns).toBeInstanceOf(ApnsProvider);
  expect(providers.fcm).toBeInstanceOf(FcmProvider);
  expect(providers.fcm!.tokenUrl).toBe('https://oauth2.example.test/token');
  await providers.apns!.close();
  await providers.fcm!.close();
});

test('URL overrides; PUSH_FCM_TOKEN_URL beats token_uri', () => {
  const config = loadPushConfig({
    ...apnsEnv(),
    PUSH_APNS_URL: 'http://127.0.0.1:4443',
    PUSH_FCM_CREDENTIALS_FILE: creds.fcm.credentialsFile,
    PUSH_FCM_URL: 'http://127.0.0.1:4444',
    PUSH_FCM_TOKEN_URL: 'http://127.0.0.1:4444/token',
  });
  expect(config.errors).toEqual([]);
  expect(config.apns!.url).toBe('http://127.0.0.1:4443');
  expect(config.fcm).toMatchObject({ url: 'http://127.0.0.1:4444', tokenUrl: 'http://127.0.0.1:4444/token' });
  expect(config.status).toContain('notification text: generic (TT_CONTENT_KEY not set)');
});

test('partial APNs configuration is an error, every problem at once', () => {
  expect(loadPushConfig({ PUSH_APNS_KEY_ID: 'ABC123DEFG', PUSH_APNS_TOPIC: 'x' }).errors).toEqual([
    'PUSH_APNS_KEY_FILE: required when PUSH_APNS_KEY_ID, PUSH_APNS_TOPIC are set',
  ]);
  const config = loadPushConfig({ PUSH_APNS_KEY_FILE: creds.apns.keyFile, PUSH_APNS_KEY_ID: 'short', PUSH_APNS_URL: 'ftp://x' });
  expect(config.apns).toBeUndefined();
  expect(config.errors).toEqual([
    'PUSH_APNS_URL: must be an https:// (or http:// for cleartext HTTP/2) URL, got "ftp://x"',
    'PUSH_APNS_KEY_ID: must be the 10-character Key ID, got "short"',
    'PUSH_APNS_TEAM_ID: required with PUSH_APNS_KEY_FILE',
    "PUSH_APNS_TOPIC: required with PUSH_APNS_KEY_FILE (the app's bundle id)",
  ]);
});

test('unreadable, non-PEM and non-P-256 key files are errors', () => {
  const missing = path.join(creds.dir, 'nope.p8');
  expect(loadPushConfig({ ...apnsEnv(), PUSH_APNS_KEY_FILE: missing }).errors).toEqual([
    expect.stringMatching(new RegExp(`^PUSH_APNS_KEY_FILE: cannot read ${missing}: ENOENT`)),
  ]);
  const garbage = path.join(creds.dir, 'garbage.p8');
  writeFileSync(garbage, '-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n');
  expect(loadPushConfig({ ...apnsEnv(), PUSH_APNS_KEY_FILE: garbage }).errors).toEqual([expect.stringContaining('is not a PEM private key (.p8)')]);
  const rsa = path.join(creds.dir, 'rsa.p8');
  writeFileSync(rsa, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  expect(loadPushConfig({ ...apnsEnv(), PUSH_APNS_KEY_FILE: rsa }).errors).toEqual([expect.stringContaining('must hold a P-256 EC key')]);
});

test('bad FCM credentials files are errors', () => {
  const bad = path.join(creds.dir, 'bad.json');
  writeFileSync(bad, '{not json');
  expect(loadPushConfig({ PUSH_FCM_CREDENTIALS_FILE: bad }).errors).toEqual([expect.stringContaining(`cannot read ${bad} as JSON`)]);
  const partial = path.join(creds.dir, 'partial.json');
  writeFileSync(partial, JSON.stringify({ type: 'service_account', client_email: 'a@b', private_key: 'nope' }));
  expect(loadPushConfig({ PUSH_FCM_CREDENTIALS_FILE: partial }).errors).toEqual([
    `PUSH_FCM_CREDENTIALS_FILE: ${partial} has no project_id`,
    expect.stringContaining(`PUSH_FCM_CREDENTIALS_FILE: private_key in ${partial} is not a PEM private key`),
  ]);
  const user = path.join(creds.dir, 'user.json');
  writeFileSync(user, JSON.stringify({ ...creds.fcm.serviceAccount, type: 'authorized_user' }));
  expect(loadPushConfig({ PUSH_FCM_CREDENTIALS_FILE: user }).errors).toEqual([expect.stringContaining('"authorized_user" credential, not a service account key')]);
});

test('a content key must be 32 characters', () => {
  const config = loadPushConfig({ PUSH_CONTENT_KEY: 'short' });
  expect(config.errors).toEqual(['PUSH_CONTENT_KEY: must be 32 characters (AES-256 key), got 5']);
  expect(config.contentKey).toBeUndefined();
});
