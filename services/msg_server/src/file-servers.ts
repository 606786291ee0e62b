import { FileServerService, IM, type ClusterSubjects, type FileServerClient } from '@tt/proto';
import type { MessageBus, BusSubscription } from '@tt/bus';
import { createRpcClient, type RpcTls } from '@tt/rpc';

export interface FileServerInfo {
  serverId: string;
  rpcAddr: string;
  /** Where clients connect (IMFileServerIPRsp). */
  addrs: IM.BaseDefine.IIpAddr[];
  httpUrl: string;
  activeTasks: number;
  freeBytes: number;
  draining: boolean;
  expiresAt: number;
}

type Client = FileServerClient & { close(): void };

/**
 * The file_servers alive in the cluster, from their NATS reports (a TTL
 * registry, like login_server's view of msg_servers), with one gRPC client
 * per server. A transfer task goes to the least busy one; offline files are
 * found on the server that stored them.
 */
export class FileServerDirectory {
  private readonly servers = new Map<string, FileServerInfo>();
  private readonly clients = new Map<string, Client>();
  private subs: BusSubscription[] = [];

  constructor(
    private readonly bus: MessageBus,
    private readonly subjects: ClusterSubjects,
    /** Deadline of one call, and TLS towards file_servers (GRPC_TLS_*). */
    private readonly rpc: { timeoutMs: number; tls?: RpcTls },
    private readonly now: () => number = Date.now,
  ) {}

  listen(): void {
    this.subs = [
      this.bus.subscribe(this.subjects.fileServerReport, (data) => this.report(IM.FileServer.FileServerReport.decode(data))),
      this.bus.subscribe(this.subjects.fileServerLeaving, (data) => this.remove(IM.FileServer.FileServerLeaving.decode(data).serverId)),
    ];
    // Learn about the file_servers now rather than at their next report.
    this.bus.publish(this.subjects.fileServerResync, new Uint8Array(0));
  }

  report(r: IM.FileServer.IFileServerReport): void {
    if (!r.serverId || !r.rpcAddr) return;
    const previous = this.servers.get(r.serverId);
    if (previous && previous.rpcAddr !== r.rpcAddr) this.dropClient(previous.rpcAddr);
    this.servers.set(r.serverId, {
      serverId: r.serverId,
      rpcAddr: r.rpcAddr,
      addrs: (r.addrs?.ipAddrList ?? []).map((a) => ({ ip: a.ip, port: a.port })),
      httpUrl: r.httpUrl ?? '',
      activeTasks: r.activeTasks ?? 0,
      freeBytes: r.freeBytes ?? 0,
      draining: Boolean(r.draining),
      expiresAt: this.now() + (r.ttlMs ?? 6000),
    });
  }

  remove(serverId: string): void {
    const s = this.servers.get(serverId);
    this.servers.delete(serverId);
    if (s) this.dropClient(s.rpcAddr);
  }

  /** Live servers, expired ones forgotten on the way. */
  live(): FileServerInfo[] {
    const now = this.now();
    const out: FileServerInfo[] = [];
    for (const s of [...this.servers.values()]) {
      if (s.expiresAt <= now) this.remove(s.serverId);
      else out.push(s);
    }
    return out;
  }

  get(serverId: string): FileServerInfo | undefined {
    return this.live().find((s) => s.serverId === serverId);
  }

  /**
   * Where a new task goes: the live, not draining server with the fewest tasks
   * (ties: any of them); for an offline file, one whose last report had room
   * for it if there is one (the server itself has the final word on its quota).
   */
  pick(fileSize = 0, offline = false): FileServerInfo | undefined {
    const up = this.live().filter((s) => !s.draining);
    const roomy = offline ? up.filter((s) => s.freeBytes >= fileSize) : up;
    const candidates = roomy.length > 0 ? roomy : up;
    if (candidates.length === 0) return undefined;
    const least = Math.min(...candidates.map((s) => s.activeTasks));
    const best = candidates.filter((s) => s.activeTasks === least);
    const chosen = best[Math.floor(Math.random() * best.length)]!;
    // Count the task now so a burst of requests spreads before the next report.
    chosen.activeTasks += 1;
    return chosen;
  }

  client(server: FileServerInfo): FileServerClient {
    let c = this.clients.get(server.rpcAddr);
    if (!c) {
      c = createRpcClient<FileServerClient>(FileServerService, server.rpcAddr, { ...this.rpc, failFast: true });
      this.clients.set(server.rpcAddr, c);
    }
    return c;
  }

  /** The live server holding a complete offline file, and its description of the file. */
  async findOffline(taskId: string): Promise<{ server: FileServerInfo; meta: IM.FileServer.OfflineFileMeta } | undefined> {
    const found = await Promise.all(
      this.live().map(async (server) => {
        try {
          return { server, meta: await this.client(server).getOfflineFile({ taskId }) };
        } catch {
          return undefined;
        }
      }),
    );
    // On a shared volume every server sees the file: prefer the one that stored it.
    const hits = found.filter((f) => f !== undefined);
    return hits.find((h) => h.meta.serverId === h.server.serverId) ?? hits[0];
  }

  close(): void {
    for (const s of this.subs) s.unsubscribe();
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private dropClient(rpcAddr: string): void {
    this.clients.get(rpcAddr)?.close();
    this.clients.delete(rpcAddr);
  }
}
