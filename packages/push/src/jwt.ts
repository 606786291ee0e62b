import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/** The two JWS algorithms the push services use: APNs ES256 (P-256), Google OAuth RS256. */
export type JwtAlg = 'ES256' | 'RS256';

export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

function b64url(json: unknown): string {
  return Buffer.from(JSON.stringify(json), 'utf8').toString('base64url');
}

/** A compact JWS; the header's alg picks the signature (ES256 as raw r||s, as JWS requires). */
export function signJwt(header: { alg: JwtAlg } & Record<string, unknown>, claims: Record<string, unknown>, key: KeyObject): string {
  const signingInput = `${b64url(header)}.${b64url(claims)}`;
  const data = Buffer.from(signingInput, 'latin1');
  const signature = header.alg === 'ES256' ? sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' }) : sign('sha256', data, key);
  return `${signingInput}.${signature.toString('base64url')}`;
}

/** Splits and parses a compact JWS without checking it; null when it is not one. */
export function decodeJwt(token: string): DecodedJwt | null {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (!isObject(header) || !isObject(claims)) return null;
    return { header, claims, signingInput: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2], 'base64url') };
  } catch {
    return null;
  }
}

/** Decodes and checks alg and signature; null unless both hold. Claims are the caller's to check. */
export function verifyJwt(token: string, publicKey: KeyObject, alg: JwtAlg): DecodedJwt | null {
  const jwt = decodeJwt(token);
  if (!jwt || jwt.header.alg !== alg) return null;
  const data = Buffer.from(jwt.signingInput, 'latin1');
  try {
    const ok =
      alg === 'ES256'
        ? jwt.signature.length === 64 && verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, jwt.signature)
        : verify('sha256', data, publicKey, jwt.signature);
    return ok ? jwt : null;
  } catch {
    return null;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A public KeyObject from a public key, a private key (its public half), or PEM text. */
export function toPublicKey(key: KeyObject | string | Buffer): KeyObject {
  if (typeof key === 'object' && !Buffer.isBuffer(key) && key.type === 'public') return key;
  return createPublicKey(key);
}
