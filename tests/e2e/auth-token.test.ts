// POST /auth/token against a real deployment: login_server checks the password
// with db_proxy (ValidateUser) and signs an access token that verifies with the
// deployment's secret; GET /msg_server?protocol=ws names a WebSocket front.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { TOKEN_ISSUER, verifyToken } from '@tt/auth';
import { MODES, describeLocal, startDeployment, type Deployment, type Mode } from './support/deployment';

jest.setTimeout(90_000);

const suffix = randomBytes(3).toString('hex');

async function postToken(d: Deployment, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${d.loginUrl}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

describe.each<Mode>(MODES)('access tokens from login_server (%s mode)', (mode) => {
  let d: Deployment;
  const name = `tok_${mode}_${suffix}`;
  let uid: number;

  beforeAll(async () => {
    d = await startDeployment(mode);
    uid = await d.addUser(name, 'right-pw');
  }, 90_000);

  afterAll(() => d?.stop());

  it('POST /auth/token issues a token for good credentials that verifies with the deployment secret', async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await postToken(d, { user_id: name, password: 'right-pw' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ code: 0, token: expect.any(String), expires_at: expect.any(Number), user_id: name, uid });
    // AUTH_JWT_TTL_S default: a day.
    expect(res.body.expires_at).toBeGreaterThanOrEqual(before + 86_400);
    expect(res.body.expires_at).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 86_400);
    const claims = JSON.parse(Buffer.from(String(res.body.token).split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({ sub: name, uid, iss: TOKEN_ISSUER });
    if (d.authSecret === undefined) return; // external cluster without TT_E2E_AUTH_JWT_SECRET
    await expect(verifyToken(String(res.body.token), d.authSecret)).resolves.toEqual({ userId: uid, name, expiresAt: res.body.expires_at });
    await expect(verifyToken(String(res.body.token), `${d.authSecret}x`)).rejects.toMatchObject({ code: 'INVALID' });
  });

  it('form-encoded bodies and "username" work too; a browser on another origin may call it', async () => {
    const res = await fetch(`${d.loginUrl}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://elsewhere.example' },
      body: new URLSearchParams({ username: name, password: 'right-pw' }).toString(),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(await res.json()).toMatchObject({ code: 0, uid, user_id: name });
  });

  it('wrong credentials are 401, a bad body is 400', async () => {
    const wrong = await postToken(d, { user_id: name, password: 'wrong-pw' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ code: 401, msg: expect.any(String) });
    const unknown = await postToken(d, { user_id: `nobody_${suffix}`, password: 'x' });
    expect(unknown.status).toBe(401);
    const bad = await postToken(d, { password: 'x' });
    expect(bad.status).toBe(400);
    expect(String(bad.body.msg)).toMatch(/user_id/);
  });

  it('GET /msg_server is unchanged for TeamTalk clients and refuses unknown protocols', async () => {
    const tt = await fetch(`${d.loginUrl}/msg_server`);
    const body = (await tt.json()) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['code', 'msg', 'priorIP', 'backupIP', 'port', 'msfsPrior', 'msfsBackup', 'discovery']);
    expect(tt.headers.get('access-control-allow-origin')).toBeNull();
    expect((await fetch(`${d.loginUrl}/msg_server?protocol=teamtalk`).then((r) => r.json())) as object).toMatchObject({ code: 0, port: body.port });
    expect((await fetch(`${d.loginUrl}/msg_server?protocol=carrier-pigeon`)).status).toBe(400);
  });

  it('serves the WebSocket proto for the chat page', async () => {
    const res = await fetch(`${d.loginUrl}/chat/proto/IM.Ws.proto`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('package IM.Ws;');
  });

  // Needs msg_server to report its ws front (MsgServerReport.fronts).
  it('GET /msg_server?protocol=ws names the WebSocket front of a msg_server', async () => {
    const res = await fetch(`${d.loginUrl}/msg_server?protocol=ws`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ code: 0, msg: '', protocol: 'ws', path: expect.stringMatching(/^\//), port: expect.stringMatching(/^\d+$/) });
    expect(body.url).toBe(`ws://${body.priorIP}:${body.port}${body.path}`);
  });
});

describeLocal('access-token secret of a standalone server', () => {
  it('is created once in TT_DATA_DIR/jwt-secret (0600) and kept across restarts', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tt-e2e-jwt-'));
    try {
      const first = await startDeployment('standalone', { dataDir });
      let token: string;
      try {
        const uid = await first.addUser(`keep_${suffix}`, 'pw');
        const res = await postToken(first, { user_id: `keep_${suffix}`, password: 'pw' });
        expect(res.body).toMatchObject({ code: 0, uid });
        token = String(res.body.token);
      } finally {
        await first.stop();
      }
      const file = path.join(dataDir, 'jwt-secret');
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const second = await startDeployment('standalone', { dataDir });
      try {
        expect(second.authSecret).toBe(first.authSecret);
        await expect(verifyToken(token, second.authSecret!)).resolves.toMatchObject({ name: `keep_${suffix}` });
        // And the restarted server signs with the same secret.
        const again = await postToken(second, { user_id: `keep_${suffix}`, password: 'pw' });
        await expect(verifyToken(String(again.body.token), first.authSecret!)).resolves.toMatchObject({ name: `keep_${suffix}` });
      } finally {
        await second.stop();
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('AUTH_JWT_SECRET, when set, is used instead of the file', async () => {
    const secret = randomBytes(24).toString('hex');
    const d = await startDeployment('standalone', { env: { AUTH_JWT_SECRET: secret } });
    try {
      expect(d.authSecret).toBe(secret);
      await d.addUser(`env_${suffix}`, 'pw');
      const res = await postToken(d, { user_id: `env_${suffix}`, password: 'pw' });
      await expect(verifyToken(String(res.body.token), secret)).resolves.toMatchObject({ name: `env_${suffix}` });
    } finally {
      await d.stop();
    }
  });
});

describeLocal('a cluster login_server without AUTH_JWT_SECRET', () => {
  it('warns at start and answers POST /auth/token with 503', async () => {
    const d = await startDeployment('cluster', { env: { AUTH_JWT_SECRET: '' } });
    try {
      const res = await postToken(d, { user_id: 'x', password: 'y' });
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ code: 503, msg: 'token issuing is not configured (AUTH_JWT_SECRET)' });
      expect(d.role('login_server').output.join('')).toMatch(/AUTH_JWT_SECRET is empty/);
    } finally {
      await d.stop();
    }
  });
});
