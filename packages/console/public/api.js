// The console's only way to the server: the public operator API (/api/v1,
// docs/API.md). The token lives in sessionStorage (gone when the tab closes);
// any 401 signs the operator out so the sign-in page shows again.
const API = '/api/v1';
const TOKEN_KEY = 'tt-console.token';
const OPERATOR_KEY = 'tt-console.operator';

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

const signOutListeners = new Set();

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  /** { name, role, ... } of the signed-in operator, or null. */
  operator() {
    try {
      return JSON.parse(sessionStorage.getItem(OPERATOR_KEY) ?? 'null');
    } catch {
      return null;
    }
  },
  save(token, operator) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(OPERATOR_KEY, JSON.stringify(operator));
  },
  /** Forgets the token; listeners learn why (shown on the sign-in page). */
  clear(reason = '') {
    const had = sessionStorage.getItem(TOKEN_KEY) !== null;
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(OPERATOR_KEY);
    if (had) for (const fn of signOutListeners) fn(reason);
  },
  onSignedOut(fn) {
    signOutListeners.add(fn);
    return () => signOutListeners.delete(fn);
  },
};

/**
 * Calls the API with a JSON `body` (or raw `text` of `contentType`): `query` values that are empty are left out, arrays repeat
 * the key. Resolves with the JSON answer (null for 204); rejects with an
 * ApiError carrying the API's error code, message and field.
 */
export async function api(method, path, { body, query, text, contentType } = {}) {
  const url = new URL(API + path, location.origin);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === '') continue;
    for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(v));
  }
  const headers = { accept: 'application/json' };
  const token = session.token();
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (text !== undefined) headers['content-type'] = contentType ?? 'text/plain';
  let res;
  try {
    res = await fetch(url, { method, headers, body: text ?? (body === undefined ? undefined : JSON.stringify(body)) });
  } catch {
    throw new ApiError(0, 'network_error', 'The server cannot be reached. Check the connection and try again.');
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const error = data?.error ?? {};
    const message = error.message ?? `${res.status} ${res.statusText}`;
    if (res.status === 401 && path !== '/auth/login') session.clear(error.code === 'token_expired' ? 'Your session has expired. Please sign in again.' : 'Please sign in again.');
    throw new ApiError(res.status, error.code ?? `http_${res.status}`, message, error.field);
  }
  return data;
}

/** A chat user's id from what an operator typed: an id, or an exact account name. */
export async function resolveUserId(text) {
  const value = String(text ?? '').trim();
  if (!value) throw new ApiError(400, 'missing_field', 'Enter a user name or id.');
  if (/^\d+$/.test(value)) return Number(value);
  const page = await api('GET', '/users', { query: { search: value, limit: 200 } });
  const user = page.items.find((u) => u.name === value);
  if (!user) throw new ApiError(404, 'not_found', `No user named “${value}”.`);
  return user.id;
}

const nameCache = new Map();

/** A chat user's account name by id (cached for the session; "#id" when unknown). */
export async function userName(id) {
  if (!id) return 'system';
  if (!nameCache.has(id)) {
    nameCache.set(id, api('GET', `/users/${id}`).then((u) => u.name, () => `#${id}`));
  }
  return nameCache.get(id);
}
