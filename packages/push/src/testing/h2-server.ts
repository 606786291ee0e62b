import http2, { type Http2Server, type Http2ServerRequest, type Http2ServerResponse, type IncomingHttpHeaders, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** What the fake answered. */
  status: number;
  response: unknown;
}

export interface Answer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Shared plumbing of the fakes: an h2c server on 127.0.0.1, request log, scripted failures. */
export abstract class FakeH2Server {
  readonly requests: RecordedRequest[] = [];
  private server?: Http2Server;
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly script: Answer[] = [];
  /** HTTP/2 connections accepted so far. */
  connections = 0;

  /** `http://127.0.0.1:<port>`; valid after start(). */
  url = '';

  async start(): Promise<this> {
    const server = http2.createServer();
    server.on('session', (s) => {
      this.connections++;
      this.sessions.add(s);
      s.on('close', () => this.sessions.delete(s));
      s.on('error', () => undefined);
    });
    server.on('request', (req, res) => void this.dispatch(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const s of this.sessions) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The next n requests that pass verification get this answer instead of the normal one. */
  failNext(n: number, status: number, body?: unknown, headers?: Record<string, string>): void {
    for (let i = 0; i < n; i++) this.script.push({ status, body, headers });
  }

  /** Sends GOAWAY on every open connection and closes it, as a server going away would. */
  dropConnections(): void {
    for (const s of this.sessions) {
      s.goaway(http2.constants.NGHTTP2_NO_ERROR);
      s.close();
    }
  }

  /** Consumes one scripted answer, if any. */
  protected scripted(): Answer | undefined {
    return this.script.shift();
  }

  protected abstract handle(method: string, path: string, headers: IncomingHttpHeaders, body: string): Answer;

  private async dispatch(req: Http2ServerRequest, res: Http2ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    let answer: Answer;
    try {
      answer = this.handle(req.method, req.url, req.headers, body);
    } catch (err) {
      answer = { status: 500, body: { error: (err as Error).message } };
    }
    this.requests.push({ method: req.method, path: req.url, headers: req.headers, body, status: answer.status, response: answer.body });
    const text = answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    const headers: Record<string, string> = { ...answer.headers };
    if (text !== '' && !headers['content-type']) headers['content-type'] = typeof answer.body === 'string' ? 'text/plain' : 'application/json; charset=UTF-8';
    res.writeHead(answer.status, headers);
    res.end(text);
  }
}
