// Creating the benchmark's users. The admin CLI (ttctl) starts one process per
// user, too slow for thousands; the bulk path opens the same store the same
// way ttctl does (TT_MODE, TT_DATA_DIR, MYSQL_*) and calls
// store.users.create for each, several at a time.
//
// The login cost on the server is one scrypt with the parameters stored in the
// user's hash, i.e. the N used HERE when the user is created (not the server's
// PASSWORD_SCRYPT_N), and only on a user's first login: db_proxy remembers a
// verified (hash, password) pair afterwards.
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig, ttctlSpec } from '@tt/config';
import { openStore, StorageError, type Store, type StoreConfig } from '@tt/storage';
import { md5Hex } from './conn';

const execFileAsync = promisify(execFile);

export interface BenchUser {
  name: string;
  id: number;
}

/** Where users are created: the store a deployment uses, as ttctl would find it. */
export interface StoreTarget {
  /** Environment as ttctl reads it (TT_MODE, TT_DATA_DIR, MYSQL_*). */
  env: NodeJS.ProcessEnv;
}

export interface CreateUsersOptions {
  via: 'store' | 'ttctl';
  scryptN: number;
  password: string;
  concurrency?: number;
  /** Path of packages/ttctl/dist/main.js (via ttctl). */
  ttctlScript?: string;
  onProgress?: (done: number, total: number) => void;
}

export interface CreatedUsers {
  users: BenchUser[];
  created: number;
  reused: number;
  seconds: number;
}

/** The StoreConfig ttctl would open for this environment. */
export function storeConfigFromEnv(env: NodeJS.ProcessEnv): StoreConfig {
  const cfg = loadConfig(ttctlSpec, { ...env, PASSWORD_SCRYPT_N: env.PASSWORD_SCRYPT_N ?? '1024' });
  if (cfg.TT_MODE === 'cluster') {
    return { kind: 'mysql', host: cfg.MYSQL_HOST, port: cfg.MYSQL_PORT, user: cfg.MYSQL_USER, password: cfg.MYSQL_PASSWORD, database: cfg.MYSQL_DATABASE, connectionLimit: 4 };
  }
  // WAL + synchronous NORMAL: no fsync per created user (the server's own connection keeps FULL).
  return { kind: 'sqlite', file: path.join(path.resolve(cfg.TT_DATA_DIR), 'teamtalk.sqlite'), synchronous: 'NORMAL' };
}

export async function openBenchStore(target: StoreTarget, scryptN: number): Promise<Store> {
  return openStore(storeConfigFromEnv(target.env), { scrypt: { N: scryptN } });
}

/** Creates the named users (a name that already exists is reused: it must have the same password). */
export async function createUsers(target: StoreTarget, names: readonly string[], opts: CreateUsersOptions): Promise<CreatedUsers> {
  const started = performance.now();
  const users: BenchUser[] = new Array(names.length);
  let created = 0;
  let reused = 0;
  let done = 0;
  const passwordMd5 = md5Hex(opts.password);
  const concurrency = Math.max(1, opts.concurrency ?? (opts.via === 'ttctl' ? 4 : 8));

  let store: Store | undefined;
  if (opts.via === 'store') store = await openBenchStore(target, opts.scryptN);
  try {
    const createOne = async (i: number): Promise<void> => {
      const name = names[i];
      if (store) {
        try {
          users[i] = { name, id: (await store.users.create({ name, passwordMd5Hex: passwordMd5, nick: name })).id };
          created += 1;
        } catch (err) {
          if (!(err instanceof StorageError && err.code === 'DUPLICATE')) throw err;
          const existing = await store.users.findByName(name);
          if (!existing) throw err;
          users[i] = { name, id: existing.id };
          reused += 1;
        }
      } else {
        const script = opts.ttctlScript!;
        const env = { ...process.env, ...target.env, PASSWORD_SCRYPT_N: String(opts.scryptN), LOG_LEVEL: 'warn' };
        try {
          const { stdout } = await execFileAsync(process.execPath, [script, 'user', 'add', name, '--password', opts.password], { env });
          const m = /id (\d+)/.exec(stdout);
          if (!m) throw new Error(`unexpected ttctl output: ${stdout.trim()}`);
          users[i] = { name, id: Number(m[1]) };
          created += 1;
        } catch (err) {
          const stderr = String((err as { stderr?: string }).stderr ?? '');
          if (!/taken/.test(stderr)) throw err;
          const { stdout } = await execFileAsync(process.execPath, [script, 'user', 'list'], { env });
          const row = stdout.split('\n').map((l) => l.split('\t')).find((cols) => cols[1] === name);
          if (!row || !/^\d+$/.test(row[0])) throw err;
          users[i] = { name, id: Number(row[0]) };
          reused += 1;
        }
      }
      done += 1;
      if (opts.onProgress && (done % 500 === 0 || done === names.length)) opts.onProgress(done, names.length);
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, names.length) }, async () => {
        while (next < names.length) await createOne(next++);
      }),
    );
  } finally {
    await store?.close();
  }
  return { users, created, reused, seconds: (performance.now() - started) / 1000 };
}
