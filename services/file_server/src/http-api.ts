import * as fs from 'node:fs';
import type * as http from 'node:http';
import busboy from 'busboy';
import type { Logger } from '@tt/observability';
import { sniffImageType, type ImageStore, type ImageUpload } from './image-store';
import type { DiskQuota } from './quota';

export interface ImageHttpOptions {
  images: ImageStore;
  quota: DiskQuota;
  /** Public base URL of this store (no trailing slash): upload answers give url = base/path. */
  publicUrl(): string;
  maxImageBytes: number;
  /** Accepted content types (as sniffed from the bytes). */
  allowedTypes: ReadonlySet<string>;
  log: Logger;
  onRequest?(method: string, status: number): void;
}

/** msfs-style answer: error_code 0 and the stored path and URL, or an error. */
interface UploadAnswer {
  error_code: number;
  error_msg: string;
  path: string;
  url: string;
}

const json = (res: http.ServerResponse, status: number, body: UploadAnswer) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
};

const fail = (res: http.ServerResponse, status: number, code: number, msg: string) => json(res, status, { error_code: code, error_msg: msg, path: '', url: '' });

/** Error codes of upload answers (error_code); 0 is success as in TeamTalk's msfs. */
export const UploadError = { BAD_REQUEST: 1, TOO_LARGE: 2, UNSUPPORTED_TYPE: 3, NO_SPACE: 4, INTERNAL: 5 } as const;

/**
 * The image store over HTTP (TeamTalk's msfs role):
 *   POST (any path) multipart/form-data with one file -> {"error_code":0,"path":…,"url":…}
 *   GET/HEAD /i/<xx>/<sha256>.<ext> -> the image with its content type, a strong
 *   ETag (If-None-Match -> 304) and single byte ranges (Range -> 206 / 416).
 */
export function createImageHttpHandler(opts: ImageHttpOptions): http.RequestListener {
  return (req, res) => {
    const method = req.method ?? 'GET';
    res.on('finish', () => opts.onRequest?.(method, res.statusCode));
    if (method === 'POST') return upload(opts, req, res);
    if (method === 'GET' || method === 'HEAD') return download(opts, req, res, method === 'HEAD');
    res.writeHead(405, { Allow: 'GET, HEAD, POST', 'Content-Length': 0 });
    res.end();
  };
}

function upload(opts: ImageHttpOptions, req: http.IncomingMessage, res: http.ServerResponse): void {
  const declared = Number(req.headers['content-length'] ?? NaN);
  // A body far bigger than an image may be refused before reading it.
  if (Number.isFinite(declared) && declared > opts.maxImageBytes + 64 * 1024) {
    res.setHeader('Connection', 'close');
    fail(res, 413, UploadError.TOO_LARGE, `image larger than ${opts.maxImageBytes} bytes`);
    req.resume();
    return;
  }
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: req.headers, limits: { files: 1, fileSize: opts.maxImageBytes, fields: 20, parts: 30, fieldSize: 64 * 1024 } });
  } catch {
    fail(res, 400, UploadError.BAD_REQUEST, 'expected multipart/form-data');
    req.resume();
    return;
  }
  let answered = false;
  let upload: ImageUpload | undefined;
  let tooLarge = false;
  let writing: Promise<void> | undefined;
  const answer = (status: number, code: number, msg: string) => {
    if (answered) return;
    answered = true;
    fail(res, status, code, msg);
  };

  parser.on('file', (_name, stream, info) => {
    if (upload) {
      stream.resume();
      return;
    }
    const current = opts.images.beginUpload();
    upload = current;
    stream.on('data', (chunk: Buffer) => current.observe(chunk));
    stream.on('limit', () => {
      tooLarge = true;
    });
    writing = new Promise<void>((resolve, reject) => {
      current.stream.on('finish', resolve);
      current.stream.on('error', reject);
      stream.on('error', reject);
    });
    // A form cut short inside the file rejects `writing` after the parser's 'error' has answered (and 'close' never awaits it).
    writing.catch(() => undefined);
    stream.pipe(current.stream);
    opts.log.debug({ filename: info.filename, mimeType: info.mimeType }, 'image upload started');
  });
  parser.on('error', (err: unknown) => {
    void upload?.discard();
    answer(400, UploadError.BAD_REQUEST, `malformed multipart body: ${(err as Error).message}`);
    req.unpipe(parser);
    req.resume();
  });
  parser.on('close', () => {
    void (async () => {
      if (answered) return;
      const current = upload;
      if (!current || !writing) return answer(400, UploadError.BAD_REQUEST, 'no file in the form');
      try {
        await writing;
      } catch (err) {
        await current.discard();
        opts.log.error({ err }, 'storing an upload failed');
        return answer(500, UploadError.INTERNAL, 'could not store the image');
      }
      if (tooLarge) {
        await current.discard();
        return answer(413, UploadError.TOO_LARGE, `image larger than ${opts.maxImageBytes} bytes`);
      }
      const type = sniffImageType(current.head());
      if (!type || !opts.allowedTypes.has(type.type)) {
        await current.discard();
        return answer(415, UploadError.UNSUPPORTED_TYPE, `not an accepted image type (${[...opts.allowedTypes].join(', ')})`);
      }
      if (current.size === 0) {
        await current.discard();
        return answer(400, UploadError.BAD_REQUEST, 'empty file');
      }
      if (!opts.quota.tryUse(current.size)) {
        await current.discard();
        return answer(507, UploadError.NO_SPACE, 'storage quota exhausted');
      }
      try {
        const stored = await opts.images.commit(current, type);
        if (!stored.created) opts.quota.free(current.size); // already there: no new bytes
        answered = true;
        json(res, 200, { error_code: 0, error_msg: 'ok', path: stored.path, url: `${opts.publicUrl()}/${stored.path}` });
      } catch (err) {
        opts.quota.free(current.size);
        await current.discard();
        opts.log.error({ err }, 'storing an upload failed');
        answer(500, UploadError.INTERNAL, 'could not store the image');
      }
    })();
  });
  req.pipe(parser);
}

function download(opts: ImageHttpOptions, req: http.IncomingMessage, res: http.ServerResponse, headOnly: boolean): void {
  let path: string;
  try {
    path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  } catch {
    // A malformed %-escape (or URL) names no stored image, and must not throw out of the request handler.
    res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(headOnly ? undefined : 'malformed path\n');
    return;
  }
  const found = opts.images.resolve(path.replace(/^\/+/, ''));
  const notFound = () => {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(headOnly ? undefined : 'not found\n');
  };
  if (!found) return notFound();
  fs.stat(found.file, (err, st) => {
    if (err || !st.isFile()) return notFound();
    const etag = `"${found.sha256}"`;
    const headers: http.OutgoingHttpHeaders = {
      ETag: etag,
      'Content-Type': found.contentType,
      'Accept-Ranges': 'bytes',
      // Content-addressed: a path always means the same bytes.
      'Cache-Control': 'public, max-age=31536000, immutable',
      'X-Content-Type-Options': 'nosniff',
    };
    if (matchesEtag(req.headers['if-none-match'], etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const size = st.size;
    let start = 0;
    let end = size - 1;
    let status = 200;
    const range = req.headers.range;
    // If-Range with another validator means: send everything.
    const ifRange = req.headers['if-range'];
    if (range && (!ifRange || ifRange === etag)) {
      const parsed = parseRange(range, size);
      if (parsed === 'unsatisfiable') {
        res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}`, 'Content-Length': 0 });
        res.end();
        return;
      }
      if (parsed) {
        [start, end] = parsed;
        status = 206;
        headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
      }
    }
    headers['Content-Length'] = end - start + 1;
    res.writeHead(status, headers);
    if (headOnly) {
      res.end();
      return;
    }
    const stream = fs.createReadStream(found.file, { start, end });
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  });
}

function matchesEtag(header: string | string[] | undefined, etag: string): boolean {
  if (!header) return false;
  const value = Array.isArray(header) ? header.join(',') : header;
  if (value.trim() === '*') return true;
  return value.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/**
 * One byte range of a "bytes=" header: [start, end] inclusive, 'unsatisfiable',
 * or undefined when the header is not a single range we serve (then the whole
 * file is sent, which RFC 9110 allows).
 */
export function parseRange(header: string, size: number): [number, number] | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return [Math.max(0, size - suffix), size - 1];
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return [start, end];
}
