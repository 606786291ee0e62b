#!/usr/bin/env node
import * as path from 'node:path';
import { ConfigError, loadConfig, ttctlSpec } from '@tt/config';
import { mysqlTlsSettings } from '@tt/tls';
import { openStore, StorageError } from '@tt/storage';
import { runCommand, UsageError, USAGE } from './commands';

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  const cfg = loadConfig(ttctlSpec);
  const store =
    cfg.TT_MODE === 'cluster'
      ? await openStore({ kind: 'mysql', host: cfg.MYSQL_HOST, port: cfg.MYSQL_PORT, user: cfg.MYSQL_USER, password: cfg.MYSQL_PASSWORD, database: cfg.MYSQL_DATABASE, connectionLimit: 2, tls: mysqlTlsSettings(cfg) }, { scrypt: { N: cfg.PASSWORD_SCRYPT_N } })
      : await openStore({ kind: 'sqlite', file: path.join(path.resolve(cfg.TT_DATA_DIR), 'teamtalk.sqlite')}, { scrypt: { N: cfg.PASSWORD_SCRYPT_N } });
  try {
    const adminUrl = cfg.TT_ADMIN_URL || `http://127.0.0.1:${cfg.TT_MODE === 'cluster' ? 9102 : 9100}`;
    for (const line of await runCommand(store, argv, { adminUrl, adminToken: cfg.ADMIN_TOKEN })) process.stdout.write(`${line}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof UsageError) process.stderr.write(`ttctl: ${err.message}\n\n${USAGE}\n`);
    else if (err instanceof ConfigError || err instanceof StorageError) process.stderr.write(`ttctl: ${err.message}\n`);
    else process.stderr.write(`ttctl: ${err?.stack ?? err}\n`);
    process.exit(err instanceof UsageError || err instanceof ConfigError ? 2 : 1);
  },
);
