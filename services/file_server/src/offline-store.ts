import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { clip } from '@tt/observability';

/** What is known about a completely uploaded offline file (its JSON sidecar). */
export interface OfflineMeta {
  taskId: string;
  fromUserId: number;
  toUserId: number;
  fileName: string;
  fileSize: number;
  /** Unix ms. */
  createdAt: number;
  /** Unix ms after which the sweep removes the file. */
  expiresAt: number;
  serverId: string;
}

/** Task ids are UUIDs; anything else never reaches the file system (no path tricks). */
export const TASK_ID_RE = /^[A-Za-z0-9][A-Za-z0-9-]{7,63}$/;

/**
 * Offline files on disk, one directory per two leading characters of the task id:
 *   offline/ab/<task>.part   an upload in progress (bytes so far)
 *   offline/ab/<task>.bin    a complete file
 *   offline/ab/<task>.json   its metadata (written last: a file without it is not complete)
 * The directory may be shared by several file_servers (ReadWriteMany volume).
 */
export class OfflineStore {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = path.join(dataDir, 'offline');
  }

  async init(): Promise<void> {
    await fsp.mkdir(this.root, { recursive: true });
  }

  private base(taskId: string): string {
    if (!TASK_ID_RE.test(taskId)) throw new Error(`invalid task id ${JSON.stringify(clip(taskId, 64))}`);
    return path.join(this.root, taskId.slice(0, 2).toLowerCase(), taskId);
  }

  partPath(taskId: string): string {
    return `${this.base(taskId)}.part`;
  }

  dataPath(taskId: string): string {
    return `${this.base(taskId)}.bin`;
  }

  private metaPath(taskId: string): string {
    return `${this.base(taskId)}.json`;
  }

  /** Opens (creating) the partial file of an upload; returns its handle and how many bytes it already has. */
  async openPart(taskId: string): Promise<{ handle: fsp.FileHandle; size: number }> {
    const file = this.partPath(taskId);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const handle = await fsp.open(file, 'a+');
    const { size } = await handle.stat();
    return { handle, size };
  }

  /** Turns a finished partial file into a stored offline file. */
  async complete(meta: OfflineMeta): Promise<void> {
    await fsp.rename(this.partPath(meta.taskId), this.dataPath(meta.taskId));
    const tmp = `${this.metaPath(meta.taskId)}.${process.pid}.tmp`;
    await fsp.writeFile(tmp, JSON.stringify(meta));
    await fsp.rename(tmp, this.metaPath(meta.taskId));
  }

  /** The stored file's metadata, or undefined (unknown, incomplete, unreadable, or an invalid id). */
  async meta(taskId: string): Promise<OfflineMeta | undefined> {
    if (!TASK_ID_RE.test(taskId)) return undefined;
    try {
      const meta = JSON.parse(await fsp.readFile(this.metaPath(taskId), 'utf8')) as OfflineMeta;
      return meta.taskId === taskId ? meta : undefined;
    } catch {
      return undefined;
    }
  }

  /** Reads up to `size` bytes at `offset` of a stored file. */
  async read(taskId: string, offset: number, size: number): Promise<Buffer> {
    const handle = await fsp.open(this.dataPath(taskId), 'r');
    try {
      const buf = Buffer.allocUnsafe(size);
      let got = 0;
      while (got < size) {
        const { bytesRead } = await handle.read(buf, got, size - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return got === size ? buf : buf.subarray(0, got);
    } finally {
      await handle.close();
    }
  }

  /** Removes every file of a task (stored or partial); returns the bytes freed. */
  async remove(taskId: string): Promise<number> {
    if (!TASK_ID_RE.test(taskId)) return 0;
    let freed = 0;
    for (const file of [this.metaPath(taskId), this.dataPath(taskId), this.partPath(taskId)]) {
      try {
        const st = await fsp.stat(file);
        await fsp.unlink(file);
        if (!file.endsWith('.json')) freed += st.size;
      } catch {
        /* already gone (another replica on a shared volume, or never there) */
      }
    }
    return freed;
  }

  /** Every stored file's metadata, and the partial files, as found on disk. */
  async scan(): Promise<{ stored: OfflineMeta[]; partial: Array<{ taskId: string; size: number; mtimeMs: number }>; bytes: number }> {
    const stored: OfflineMeta[] = [];
    const partial: Array<{ taskId: string; size: number; mtimeMs: number }> = [];
    let bytes = 0;
    let dirs: string[] = [];
    try {
      dirs = await fsp.readdir(this.root);
    } catch {
      return { stored, partial, bytes };
    }
    for (const dir of dirs) {
      let names: string[];
      try {
        names = await fsp.readdir(path.join(this.root, dir));
      } catch {
        continue;
      }
      for (const name of names) {
        const full = path.join(this.root, dir, name);
        const taskId = name.replace(/\.(bin|part|json)$/, '');
        if (name.endsWith('.json')) {
          const meta = await this.meta(taskId);
          if (meta) stored.push(meta);
        } else if (name.endsWith('.bin') || name.endsWith('.part')) {
          const st = await fsp.stat(full).catch(() => undefined);
          if (!st) continue;
          bytes += st.size;
          if (name.endsWith('.part')) partial.push({ taskId, size: st.size, mtimeMs: st.mtimeMs });
        }
      }
    }
    return { stored, partial, bytes };
  }

  /** True when the stored file (not only its record) exists. */
  exists(taskId: string): boolean {
    return TASK_ID_RE.test(taskId) && fs.existsSync(this.dataPath(taskId));
  }
}
