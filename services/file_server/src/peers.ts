import { FileServerService, IM, type FileServerClient } from '@tt/proto';
import { createRpcClient, type RpcTls } from '@tt/rpc';
import type { OfflineSource } from './transfer';

type Client = FileServerClient & { close(): void };

/**
 * The other file_servers of the cluster, as their reports describe them: used
 * to serve a download of an offline file that a peer holds (its own volume).
 */
export class PeerFileServers {
  private readonly peers = new Map<string, { rpcAddr: string; expiresAt: number }>();
  private readonly clients = new Map<string, Client>();

  constructor(
    private readonly selfId: string,
    /** Deadline of one call, and TLS towards peers (GRPC_TLS_*). */
    private readonly rpc: { timeoutMs: number; tls?: RpcTls } = { timeoutMs: 3000 },
  ) {}

  report(r: IM.FileServer.IFileServerReport): void {
    if (!r.serverId || r.serverId === this.selfId || !r.rpcAddr) return;
    this.peers.set(r.serverId, { rpcAddr: r.rpcAddr, expiresAt: Date.now() + (r.ttlMs ?? 6000) });
  }

  leave(serverId: string): void {
    this.peers.delete(serverId);
  }

  live(): Array<{ serverId: string; rpcAddr: string }> {
    const now = Date.now();
    const out: Array<{ serverId: string; rpcAddr: string }> = [];
    for (const [serverId, p] of this.peers) {
      if (p.expiresAt <= now) this.peers.delete(serverId);
      else out.push({ serverId, rpcAddr: p.rpcAddr });
    }
    return out;
  }

  private client(rpcAddr: string): Client {
    let c = this.clients.get(rpcAddr);
    if (!c) {
      c = createRpcClient<FileServerClient>(FileServerService, rpcAddr, { ...this.rpc, failFast: true });
      this.clients.set(rpcAddr, c);
    }
    return c;
  }

  /** Asks every live peer for an offline file; the first that holds it serves the bytes. */
  async findOffline(taskId: string): Promise<OfflineSource | undefined> {
    const peers = this.live();
    if (peers.length === 0) return undefined;
    const found = await Promise.all(
      peers.map(async (p) => {
        try {
          const meta = await this.client(p.rpcAddr).getOfflineFile({ taskId });
          return { meta, client: this.client(p.rpcAddr) };
        } catch {
          return undefined;
        }
      }),
    );
    const hit = found.find((f) => f !== undefined);
    if (!hit) return undefined;
    const { meta, client } = hit;
    return {
      meta: { taskId: meta.taskId, fromUserId: meta.fromUserId, toUserId: meta.toUserId, fileName: meta.fileName, fileSize: meta.fileSize, createdAt: 0, expiresAt: meta.expiresAt, serverId: meta.serverId },
      read: async (offset, size) => {
        const rsp = await client.readOfflineChunk({ taskId, offset, size });
        if (rsp.resultCode !== 0) throw new Error(`peer ${meta.serverId} answered ${rsp.resultCode}`);
        return Buffer.from(rsp.data);
      },
    };
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
