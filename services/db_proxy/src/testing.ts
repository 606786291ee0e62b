/**
 * The db_proxy handler tests' set-up: a fresh SQLite store in a temp dir with the handlers over it,
 * and the protobuf round trips that make a test see requests and answers as gRPC carries them.
 * For tests only: not exported from the package index.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DbProxyHandlers } from '@tt/proto';
import { MemoryCache } from '@tt/cache';
import { openStore, type Store } from '@tt/storage';
import { createDbProxyHandlers } from './handlers';

export const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** A store and the handlers over it; close() closes the store and removes its files. */
export interface TestDbProxy {
  store: Store;
  handlers: DbProxyHandlers;
  close(): Promise<void>;
}

/** A new, empty SQLite store in a temp dir `tt-dbproxy-<label>-…` (cheap scrypt), with handlers over a MemoryCache. */
export async function openTestDbProxy(label: string): Promise<TestDbProxy> {
  const dir = mkdtempSync(path.join(tmpdir(), `tt-dbproxy-${label}-`));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  let store: Store;
  try {
    store = await openStore({ kind: 'sqlite', file: path.join(dir, 'db.sqlite') }, { scrypt: { N: 1024 } });
  } catch (err) {
    removeDir();
    throw err;
  }
  return {
    store,
    handlers: createDbProxyHandlers(store, new MemoryCache(), 'test'),
    close: async () => {
      try {
        await store.close();
      } finally {
        removeDir();
      }
    },
  };
}

/** A generated protobuf message type, as far as the round trips need it. */
export interface Codec<T> {
  encode(m: T): { finish(): Uint8Array };
  decode(b: Uint8Array): T;
  toObject(m: T, o?: object): object;
}

/** A request as the server decodes it off the wire. */
export const request = <T>(type: Codec<T>, message: T): T => type.decode(type.encode(message).finish());

/** An answer as the client decodes it: fails if a required field is missing; unset optional fields are absent. */
export const wire = <T>(type: Codec<T>, message: T) =>
  type.toObject(type.decode(type.encode(message).finish()), { defaults: false, longs: Number }) as Record<string, any>;
