import { SignJWT, errors, jwtVerify } from 'jose';

/** `iss` of every token: a token signed by something else with the same secret is still refused. */
export const TOKEN_ISSUER = 'teamtalk-ts';
const ALG = 'HS256';

export interface TokenSubject {
  /** Numeric user id (im_user.id): the `uid` claim. */
  userId: number;
  /** Account name (im_user.name): the `sub` claim. */
  name: string;
}

export interface IssueOptions {
  /** The shared HMAC secret (AUTH_JWT_SECRET); must not be empty. */
  secret: string | Uint8Array;
  ttlSeconds: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

export interface IssuedToken {
  token: string;
  /** Unix seconds (the `exp` claim). */
  expiresAt: number;
}

export interface VerifiedToken extends TokenSubject {
  /** Unix seconds (the `exp` claim). */
  expiresAt: number;
}

export interface VerifyOptions {
  /** Clock in ms (tests). */
  now?: () => number;
  /** Seconds of clock skew accepted on exp/iat; default 0. */
  clockToleranceSeconds?: number;
}

/** EXPIRED: the token was good but its exp has passed. INVALID: anything else (signature, format, algorithm, claims). */
export type TokenErrorCode = 'EXPIRED' | 'INVALID';

export class TokenError extends Error {
  override readonly name = 'TokenError';
  constructor(
    readonly code: TokenErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isTokenError(err: unknown): err is TokenError {
  return err instanceof TokenError;
}

function keyOf(secret: string | Uint8Array): Uint8Array {
  const key = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  if (key.length === 0) throw new Error('token secret is empty');
  return key;
}

/** Signs an access token for a user: HS256, claims sub (name), uid, iat, exp, iss. */
export async function issueToken(subject: TokenSubject, opts: IssueOptions): Promise<IssuedToken> {
  if (!Number.isSafeInteger(subject.userId) || subject.userId <= 0) throw new Error(`issueToken: bad userId ${subject.userId}`);
  if (!subject.name) throw new Error('issueToken: empty name');
  if (!Number.isInteger(opts.ttlSeconds) || opts.ttlSeconds <= 0) throw new Error(`issueToken: bad ttlSeconds ${opts.ttlSeconds}`);
  const iat = Math.floor((opts.now ?? Date.now)() / 1000);
  const expiresAt = iat + opts.ttlSeconds;
  const token = await new SignJWT({ uid: subject.userId })
    .setProtectedHeader({ alg: ALG, typ: 'JWT' })
    .setSubject(subject.name)
    .setIssuer(TOKEN_ISSUER)
    .setIssuedAt(iat)
    .setExpirationTime(expiresAt)
    .sign(keyOf(opts.secret));
  return { token, expiresAt };
}

/**
 * Checks a token's signature (HS256 only), issuer and expiry and returns who it
 * names. Throws TokenError: code EXPIRED when only the expiry fails, INVALID otherwise.
 */
export async function verifyToken(token: string, secret: string | Uint8Array, opts: VerifyOptions = {}): Promise<VerifiedToken> {
  const key = keyOf(secret);
  if (typeof token !== 'string' || token.length === 0) throw new TokenError('INVALID', 'empty token');
  let payload;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: [ALG],
      issuer: TOKEN_ISSUER,
      requiredClaims: ['sub', 'exp', 'iat'],
      clockTolerance: opts.clockToleranceSeconds ?? 0,
      ...(opts.now ? { currentDate: new Date(opts.now()) } : {}),
    }));
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw new TokenError('EXPIRED', 'token expired', { cause: err });
    throw new TokenError('INVALID', `invalid token: ${(err as Error).message}`, { cause: err });
  }
  const uid = payload.uid;
  if (typeof uid !== 'number' || !Number.isSafeInteger(uid) || uid <= 0) throw new TokenError('INVALID', 'invalid token: bad uid claim');
  if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw new TokenError('INVALID', 'invalid token: bad sub claim');
  return { userId: uid, name: payload.sub, expiresAt: payload.exp! };
}
