import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where login_server serves the page. */
export const WEBCHAT_PREFIX = '/chat/';

const PUBLIC_DIR = path.resolve(__dirname, '..', 'public');
// The repository's proto/ (kept in the production image next to the built code).
const WS_PROTO = path.resolve(__dirname, '..', '..', '..', 'proto', 'IM.Ws.proto');

/**
 * Every file of the chat page by the URL path it is served at: public/*
 * under /chat/ (and /chat/ itself as index.html), the protobufjs browser
 * bundle at /chat/vendor/protobuf.min.js and the schema at
 * /chat/proto/IM.Ws.proto. Values are absolute file paths.
 */
export function webchatFiles(): Map<string, string> {
  const files = new Map<string, string>();
  files.set(WEBCHAT_PREFIX, path.join(PUBLIC_DIR, 'index.html'));
  for (const name of fs.readdirSync(PUBLIC_DIR)) {
    const file = path.join(PUBLIC_DIR, name);
    if (fs.statSync(file).isFile()) files.set(WEBCHAT_PREFIX + name, file);
  }
  files.set(`${WEBCHAT_PREFIX}vendor/protobuf.min.js`, require.resolve('protobufjs/dist/protobuf.min.js'));
  files.set(`${WEBCHAT_PREFIX}proto/IM.Ws.proto`, WS_PROTO);
  return files;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.proto': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** The Content-Type to serve a file of webchatFiles() with. */
export function webchatContentType(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}
