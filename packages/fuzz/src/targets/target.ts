// What the driver needs to know of a protocol: where it listens, how one
// valid frame of a random message type is built (and framed, so mutations
// can break it at every layer), how a connection logs in, and how a fresh
// connection shows the port still answers.
import type { Endpoint, FuzzConn, Transport } from '../conn';
import type { Sample } from '../mutate';
import type { FieldHints } from '../protobuf-gen';
import type { Rng } from '../rng';

export const TARGET_NAMES = ['teamtalk', 'ws', 'tcp12', 'msync-ws', 'msync-tcp', 'omtp', 'file', 'file-http', 'login-http', 'admin-api'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

/** The role whose process serves a target (cluster mode: whose RSS and log are watched). */
export type Role = 'msg_server' | 'file_server' | 'login_server';

export interface FuzzUser {
  name: string;
  id: number;
  password: string;
}

/** The operator API's routes as its OpenAPI document lists them. */
export interface ApiRoute {
  method: string;
  /** e.g. /api/v1/users/{id} */
  path: string;
  /** The JSON schema of the request body, when it takes one. */
  body?: JsonSchema;
}

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  enum?: unknown[];
  required?: string[];
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  $ref?: string;
}

export interface TargetContext {
  hints: FieldHints;
  /** Users for logged-in connections (one per connection, round robin). */
  users: FuzzUser[];
  /** Operator API tokens: an admin's (used for GET only) and a viewer's (any method). */
  adminToken?: string;
  viewerToken?: string;
  /** A chat access token (login-http's Easemob contacts endpoint). */
  chatToken?: string;
  apiRoutes: ApiRoute[];
  /** A chat access token of the user (POST /auth/token, fetched once). */
  token(user: FuzzUser): Promise<string>;
}

export interface Target {
  name: TargetName;
  transport: Transport;
  role: Role;
  endpoint: Endpoint;
  /** The message types (commands, routes) valid frames are drawn from, for the report. */
  messageTypes: string[];
  /** One valid frame of a random message type; `loggedIn` selects the commands of a logged-in session (HTTP: with credentials). */
  sample(rng: Rng, ctx: TargetContext, loggedIn: boolean): Sample;
  /**
   * Logs a fresh connection in (rejects if the server refuses). `slot` names
   * the fuzz connection: a device id built from it stays the same across its
   * reconnects (MSync allows a user 5 devices). Absent: no session (HTTP
   * targets send credentials per request).
   */
  login?(conn: FuzzConn, user: FuzzUser, ctx: TargetContext, slot: number): Promise<void>;
  /** True when logged-in connections exist for this target (a login, or credentials per request). */
  hasSession: boolean;
  /** A fresh connection gets a correct answer (rejects otherwise). */
  probe(conn: FuzzConn, ctx: TargetContext): Promise<void>;
  /**
   * Sends a request whose answer shows the server has read everything sent
   * before it (its answers come in order), and waits for it: the driver never
   * runs more than a batch ahead of the server. `n` numbers the syncs of a
   * connection (echoed ids). Absent (HTTP): every batch ends its connection.
   */
  sync?(conn: FuzzConn, loggedIn: boolean, n: number): Promise<void>;
}

/**
 * Commands that end a session (logout): a batch goes on past them only to be
 * discarded, so they are drawn rarely (about one batch in twenty has one).
 */
export const TERMINAL_CHANCE = 0.0002;

/** A command from `all`, drawing the `terminal` ones (logout, ...) only rarely. */
export function pickCommand<T>(rng: Rng, all: readonly T[], terminal: readonly T[]): T {
  if (terminal.length && rng.chance(TERMINAL_CHANCE)) return rng.pick(terminal);
  const rest = all.filter((c) => !terminal.includes(c));
  return rng.pick(rest.length ? rest : all);
}

/** Walks a byte stream of length-prefixed frames; frameLength(buf, at) is the whole frame's length, or undefined when the header is incomplete. */
export function* frames(buf: Buffer, headerBytes: number, frameLength: (buf: Buffer, at: number) => number): Generator<Buffer> {
  let at = 0;
  while (buf.length - at >= headerBytes) {
    const n = frameLength(buf, at);
    if (n < headerBytes || buf.length - at < n) return;
    yield buf.subarray(at, at + n);
    at += n;
  }
}
