import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openStore, type Store } from '@tt/storage';
import { runCommand, UsageError } from './commands';

// The operator's story, against a real (SQLite) store.
describe('ttctl', () => {
  let dir: string;
  let store: Store;
  const run = (line: string) => runCommand(store, line.split(' '));

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ttctl-'));
    store = await openStore({ kind: 'sqlite', file: path.join(dir, 'teamtalk.sqlite') }, { scrypt: { N: 1024 } });
  });

  afterAll(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates departments and users in them, and lists both', async () => {
    expect(await run('depart add Sales --priority 3')).toEqual([expect.stringMatching(/^department Sales created with id \d+$/)]);
    expect(await run('user add alice --password pw --nick Alice --depart Sales')).toEqual([expect.stringMatching(/^user alice created with id \d+$/)]);
    await run('user add bob --password pw');
    await run('user add carol --password pw');
    const users = await run('user list');
    expect(users[0]).toBe('id\tname\tnick\tdepart');
    expect(users.slice(1).map((l) => l.split('\t')[1])).toEqual(['alice', 'bob', 'carol']);
    const sales = (await run('depart list')).find((l) => l.includes('\tSales\t'))!;
    expect(users[1].split('\t')[3]).toBe(sales.split('\t')[0]);
  });

  it('changes a password and profile fields; the password is checked as a client sends it (MD5)', async () => {
    await run('user passwd alice --password new-secret');
    const { createHash } = await import('node:crypto');
    const md5 = (s: string) => createHash('md5').update(s).digest('hex');
    expect(await store.users.authenticate('alice', md5('new-secret'))).toEqual(expect.objectContaining({ name: 'alice' }));
    expect(await store.users.authenticate('alice', md5('pw'))).toBeNull();
    expect(await run('user set alice --sign hello --avatar http://img/a.png --status disabled')).toEqual(['user alice updated']);
    const alice = await store.users.findByName('alice');
    expect(alice).toEqual(expect.objectContaining({ signInfo: 'hello', avatar: 'http://img/a.png', status: 1 }));
  });

  it('creates a chat room, lists, shows and dissolves it', async () => {
    const [created] = await run('room create Lobby --max-members 50 --owner alice');
    const id = Number(/with id (\d+)/.exec(created!)![1]);
    expect(created).toBe(`room Lobby created with id ${id} (up to 50 members)`);
    expect((await run('room list')).slice(1)).toContain(`${id}\tLobby\t0\t50`);
    expect(await run(`room show ${id}`)).toEqual([`id\t${id}`, 'name\tLobby', 'status\tactive', `owner\t${(await store.users.findByName('alice'))!.id}`, 'max\t50', 'members\t']);
    expect(await run(`room dissolve ${id}`)).toEqual([`room ${id} dissolved`]);
    expect((await run('room list')).slice(1)).not.toContain(`${id}\tLobby\t0\t50`);
    await expect(run(`room dissolve ${id}`)).rejects.toThrow(`no active room ${id}`);
    await expect(run('room create Big --max-members 0')).rejects.toThrow('--max-members');
    await expect(run('room show 99999')).rejects.toThrow('no room 99999');
  });

  it('creates a group, adds and removes members, lists and shows it', async () => {
    const [created] = await run('group create Team --owner alice --members bob');
    const id = Number(/id (\d+) \(2 members\)$/.exec(created)![1]);
    expect(await run(`group add ${id} --members carol`)).toEqual([`group ${id}: 1 member(s) added, 3 now, version 2`]);
    expect(await run(`group remove ${id} --members bob`)).toEqual([`group ${id}: 1 member(s) removed, 2 now, version 3`]);
    const show = await run(`group show ${id}`);
    expect(show).toContain('name\tTeam');
    expect(show).toContain('type\tnormal');
    const members = show.find((l) => l.startsWith('members\t'))!.split('\t')[1].split(',').map(Number);
    const [alice, carol] = [await store.users.findByName('alice'), await store.users.findByName('carol')];
    expect(members.sort()).toEqual([alice!.id, carol!.id].sort());
    expect((await run('group list --user bob')).slice(1)).toEqual([]);
    expect((await run('group list --user carol')).slice(1)).toEqual([`${id}\tTeam\tnormal\t3\t2`]);
    await run('group create Tmp --owner bob --temporary');
    expect((await run('group list')).slice(1).map((l) => l.split('\t').slice(1, 3).join(' '))).toEqual(['Team normal', 'Tmp temporary']);
  });

  it('explains mistakes instead of failing obscurely', async () => {
    await expect(run('user add dave')).rejects.toThrow(new UsageError('--password is required'));
    await expect(run('group create X --owner nobody')).rejects.toThrow('no user "nobody"');
    await expect(run('group add abc --members bob')).rejects.toThrow('group add needs a group id');
    await expect(run('user add erin --password pw --depart Nowhere')).rejects.toThrow(/ttctl depart add Nowhere/);
    await expect(run('user set bob')).rejects.toThrow('at least one field');
    await expect(run('fly away')).rejects.toThrow('unknown command "fly away"');
  });

  it('admin add / list / passwd / disable / enable: operator accounts of the HTTP API, each change audited as ttctl', async () => {
    expect(await run('admin add root --password first-admin-pw')).toEqual([expect.stringMatching(/^operator root \(admin\) created with id \d+$/)]);
    expect(await run('admin add watcher --password watcher-pw --role viewer')).toEqual([expect.stringMatching(/^operator watcher \(viewer\) created/)]);
    expect(await store.operators.authenticate('root', 'first-admin-pw')).toMatchObject({ name: 'root', role: 'admin' });
    const list = await run('admin list');
    expect(list[0]).toBe('id\tname\trole\tstate\tcreated');
    expect(list.slice(1).map((l) => l.split('\t').slice(1, 4))).toEqual([
      ['root', 'admin', 'enabled'],
      ['watcher', 'viewer', 'enabled'],
    ]);

    expect(await run('admin passwd root --password second-admin-pw')).toEqual(['password of operator root changed']);
    expect(await store.operators.authenticate('root', 'first-admin-pw')).toBeNull();
    expect(await run('admin disable root')).toEqual(['operator root disabled']);
    expect(await store.operators.authenticate('root', 'second-admin-pw')).toBeNull();
    expect(await run('admin disable root')).toEqual(['operator root is already disabled']);
    expect((await run('admin list'))[1]!.split('\t')[3]).toBe('disabled');
    expect(await run('admin enable root')).toEqual(['operator root enabled']);
    expect(await store.operators.authenticate('root', 'second-admin-pw')).toMatchObject({ name: 'root' });

    const audit = await store.audit.list({ actor: 'ttctl', limit: 10 });
    expect(audit.items.map((e) => [e.action, e.target])).toEqual([
      ['operator.enable', 'operator:root'],
      ['operator.disable', 'operator:root'],
      ['operator.password', 'operator:root'],
      ['operator.create', 'operator:watcher'],
      ['operator.create', 'operator:root'],
    ]);
    expect(audit.items.every((e) => !e.detail.includes('pw'))).toBe(true);

    await expect(run('admin add root --password another-pw')).rejects.toMatchObject({ code: 'DUPLICATE' });
    await expect(run('admin add x --password short')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(run('admin add x')).rejects.toThrow('--password is required');
    await expect(run('admin add x --password long-enough --role owner')).rejects.toThrow('--role is admin or viewer');
    await expect(run('admin passwd nobody --password long-enough')).rejects.toThrow(UsageError);
    await expect(run('admin enable')).rejects.toThrow('needs an operator name');
    await expect(run('admin remove root')).rejects.toThrow('unknown command "admin remove"');
  });
});
