import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as path from 'node:path';

/** Where login_server serves the console. */
export const CONSOLE_PREFIX = '/console/';

const PUBLIC_DIR = path.resolve(__dirname, '..', 'public');

/**
 * The browser builds the page loads, by the URL name under /console/vendor/
 * (all .js/.css so they get a script/style type; Preact ships .mjs), from
 * node_modules: nothing is fetched from the internet.
 */
const VENDOR: Record<string, string> = {
  'preact.js': 'preact/dist/preact.mjs',
  'preact-hooks.js': 'preact/hooks/dist/hooks.mjs',
  'htm.js': 'htm/dist/htm.module.js',
  'uplot.js': 'uplot/dist/uPlot.iife.min.js',
  'uplot.css': 'uplot/dist/uPlot.min.css',
  'pico.css': '@picocss/pico/css/pico.min.css',
};

/**
 * The absolute path of a file inside an installed package ("pkg/dir/file" or
 * "@scope/pkg/dir/file"), found from the package's entry point: the packages'
 * `exports` maps do not list their browser builds.
 */
function vendorFile(spec: string): string {
  const parts = spec.split('/');
  const name = parts.slice(0, spec.startsWith('@') ? 2 : 1).join('/');
  const rest = parts.slice(name.split('/').length);
  let dir = path.dirname(require.resolve(name));
  while (!isPackageRoot(dir, name)) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the package directory of ${name}`);
    dir = parent;
  }
  return path.join(dir, ...rest);
}

function isPackageRoot(dir: string, name: string): boolean {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === name;
  } catch {
    return false;
  }
}

/**
 * Every file of the console by the URL path it is served at: public/**
 * under /console/ (and /console/ itself as index.html) and the vendored
 * libraries under /console/vendor/. Values are absolute file paths; only
 * these are served, so no URL reaches another file.
 */
export function consoleFiles(): Map<string, string> {
  const files = new Map<string, string>();
  files.set(CONSOLE_PREFIX, path.join(PUBLIC_DIR, 'index.html'));
  const walk = (dir: string, prefix: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file, `${prefix}${entry.name}/`);
      else if (entry.isFile()) files.set(prefix + entry.name, file);
    }
  };
  walk(PUBLIC_DIR, CONSOLE_PREFIX);
  for (const [name, file] of Object.entries(VENDOR)) files.set(`${CONSOLE_PREFIX}vendor/${name}`, vendorFile(file));
  return files;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** The Content-Type to serve a console file with. */
export function consoleContentType(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * The page's Content-Security-Policy: scripts only from the console itself
 * plus the one inline import map (allowed by its hash), API calls only to
 * the same origin, never framed.
 */
export function consoleSecurityPolicy(indexHtml: string): string {
  const importMap = /<script type="importmap">([\s\S]*?)<\/script>/.exec(indexHtml)?.[1];
  const mapHash = importMap === undefined ? '' : ` 'sha256-${crypto.createHash('sha256').update(importMap).digest('base64')}'`;
  return [
    "default-src 'self'",
    `script-src 'self'${mapHash}`,
    // Preact and uPlot set element styles from script.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function answer(res: http.ServerResponse, status: number, msg: string, headers: http.OutgoingHttpHeaders = {}): void {
  const body = JSON.stringify({ code: status, msg });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** Serves a GET/HEAD of one of `files` (`urlPath` without the query). */
export async function serveConsoleFile(files: ReadonlyMap<string, string>, req: http.IncomingMessage, res: http.ServerResponse, urlPath: string): Promise<void> {
  const file = files.get(urlPath);
  if (!file) return answer(res, 404, 'not found');
  if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, 'use GET', { allow: 'GET, HEAD' });
  let data: Buffer;
  try {
    data = await fs.promises.readFile(file);
  } catch {
    return answer(res, 404, 'not found');
  }
  const type = consoleContentType(file);
  const headers: http.OutgoingHttpHeaders = {
    'content-type': type,
    'content-length': data.length,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
  if (type.startsWith('text/html')) {
    headers['content-security-policy'] = consoleSecurityPolicy(data.toString('utf8'));
    headers['x-frame-options'] = 'DENY';
  }
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : data);
}
