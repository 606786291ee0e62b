// A client that behaves like a stock TeamTalk app when its msg_server goes
// away: it asks login_server where to go again, logs back in and carries on.
// Tests use it to prove that scale-out events (crash, drain, restarts) lose
// nothing a sender was told is stored.
import { IM } from '@tt/proto';
import { TeamTalkClient, fetchMsgServer } from '@tt/client';
import { PASSWORD, type TestUser } from './fixtures';

const { ClientType, SessionType } = IM.BaseDefine;

export interface RoamingOptions {
  clientType?: number;
  /** false: stay gone when the server closes the connection (default: reconnect through login_server). */
  reconnect?: boolean;
}

export class RoamingClient {
  client!: TeamTalkClient;
  /** Port of the msg_server it is on now. */
  port = 0;
  /** Ports of every msg_server it has been on, in order. */
  readonly ports: number[] = [];
  /** msg_ids that arrived as live deliveries, per peer user id. */
  readonly delivered = new Map<number, number[]>();
  reconnects = 0;
  readonly decodeErrors: string[] = [];
  private stopped = false;
  private connecting?: Promise<void>;

  constructor(
    private readonly loginUrl: string,
    readonly user: TestUser,
    private readonly opts: RoamingOptions = {},
  ) {}

  static async start(loginUrl: string, user: TestUser, opts: RoamingOptions = {}): Promise<RoamingClient> {
    const c = new RoamingClient(loginUrl, user, opts);
    await c.connect(15_000);
    return c;
  }

  /** Resolves once the client is logged in (again). */
  async ready(): Promise<TeamTalkClient> {
    while (this.connecting) await this.connecting;
    return this.client;
  }

  get online(): boolean {
    return !this.connecting && !this.client.closed;
  }

  stop(): void {
    this.stopped = true;
    this.client?.close();
  }

  /** Every msg_id of the conversation with a peer, from history (oldest first). */
  async historyWith(peerId: number): Promise<number[]> {
    const c = await this.ready();
    const ids: number[] = [];
    let begin = 0;
    for (;;) {
      const page = await c.messageList(peerId, begin, 100, SessionType.SESSION_TYPE_SINGLE);
      ids.push(...page.msgList.map((m) => m.msgId));
      if (page.msgList.length < 100) break;
      begin = Math.min(...page.msgList.map((m) => m.msgId)) - 1;
      if (begin <= 0) break;
    }
    return ids.sort((a, b) => a - b);
  }

  private connect(timeoutMs: number): Promise<void> {
    const attempt = async () => {
      const deadline = Date.now() + timeoutMs;
      let lastError: unknown;
      while (Date.now() < deadline && !this.stopped) {
        try {
          const answer = await fetchMsgServer(this.loginUrl);
          if (answer.code !== 0) throw new Error(`login_server answered ${answer.code}: ${answer.msg}`);
          const port = Number(answer.port);
          const client = await TeamTalkClient.connect({ host: answer.priorIP!, port });
          const res = await client.login({ userName: this.user.name, password: PASSWORD, clientType: this.opts.clientType ?? ClientType.CLIENT_TYPE_WINDOWS });
          if (res.resultCode !== 0) {
            client.close();
            throw new Error(`login failed: ${res.resultCode} ${res.resultString}`);
          }
          this.attach(client, port);
          return;
        } catch (err) {
          lastError = err;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      if (!this.stopped) throw new Error(`${this.user.name} could not log in again within ${timeoutMs} ms: ${(lastError as Error)?.message}`);
    };
    this.connecting = attempt().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private attach(client: TeamTalkClient, port: number): void {
    this.client = client;
    this.port = port;
    this.ports.push(port);
    client.on('message', (m: IM.Message.IMMsgData) => {
      const list = this.delivered.get(m.fromUserId) ?? [];
      list.push(m.msgId);
      this.delivered.set(m.fromUserId, list);
    });
    client.once('close', () => {
      this.decodeErrors.push(...client.decodeErrors);
      if (this.stopped || this.opts.reconnect === false) return;
      this.reconnects += 1;
      void this.connect(30_000).catch(() => {
        /* reported by ready() callers through their own checks */
      });
    });
  }
}

export interface Pair {
  sender: RoamingClient;
  receiver: RoamingClient;
  /** msg_ids the server acknowledged to the sender. */
  acked: number[];
  /** Sends that got no acknowledgement (connection lost, no store). */
  unacked: number;
}

/**
 * Every sender sends one message every intervalMs until stopped, waiting for
 * each ack (as stock clients do) and carrying on after a reconnect.
 */
export function startFlow(pairs: Pair[], intervalMs: number): { stop(): Promise<void> } {
  let running = true;
  const loops = pairs.map(async (pair, i) => {
    let n = 0;
    while (running) {
      const started = Date.now();
      try {
        const c = await pair.sender.ready();
        const ack = await c.sendText(pair.receiver.user.id, `flow ${i} #${++n}`);
        pair.acked.push(ack.msgId);
      } catch {
        pair.unacked += 1;
      }
      await new Promise((r) => setTimeout(r, Math.max(0, intervalMs - (Date.now() - started))));
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** What a pair's receiver could not find, live or in history, of what its sender was told is stored. */
export async function lostMessages(pair: Pair): Promise<{ lost: number[]; gaps: number[]; history: number[] }> {
  const history = await pair.receiver.historyWith(pair.sender.user.id);
  const seen = new Set([...history, ...(pair.receiver.delivered.get(pair.sender.user.id) ?? [])]);
  const lost = pair.acked.filter((id) => !seen.has(id));
  const gaps: number[] = [];
  for (let i = 1; i < history.length; i++) if (history[i] !== history[i - 1] + 1) gaps.push(history[i - 1]);
  return { lost, gaps, history };
}
