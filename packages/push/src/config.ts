import { readFileSync } from 'node:fs';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { APNS_PRODUCTION_URL, ApnsProvider } from './apns';
import { FCM_DEFAULT_URL, FcmProvider, GOOGLE_TOKEN_URL, type ServiceAccount } from './fcm';

export interface ApnsConfig {
  url: string;
  keyFile: string;
  key: KeyObject;
  keyId: string;
  teamId: string;
  topic: string;
}

export interface FcmConfig {
  url: string;
  tokenUrl: string;
  credentialsFile: string;
  serviceAccount: ServiceAccount;
}

export interface PushConfig {
  /** Set when APNs is configured and valid. */
  apns?: ApnsConfig;
  /** Set when FCM is configured and valid. */
  fcm?: FcmConfig;
  /** The client content key for previews; unset = generic notification text. */
  contentKey?: string;
  /** One line per provider for the start-up log: "APNs on: …" / "APNs off: PUSH_APNS_KEY_FILE not set". */
  status: string[];
  /** Problems with a partial or broken configuration, every one at once; the caller should refuse to start. */
  errors: string[];
}

/** The variables loadPushConfig reads, for docs/CONFIG.md. */
export const PUSH_ENV_DOCS: Array<{ name: string; default: string; description: string }> = [
  { name: 'PUSH_APNS_URL', default: JSON.stringify(APNS_PRODUCTION_URL), description: 'APNs endpoint (sandbox: https://api.sandbox.push.apple.com); an http:// URL = cleartext HTTP/2 with prior knowledge (tests).' },
  { name: 'PUSH_APNS_KEY_FILE', default: '(empty)', description: 'APNs token-auth signing key (.p8, PKCS#8 PEM). Unset = APNs off.' },
  { name: 'PUSH_APNS_KEY_ID', default: '(empty)', description: 'Key ID of the .p8 key (10 characters); required with PUSH_APNS_KEY_FILE.' },
  { name: 'PUSH_APNS_TEAM_ID', default: '(empty)', description: 'Apple developer Team ID (10 characters); required with PUSH_APNS_KEY_FILE.' },
  { name: 'PUSH_APNS_TOPIC', default: '(empty)', description: "The iOS app's bundle id (apns-topic); required with PUSH_APNS_KEY_FILE." },
  { name: 'PUSH_FCM_CREDENTIALS_FILE', default: '(empty)', description: 'Firebase service-account JSON key file. Unset = FCM off.' },
  { name: 'PUSH_FCM_URL', default: JSON.stringify(FCM_DEFAULT_URL), description: 'FCM HTTP v1 endpoint; an http:// URL = cleartext HTTP/2 with prior knowledge (tests).' },
  { name: 'PUSH_FCM_TOKEN_URL', default: '(empty)', description: `OAuth2 token endpoint; default the credentials' token_uri, else ${GOOGLE_TOKEN_URL}.` },
  { name: 'TT_CONTENT_KEY', default: '(empty)', description: 'Client content key (32 characters) to show message text in notifications; unset = generic text. PUSH_CONTENT_KEY: its old name.' },
];

type Env = Record<string, string | undefined>;

/**
 * Reads the PUSH_* variables. A provider whose key variable is unset is off
 * (and `status` says why); a provider that is partly configured, or whose
 * files do not read or parse, is an error.
 */
export function loadPushConfig(env: Env = process.env): PushConfig {
  const status: string[] = [];
  const errors: string[] = [];
  const get = (name: string) => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };

  // APNs
  const apnsVars = ['PUSH_APNS_KEY_ID', 'PUSH_APNS_TEAM_ID', 'PUSH_APNS_TOPIC'] as const;
  const apnsKeyFile = get('PUSH_APNS_KEY_FILE');
  let apns: ApnsConfig | undefined;
  if (!apnsKeyFile) {
    const stray = apnsVars.filter((n) => get(n));
    if (stray.length > 0) errors.push(`PUSH_APNS_KEY_FILE: required when ${stray.join(', ')} ${stray.length > 1 ? 'are' : 'is'} set`);
    else status.push('APNs off: PUSH_APNS_KEY_FILE not set');
  } else {
    const before = errors.length;
    const url = checkUrl('PUSH_APNS_URL', get('PUSH_APNS_URL') ?? APNS_PRODUCTION_URL, errors);
    const keyId = get('PUSH_APNS_KEY_ID');
    const teamId = get('PUSH_APNS_TEAM_ID');
    const topic = get('PUSH_APNS_TOPIC');
    if (!keyId) errors.push('PUSH_APNS_KEY_ID: required with PUSH_APNS_KEY_FILE');
    else if (!/^[A-Z0-9]{10}$/i.test(keyId)) errors.push(`PUSH_APNS_KEY_ID: must be the 10-character Key ID, got "${keyId}"`);
    if (!teamId) errors.push('PUSH_APNS_TEAM_ID: required with PUSH_APNS_KEY_FILE');
    else if (!/^[A-Z0-9]{10}$/i.test(teamId)) errors.push(`PUSH_APNS_TEAM_ID: must be the 10-character Team ID, got "${teamId}"`);
    if (!topic) errors.push("PUSH_APNS_TOPIC: required with PUSH_APNS_KEY_FILE (the app's bundle id)");
    const key = readApnsKey(apnsKeyFile, errors);
    if (errors.length === before && url && key && keyId && teamId && topic) {
      apns = { url, keyFile: apnsKeyFile, key, keyId, teamId, topic };
      status.push(`APNs on: ${url}, topic ${topic}, key ${keyId}, team ${teamId}`);
    }
  }

  // FCM
  const credentialsFile = get('PUSH_FCM_CREDENTIALS_FILE');
  let fcm: FcmConfig | undefined;
  if (!credentialsFile) {
    status.push('FCM off: PUSH_FCM_CREDENTIALS_FILE not set');
  } else {
    const before = errors.length;
    const url = checkUrl('PUSH_FCM_URL', get('PUSH_FCM_URL') ?? FCM_DEFAULT_URL, errors);
    const serviceAccount = readServiceAccount(credentialsFile, errors);
    const tokenUrlRaw = get('PUSH_FCM_TOKEN_URL') ?? serviceAccount?.token_uri ?? GOOGLE_TOKEN_URL;
    const tokenUrl = checkUrl(get('PUSH_FCM_TOKEN_URL') ? 'PUSH_FCM_TOKEN_URL' : 'PUSH_FCM_CREDENTIALS_FILE token_uri', tokenUrlRaw, errors, true);
    if (errors.length === before && url && tokenUrl && serviceAccount) {
      fcm = { url, tokenUrl, credentialsFile, serviceAccount };
      status.push(`FCM on: ${url}, project ${serviceAccount.project_id}, as ${serviceAccount.client_email}`);
    }
  }

  // Content key
  // TT_CONTENT_KEY is the one setting (msg_server converts content with it too); PUSH_CONTENT_KEY is its old name.
  const keyVar = env.TT_CONTENT_KEY ? 'TT_CONTENT_KEY' : 'PUSH_CONTENT_KEY';
  let contentKey = env[keyVar] || undefined;
  if (contentKey !== undefined && Buffer.byteLength(contentKey, 'latin1') !== 32) {
    errors.push(`${keyVar}: must be 32 characters (AES-256 key), got ${contentKey.length}`);
    contentKey = undefined;
  }
  if (apns || fcm) status.push(contentKey ? 'notification text: message preview' : 'notification text: generic (TT_CONTENT_KEY not set)');

  return { apns, fcm, contentKey, status, errors };
}

/** The providers a valid config turns on. */
export function createPushProviders(config: PushConfig, options: { requestTimeoutMs?: number } = {}): { apns?: ApnsProvider; fcm?: FcmProvider } {
  return {
    apns: config.apns && new ApnsProvider({ ...config.apns, requestTimeoutMs: options.requestTimeoutMs }),
    fcm:
      config.fcm &&
      new FcmProvider({ serviceAccount: config.fcm.serviceAccount, url: config.fcm.url, tokenUrl: config.fcm.tokenUrl, requestTimeoutMs: options.requestTimeoutMs }),
  };
}

function checkUrl(name: string, value: string, errors: string[], keepPath = false): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    errors.push(`${name}: not a URL: "${value}"`);
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    errors.push(`${name}: must be an https:// (or http:// for cleartext HTTP/2) URL, got "${value}"`);
    return undefined;
  }
  if (keepPath) return url.href;
  if (url.pathname !== '/' || url.search) {
    errors.push(`${name}: must be an origin without a path (scheme://host[:port]), got "${value}"`);
    return undefined;
  }
  return url.origin;
}

function readApnsKey(file: string, errors: string[]): KeyObject | undefined {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    errors.push(`PUSH_APNS_KEY_FILE: cannot read ${file}: ${(err as Error).message}`);
    return undefined;
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    errors.push(`PUSH_APNS_KEY_FILE: ${file} is not a PEM private key (.p8): ${(err as Error).message}`);
    return undefined;
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    errors.push(`PUSH_APNS_KEY_FILE: ${file} must hold a P-256 EC key (an APNs .p8 auth key), got ${key.asymmetricKeyType} ${key.asymmetricKeyDetails?.namedCurve ?? ''}`.trim());
    return undefined;
  }
  return key;
}

function readServiceAccount(file: string, errors: string[]): ServiceAccount | undefined {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    errors.push(`PUSH_FCM_CREDENTIALS_FILE: cannot read ${file} as JSON: ${(err as Error).message}`);
    return undefined;
  }
  if (typeof json !== 'object' || json === null) {
    errors.push(`PUSH_FCM_CREDENTIALS_FILE: ${file} is not a service-account JSON object`);
    return undefined;
  }
  const before = errors.length;
  if (json.type !== undefined && json.type !== 'service_account') {
    errors.push(`PUSH_FCM_CREDENTIALS_FILE: ${file} is a "${String(json.type)}" credential, not a service account key`);
  }
  for (const field of ['client_email', 'private_key', 'project_id'] as const) {
    if (typeof json[field] !== 'string' || json[field] === '') errors.push(`PUSH_FCM_CREDENTIALS_FILE: ${file} has no ${field}`);
  }
  if (typeof json.private_key === 'string' && json.private_key !== '') {
    try {
      const key = createPrivateKey(json.private_key);
      if (key.asymmetricKeyType !== 'rsa') errors.push(`PUSH_FCM_CREDENTIALS_FILE: private_key in ${file} is not an RSA key`);
    } catch (err) {
      errors.push(`PUSH_FCM_CREDENTIALS_FILE: private_key in ${file} is not a PEM private key: ${(err as Error).message}`);
    }
  }
  if (errors.length > before) return undefined;
  const sa: ServiceAccount = {
    client_email: json.client_email as string,
    private_key: json.private_key as string,
    project_id: json.project_id as string,
  };
  if (typeof json.token_uri === 'string' && json.token_uri !== '') sa.token_uri = json.token_uri;
  if (typeof json.private_key_id === 'string' && json.private_key_id !== '') sa.private_key_id = json.private_key_id;
  return sa;
}
