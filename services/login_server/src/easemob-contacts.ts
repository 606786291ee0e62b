import type * as http from 'node:http';
import { isTokenError, verifyToken } from '@tt/auth';
import type { DbProxyClient } from '@tt/proto';

/** What the contact list needs of db_proxy: the user's friends, and their account names. */
export type FriendDirectory = Pick<DbProxyClient, 'friendSync' | 'resolveUsers'>;

/**
 * The Easemob Web SDK's contact-list calls:
 * - `GET /{org}/{app}/users/{user}/contacts/users` (getContacts; with `?needReturnRemark=true`, getAllContacts);
 * - `GET /{org}/{app}/users/{user}/contacts?limit=&cursor=` (getContactsWithCursor).
 * Groups: 1 the user name (URL-encoded), 2 "/users" or nothing.
 */
export const EASEMOB_CONTACTS_PATH = /^\/[A-Za-z0-9_.-]{1,64}\/[A-Za-z0-9_.-]{1,64}\/users\/([^/]{1,512})\/contacts(\/users)?$/;

/** Contacts per page of the cursor form when the client names no limit, and the most it may ask for. */
const DEFAULT_PAGE = 20;
const MAX_PAGE = 1000;

const CORS: http.OutgoingHttpHeaders = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, OPTIONS',
  'access-control-allow-headers': 'content-type, authorization, accept',
  'access-control-max-age': '600',
};

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...CORS });
  res.end(text);
}

/** Errors as Easemob's REST API writes them (the SDK reads error_description). */
function sendError(res: http.ServerResponse, status: number, error: string, description: string): void {
  send(res, status, { error, error_description: description, timestamp: Date.now(), duration: 0 });
}

export interface EasemobContactsOptions {
  /** AUTH_JWT_SECRET: the bearer token is the one POST /{org}/{app}/token issues. */
  secret: string;
  db: FriendDirectory;
  /** Called when db_proxy could not be asked. */
  onError?: (err: unknown) => void;
}

/**
 * One contact-list request (the path already matched EASEMOB_CONTACTS_PATH):
 * the token's user, who must be the user the path names, gets their
 * friends (db_proxy FriendSync since 0) by account name, with remarks.
 */
export async function handleEasemobContacts(req: http.IncomingMessage, res: http.ServerResponse, path: string, query: URLSearchParams, options: EasemobContactsOptions): Promise<void> {
  req.resume();
  if (req.method === 'OPTIONS') {
    res.writeHead(204, CORS);
    res.end();
    return;
  }
  if (req.method !== 'GET') {
    res.setHeader('allow', 'GET, OPTIONS');
    return sendError(res, 405, 'method_not_allowed', 'only reading the contact list is served here (contacts are managed through TeamTalk and OMTP clients)');
  }
  if (!options.secret) return sendError(res, 503, 'service_unavailable', 'tokens are not configured (AUTH_JWT_SECRET)');
  const match = EASEMOB_CONTACTS_PATH.exec(path)!;
  let pathUser: string;
  try {
    pathUser = decodeURIComponent(match[1]);
  } catch {
    return sendError(res, 400, 'invalid_request', 'the user name in the path is not valid URL encoding');
  }
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!bearer) return sendError(res, 401, 'unauthorized', 'an Authorization: Bearer <token> header is required');
  let user: { userId: number; name: string };
  try {
    user = await verifyToken(bearer[1], options.secret);
  } catch (err) {
    if (isTokenError(err)) return sendError(res, 401, 'unauthorized', err.code === 'EXPIRED' ? 'the token has expired' : 'the token is not valid');
    throw err;
  }
  if (user.name !== pathUser) return sendError(res, 403, 'forbidden_op', 'a user reads only their own contacts');

  const page = match[2] ? undefined : pageOf(query);
  if (page === null) return sendError(res, 400, 'invalid_request', `limit must be 1 to ${MAX_PAGE} and cursor a position this server gave`);
  let contacts: { username: string; remark: string }[];
  try {
    contacts = await contactsOf(options.db, user.userId);
  } catch (err) {
    options.onError?.(err);
    return sendError(res, 503, 'service_unavailable', 'the contact service is unavailable, try again later');
  }

  const base = { action: 'get', application: '', timestamp: Date.now(), duration: 0 };
  if (!page) {
    // getContacts reads data (names), getAllContacts entities ({username, remark}): both are given.
    return send(res, 200, { ...base, entities: contacts, data: contacts.map((c) => c.username), count: contacts.length });
  }
  const slice = contacts.slice(page.offset, page.offset + page.limit);
  const next = page.offset + slice.length;
  send(res, 200, { ...base, data: { contacts: slice, cursor: next < contacts.length ? String(next) : '' } });
}

/** limit and cursor of the cursor form (the cursor is the position of the next contact); null when malformed. */
function pageOf(query: URLSearchParams): { limit: number; offset: number } | null {
  const limitText = query.get('limit') || String(DEFAULT_PAGE);
  const cursorText = query.get('cursor') || '0';
  if (!/^\d{1,7}$/.test(limitText) || !/^\d{1,9}$/.test(cursorText)) return null;
  const limit = Number(limitText);
  if (limit < 1 || limit > MAX_PAGE) return null;
  return { limit, offset: Number(cursorText) };
}

/** The user's current friends by account name (sorted), each with the user's remark. */
async function contactsOf(db: FriendDirectory, userId: number): Promise<{ username: string; remark: string }[]> {
  const sync = await db.friendSync({ userId, since: 0 });
  const friends = sync.friends.filter((f) => !f.deleted);
  if (friends.length === 0) return [];
  const resolved = await db.resolveUsers({ names: [], userIds: friends.map((f) => f.friendId) });
  const nameOf = new Map(resolved.users.map((u) => [u.userId, u.name]));
  const contacts: { username: string; remark: string }[] = [];
  // A friend whose account is gone has no name to show: left out.
  for (const f of friends) {
    const name = nameOf.get(f.friendId);
    if (name !== undefined) contacts.push({ username: name, remark: f.remark ?? '' });
  }
  return contacts.sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
}
