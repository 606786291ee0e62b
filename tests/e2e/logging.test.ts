// Logs must not become the attack: a client's flood of bad input writes a bounded number of lines (the
// first, then a count a window) while the metrics count every frame; its mistakes are bad input, not
// internal errors; what it sent reaches a line clipped; and every line carries one role.
import { IM } from '@tt/proto';
import { TeamTalkClient } from '@tt/client';
import { encodePdu } from '@tt/codec';
import { describeLocal, startDeployment, waitUntil, type Deployment } from './support/deployment';

jest.setTimeout(90_000);

const { MessageCmdID, FileCmdID, ServiceID } = IM.BaseDefine;
const FLOOD = 5000;

type Line = Record<string, unknown> & { msg?: string; level?: string; reason?: string };

describeLocal('logging under a flood of bad input (standalone)', () => {
  let d: Deployment;
  /** Everything the process wrote to stdout since it was started, whole. */
  let stdout = '';
  let aliceId: number;
  let bobId: number;

  beforeAll(async () => {
    d = await startDeployment('standalone', { env: { LOG_LEVEL: 'info', LOG_REPEAT_INTERVAL_MS: '1000' } });
    stdout = d.role('standalone').output.join('');
    d.role('standalone').child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    aliceId = await d.addUser('log_alice', 'pw');
    bobId = await d.addUser('log_bob', 'pw');
  }, 90_000);

  afterAll(() => d?.stop());

  const linesSince = (offset: number): Line[] =>
    stdout
      .slice(offset)
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Line);

  async function dropped(reason: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${d.role('standalone').adminPort}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('tt_msg_server_pdus_dropped_total{') && l.includes(`reason="${reason}"`));
    return line ? Number(line.split(' ').pop()) : 0;
  }

  async function loggedIn(name: string): Promise<TeamTalkClient> {
    const c = await TeamTalkClient.connect({ host: d.msgServers[0].host, port: d.msgServers[0].port });
    expect((await c.login({ userName: name, password: 'pw' })).resultCode).toBe(0);
    return c;
  }

  it(`${FLOOD} unparsable bodies write their first line and counts; the metric has every one`, async () => {
    const alice = await loggedIn('log_alice');
    const before = await dropped('bad_body');
    const from = stdout.length;
    // IMMsgData bodies protobuf cannot read (0xff: wire type 7), all at once.
    const garbage = encodePdu(ServiceID.SID_MSG, MessageCmdID.CID_MSG_DATA, 0, Buffer.alloc(24, 0xff));
    alice.writeRaw(Buffer.concat(Array<Buffer>(FLOOD).fill(garbage)));

    await waitUntil(async () => (await dropped('bad_body')) - before === FLOOD, 30_000, `${FLOOD} bad bodies counted`);
    const badBodyLines = () => linesSince(from).filter((l) => l.reason === 'bad_body');
    // Written lines plus the counts of the summaries account for every frame once the window has ended.
    const accounted = () => badBodyLines().reduce((n, l) => n + (typeof l.suppressed === 'number' ? l.suppressed : 1), 0);
    await waitUntil(() => accounted() === FLOOD, 10_000, 'the summary of the window');

    const lines = badBodyLines();
    expect(lines[0]).toMatchObject({ level: 'warn', msg: 'body did not parse; dropped', userId: aliceId });
    expect(lines.length).toBeLessThanOrEqual(5);
    expect(lines.at(-1)!.msg).toMatch(/^body did not parse; dropped \(\d+ more in the last 1 s, not logged\)$/);
    alice.close();
  });

  it("a client's bad request is answered as bad input at info, not logged as a failure, and quoted clipped", async () => {
    const alice = await loggedIn('log_alice');
    const before = await dropped('bad_request');
    const from = stdout.length;
    // A 70 KB task id: db_proxy refuses it (taskId is longer than 64 characters), file_server too.
    const taskId = 't'.repeat(70_000);
    alice.send(FileCmdID.CID_FILE_DEL_OFFLINE_REQ, IM.File.IMFileDelOfflineReq, { fromUserId: aliceId, toUserId: bobId, taskId });
    alice.send(FileCmdID.CID_FILE_ADD_OFFLINE_REQ, IM.File.IMFileAddOfflineReq, { fromUserId: aliceId, toUserId: bobId, taskId, fileName: 'f.txt', fileSize: 1 });
    await waitUntil(async () => (await dropped('bad_request')) === before + 1, 10_000, 'the bad request counted');
    await waitUntil(() => linesSince(from).some((l) => l.msg === 'request refused: bad input'), 5000, 'its log line');
    await waitUntil(() => linesSince(from).some((l) => l.reason === 'bad_offline_file'), 5000, 'the unknown offline file logged');

    const lines = linesSince(from);
    const refused = lines.find((l) => l.msg === 'request refused: bad input')!;
    expect(refused).toMatchObject({ level: 'info', reason: 'bad_request', commandId: FileCmdID.CID_FILE_DEL_OFFLINE_REQ });
    expect(String(refused.err)).toMatch(/taskId is longer than 64 characters/);
    expect(lines.find((l) => l.reason === 'bad_offline_file')).toMatchObject({ level: 'info', taskId: expect.stringMatching(/^t{64}…\[\+69936 chars\]$/) });
    expect(Math.max(...lines.map((l) => JSON.stringify(l).length))).toBeLessThan(4096);
    expect(lines.filter((l) => l.level === 'error')).toEqual([]);
    // The connection is still served.
    expect((await alice.sendText(bobId, 'still here')).msgId).toBeGreaterThan(0);
    alice.close();
  });

  it('a 500,000-character user name reaches the log clipped', async () => {
    const from = stdout.length;
    const c = await TeamTalkClient.connect({ host: d.msgServers[0].host, port: d.msgServers[0].port });
    const res = await c.login({ userName: 'n'.repeat(500_000), password: 'pw' });
    expect(res.resultCode).not.toBe(0);
    c.close();
    await waitUntil(() => /"user":"n{10}/.test(stdout.slice(from)), 5000, 'the refused login logged');
    const longest = Math.max(...stdout.slice(from).split('\n').map((l) => l.length));
    expect(longest).toBeLessThan(4096);
    const refused = linesSince(from).find((l) => typeof l.user === 'string')!;
    expect(refused.level).toBe('info');
    expect(refused.user).toMatch(/^n+…\[\+\d+ chars\]$/);
  });

  it('every line is one JSON object with exactly one role, the inner role of the process', async () => {
    const raw = stdout.split('\n').filter(Boolean);
    for (const line of raw) {
      expect(() => JSON.parse(line)).not.toThrow();
      // JSON.parse keeps the last of two equal keys: count them in the raw text.
      expect({ line, roles: line.match(/"role":/g)?.length }).toEqual({ line, roles: 1 });
    }
    const roles = new Set(raw.map((l) => (JSON.parse(l) as Line).role));
    expect([...roles]).toEqual(expect.arrayContaining(['standalone', 'msg_server', 'db_proxy', 'login_server']));
  });
});
