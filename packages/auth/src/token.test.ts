import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SignJWT, UnsecuredJWT } from 'jose';
import { TOKEN_ISSUER, TokenError, generateSecret, issueToken, loadOrCreateSecretFile, verifyToken } from './index';

const SECRET = 'test-secret-0123456789abcdef0123456789';
const T0 = 1_700_000_000_000;

function decodePart(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

async function expectCode(p: Promise<unknown>, code: 'EXPIRED' | 'INVALID'): Promise<TokenError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TokenError);
  expect((err as TokenError).code).toBe(code);
  return err as TokenError;
}

describe('issueToken / verifyToken', () => {
  it('issues an HS256 token with sub, uid, iat, exp and iss, and verifies it', async () => {
    const { token, expiresAt } = await issueToken({ userId: 42, name: 'alice' }, { secret: SECRET, ttlSeconds: 3600, now: () => T0 });
    expect(expiresAt).toBe(T0 / 1000 + 3600);
    const [h, p] = token.split('.');
    expect(decodePart(h)).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(decodePart(p)).toEqual({ sub: 'alice', uid: 42, iat: T0 / 1000, exp: T0 / 1000 + 3600, iss: TOKEN_ISSUER });
    await expect(verifyToken(token, SECRET, { now: () => T0 + 1000 })).resolves.toEqual({ userId: 42, name: 'alice', expiresAt });
  });

  it('verifies with the real clock', async () => {
    const { token } = await issueToken({ userId: 7, name: '张三' }, { secret: SECRET, ttlSeconds: 60 });
    await expect(verifyToken(token, SECRET)).resolves.toMatchObject({ userId: 7, name: '张三' });
  });

  it('EXPIRED once exp has passed (and not a second before)', async () => {
    const { token } = await issueToken({ userId: 1, name: 'bob' }, { secret: SECRET, ttlSeconds: 10, now: () => T0 });
    await expect(verifyToken(token, SECRET, { now: () => T0 + 9_000 })).resolves.toMatchObject({ name: 'bob' });
    await expectCode(verifyToken(token, SECRET, { now: () => T0 + 10_000 }), 'EXPIRED');
    await expectCode(verifyToken(token, SECRET, { now: () => T0 + 86_400_000 }), 'EXPIRED');
    await expect(verifyToken(token, SECRET, { now: () => T0 + 11_000, clockToleranceSeconds: 5 })).resolves.toMatchObject({ name: 'bob' });
  });

  it('INVALID: another secret, a changed payload, malformed text', async () => {
    const { token } = await issueToken({ userId: 1, name: 'bob' }, { secret: SECRET, ttlSeconds: 60 });
    await expectCode(verifyToken(token, 'another-secret'), 'INVALID');
    const [h, , s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'admin', uid: 1, iat: 1, exp: 9_999_999_999, iss: TOKEN_ISSUER })).toString('base64url');
    await expectCode(verifyToken(`${h}.${forged}.${s}`, SECRET), 'INVALID');
    for (const bad of ['', 'abc', 'a.b.c', `${h}.${forged}`, `${token}x`]) await expectCode(verifyToken(bad, SECRET), 'INVALID');
  });

  it('INVALID: a token that is expired and badly signed is INVALID, not EXPIRED', async () => {
    const { token } = await issueToken({ userId: 1, name: 'bob' }, { secret: 'other', ttlSeconds: 1, now: () => T0 });
    await expectCode(verifyToken(token, SECRET), 'INVALID');
  });

  it('INVALID: alg none and other algorithms', async () => {
    const unsecured = new UnsecuredJWT({ uid: 1 }).setSubject('bob').setIssuer(TOKEN_ISSUER).setIssuedAt().setExpirationTime('1h').encode();
    await expectCode(verifyToken(unsecured, SECRET), 'INVALID');
    const key = new TextEncoder().encode(SECRET);
    const hs512 = await new SignJWT({ uid: 1 }).setProtectedHeader({ alg: 'HS512' }).setSubject('bob').setIssuer(TOKEN_ISSUER).setIssuedAt().setExpirationTime('1h').sign(key);
    await expectCode(verifyToken(hs512, SECRET), 'INVALID');
  });

  it('INVALID: wrong issuer, missing or bad claims', async () => {
    const key = new TextEncoder().encode(SECRET);
    const base = () => new SignJWT({ uid: 1 }).setProtectedHeader({ alg: 'HS256' }).setSubject('bob').setIssuedAt().setExpirationTime('1h');
    await expectCode(verifyToken(await base().setIssuer('someone-else').sign(key), SECRET), 'INVALID');
    await expectCode(verifyToken(await base().sign(key), SECRET), 'INVALID');
    const noExp = await new SignJWT({ uid: 1 }).setProtectedHeader({ alg: 'HS256' }).setSubject('bob').setIssuer(TOKEN_ISSUER).setIssuedAt().sign(key);
    await expectCode(verifyToken(noExp, SECRET), 'INVALID');
    const strUid = await new SignJWT({ uid: '1' }).setProtectedHeader({ alg: 'HS256' }).setSubject('bob').setIssuer(TOKEN_ISSUER).setIssuedAt().setExpirationTime('1h').sign(key);
    await expectCode(verifyToken(strUid, SECRET), 'INVALID');
    const noSub = await new SignJWT({ uid: 1 }).setProtectedHeader({ alg: 'HS256' }).setIssuer(TOKEN_ISSUER).setIssuedAt().setExpirationTime('1h').sign(key);
    await expectCode(verifyToken(noSub, SECRET), 'INVALID');
  });

  it('a hand-made HS256 token with the same claims verifies (interoperable)', async () => {
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const signingInput = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc({ sub: 'carol', uid: 9, iat: now, exp: now + 60, iss: TOKEN_ISSUER })}`;
    const sig = createHmac('sha256', SECRET).update(signingInput).digest('base64url');
    await expect(verifyToken(`${signingInput}.${sig}`, SECRET)).resolves.toEqual({ userId: 9, name: 'carol', expiresAt: now + 60 });
  });

  it('refuses an empty secret and bad input', async () => {
    await expect(issueToken({ userId: 1, name: 'a' }, { secret: '', ttlSeconds: 60 })).rejects.toThrow(/secret/);
    await expect(verifyToken('a.b.c', '')).rejects.toThrow(/secret/);
    await expect(issueToken({ userId: 0, name: 'a' }, { secret: SECRET, ttlSeconds: 60 })).rejects.toThrow(/userId/);
    await expect(issueToken({ userId: 1, name: '' }, { secret: SECRET, ttlSeconds: 60 })).rejects.toThrow(/name/);
    await expect(issueToken({ userId: 1, name: 'a' }, { secret: SECRET, ttlSeconds: 0 })).rejects.toThrow(/ttl/);
  });
});

describe('loadOrCreateSecretFile', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tt-auth-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates a 0600 file with a random secret once, then reads it back', () => {
    const file = path.join(dir, 'sub', 'jwt-secret');
    const first = loadOrCreateSecretFile(file);
    expect(first).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(loadOrCreateSecretFile(file)).toBe(first);
    expect(fs.readdirSync(path.join(dir, 'sub'))).toEqual(['jwt-secret']);
    expect(generateSecret()).not.toBe(generateSecret());
  });

  it('keeps a secret the operator wrote, and replaces an empty file', () => {
    const file = path.join(dir, 'jwt-secret');
    fs.writeFileSync(file, 'mine\n');
    expect(loadOrCreateSecretFile(file)).toBe('mine');
    fs.writeFileSync(file, '');
    const s = loadOrCreateSecretFile(file);
    expect(s).toHaveLength(43);
    expect(fs.readFileSync(file, 'utf8').trim()).toBe(s);
  });
});
