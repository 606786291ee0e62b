import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLogger, Registry } from '@tt/observability';
import { MemoryCache } from '@tt/cache';
import { openStore, type Store } from '@tt/storage';
import { startDbProxy, type RunningDbProxy } from './db-proxy';

describe('db_proxy forgets old client_msg_ids on its own', () => {
  let dir: string;
  let store: Store;
  let proxy: RunningDbProxy | undefined;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tt-dbproxy-sweep-'));
    store = await openStore({ kind: 'sqlite', file: path.join(dir, 'db.sqlite') }, { scrypt: { N: 1024 } });
  });

  afterAll(async () => {
    await proxy?.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a message sent longer ago than the retention loses its client_msg_id; a fresh one keeps it', async () => {
    const now = Math.floor(Date.now() / 1000);
    const send = (body: string, clientMsgId: string, createTime: number) =>
      store.messages.saveMessage({ sessionType: 1, fromUserId: 1, toId: 2, msgType: 1, data: Buffer.from(body), createTime, clientMsgId });
    await send('two days ago', 'old-id', now - 2 * 86400);
    const fresh = await send('just now', 'new-id', now);
    const metricsRegistry = new Registry();
    proxy = await startDbProxy({
      store,
      cache: new MemoryCache(),
      log: createLogger('db_proxy', { level: 'silent' }),
      metricsRegistry,
      host: '127.0.0.1',
      port: 0,
      serverId: 'sweep-test',
      clientMsgIdRetentionSeconds: 86400,
      sweepIntervalMs: 50,
    });
    const deadline = Date.now() + 5000;
    const expired = async () => (await metricsRegistry.getSingleMetric('tt_db_proxy_client_msg_ids_expired_total')!.get()).values[0]?.value ?? 0;
    while ((await expired()) < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await expired()).toBe(1);
    expect((await send('two days ago', 'old-id', now)).duplicate ?? false).toBe(false);
    expect(await send('just now', 'new-id', now)).toMatchObject({ msgId: fresh.msgId, duplicate: true });
  });
});
