// A test's view of a deployment: users and logged-in TeamTalk clients,
// closed (and checked for undecodable PDUs) at the end.
import { IM } from '@tt/proto';
import { TeamTalkClient } from '@tt/client';
import type { Deployment } from './deployment';

export const PASSWORD = 'secret';

export interface TestUser {
  name: string;
  id: number;
}

export class Fixture {
  readonly clients: TeamTalkClient[] = [];
  private n = 0;

  constructor(
    readonly d: Deployment,
    private readonly prefix: string,
  ) {}

  /** Connects to msg_server number `which` (in cluster mode, different processes). */
  async connect(which = 0, opts: { heartbeatIntervalMs?: number } = {}): Promise<TeamTalkClient> {
    const ms = this.d.msgServers[which % this.d.msgServers.length];
    const c = await TeamTalkClient.connect({ host: ms.host, port: ms.port, ...opts });
    this.clients.push(c);
    return c;
  }

  async newUser(...extra: string[]): Promise<TestUser> {
    const name = `${this.prefix}${++this.n}`;
    return { name, id: await this.d.addUser(name, PASSWORD, ...extra) };
  }

  async newUsers(count: number): Promise<TestUser[]> {
    const users: TestUser[] = [];
    for (let i = 0; i < count; i++) users.push(await this.newUser());
    return users;
  }

  async login(user: TestUser, which = 0, clientType: number = IM.BaseDefine.ClientType.CLIENT_TYPE_WINDOWS): Promise<TeamTalkClient> {
    const c = await this.connect(which);
    const res = await c.login({ userName: user.name, password: PASSWORD, clientType });
    if (res.resultCode !== 0) throw new Error(`login of ${user.name} failed: ${res.resultCode} ${res.resultString}`);
    return c;
  }

  /** Every PDU the server sent must have decoded with all required fields. */
  decodeErrors(): string[] {
    return this.clients.flatMap((c) => c.decodeErrors);
  }

  closeAll(): void {
    for (const c of this.clients) c.close();
  }
}

/** Waits until `count` PDUs of a command have arrived on a client. */
export async function waitForCount(c: TeamTalkClient, commandId: number, count: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (c.received.filter((p) => p.commandId === commandId).length < count) {
    if (Date.now() > deadline) throw new Error(`only ${c.received.filter((p) => p.commandId === commandId).length} of ${count} PDUs 0x${commandId.toString(16)} arrived`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves false if no such PDU arrives within ms (to prove something is NOT sent). */
export async function arrivesWithin(c: TeamTalkClient, commandId: number, ms: number, predicate: (m: any) => boolean = () => true): Promise<boolean> {
  try {
    await c.waitFor(commandId, predicate, ms);
    return true;
  } catch {
    return false;
  }
}
