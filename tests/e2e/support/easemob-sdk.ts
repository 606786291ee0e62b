// Runs the real Easemob Web SDK (npm easemob-websdk) in Node: the few browser
// globals it touches, made from Node's own parts. WebSocket is `ws`;
// XMLHttpRequest is a small one over node:http (the SDK's REST calls are
// plain JSON requests); storage is in memory. Nothing of the SDK is changed.
import * as http from 'node:http';
import { NodeWebSocket } from '@tt/client';

/** A Storage in memory, with index access (`localStorage[key]`) as the SDK uses it. */
function memoryStorage(): unknown {
  const data = new Map<string, string>();
  const api = {
    get length() {
      return data.size;
    },
    key: (i: number) => [...data.keys()][i] ?? null,
    getItem: (k: string) => (data.has(k) ? data.get(k)! : null),
    setItem: (k: string, v: string) => void data.set(k, String(v)),
    removeItem: (k: string) => void data.delete(k),
    clear: () => data.clear(),
  };
  return new Proxy(api, {
    get: (target, prop) => (prop in target ? (target as Record<string | symbol, unknown>)[prop] : typeof prop === 'string' ? (data.get(prop) ?? undefined) : undefined),
    set: (target, prop, value) => {
      if (typeof prop === 'string' && !(prop in target)) data.set(prop, String(value));
      return true;
    },
  });
}

/** The part of XMLHttpRequest the SDK uses, over node:http. */
class NodeXMLHttpRequest {
  static readonly UNSENT = 0;
  static readonly OPENED = 1;
  static readonly HEADERS_RECEIVED = 2;
  static readonly LOADING = 3;
  static readonly DONE = 4;
  readyState = 0;
  status = 0;
  statusText = '';
  responseText = '';
  response: unknown = '';
  responseType = '';
  timeout = 0;
  withCredentials = false;
  upload = { addEventListener() {}, onprogress: null };
  onreadystatechange: (() => void) | null = null;
  onload: (() => void) | null = null;
  onerror: ((err: unknown) => void) | null = null;
  ontimeout: (() => void) | null = null;
  onabort: (() => void) | null = null;
  private method = 'GET';
  private url = '';
  private headers: Record<string, string> = {};
  private responseHeaders: http.IncomingHttpHeaders = {};
  private req?: http.ClientRequest;
  private listeners = new Map<string, Array<(e: unknown) => void>>();

  open(method: string, url: string): void {
    this.method = method;
    this.url = url;
    this.readyState = 1;
  }
  setRequestHeader(name: string, value: string): void {
    this.headers[name] = value;
  }
  getResponseHeader(name: string): string | null {
    const v = this.responseHeaders[name.toLowerCase()];
    return v === undefined ? null : String(v);
  }
  getAllResponseHeaders(): string {
    return Object.entries(this.responseHeaders).map(([k, v]) => `${k}: ${String(v)}`).join('\r\n');
  }
  addEventListener(type: string, fn: (e: unknown) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  removeEventListener(): void {}
  overrideMimeType(): void {}
  abort(): void {
    this.req?.destroy();
    this.onabort?.();
  }
  send(body?: string | null): void {
    const url = new URL(this.url);
    // agent false: one connection per request, none left open when the test ends.
    const req = http.request(url, { method: this.method, headers: this.headers, timeout: this.timeout || undefined, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        this.status = res.statusCode ?? 0;
        this.statusText = res.statusMessage ?? '';
        this.responseHeaders = res.headers;
        this.responseText = Buffer.concat(chunks).toString('utf8');
        this.response = this.responseType === 'json' ? safeJson(this.responseText) : this.responseText;
        this.readyState = 4;
        this.onreadystatechange?.();
        this.onload?.();
        for (const fn of this.listeners.get('load') ?? []) fn({ target: this });
      });
    });
    req.on('error', (err) => {
      this.readyState = 4;
      this.status = 0;
      this.onreadystatechange?.();
      this.onerror?.(err);
      for (const fn of this.listeners.get('error') ?? []) fn(err);
    });
    req.on('timeout', () => {
      req.destroy();
      this.ontimeout?.();
    });
    this.req = req;
    req.end(body ?? undefined);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

let installed = false;

/** Installs the browser globals the SDK needs (once per test file). */
export function installBrowserGlobals(): void {
  if (installed) return;
  installed = true;
  const g = globalThis as Record<string, unknown>;
  // The SDK's timers (heartbeats, log reports, retries) must not keep the test process alive after close().
  const { setTimeout: st, setInterval: si } = globalThis;
  g.setTimeout = ((...args: Parameters<typeof st>) => st(...args).unref()) as typeof st;
  g.setInterval = ((...args: Parameters<typeof si>) => si(...args).unref()) as typeof si;
  g.window = globalThis;
  g.self = globalThis;
  g.WebSocket = NodeWebSocket;
  g.XMLHttpRequest = NodeXMLHttpRequest;
  g.localStorage = memoryStorage();
  g.sessionStorage = memoryStorage();
  Object.defineProperty(globalThis, 'navigator', { value: { userAgent: 'Mozilla/5.0 (Node.js) easemob-websdk e2e', onLine: true, language: 'en' }, configurable: true, writable: true });
  g.location = { protocol: 'http:', href: 'http://localhost/', host: 'localhost', hostname: 'localhost' };
  g.addEventListener ??= () => {};
  g.removeEventListener ??= () => {};
  g.document = {
    createElement: () => ({ style: {}, setAttribute() {}, appendChild() {} }),
    getElementById: () => null,
    getElementsByTagName: () => [],
    addEventListener() {},
    removeEventListener() {},
    hidden: false,
    visibilityState: 'visible',
    cookie: '',
  };
}

/** The SDK's module (loaded after the globals). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function loadEasemobSdk(): any {
  installBrowserGlobals();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require('easemob-websdk');
  return mod.default ?? mod;
}
