import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ServiceAccount } from '../fcm';

export interface TestApnsKey {
  /** PKCS#8 PEM, as Apple's .p8 files are. */
  privateKeyPem: string;
  publicKey: KeyObject;
  /** The .p8 written to a temp directory. */
  keyFile: string;
  keyId: string;
  teamId: string;
}

export interface TestServiceAccount {
  serviceAccount: ServiceAccount;
  publicKey: KeyObject;
  /** The service-account JSON written to a temp directory. */
  credentialsFile: string;
}

export interface TestCredentials {
  dir: string;
  apns: TestApnsKey;
  fcm: TestServiceAccount;
  /** Deletes the temp directory. */
  cleanup(): void;
}

/** A random 64-hex-digit APNs device token. */
export function testDeviceToken(): string {
  return randomBytes(32).toString('hex');
}

/**
 * Throwaway keys made at run time (nothing secret is committed): a P-256 .p8
 * for APNs and an RSA-2048 service account for FCM, written to a fresh temp
 * directory. tokenUri goes into the service account's token_uri.
 */
export function makeTestCredentials(options: { tokenUri?: string; projectId?: string } = {}): TestCredentials {
  const dir = mkdtempSync(path.join(tmpdir(), 'tt-push-'));

  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const privateKeyPem = ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const keyId = 'ABC123DEFG';
  const keyFile = path.join(dir, `AuthKey_${keyId}.p8`);
  writeFileSync(keyFile, privateKeyPem, { mode: 0o600 });

  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const projectId = options.projectId ?? 'tt-push-test';
  const serviceAccount: ServiceAccount = {
    project_id: projectId,
    private_key_id: randomBytes(20).toString('hex'),
    private_key: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: `push@${projectId}.iam.gserviceaccount.com`,
    token_uri: options.tokenUri ?? 'https://oauth2.googleapis.com/token',
  };
  const credentialsFile = path.join(dir, 'service-account.json');
  writeFileSync(credentialsFile, JSON.stringify({ type: 'service_account', ...serviceAccount }, null, 2), { mode: 0o600 });

  return {
    dir,
    apns: { privateKeyPem, publicKey: ec.publicKey, keyFile, keyId, teamId: 'TEAM123456' },
    fcm: { serviceAccount, publicKey: rsa.publicKey, credentialsFile },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
