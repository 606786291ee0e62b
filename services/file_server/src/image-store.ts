import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

/** Image types recognised by their first bytes (what the client claims is not trusted). */
const SIGNATURES: Array<{ type: string; ext: string; test(b: Buffer): boolean }> = [
  { type: 'image/jpeg', ext: 'jpg', test: (b) => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { type: 'image/png', ext: 'png', test: (b) => b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  { type: 'image/gif', ext: 'gif', test: (b) => b.length >= 6 && (b.subarray(0, 6).toString('latin1') === 'GIF87a' || b.subarray(0, 6).toString('latin1') === 'GIF89a') },
  { type: 'image/webp', ext: 'webp', test: (b) => b.length >= 12 && b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP' },
  { type: 'image/bmp', ext: 'bmp', test: (b) => b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d },
];

/** Bytes needed to recognise every known type. */
export const SNIFF_BYTES = 12;

/** The image type of some leading bytes, or undefined. */
export function sniffImageType(head: Buffer): { type: string; ext: string } | undefined {
  const hit = SIGNATURES.find((s) => s.test(head));
  return hit && { type: hit.type, ext: hit.ext };
}

export function contentTypeOfExt(ext: string): string | undefined {
  return SIGNATURES.find((s) => s.ext === ext)?.type;
}

/** Stored image paths: i/<2 hex>/<64 hex sha256>.<ext>. */
export const IMAGE_PATH_RE = /^i\/([0-9a-f]{2})\/([0-9a-f]{64})\.(jpg|png|gif|webp|bmp)$/;

export interface StoredImage {
  /** Path under the store's URL, e.g. i/ab/ab12….png */
  path: string;
  sha256: string;
  size: number;
  contentType: string;
  /** False when the same bytes were already stored. */
  created: boolean;
}

/**
 * The image and avatar store (TeamTalk's msfs): content-addressed files, so
 * the same picture uploaded twice is stored once and a path never changes
 * meaning (ETag = the hash, cacheable forever).
 */
export class ImageStore {
  readonly root: string;
  private readonly tmpDir: string;

  constructor(dataDir: string) {
    this.root = path.join(dataDir, 'images');
    this.tmpDir = path.join(this.root, 'tmp');
  }

  async init(): Promise<void> {
    await fsp.mkdir(this.tmpDir, { recursive: true });
    // Leftovers of uploads cut short by a restart.
    for (const name of await fsp.readdir(this.tmpDir)) await fsp.unlink(path.join(this.tmpDir, name)).catch(() => undefined);
  }

  /** Bytes of every stored image. */
  async usedBytes(): Promise<number> {
    let total = 0;
    for (const dir of await fsp.readdir(this.root).catch(() => [] as string[])) {
      if (dir === 'tmp') continue;
      for (const name of await fsp.readdir(path.join(this.root, dir)).catch(() => [] as string[])) {
        total += (await fsp.stat(path.join(this.root, dir, name)).catch(() => ({ size: 0 }))).size;
      }
    }
    return total;
  }

  /** A temporary file to stream an upload into, with its hash and first bytes kept on the way. */
  beginUpload(): ImageUpload {
    return new ImageUpload(path.join(this.tmpDir, `${Date.now()}-${randomBytes(6).toString('hex')}`));
  }

  /** Moves a finished upload into place. */
  async commit(upload: ImageUpload, type: { type: string; ext: string }): Promise<StoredImage> {
    const sha256 = upload.digest();
    const rel = `i/${sha256.slice(0, 2)}/${sha256}.${type.ext}`;
    const final = path.join(this.root, sha256.slice(0, 2), `${sha256}.${type.ext}`);
    let created = true;
    if (fs.existsSync(final)) {
      created = false;
      await fsp.unlink(upload.file).catch(() => undefined);
    } else {
      await fsp.mkdir(path.dirname(final), { recursive: true });
      await fsp.rename(upload.file, final);
    }
    return { path: rel, sha256, size: upload.size, contentType: type.type, created };
  }

  /** The file of a stored path, or undefined for anything that is not one. */
  resolve(relPath: string): { file: string; sha256: string; contentType: string } | undefined {
    const m = IMAGE_PATH_RE.exec(relPath);
    if (!m || m[2]!.slice(0, 2) !== m[1]) return undefined;
    return { file: path.join(this.root, m[1]!, `${m[2]}.${m[3]}`), sha256: m[2]!, contentType: contentTypeOfExt(m[3]!)! };
  }
}

export class ImageUpload {
  private readonly hash = createHash('sha256');
  private readonly out: fs.WriteStream;
  private headChunks: Buffer[] = [];
  private headLen = 0;
  size = 0;

  constructor(readonly file: string) {
    this.out = fs.createWriteStream(file, { flags: 'wx' });
  }

  get stream(): fs.WriteStream {
    return this.out;
  }

  /** Observes a chunk on its way to the file. */
  observe(chunk: Buffer): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    if (this.headLen < SNIFF_BYTES) {
      this.headChunks.push(chunk.subarray(0, SNIFF_BYTES - this.headLen));
      this.headLen += Math.min(chunk.length, SNIFF_BYTES - this.headLen);
    }
  }

  head(): Buffer {
    return Buffer.concat(this.headChunks);
  }

  digest(): string {
    return this.hash.digest('hex');
  }

  async discard(): Promise<void> {
    this.out.destroy();
    await fsp.unlink(this.file).catch(() => undefined);
  }
}
