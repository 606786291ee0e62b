import { randomUUID, type KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http2';
import { toPublicKey, verifyJwt } from '../jwt';
import { FakeH2Server, type Answer } from './h2-server';

export interface FakeApnsOptions {
  /** Public key (or the private key) of the .p8 the provider signs with. */
  publicKey: KeyObject | string;
  keyId: string;
  teamId: string;
  /** When set, any other apns-topic is refused (DeviceTokenNotForTopic). */
  topic?: string;
  /** aps.badge must be present (push_server always sends the unread count). Default true. */
  requireBadge?: boolean;
  /** Clock in ms for the token age check (tests share it with the provider). */
  now?: () => number;
}

export interface ApnsNotification {
  deviceToken: string;
  headers: IncomingHttpHeaders;
  payload: { aps: { alert: unknown; badge?: number; [k: string]: unknown }; [k: string]: unknown };
  jwt: { header: Record<string, unknown>; claims: Record<string, unknown>; raw: string };
  apnsId: string;
}

const DEVICE_TOKEN = /^(?:[0-9a-fA-F]{2}){32,100}$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const PAYLOAD_LIMIT = 4096;

/**
 * The APNs provider API as Apple answers it, over h2c: checks method, path,
 * the ES256 provider token (signature, kid, iss, age ≤ 1 h), the apns-*
 * headers and the JSON payload, and answers 200 + apns-id, or the status and
 * {reason} Apple uses (403 for provider-token problems, 400 for a bad request,
 * 410 Unregistered for tokens marked dead). `BadPayload` (malformed JSON, no
 * aps/alert, bad badge) is the fake's own reason: Apple documents none for it.
 */
export class FakeApnsServer extends FakeH2Server {
  /** Notifications accepted (200), in order. */
  readonly delivered: ApnsNotification[] = [];
  private readonly publicKey: KeyObject;
  private readonly dead = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly options: FakeApnsOptions) {
    super();
    this.publicKey = toPublicKey(options.publicKey);
    this.now = options.now ?? Date.now;
  }

  /** Later sends to this token answer 410 {reason: 'Unregistered', timestamp}. */
  markDead(deviceToken: string, sinceMs: number = this.now()): void {
    this.dead.set(deviceToken.toLowerCase(), sinceMs);
  }

  /** Distinct provider tokens (JWTs) seen on accepted requests. */
  get providerTokens(): string[] {
    return [...new Set(this.delivered.map((n) => n.jwt.raw))];
  }

  protected handle(method: string, path: string, headers: IncomingHttpHeaders, body: string): Answer {
    const reject = (status: number, reason: string): Answer => ({ status, body: { reason }, headers: { 'apns-id': apnsIdOf(headers) } });
    if (method !== 'POST') return reject(405, 'MethodNotAllowed');
    const match = /^\/3\/device\/([^/?]*)$/.exec(path);
    if (!match) return reject(404, 'BadPath');

    // Provider token.
    const auth = headers.authorization;
    if (typeof auth !== 'string' || auth === '') return reject(403, 'MissingProviderToken');
    const bearer = /^bearer (.+)$/i.exec(auth);
    if (!bearer) return reject(403, 'InvalidProviderToken');
    const jwt = verifyJwt(bearer[1], this.publicKey, 'ES256');
    if (!jwt || jwt.header.kid !== this.options.keyId || jwt.claims.iss !== this.options.teamId || typeof jwt.claims.iat !== 'number') {
      return reject(403, 'InvalidProviderToken');
    }
    if (this.now() / 1000 - jwt.claims.iat > 3600) return reject(403, 'ExpiredProviderToken');

    // Request headers.
    const deviceToken = decodeURIComponent(match[1]);
    if (deviceToken === '') return reject(400, 'MissingDeviceToken');
    if (!DEVICE_TOKEN.test(deviceToken)) return reject(400, 'BadDeviceToken');
    const topic = headers['apns-topic'];
    if (typeof topic !== 'string' || topic === '') return reject(400, 'MissingTopic');
    if (this.options.topic !== undefined && topic !== this.options.topic) return reject(400, 'DeviceTokenNotForTopic');
    if (headers['apns-push-type'] !== 'alert') return reject(400, 'InvalidPushType');
    const priority = headers['apns-priority'];
    // Apple defaults a missing apns-priority to 10; the fake insists, as our client always sends it.
    if (!['10', '5', '1'].includes(String(priority ?? ''))) return reject(400, 'BadPriority');
    const expiration = headers['apns-expiration'];
    if (typeof expiration !== 'string' || !/^\d+$/.test(expiration)) return reject(400, 'BadExpirationDate');
    const collapseId = headers['apns-collapse-id'];
    if (collapseId !== undefined && Buffer.byteLength(String(collapseId)) > 64) return reject(400, 'BadCollapseId');
    const apnsId = headers['apns-id'];
    if (apnsId !== undefined && !UUID.test(String(apnsId))) return reject(400, 'BadMessageId');

    // Payload.
    if (body === '') return reject(400, 'PayloadEmpty');
    if (Buffer.byteLength(body) > PAYLOAD_LIMIT) return reject(413, 'PayloadTooLarge');
    let payload: ApnsNotification['payload'];
    try {
      payload = JSON.parse(body);
    } catch {
      return reject(400, 'BadPayload');
    }
    const aps = payload?.aps;
    if (typeof aps !== 'object' || aps === null) return reject(400, 'BadPayload');
    const alert = aps.alert as { body?: unknown; title?: unknown } | string | undefined;
    const alertOk = typeof alert === 'string' || (typeof alert === 'object' && alert !== null && typeof alert.body === 'string');
    if (!alertOk) return reject(400, 'BadPayload');
    const badge = aps.badge;
    if (badge === undefined ? this.options.requireBadge !== false : !(Number.isInteger(badge) && (badge as number) >= 0)) {
      return reject(400, 'BadPayload');
    }

    const scripted = this.scripted();
    if (scripted) return { ...scripted, headers: { 'apns-id': apnsIdOf(headers), ...scripted.headers } };
    const deadSince = this.dead.get(deviceToken.toLowerCase());
    if (deadSince !== undefined) return { status: 410, body: { reason: 'Unregistered', timestamp: deadSince }, headers: { 'apns-id': apnsIdOf(headers) } };

    const id = apnsIdOf(headers);
    this.delivered.push({ deviceToken, headers, payload, jwt: { header: jwt.header, claims: jwt.claims, raw: bearer[1] }, apnsId: id });
    return { status: 200, headers: { 'apns-id': id } };
  }
}

function apnsIdOf(headers: IncomingHttpHeaders): string {
  const id = headers['apns-id'];
  return typeof id === 'string' && UUID.test(id) ? id.toUpperCase() : randomUUID().toUpperCase();
}
