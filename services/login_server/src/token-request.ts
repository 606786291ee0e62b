import { createHash } from 'node:crypto';
import type * as http from 'node:http';

/** Largest POST /auth/token body. */
export const MAX_TOKEN_BODY_BYTES = 16 * 1024;
const MAX_NAME_CHARS = 255;
const MAX_PASSWORD_CHARS = 1024;

/** A request login_server answers with `status` and this message. */
export class BodyError extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

export interface TokenCredentials {
  /** Account name (im_user.name). */
  name: string;
  /** Lowercase hex MD5 of the plain password, as TeamTalk clients send it (IMValidateReq.password). */
  passwordMd5: string;
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) {
    req.resume();
    return Promise.reject(new BodyError(413, `body larger than ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        chunks.length = 0;
        req.resume();
        reject(new BodyError(413, `body larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (!done) reject(err);
      done = true;
    });
  });
}

function field(fields: Record<string, unknown>, names: string[], max: number, what: string): string {
  const key = names.find((n) => fields[n] !== undefined && fields[n] !== null);
  const value = key === undefined ? undefined : fields[key];
  if (typeof value !== 'string' || value.length === 0) throw new BodyError(400, `"${names[0]}" is required: ${what}`);
  if (value.length > max) throw new BodyError(400, `"${key}" is longer than ${max} characters`);
  return value;
}

/**
 * Reads `{"user_id": "<account name>", "password": "<plain password>"}` (or
 * "username" for the name) as JSON or as a form-encoded body.
 */
export async function readTokenRequest(req: http.IncomingMessage): Promise<TokenCredentials> {
  const body = await readBody(req, MAX_TOKEN_BODY_BYTES);
  const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  let fields: Record<string, unknown>;
  if (type === 'application/x-www-form-urlencoded') {
    fields = Object.fromEntries(new URLSearchParams(body.toString('utf8')));
  } else if (type === 'application/json' || type === '' || type === 'text/plain') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new BodyError(400, 'the body is not valid JSON');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new BodyError(400, 'the body must be a JSON object');
    fields = parsed as Record<string, unknown>;
  } else {
    throw new BodyError(415, `unsupported content type "${type.slice(0, 64)}" (application/json or application/x-www-form-urlencoded)`);
  }
  const name = field(fields, ['user_id', 'username'], MAX_NAME_CHARS, 'the account name (a string)');
  const password = field(fields, ['password'], MAX_PASSWORD_CHARS, 'the plain password (a string)');
  return { name, passwordMd5: createHash('md5').update(password, 'utf8').digest('hex') };
}
