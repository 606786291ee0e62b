// A cluster for stories about servers coming and going: the deployment, a
// fixture, and the roaming clients the story started, all stopped after the
// suite; every test ends with no decode error on any of them.
import { IM } from '@tt/proto';
import type { TeamTalkClient } from '@tt/client';
import { startDeployment, type Deployment, type DeploymentOptions } from './deployment';
import { Fixture, type TestUser } from './fixtures';
import { RoamingClient, type RoamingOptions } from './roaming-client';

export interface RoamingCluster {
  readonly d: Deployment;
  readonly f: Fixture;
  /** Every roaming client started so far (stopped ones too). */
  readonly roaming: readonly RoamingClient[];
  /** Starts a roaming client of `user` (through login_server), stopped with the suite. */
  roam(user: TestUser, opts?: RoamingOptions): Promise<RoamingClient>;
  /** Roams until login_server hands out the msg_server on `port` (it spreads clients over all). */
  roamOnto(user: TestUser, port: number, opts?: RoamingOptions): Promise<RoamingClient>;
}

/**
 * Registers the suite's hooks: start (after `setUp`, e.g. a private NATS,
 * which may give the deployment's options), stop (then `tearDown`).
 */
export function useRoamingCluster(
  userPrefix: string,
  options: DeploymentOptions | (() => Promise<DeploymentOptions>),
  { tearDown, startTimeoutMs = 60_000 }: { tearDown?: () => Promise<void>; startTimeoutMs?: number } = {},
): RoamingCluster {
  let d: Deployment | undefined;
  let f: Fixture | undefined;
  const roaming: RoamingClient[] = [];

  beforeAll(async () => {
    d = await startDeployment('cluster', typeof options === 'function' ? await options() : options);
    f = new Fixture(d, userPrefix);
  }, startTimeoutMs);

  afterAll(async () => {
    for (const r of roaming) r.stop();
    f?.closeAll();
    await d?.stop();
    await tearDown?.();
  });

  afterEach(() => {
    expect(f!.decodeErrors()).toEqual([]);
    expect(roaming.flatMap((r) => [...r.decodeErrors, ...r.client.decodeErrors])).toEqual([]);
  });

  const roam = async (user: TestUser, opts?: RoamingOptions) => {
    const r = await RoamingClient.start(d!.loginUrl, user, opts);
    roaming.push(r);
    return r;
  };

  return {
    get d() {
      return d!;
    },
    get f() {
      return f!;
    },
    roaming,
    roam,
    async roamOnto(user, port, opts) {
      for (;;) {
        const r = await roam(user, opts);
        if (r.port === port) return r;
        r.stop();
      }
    },
  };
}

/** Each user's status as `c`'s msg_server sees it (IMUsersStatReq). */
export async function usersStat(c: TeamTalkClient, ids: number[]): Promise<Map<number, number>> {
  const rsp = await c.request<IM.Buddy.IMUsersStatRsp>(IM.BaseDefine.BuddyListCmdID.CID_BUDDY_LIST_USERS_STATUS_REQUEST, IM.Buddy.IMUsersStatReq, { userId: c.userId, userIdList: ids });
  return new Map(rsp.userStatList.map((s) => [s.userId, s.status]));
}
