import http2, { type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';

export interface H2Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface H2Request {
  method: string;
  path: string;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer;
}

/** Raised when no response arrived (connect failure, reset, GOAWAY, timeout). */
export class H2TransportError extends Error {
  constructor(message: string, readonly code?: string) {
    super(message);
    this.name = 'H2TransportError';
  }
}

export interface H2ConnectionOptions {
  /** Per request, from sending to the end of the response body; default 10 s. */
  requestTimeoutMs?: number;
}

/**
 * One HTTP/2 session to one origin, opened on first use and reused by every
 * request; a session that got GOAWAY, closed or failed is dropped and the next
 * request opens a new one. `http://` origins speak h2c with prior knowledge
 * (what http2.connect does for that scheme), `https://` TLS with ALPN h2.
 */
export class H2Connection {
  private session?: ClientHttp2Session;
  private readonly requestTimeoutMs: number;
  /** Sessions opened so far (tests check reuse with it). */
  connects = 0;

  constructor(
    readonly origin: string,
    options: H2ConnectionOptions = {},
  ) {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`not an http(s) URL: ${origin}`);
    this.origin = url.origin;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  }

  async request(req: H2Request): Promise<H2Response> {
    const reused = this.session !== undefined;
    try {
      return await this.once(req);
    } catch (err) {
      // A reused session may have been closed by the peer (idle GOAWAY, reset)
      // while the request was on its way; one more try on a fresh session.
      if (reused && err instanceof H2TransportError && err.code !== 'TIMEOUT') return this.once(req);
      throw err;
    }
  }

  async close(): Promise<void> {
    const s = this.session;
    this.session = undefined;
    if (!s || s.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        s.destroy();
        resolve();
      }, 1000);
      s.close(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private getSession(): ClientHttp2Session {
    const current = this.session;
    if (current && !current.closed && !current.destroyed) return current;
    const s = http2.connect(this.origin);
    this.connects++;
    const drop = () => {
      if (this.session === s) this.session = undefined;
    };
    s.on('goaway', drop);
    s.on('close', drop);
    s.on('error', drop); // the streams see the error too; this listener keeps it from being unhandled
    s.on('frameError', drop);
    this.session = s;
    return s;
  }

  private once(req: H2Request): Promise<H2Response> {
    return new Promise<H2Response>((resolve, reject) => {
      let stream: http2.ClientHttp2Stream;
      try {
        const session = this.getSession();
        stream = session.request({ ':method': req.method, ':path': req.path, ...req.headers }, { endStream: false });
      } catch (err) {
        this.session = undefined;
        reject(new H2TransportError(`request not sent: ${(err as Error).message}`, (err as NodeJS.ErrnoException).code));
        return;
      }
      let status = 0;
      let headers: IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      let settled = false;
      const fail = (message: string, code?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        stream.close(http2.constants.NGHTTP2_CANCEL);
        reject(new H2TransportError(message, code));
      };
      const timer = setTimeout(() => fail(`no response within ${this.requestTimeoutMs} ms`, 'TIMEOUT'), this.requestTimeoutMs);
      stream.on('response', (h) => {
        headers = h;
        status = Number(h[':status']);
      });
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (settled) return;
        if (status === 0) return fail('stream ended without response headers');
        settled = true;
        clearTimeout(timer);
        resolve({ status, headers, body: Buffer.concat(chunks) });
      });
      stream.on('error', (err: NodeJS.ErrnoException) => fail(err.message, err.code));
      stream.on('close', () => fail(`stream closed before the response ended (HTTP/2 code ${stream.rstCode})`, 'CLOSED'));
      stream.end(req.body);
    });
  }
}
