import { IM, clusterSubjects, type ClusterSubjects } from '@tt/proto';
import { BusError, type BusSubscription, type MessageBus } from '@tt/bus';
import { MsgServerRegistry } from '../msg-server-registry';
import { AdminError, type AdminCluster, type GroupSummary, type MsgServerView, type OnlineDevice } from './backend';

/** The window messages per second are averaged over. */
const RATE_WINDOW_MS = 10_000;

export interface BusAdminClusterOptions {
  bus: MessageBus;
  subjectPrefix: string;
  /** Deadline of one request to the msg_servers (default 10 s). */
  requestTimeoutMs?: number;
  now?: () => number;
}

/** A msg_server's stored-messages counter as reported, over the last RATE_WINDOW_MS. */
interface CounterSample {
  at: number;
  stored: number;
}

/** A connection reported by a msg_server that did not name its front (an older version). */
const FRONT_UNKNOWN = '';

/**
 * AdminCluster over the bus: who is online asked of route_server, which keeps
 * the cluster's presence table (`<prefix>.route.presence`; this role keeps no
 * copy: it would cost every login_server ~0.5 KiB per online user and a
 * decode per login), msg_servers from their reports, and operator actions as
 * NATS requests to the msg_servers (`<prefix>.admin`: any one of them;
 * `<prefix>.ms.<id>.admin`: that one).
 */
export class BusAdminCluster implements AdminCluster {
  private readonly subjects: ClusterSubjects;
  private readonly registry: MsgServerRegistry;
  private readonly samples = new Map<string, CounterSample[]>();
  private readonly subs: BusSubscription[] = [];
  private readonly now: () => number;

  constructor(private readonly options: BusAdminClusterOptions) {
    this.subjects = clusterSubjects(options.subjectPrefix);
    this.now = options.now ?? Date.now;
    this.registry = new MsgServerRegistry(this.now);
  }

  /** Subscribes to the msg_servers' reports and departures. */
  start(): this {
    const { bus } = this.options;
    this.subs.push(
      bus.subscribe(this.subjects.msgServerReport, (data) => this.onReport(IM.Cluster.MsgServerReport.decode(data))),
      bus.subscribe(this.subjects.msgServerLeaving, (data) => {
        const id = IM.Cluster.MsgServerLeaving.decode(data).serverId;
        this.registry.remove(id);
        this.samples.delete(id);
      }),
      // route_server declared a msg_server incarnation dead: its users are offline now.
      bus.subscribe(this.subjects.msgServerDown, (data) => {
        const down = IM.Cluster.MsgServerDown.decode(data);
        this.registry.down(down.serverId, down.incarnation);
      }),
    );
    return this;
  }

  close(): void {
    for (const s of this.subs) s.unsubscribe();
    this.subs.length = 0;
  }

  async devicesOf(userIds: number[]): Promise<Map<number, OnlineDevice[]>> {
    const devices = new Map<number, OnlineDevice[]>(userIds.map((userId) => [userId, []]));
    if (userIds.length === 0) return devices;
    const reply = await this.askPresence({ userIds });
    for (const u of reply.users ?? []) {
      devices.set(
        u.userId,
        (u.conns ?? []).map((c) => ({ msgServerId: c.serverId, front: c.front || FRONT_UNKNOWN, clientType: c.clientType })),
      );
    }
    return devices;
  }

  async onlineCount(): Promise<number> {
    return (await this.askPresence({ countOnline: true })).onlineUsers ?? 0;
  }

  async kickUser(userId: number): Promise<number> {
    const reply = await this.request(this.subjects.admin, { kick: { userId } });
    return reply.count ?? 0;
  }

  async sendMessage(m: { fromId: number; to: { userId: number } | { groupId: number }; text: string }): Promise<{ messageId: string; msgId: number }> {
    const to = 'userId' in m.to ? { toUserId: m.to.userId } : { toGroupId: m.to.groupId };
    const reply = await this.request(this.subjects.admin, { send: { fromId: m.fromId, text: m.text, ...to } });
    return { messageId: reply.messageId ?? '', msgId: reply.msgId ?? 0 };
  }

  async notify(n: { userIds?: number[]; groupId?: number; content: string; contentType?: number; from?: string }): Promise<{ addressed: number }> {
    const reply = await this.request(this.subjects.admin, { notify: { userIds: n.userIds ?? [], groupId: n.groupId, content: n.content, contentType: n.contentType, from: n.from } });
    return { addressed: reply.count ?? 0 };
  }

  async recallMessage(messageId: string, byOperator: string): Promise<void> {
    await this.request(this.subjects.admin, { recall: { messageId, byOperator } });
  }

  async groupAction(a: Parameters<AdminCluster['groupAction']>[0]): Promise<GroupSummary> {
    const reply = await this.request(this.subjects.admin, {
      group: { action: a.action, groupId: a.groupId, memberIds: a.memberIds ?? [], ownerId: a.ownerId, name: a.name, avatar: a.avatar, description: a.description, memberLimit: a.memberLimit },
    });
    const g = reply.group;
    if (!g) throw new AdminError(503, 'unavailable', 'the msg_server answered without the group');
    return {
      id: g.groupId,
      name: g.name,
      avatar: g.avatar,
      description: g.description,
      ownerId: g.creatorId,
      type: g.type,
      memberCount: reply.memberIds?.length ?? 0,
      memberLimit: g.memberLimit,
      version: g.version,
      created: g.created,
      updated: g.updated,
    };
  }

  webhooksChanged(): void {
    this.options.bus.publish(this.subjects.webhooksChanged, new Uint8Array(0));
  }

  async msgServers(): Promise<MsgServerView[]> {
    return this.registry
      .live()
      .sort((a, b) => a.serverId.localeCompare(b.serverId))
      .map((s) => ({
        id: s.serverId,
        address: `${s.priorIp}:${s.port}`,
        connections: s.connections,
        maxConnections: s.maxConnections,
        draining: s.draining,
        fronts: [{ protocol: 'teamtalk', port: s.port }, ...s.fronts.filter((f) => f.protocol !== 'teamtalk' || f.tls).map((f) => ({ protocol: f.protocol, port: f.port, ...(f.tls ? { tls: true } : {}) }))],
      }));
  }

  async stats(): Promise<{ onlineUsers: number; messagesPerSecond: number; msgServers: { id: string; connections: number }[] }> {
    const servers = await this.msgServers();
    const since = this.now() - RATE_WINDOW_MS;
    let stored = 0;
    let seconds = 0;
    for (const server of servers) {
      const samples = (this.samples.get(server.id) ?? []).filter((s) => s.at >= since);
      if (samples.length < 2) continue;
      const first = samples[0];
      const last = samples[samples.length - 1];
      // A restarted server's counter starts again at 0: its id is new, so this only guards odd reports.
      stored += Math.max(0, last.stored - first.stored);
      seconds = Math.max(seconds, (last.at - first.at) / 1000);
    }
    const messagesPerSecond = seconds > 0 ? Math.round((stored / seconds) * 100) / 100 : 0;
    return { onlineUsers: await this.onlineCount(), messagesPerSecond, msgServers: servers.map((s) => ({ id: s.id, connections: s.connections })) };
  }

  async drain(msgServerId: string): Promise<void> {
    if (!this.registry.live().some((s) => s.serverId === msgServerId)) throw new AdminError(404, 'not_found', `no msg_server ${msgServerId}`);
    await this.request(this.subjects.msgServerAdmin(msgServerId), { drain: {} });
  }

  private onReport(r: IM.Cluster.MsgServerReport): void {
    this.registry.report(
      {
        serverId: r.serverId,
        priorIp: r.info.ip1,
        backupIp: r.info.ip2,
        port: r.info.port,
        maxConnections: r.info.maxConnCnt,
        connections: r.info.curConnCnt,
        draining: r.draining,
        fronts: (r.fronts ?? []).map((f) => ({ protocol: f.protocol, port: f.port, path: f.path ?? '', tls: !!f.tls })),
        incarnation: r.incarnation ?? 0,
      },
      r.ttlMs,
    );
    const at = this.now();
    // Kept a little longer than the window, so the oldest sample still spans it.
    const samples = (this.samples.get(r.serverId) ?? []).filter((s) => s.at >= at - 2 * RATE_WINDOW_MS);
    samples.push({ at, stored: Number(r.messagesStored ?? 0) });
    this.samples.set(r.serverId, samples);
    for (const id of this.samples.keys()) if (!this.registry.live().some((s) => s.serverId === id)) this.samples.delete(id);
  }

  /** A presence question to route_server; no answer is a 503. */
  private async askPresence(query: IM.Cluster.IPresenceQuery): Promise<IM.Cluster.PresenceQueryReply> {
    try {
      const data = await this.options.bus.request(this.subjects.routePresence, IM.Cluster.PresenceQuery.encode(query).finish(), { timeoutMs: this.options.requestTimeoutMs ?? 10_000 });
      return IM.Cluster.PresenceQueryReply.decode(data);
    } catch (err) {
      if (err instanceof BusError) throw new AdminError(503, 'unavailable', err.code === 'NO_RESPONDERS' ? 'no route_server is running' : `no answer from route_server (${err.code})`);
      throw err;
    }
  }

  /** One request to the msg_servers; a refusal becomes the AdminError it names, no answer a 503. */
  private async request(subject: string, req: IM.Cluster.IAdminRequest): Promise<IM.Cluster.AdminReply> {
    let data: Uint8Array;
    try {
      data = await this.options.bus.request(subject, IM.Cluster.AdminRequest.encode(req).finish(), { timeoutMs: this.options.requestTimeoutMs ?? 10_000 });
    } catch (err) {
      if (err instanceof BusError) throw new AdminError(503, 'unavailable', err.code === 'NO_RESPONDERS' ? 'no msg_server is running' : `no answer from the msg_servers (${err.code})`);
      throw err;
    }
    const reply = IM.Cluster.AdminReply.decode(data);
    if (!reply.ok) throw new AdminError(toStatus(reply.errorStatus), reply.errorCode || 'unavailable', reply.errorMessage || 'refused');
    return reply;
  }
}

function toStatus(status: number | null | undefined): AdminError['status'] {
  const allowed: AdminError['status'][] = [400, 401, 403, 404, 409, 422, 429, 503];
  return allowed.includes(status as AdminError['status']) ? (status as AdminError['status']) : 503;
}
