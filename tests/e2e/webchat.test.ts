// The browser chat page (packages/webchat, served by login_server at /chat/)
// in real headless Chromium, chatting with a TeamTalk-protocol client, in
// both modes. The page speaks the WebSocket front (docs/fronts/websocket.md);
// the TeamTalk client encrypts text with the stock content key, which the
// deployment is given as TT_CONTENT_KEY so the server can translate.
// Screenshots go to <tmpdir>/tt-webchat-screenshots/<mode>/ (overwritten each run).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { IM } from '@tt/proto';
import { DEFAULT_CONTENT_KEY, decryptContent, type TeamTalkClient } from '@tt/client';
import { launchBrowser } from '@tt/testkit';
import { isExternal, startDeployment, waitUntil, type Deployment, type Mode } from './support/deployment';
import { Fixture, PASSWORD, type TestUser } from './support/fixtures';

jest.setTimeout(90_000);

const { MessageCmdID, SwitchServiceCmdID, MsgType, ClientType } = IM.BaseDefine;
const TYPING = '{"ServiceID":2,"CmdID":131073,"Content":"writing"}';
const WAIT = 15_000;

const SCREENSHOT_DIR = path.join(os.tmpdir(), 'tt-webchat-screenshots');

/** `si_<a>_<b>`, the two account names in byte order. */
const singleConversation = (a: string, b: string) => (Buffer.compare(Buffer.from(a), Buffer.from(b)) < 0 ? `si_${a}_${b}` : `si_${b}_${a}`);

/** The CmdID of TeamTalk's typing P2P command (131073 typing, 131074 stopped); 0 for anything else. */
function typingCmd(m: IM.SwitchService.IMP2PCmdMsg): number {
  try {
    return Number((JSON.parse(m.cmdMsgData) as { CmdID?: unknown }).CmdID) || 0;
  } catch {
    return 0;
  }
}

// The deployment needs its own settings (the content key): not against an external cluster.
const describeModes = isExternal() ? describe.skip.each<Mode>(['cluster']) : describe.each<Mode>(['standalone', 'cluster']);

let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

describeModes('browser chat page (%s mode)', (mode) => {
  let d: Deployment;
  let f: Fixture;
  const contexts: BrowserContext[] = [];
  const pageErrors: string[] = [];
  const shots = path.join(SCREENSHOT_DIR, mode);

  beforeAll(async () => {
    d = await startDeployment(mode, {
      msgServers: mode === 'cluster' ? 2 : 1,
      env: { TT_CONTENT_KEY: DEFAULT_CONTENT_KEY },
    });
    f = new Fixture(d, `web_${mode}_`);
    fs.rmSync(shots, { recursive: true, force: true });
    fs.mkdirSync(shots, { recursive: true });
  }, 90_000);

  afterAll(async () => {
    await Promise.all(contexts.map((c) => c.close().catch(() => {})));
    f?.closeAll();
    await d?.stop();
  });

  afterEach(() => {
    expect(pageErrors.splice(0)).toEqual([]);
    expect(f.decodeErrors()).toEqual([]);
  });

  /** A fresh browser profile with the page loaded from login_server. */
  async function openPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 680 } });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(WAIT);
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${d.loginUrl}/chat/`);
    return page;
  }

  async function signIn(user: TestUser, password = PASSWORD): Promise<Page> {
    const page = await openPage();
    await page.getByTestId('login-name').fill(user.name);
    await page.getByTestId('login-password').fill(password);
    await page.getByTestId('login-submit').click();
    await page.locator('[data-testid=connection-status][data-state=online]').waitFor();
    return page;
  }

  const conversationItem = (page: Page, id: string) => page.locator(`[data-testid=conversation-item][data-conversation-id="${id}"]`);
  const messageWith = (page: Page, text: string) => page.locator('[data-testid=message-item]', { hasText: text });
  const messageById = (page: Page, id: string) => page.locator(`[data-testid=message-item][data-message-id="${id}"]`);

  async function openChatWith(page: Page, name: string): Promise<void> {
    await page.getByTestId('new-chat-input').fill(name);
    await page.getByTestId('new-chat-submit').click();
  }

  async function send(page: Page, text: string): Promise<void> {
    await page.getByTestId('composer-input').fill(text);
    await page.getByTestId('composer-send').click();
  }

  /** The page's own message once the server has answered (it then carries its message_id). */
  async function sentId(page: Page, text: string): Promise<string> {
    const item = page.locator('[data-testid=message-item][data-own=true]:not([data-message-id=""])', { hasText: text });
    await item.waitFor();
    return (await item.getAttribute('data-message-id'))!;
  }

  async function teamTalk(user: TestUser): Promise<TeamTalkClient> {
    // The last msg_server: in cluster mode usually not the one login_server gave the page.
    return f.login(user, d.msgServers.length - 1);
  }

  it('login_server serves the page, the protobufjs bundle and the schema', async () => {
    for (const [file, type] of [
      ['/chat/', 'text/html'],
      ['/chat/app.js', 'javascript'],
      ['/chat/style.css', 'text/css'],
      ['/chat/vendor/protobuf.min.js', 'javascript'],
      ['/chat/proto/IM.Ws.proto', 'text/plain'],
    ]) {
      const res = await fetch(`${d.loginUrl}${file}`);
      expect({ file, status: res.status }).toEqual({ file, status: 200 });
      expect(res.headers.get('content-type')).toContain(type);
    }
  });

  it('a wrong password is refused on the sign-in form', async () => {
    const u = await f.newUser();
    const page = await openPage();
    await page.getByTestId('login-name').fill(u.name);
    await page.getByTestId('login-password').fill('not-the-password');
    await page.getByTestId('login-submit').click();
    await page.getByTestId('login-error').filter({ hasText: /\S/ }).waitFor();
    expect(await page.getByTestId('chat-view').isHidden()).toBe(true);
  });

  it('chats with a TeamTalk client both ways: text, typing in both directions, read receipt', async () => {
    const [web, tt] = await f.newUsers(2);
    const conv = singleConversation(web.name, tt.name);
    const page = await signIn(web);
    const ct = await teamTalk(tt);

    // TeamTalk → page: decrypted with the content key, in the conversation list and the open conversation.
    const ack = await ct.sendText(web.id, 'Hello from TeamTalk ✓');
    await conversationItem(page, conv).filter({ hasText: 'Hello from TeamTalk ✓' }).waitFor();
    await conversationItem(page, conv).click();
    expect(await page.getByTestId('conversation-title').textContent()).toBe(tt.name);
    await messageById(page, `${conv}:${ack.msgId}`).filter({ hasText: 'Hello from TeamTalk ✓' }).waitFor();

    // Opening it sent a read receipt: the web user's TeamTalk phone has nothing unread.
    const phone = await f.login(web, 0, ClientType.CLIENT_TYPE_ANDROID);
    await waitUntil(async () => (await phone.unreadCounts()).totalCnt === 0, WAIT, 'the page to report the message read');

    // Typing in the page: TeamTalk's typing P2P command, "stopped" after 3 s without a key.
    const typing = ct.waitFor<IM.SwitchService.IMP2PCmdMsg>(SwitchServiceCmdID.CID_SWITCH_P2P_CMD, (m) => typingCmd(m) === 131073, WAIT);
    await page.getByTestId('composer-input').pressSequentially('Hi', { delay: 50 });
    expect(await typing).toMatchObject({ fromUserId: web.id, toUserId: tt.id });
    const idle = ct.waitFor<IM.SwitchService.IMP2PCmdMsg>(SwitchServiceCmdID.CID_SWITCH_P2P_CMD, (m) => typingCmd(m) === 131074, WAIT);
    expect(await idle).toMatchObject({ fromUserId: web.id, toUserId: tt.id });

    // Page → TeamTalk: encrypted for the TeamTalk client; sending also stops typing.
    const typingAgain = ct.waitFor<IM.SwitchService.IMP2PCmdMsg>(SwitchServiceCmdID.CID_SWITCH_P2P_CMD, (m) => typingCmd(m) === 131073, WAIT);
    await page.getByTestId('composer-input').pressSequentially(' there', { delay: 30 });
    await typingAgain;
    const stopped = ct.waitFor<IM.SwitchService.IMP2PCmdMsg>(SwitchServiceCmdID.CID_SWITCH_P2P_CMD, (m) => typingCmd(m) === 131074, 2500);
    const arrival = ct.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.fromUserId === web.id, WAIT);
    await page.getByTestId('composer-input').press('Enter');
    await stopped;
    const got = await arrival;
    expect(got).toMatchObject({ fromUserId: web.id, toSessionId: tt.id, msgType: MsgType.MSG_TYPE_SINGLE_TEXT });
    expect(decryptContent(got.msgData)).toBe('Hi there');
    const id = await sentId(page, 'Hi there');
    expect(id).toBe(`${conv}:${got.msgId}`);
    expect(await messageById(page, id).getByTestId('read-marker').count()).toBe(0);

    // The TeamTalk client reads it (IMMsgDataReadAck): "read" under the page's message.
    ct.readAck(web.id, got.msgId);
    await messageById(page, id).getByTestId('read-marker').waitFor();

    // TeamTalk's typing command shows in the page.
    ct.send(SwitchServiceCmdID.CID_SWITCH_P2P_CMD, IM.SwitchService.IMP2PCmdMsg, { fromUserId: tt.id, toUserId: web.id, cmdMsgData: TYPING });
    await page.getByTestId('typing-indicator').filter({ hasText: `${tt.name} is typing…` }).waitFor();
    await page.screenshot({ path: path.join(shots, 'chat-with-teamtalk.png') });

    // Its message clears the indicator.
    await ct.sendText(web.id, 'Done typing');
    await messageWith(page, 'Done typing').waitFor();
    await page.getByTestId('typing-indicator').filter({ hasText: 'typing' }).waitFor({ state: 'detached' });
  });

  it('recall from the page: shown recalled in the page, in another page and in TeamTalk history', async () => {
    const [web, tt, other] = await f.newUsers(3);
    const page = await signIn(web);
    const ct = await teamTalk(tt);

    await openChatWith(page, tt.name);
    const arrival = ct.waitFor<IM.Message.IMMsgData>(MessageCmdID.CID_MSG_DATA, (m) => m.fromUserId === web.id, WAIT);
    await send(page, 'I should not have said this');
    const got = await arrival;
    const id = await sentId(page, 'I should not have said this');
    await messageById(page, id).getByTestId('recall-button').click();
    await messageById(page, id).getByTestId('recalled-marker').waitFor();
    expect(await messageById(page, id).textContent()).toContain('message recalled');
    expect(await messageById(page, id).getByTestId('recall-button').count()).toBe(0);
    // TeamTalk has no recall notice: its history shows the message recalled.
    await waitUntil(async () => {
      const history = await ct.messageList(web.id, 0, 10);
      const m = history.msgList.find((x) => x.msgId === got.msgId);
      return m === undefined || !decryptsTo(m.msgData, 'I should not have said this');
    }, WAIT, 'TeamTalk history to show the message recalled');

    // Between two pages: the peer's page shows it recalled when the push arrives.
    const peer = await signIn(other);
    await openChatWith(page, other.name);
    await send(page, 'Oops, wrong chat');
    const id2 = await sentId(page, 'Oops, wrong chat');
    const otherConv = singleConversation(web.name, other.name);
    await conversationItem(peer, otherConv).click();
    await messageById(peer, id2).filter({ hasText: 'Oops, wrong chat' }).waitFor();
    await messageById(page, id2).getByTestId('read-marker').waitFor();
    await messageById(page, id2).getByTestId('recall-button').click();
    await messageById(peer, id2).getByTestId('recalled-marker').waitFor();
    await messageById(page, id2).getByTestId('recalled-marker').waitFor();
    await page.screenshot({ path: path.join(shots, 'recalled.png') });
  });

  it('messages sent while the page was away appear after sign-in (sync)', async () => {
    const [web, tt] = await f.newUsers(2);
    const ct = await teamTalk(tt);
    for (const text of ['first while away', 'second while away']) await ct.sendText(web.id, text);
    const page = await signIn(web);
    const item = conversationItem(page, singleConversation(web.name, tt.name));
    await item.filter({ hasText: 'second while away' }).waitFor();
    await item.click();
    await messageWith(page, 'first while away').waitFor();
    expect(await page.locator('[data-testid=message-item]').allTextContents()).toEqual([expect.stringContaining('first while away'), expect.stringContaining('second while away')]);
  });
});

function decryptsTo(data: Uint8Array, text: string): boolean {
  try {
    return decryptContent(data) === text;
  } catch {
    return false;
  }
}
