// The operator web console (packages/console, served by login_server at
// /console/) in real headless Chromium, against a standalone deployment: an
// admin signs in, creates a user, sees that user come online from a TeamTalk
// client, sends them a system message (received and decrypted by the client),
// recalls it, and disables the user, whose connection is closed. The API's own
// end-to-end tests cover both modes; this is the browser's story.
// Screenshots go to <tmpdir>/tt-console-screenshots/ (overwritten each run).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { IM } from '@tt/proto';
import { DEFAULT_CONTENT_KEY, decryptContent, TeamTalkClient } from '@tt/client';
import { launchBrowser } from '@tt/testkit';
import { isExternal, startDeployment, waitUntil, type Deployment } from './support/deployment';

jest.setTimeout(120_000);

const { MessageCmdID, ClientType } = IM.BaseDefine;
const WAIT = 15_000;
const ADMIN = { name: 'console_root', password: 'console-admin-pw' };
const USER = { name: 'console_alice', password: 'alice-pw-1', nick: 'Alice Console' };
const SHOTS = path.join(os.tmpdir(), 'tt-console-screenshots');

// The deployment needs its own settings (the content key): not against an external cluster.
const describeLocal = isExternal() ? describe.skip : describe;

describeLocal('operator web console (standalone mode)', () => {
  let browser: Browser;
  let d: Deployment;
  let page: Page;
  const pageErrors: string[] = [];
  const clients: TeamTalkClient[] = [];

  beforeAll(async () => {
    [browser, d] = await Promise.all([launchBrowser(), startDeployment('standalone', { env: { TT_CONTENT_KEY: DEFAULT_CONTENT_KEY } })]);
    await d.ttctl('admin', 'add', ADMIN.name, '--password', ADMIN.password, '--role', 'admin');
    fs.rmSync(SHOTS, { recursive: true, force: true });
    fs.mkdirSync(SHOTS, { recursive: true });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (m) => {
      // Refused requests (the wrong password) are logged by Chromium too; those are expected.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
    });
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await browser?.close();
    await d?.stop();
  });

  /** Saves a screenshot of the page and prints its path. */
  async function shot(name: string): Promise<void> {
    const file = path.join(SHOTS, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`screenshot: ${file}`);
  }

  const userRow = () => page.locator(`[data-testid=user-row][data-user-name="${USER.name}"]`);

  async function confirm(): Promise<void> {
    await page.getByTestId('confirm-ok').click();
    await page.getByTestId('confirm-dialog').waitFor({ state: 'detached' });
  }

  it('serves the page and its vendored libraries from login_server, with a strict content policy', async () => {
    const index = await fetch(`${d.loginUrl}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(index.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const html = await index.text();
    const refs = [...html.matchAll(/(?:src|href)="([^"#:]+)"/g)].map((m) => new URL(m[1], `${d.loginUrl}/console/`).pathname);
    for (const ref of [...refs, '/console/vendor/preact.js', '/console/vendor/preact-hooks.js', '/console/vendor/htm.js']) {
      const res = await fetch(`${d.loginUrl}${ref}`);
      expect({ ref, status: res.status }).toEqual({ ref, status: 200 });
    }
    expect((await fetch(`${d.loginUrl}/console/../package.json`)).status).toBe(404);
    const redirect = await fetch(`${d.loginUrl}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/console/');
  });

  it('an operator runs the product from the console: user, presence, system message, recall, disable', async () => {
    try {
      await operatorStory();
    } catch (err) {
      await shot('failed').catch(() => {});
      throw err;
    }
  });

  async function operatorStory(): Promise<void> {
    // Sign in (a wrong password first: the form says so).
    await page.goto(`${d.loginUrl}/console/`);
    await page.getByTestId('signin-name').fill(ADMIN.name);
    await page.getByTestId('signin-password').fill('wrong password');
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('form-error').filter({ hasText: /wrong name or password/ }).waitFor();
    await shot('01-sign-in-refused');
    await page.getByTestId('signin-password').fill(ADMIN.password);
    await page.getByTestId('signin-submit').click();
    await page.getByTestId('dashboard').waitFor();
    expect(await page.getByTestId('operator-name').textContent()).toBe(ADMIN.name);
    await page.locator('[data-testid=stat-online-users]', { hasText: /^0$/ }).waitFor();
    await shot('02-dashboard');

    // Create a user.
    await page.getByTestId('nav-users').click();
    await page.getByTestId('user-create').click();
    await page.getByTestId('user-form-name').fill(USER.name);
    await page.getByTestId('user-form-password').fill(USER.password);
    await page.getByTestId('user-form-nick').fill(USER.nick);
    await shot('03-new-user-form');
    await page.getByTestId('user-form-submit').click();
    await page.getByTestId('user-form').waitFor({ state: 'detached' });
    await userRow().filter({ hasText: USER.nick }).waitFor();
    expect(await userRow().getAttribute('data-online')).toBe('false');
    await shot('04-user-created');

    // The user logs in from a TeamTalk client (with the password set in the console): online on the dashboard and in the list.
    const ms = d.msgServers[0];
    const client = await TeamTalkClient.connect({ host: ms.host, port: ms.port });
    clients.push(client);
    const login = await client.login({ userName: USER.name, password: USER.password, clientType: ClientType.CLIENT_TYPE_WINDOWS });
    expect(login.resultCode).toBe(0);
    const userId = login.userInfo!.userId;
    await page.getByTestId('nav-dashboard').click();
    await page.locator('[data-testid=stat-online-users]', { hasText: /^1$/ }).waitFor();
    await page.waitForTimeout(4500); // two more samples so the chart shows the step
    await shot('05-dashboard-user-online');
    await page.getByTestId('nav-users').click();
    await page.locator(`[data-testid=user-row][data-user-name="${USER.name}"][data-online=true]`).waitFor();
    await shot('06-user-online');

    // A system message from the messages page reaches the TeamTalk client, encrypted with its content key.
    await page.getByTestId('nav-messages').click();
    const text = 'Maintenance tonight at 22:00 — please save your work';
    const arrival = client.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.toSessionId === userId, WAIT);
    await page.getByTestId('send-to').fill(USER.name);
    await page.getByTestId('send-text').fill(text);
    await page.getByTestId('send-submit').click();
    const got = await arrival;
    expect(decryptContent(got.msgData)).toBe(text);
    // The console shows the conversation it went to, with that message.
    const row = page.locator('[data-testid=message-row][data-recalled=false]', { hasText: text });
    await row.waitFor();
    const messageId = (await row.getAttribute('data-message-id'))!;
    expect(messageId.endsWith(`:${got.msgId}`) && messageId.startsWith('si_') && messageId.includes(USER.name)).toBe(true);
    await shot('07-system-message-sent');

    // Recall it: the console shows it recalled; the client's history no longer has the text.
    await row.getByTestId('message-recall').click();
    await shot('08-recall-confirm');
    await confirm();
    await page.locator(`[data-testid=message-row][data-message-id="${messageId}"][data-recalled=true]`).waitFor();
    await waitUntil(async () => {
      const history = await client.messageList(got.fromUserId, 0, 10);
      const m = history.msgList.find((x) => x.msgId === got.msgId);
      return m === undefined || !decryptsTo(m.msgData, text);
    }, WAIT, 'the TeamTalk history to show the message recalled');
    await shot('09-recalled');

    // Disable the user: their connection is closed at once, and they cannot log in again.
    await page.getByTestId('nav-users').click();
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    await userRow().getByTestId('user-disable').click();
    await shot('10-disable-confirm');
    await confirm();
    await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('the connection was not closed')), WAIT))]);
    expect(client.closed).toBe(true);
    await page.locator(`[data-testid=user-row][data-user-name="${USER.name}"][data-disabled=true]`).waitFor();
    const again = await TeamTalkClient.connect({ host: ms.host, port: ms.port });
    clients.push(again);
    expect((await again.login({ userName: USER.name, password: USER.password, clientType: ClientType.CLIENT_TYPE_WINDOWS })).resultCode).not.toBe(0);
    await page.getByTestId('nav-dashboard').click();
    await page.locator('[data-testid=stat-online-users]', { hasText: /^0$/ }).waitFor();
    await page.getByTestId('nav-users').click();
    await userRow().waitFor();
    await shot('11-user-disabled');

    // Every step is in the audit log.
    await page.getByTestId('nav-audit').click();
    for (const action of ['user.create', 'message.send', 'message.recall', 'user.disable']) await page.locator(`[data-testid=audit-row][data-action="${action}"]`).first().waitFor();
    await shot('12-audit-log');

    // Webhook settings: add one (switched off, so nothing calls it); its signing secret is shown once.
    await page.getByTestId('nav-webhooks').click();
    await page.getByTestId('webhooks').getByRole('button', { name: 'New webhook' }).click();
    await page.getByTestId('webhook-form').locator('input[name=url]').fill('https://hooks.example.com/teamtalk');
    await page.getByTestId('webhook-form').locator('input[name=enabled]').uncheck();
    await page.getByTestId('webhook-form').getByRole('button', { name: 'Add webhook' }).click();
    await page.locator('pre.key', { hasText: /^whsec_/ }).waitFor();
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByTestId('webhooks').locator('tr', { hasText: 'hooks.example.com' }).filter({ hasText: 'disabled' }).waitFor();
    await shot('13-webhooks');
    expect(pageErrors).toEqual([]);
  }

  it('a 401 from the API brings back the sign-in page', async () => {
    // A token the API refuses (as an expired one would be).
    await page.evaluate("sessionStorage.setItem('tt-console.token', 'not-a-token')");
    await page.getByTestId('nav-groups').click();
    await page.getByTestId('signin-notice').waitFor();
    await page.getByTestId('signin-name').waitFor();
    await shot('14-signed-out');
  });
});

function decryptsTo(data: Uint8Array, text: string): boolean {
  try {
    return decryptContent(data) === text;
  } catch {
    return false;
  }
}
