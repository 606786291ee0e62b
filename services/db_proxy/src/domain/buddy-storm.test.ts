// PC clients ask for the organisation's users right after logging in: the
// requests made while a read of the table is under way share it.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openStore, type Store } from '@tt/storage';
import { allUsersSince } from './buddy';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

describe('allUsersSince in a login storm', () => {
  let dir: string;
  let store: Store;
  let reads: number[];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'buddy-storm-'));
    const opened = await openStore({ kind: 'sqlite', file: path.join(dir, 'db.sqlite') }, { scrypt: { N: 1024 } });
    for (let i = 1; i <= 20; i++) await opened.users.create({ name: `pc${i}`, passwordMd5Hex: md5('pw') });
    // The same store, with each read of the user list recorded.
    reads = [];
    const listChangedSince = opened.users.listChangedSince.bind(opened.users);
    opened.users.listChangedSince = (since: number) => (reads.push(since), listChangedSince(since));
    store = opened;
  });
  afterAll(async () => {
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('fifty first logins in one turn read the table once; each answer is its own user’s, with the whole list', async () => {
    reads.length = 0;
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => allUsersSince(store, i + 1, 0)));
    expect(reads).toEqual([0]);
    expect(answers.map((a) => a.userId)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    for (const a of answers) expect(a.userList!.map((u) => u.userNickName !== undefined && u.userId)).toHaveLength(20);
    expect(new Set(answers.map((a) => a.latestUpdateTime)).size).toBe(1);
  });

  it('different times, and requests after a read is done, are separate reads that see later changes', async () => {
    reads.length = 0;
    const [all, none] = await Promise.all([allUsersSince(store, 1, 0), allUsersSince(store, 2, 2 ** 31)]);
    expect(all.userList).toHaveLength(20);
    expect(none.userList).toHaveLength(0);
    await store.users.create({ name: 'pc21', passwordMd5Hex: md5('pw') });
    expect((await allUsersSince(store, 3, 0)).userList).toHaveLength(21);
    expect(reads.sort()).toEqual([0, 0, 2 ** 31]);
  });
});
