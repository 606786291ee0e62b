// Guessing passwords: after a few wrong ones an account must wait before the next
// attempt, on every front and the token endpoint alike (db_proxy keeps one back-off
// per account and per address, in Redis in cluster mode). Small settings keep it quick:
// 3 free failures, then a 3 s wait.
import { randomBytes } from 'node:crypto';
import { IM } from '@tt/proto';
import { MsyncClient, OmtpClient, Tcp12Client, TeamTalkClient, Tcp12StatusError } from '@tt/client';
import { MODES, startDeployment, type Deployment, type Mode } from './support/deployment';
import { PASSWORD } from './support/fixtures';

jest.setTimeout(90_000);

const FREE_FAILURES = 3;
const WAIT_S = 3;
const THROTTLE_ENV = {
  LOGIN_THROTTLE_ACCOUNT_FAILURES: String(FREE_FAILURES),
  // Every story here comes from 127.0.0.1: the address count must not get in their way.
  LOGIN_THROTTLE_ADDRESS_FAILURES: '1000',
  LOGIN_THROTTLE_BASE_DELAY_MS: String(WAIT_S * 1000),
  LOGIN_THROTTLE_MAX_DELAY_MS: String(2 * WAIT_S * 1000),
  LOGIN_THROTTLE_WINDOW_S: '60',
};
const THROTTLED = /^too many failed log-ins, retry in (\d+) s$/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Seconds the answer says to wait. */
function retryIn(text: string | null | undefined): number {
  const m = THROTTLED.exec(text ?? '');
  if (!m) throw new Error(`not a throttled answer: ${text}`);
  return Number(m[1]);
}

describe.each<Mode>(MODES)('log-in back-off (%s mode)', (mode) => {
  let d: Deployment;
  let n = 0;
  // Names unique per run: Redis outlives a cluster deployment's database.
  const run = randomBytes(3).toString('hex');
  const newUser = async () => {
    const name = `lt_${mode}_${run}_${++n}`;
    await d.addUser(name, PASSWORD);
    return name;
  };
  const ms = () => d.msgServers[0];

  beforeAll(async () => {
    d = await startDeployment(mode, { env: THROTTLE_ENV });
  }, 120_000);
  afterAll(async () => {
    await d?.stop();
  });

  /** One TeamTalk log-in on a new connection: its result code and text, and how long the answer took. */
  async function teamtalkLogin(name: string, password: string): Promise<{ code: number; text: string; ms: number }> {
    const c = await TeamTalkClient.connect({ host: ms().host, port: ms().port });
    try {
      const started = Date.now();
      const res = await c.login({ userName: name, password });
      return { code: res.resultCode, text: res.resultString ?? '', ms: Date.now() - started };
    } finally {
      c.close();
    }
  }

  it('TeamTalk: 20 wrong passwords are answered, then refused quickly; the right one waits out the back-off; other accounts are unaffected', async () => {
    const alice = await newUser();
    const bob = await newUser();
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await teamtalkLogin(alice, `guess-${i}`));
    const DB_VALIDATE_FAILED = IM.BaseDefine.ResultType.REFUSE_REASON_DB_VALIDATE_FAILED;
    // The free failures are checked and answered as wrong …
    expect(answers.slice(0, FREE_FAILURES).map((a) => [a.code, a.text])).toEqual(Array(FREE_FAILURES).fill([DB_VALIDATE_FAILED, 'user name or password is wrong']));
    // … the rest are refused without a check, each telling how long to wait.
    const refused = answers.slice(FREE_FAILURES);
    for (const a of refused) {
      expect(a.code).toBe(DB_VALIDATE_FAILED);
      expect(retryIn(a.text)).toBeGreaterThanOrEqual(1);
      expect(retryIn(a.text)).toBeLessThanOrEqual(WAIT_S);
    }
    expect(Math.max(...refused.map((a) => a.ms))).toBeLessThan(1000);

    // The right password during the back-off is refused too (no oracle) …
    const early = await teamtalkLogin(alice, PASSWORD);
    expect(early.code).toBe(DB_VALIDATE_FAILED);
    // … while another account logs in as usual.
    expect((await teamtalkLogin(bob, PASSWORD)).code).toBe(0);

    await sleep(retryIn(early.text) * 1000);
    expect(await teamtalkLogin(alice, PASSWORD)).toMatchObject({ code: 0, text: '' });

    // The operator sees it: every refusal counted, one warning for the account (not one per attempt).
    const checker = d.role(mode === 'standalone' ? 'standalone' : 'db_proxy');
    const metrics = await (await fetch(`http://127.0.0.1:${checker.adminPort}/metrics`)).text();
    expect(Number(/^tt_login_throttled_total\{reason="account"[^}]*\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(refused.length + 1);
    const warnings = d.logs().split('\n').filter((line) => line.includes('log-in throttled') && line.includes(alice));
    expect(warnings).toHaveLength(1);
  });

  it('tcp12: wrong passwords are AUTH_FAILED, then RATE_LIMITED until the wait is over', async () => {
    const carol = await newUser();
    const login = async (password: string) => {
      const c = await Tcp12Client.connect(ms().host, ms().tcp12Port!);
      try {
        await c.login({ account: carol, password });
        return { status: 0, detail: '' };
      } catch (err) {
        if (!(err instanceof Tcp12StatusError)) throw err;
        return { status: err.status, detail: err.detail };
      } finally {
        c.close();
      }
    };
    const { Status } = IM.Tcp12;
    for (let i = 0; i < FREE_FAILURES; i++) expect((await login(`guess-${i}`)).status).toBe(Status.AUTH_FAILED);
    const refused = await login(PASSWORD);
    expect(refused.status).toBe(Status.RATE_LIMITED);
    await sleep(retryIn(refused.detail) * 1000);
    expect((await login(PASSWORD)).status).toBe(0);
  });

  it('MSync (Easemob): wrong passwords are UNAUTHORIZED, then FAIL with the wait until it is over', async () => {
    const dave = await newUser();
    const provision = async (password: string) => {
      const c = await MsyncClient.connectWs(ms().msyncUrl!);
      try {
        return (await c.provision({ name: dave, password, resource: 'web' })).status ?? {};
      } finally {
        c.close();
      }
    };
    const { ErrorCode } = IM.MSync.Status;
    for (let i = 0; i < FREE_FAILURES; i++) expect((await provision(`guess-${i}`)).errorCode).toBe(ErrorCode.UNAUTHORIZED);
    const refused = await provision(PASSWORD);
    expect(refused.errorCode).toBe(ErrorCode.FAIL);
    await sleep(retryIn(refused.reason) * 1000);
    expect((await provision(PASSWORD)).errorCode ?? ErrorCode.OK).toBe(ErrorCode.OK);
  });

  it('OMTP: wrong passwords are 401, then 429 until the wait is over', async () => {
    const erin = await newUser();
    const login = async (password: string) => {
      const c = await OmtpClient.connect(ms().host, ms().omtpPort!);
      try {
        return await c.login(erin, password);
      } finally {
        c.close();
      }
    };
    for (let i = 0; i < FREE_FAILURES; i++) expect((await login(`guess-${i}`)).code).toBe(401);
    const refused = await login(PASSWORD);
    expect(refused.code).toBe(429);
    // A refused log-in's text rides in extraData (LoginResp has no description field).
    await sleep(retryIn((JSON.parse(refused.extraData ?? '{}') as { error?: string }).error) * 1000);
    expect((await login(PASSWORD)).code).toBe(0);
  });

  it('WebSocket token endpoint: wrong passwords are 401, then 429 with Retry-After until the wait is over', async () => {
    const frank = await newUser();
    const token = (password: string) =>
      fetch(`${d.loginUrl}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user_id: frank, password }), signal: AbortSignal.timeout(10_000) });
    for (let i = 0; i < FREE_FAILURES; i++) expect((await token(`guess-${i}`)).status).toBe(401);
    const refused = await token(PASSWORD);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(WAIT_S);
    expect(retryIn(((await refused.json()) as { msg: string }).msg)).toBe(retryAfter);
    await sleep(retryAfter * 1000);
    const accepted = await token(PASSWORD);
    expect(accepted.status).toBe(200);
    expect(((await accepted.json()) as { token: string }).token).toEqual(expect.any(String));
  });
});
