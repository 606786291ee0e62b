import * as fs from 'node:fs';
import type * as http from 'node:http';
import { webchatContentType, webchatFiles } from '@tt/webchat';

/**
 * The browser chat page: every file served, by its exact URL path ("/chat/",
 * "/chat/app.js", "/chat/proto/IM.Ws.proto", …) → absolute file path. Only
 * these are served, so no URL can reach another file (no "..", no encoding tricks).
 */
export type ChatFiles = ReadonlyMap<string, string>;

/** The chat page of @tt/webchat (packages/webchat/public, the protobufjs bundle, proto/IM.Ws.proto), found relative to that package, not the working directory. */
export function defaultChatFiles(): ChatFiles {
  return webchatFiles();
}

function answer(res: http.ServerResponse, status: number, msg: string, headers: http.OutgoingHttpHeaders = {}): void {
  const body = JSON.stringify({ code: status, msg });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** Serves a GET/HEAD of one of `files` (`urlPath` without the query). */
export async function serveChatFile(files: ChatFiles, req: http.IncomingMessage, res: http.ServerResponse, urlPath: string): Promise<void> {
  const file = files.get(urlPath);
  if (!file) return answer(res, 404, 'not found');
  if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, 'use GET', { allow: 'GET, HEAD' });
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch {
    return answer(res, 404, 'not found');
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return answer(res, 404, 'not found');
    res.writeHead(200, {
      'content-type': webchatContentType(file),
      'content-length': stat.size,
      'cache-control': 'no-cache',
      'last-modified': stat.mtime.toUTCString(),
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = handle.createReadStream({ autoClose: false });
    await new Promise<void>((resolve) => {
      stream.once('error', () => {
        res.destroy();
        resolve();
      });
      stream.once('end', resolve);
      res.once('close', resolve);
      stream.pipe(res);
    });
  } finally {
    await handle.close();
  }
}
