// Operator log-in tokens: short-lived JWTs (HS256) signed with a key derived
// from AUTH_JWT_SECRET for this purpose only (HKDF-SHA256, own label), with
// their own audience. A chat access token (signed with the raw secret) is
// never accepted here, and an operator token never opens a chat connection.
import { hkdfSync } from 'node:crypto';
import { SignJWT, errors, jwtVerify } from 'jose';
import type { OperatorRole } from './backend';

const ALG = 'HS256';
const ISSUER = 'teamtalk-ts';
export const OPERATOR_TOKEN_AUDIENCE = 'tt-admin-api';
const KEY_LABEL = 'teamtalk-ts admin-api operator token v1';

export function deriveOperatorKey(secret: string): Uint8Array {
  if (!secret) throw new Error('operator token secret is empty');
  return new Uint8Array(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), KEY_LABEL, 32));
}

export interface OperatorClaims {
  operatorId: number;
  name: string;
  role: OperatorRole;
}

export async function issueOperatorToken(
  who: OperatorClaims,
  key: Uint8Array,
  ttlSeconds: number,
  now: () => number = Date.now,
): Promise<{ token: string; expiresAt: number }> {
  const iat = Math.floor(now() / 1000);
  const expiresAt = iat + ttlSeconds;
  const token = await new SignJWT({ oid: who.operatorId, role: who.role })
    .setProtectedHeader({ alg: ALG, typ: 'JWT' })
    .setSubject(who.name)
    .setIssuer(ISSUER)
    .setAudience(OPERATOR_TOKEN_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(expiresAt)
    .sign(key);
  return { token, expiresAt };
}

/** The token's operator, or why not: 'expired' or 'invalid'. */
export async function verifyOperatorToken(
  token: string,
  key: Uint8Array,
  now: () => number = Date.now,
): Promise<OperatorClaims | 'expired' | 'invalid'> {
  try {
    const { payload } = await jwtVerify(token, key, {
      algorithms: [ALG],
      issuer: ISSUER,
      audience: OPERATOR_TOKEN_AUDIENCE,
      requiredClaims: ['sub', 'exp', 'iat'],
      currentDate: new Date(now()),
    });
    const { oid, role, sub } = payload;
    if (typeof oid !== 'number' || !Number.isSafeInteger(oid) || typeof sub !== 'string' || (role !== 'admin' && role !== 'viewer')) return 'invalid';
    return { operatorId: oid, name: sub, role };
  } catch (err) {
    return err instanceof errors.JWTExpired ? 'expired' : 'invalid';
  }
}
