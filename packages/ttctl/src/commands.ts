import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Store } from '@tt/storage';

export const USAGE = `usage: ttctl <command>

  user add <name> --password <pw> [--nick <nick>] [--depart <name|id>] [--realname <name>]
                  [--email <e>] [--phone <p>] [--sex 0|1|2]
  user passwd <name> --password <pw>
  user list
  user set <name> [--nick <nick>] [--avatar <url>] [--sign <text>] [--depart <name|id>]
                  [--realname <name>] [--email <e>] [--phone <p>] [--sex 0|1|2] [--status active|disabled]
  depart add <name> [--parent <name|id>] [--priority <n>]
  depart list
  group create <name> --owner <user> [--members <user,user,...>] [--temporary]
  group add <group id> --members <user,user,...>
  group remove <group id> --members <user,user,...>
  group list [--user <user>]
  group show <group id>
  room create <name> [--max-members <n>] [--owner <user>]   (default max: 5000; the owner may recall any message)
  room list [--user <user>]
  room show <room id>
  room dissolve <room id>
  monitor grant <user> [--by <operator>]     (may listen to any session over OMTP)
  monitor revoke <user> [--by <operator>]    (stops the user's monitors too)
  monitor list                               (who may monitor, and what is monitored now)
  monitor log [--user <user>] [--limit <n>]  (who monitored what, when; newest first)
  notify (--user <user,user,...> | --group <group id>) <text> [--type <n>] [--from <operator>]
                                             (an OMTP business notification to whoever is online;
                                              sent through a msg_server's admin port, TT_ADMIN_URL)
  admin add <name> --password <pw> [--role admin|viewer]
                                             (an operator of the HTTP API and console; default role admin)
  admin list
  admin passwd <name> --password <pw>
  admin disable <name>
  admin enable <name>

The store is chosen like the servers choose it: TT_MODE=standalone (default) opens
the SQLite file in TT_DATA_DIR; TT_MODE=cluster opens MySQL (MYSQL_* variables).`;

/** Members a room may hold when --max-members is not given. */
const DEFAULT_ROOM_MAX_MEMBERS = 5000;

/** A mistake in how ttctl was called: shown with the usage, exit code 2. */
export class UsageError extends Error {}

const md5Hex = (text: string) => createHash('md5').update(text, 'utf8').digest('hex');

async function resolveDepartment(store: Store, ref: string | undefined): Promise<number> {
  if (!ref) return 0;
  if (/^\d+$/.test(ref)) return Number(ref);
  const dept = await store.departments.findByName(ref);
  if (!dept) throw new UsageError(`no department named "${ref}" (create it with: ttctl depart add ${ref})`);
  return dept.id;
}

async function resolveUser(store: Store, ref: string | undefined, flag: string): Promise<number> {
  if (!ref) throw new UsageError(`${flag} is required`);
  const user = /^\d+$/.test(ref) ? await store.users.findById(Number(ref)) : await store.users.findByName(ref);
  if (!user) throw new UsageError(`no user "${ref}"`);
  return user.id;
}

async function resolveUsers(store: Store, list: string | undefined): Promise<number[]> {
  const refs = (list ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  const ids: number[] = [];
  for (const ref of refs) ids.push(await resolveUser(store, ref, '--members'));
  return ids;
}

function passwordOf(values: { password?: string }): string {
  if (!values.password) throw new UsageError('--password is required');
  return md5Hex(values.password);
}

/** Runs one command; returns the lines to print. */
/** Where ttctl reaches a running server for actions that are not database edits (notify). */
export interface ServerAccess {
  adminUrl: string;
  adminToken: string;
}

async function postAdmin(access: ServerAccess | undefined, operation: string, body: unknown): Promise<Record<string, unknown>> {
  if (!access) throw new UsageError(`${operation} needs a running server (TT_ADMIN_URL)`);
  const url = `${access.adminUrl.replace(/\/+$/, '')}/admin/${operation}`;
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(access.adminToken ? { authorization: `Bearer ${access.adminToken}` } : {}) }, body: JSON.stringify(body) });
  } catch (err) {
    throw new Error(`cannot reach ${url}: ${(err as Error).message}`);
  }
  const answer = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (res.status === 400) throw new UsageError(String(answer.error ?? 'refused'));
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${String(answer.error ?? '')}`);
  return answer;
}

export async function runCommand(store: Store, argv: string[], access?: ServerAccess): Promise<string[]> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      password: { type: 'string' },
      nick: { type: 'string' },
      depart: { type: 'string' },
      realname: { type: 'string' },
      email: { type: 'string' },
      phone: { type: 'string' },
      sex: { type: 'string' },
      parent: { type: 'string' },
      priority: { type: 'string' },
      avatar: { type: 'string' },
      sign: { type: 'string' },
      status: { type: 'string' },
      owner: { type: 'string' },
      members: { type: 'string' },
      temporary: { type: 'boolean' },
      user: { type: 'string' },
      'max-members': { type: 'string' },
      by: { type: 'string' },
      limit: { type: 'string' },
      group: { type: 'string' },
      type: { type: 'string' },
      from: { type: 'string' },
      role: { type: 'string' },
    },
  });
  const [noun, verb, name] = positionals;
  if (noun === 'notify') {
    const text = positionals.slice(1).join(' ');
    if (!text) throw new UsageError('notify needs a text');
    if (!!values.user === !!values.group) throw new UsageError('notify needs --user or --group (one of them)');
    const body = { content: text, contentType: values.type ? Number(values.type) : 1, from: values.from ?? 'operator', ...(values.group ? { group: Number(values.group) } : { users: values.user!.split(',').map((u) => u.trim()).filter(Boolean) }) };
    const answer = await postAdmin(access, 'notify', body);
    return [`notification sent to ${Number(answer.addressed ?? 0)} user(s) (those online receive it)`];
  }
  const command = `${noun ?? ''} ${verb ?? ''}`.trim();
  if (noun === 'admin') return runAdminCommand(store, command, name, values);
  switch (command) {
    case 'monitor grant':
    case 'monitor revoke': {
      const userId = await resolveUser(store, name, 'a user');
      const by = values.by ?? process.env.USER ?? 'ttctl';
      const changed = verb === 'grant' ? await store.monitors.grant(userId, by) : await store.monitors.revoke(userId, by);
      if (!changed) return [`${name}: nothing to change`];
      if (verb === 'grant') return [`${name} may now monitor sessions`];
      // The running msg_servers drop the user's monitors now; if none answers, they do within 30 s.
      const told = await postAdmin(access, 'monitors-reload', {}).then(
        () => true,
        () => false,
      );
      return [`${name} may no longer monitor sessions${told ? '' : ' (no msg_server reached: they notice within 30 s)'}`];
    }
    case 'monitor list': {
      const all = await store.monitors.listAll();
      const names = new Map<number, string>();
      for (const id of [...all.grantedUserIds, ...all.entries.map((e) => e.userId)]) names.set(id, (await store.users.findById(id))?.name ?? String(id));
      const sessionText = (s: { sessionType: number; idA: number; idB: number }) => (s.sessionType === 2 ? `group ${s.idA}` : `users ${s.idA} and ${s.idB}`);
      return [`may monitor\t${all.grantedUserIds.map((id) => names.get(id)).join(',')}`, ...all.entries.map((e) => `${names.get(e.userId)}\tmonitors ${sessionText(e.session)}\tsince ${new Date(e.started * 1000).toISOString()}`)];
    }
    case 'monitor log': {
      const userId = values.user ? await resolveUser(store, values.user, '--user') : 0;
      const entries = await store.monitors.log(userId, values.limit ? Number(values.limit) : 100);
      const names = new Map<number, string>();
      const nameOf = async (id: number) => {
        if (!names.has(id)) names.set(id, (await store.users.findById(id))?.name ?? String(id));
        return names.get(id)!;
      };
      const lines = ['at\tuser id\tuser\taction\tsession\tby'];
      for (const e of entries) {
        const s = e.session;
        const session = !s ? '' : s.sessionType === 2 ? `group ${s.idA}` : `${await nameOf(s.idA)} and ${await nameOf(s.idB)}`;
        lines.push(`${new Date(e.at * 1000).toISOString()}\t${e.userId}\t${await nameOf(e.userId)}\t${e.action}\t${session}\t${e.by}`);
      }
      return lines;
    }
    case 'user add': {
      if (!name) throw new UsageError('user add needs a name');
      const user = await store.users.create({
        name,
        passwordMd5Hex: passwordOf(values),
        nick: values.nick ?? name,
        realName: values.realname ?? '',
        email: values.email ?? '',
        phone: values.phone ?? '',
        sex: values.sex ? Number(values.sex) : 0,
        departId: await resolveDepartment(store, values.depart),
      });
      return [`user ${user.name} created with id ${user.id}`];
    }
    case 'user passwd': {
      if (!name) throw new UsageError('user passwd needs a name');
      await store.users.setPassword(name, passwordOf(values));
      return [`password of ${name} changed`];
    }
    case 'user list': {
      const users = await store.users.listChangedSince(0);
      return ['id\tname\tnick\tdepart', ...users.map((u) => `${u.id}\t${u.name}\t${u.nick ?? ''}\t${u.departId ?? 0}`)];
    }
    case 'user set': {
      if (!name) throw new UsageError('user set needs a name');
      const user = await store.users.findByName(name);
      if (!user) throw new UsageError(`no user named "${name}"`);
      const patch: Record<string, unknown> = {};
      if (values.nick !== undefined) patch.nick = values.nick;
      if (values.avatar !== undefined) patch.avatar = values.avatar;
      if (values.sign !== undefined) patch.signInfo = values.sign;
      if (values.realname !== undefined) patch.realName = values.realname;
      if (values.email !== undefined) patch.email = values.email;
      if (values.phone !== undefined) patch.phone = values.phone;
      if (values.sex !== undefined) patch.sex = Number(values.sex);
      if (values.depart !== undefined) patch.departId = await resolveDepartment(store, values.depart);
      if (values.status !== undefined) {
        if (values.status !== 'active' && values.status !== 'disabled') throw new UsageError('--status is active or disabled');
        patch.status = values.status === 'active' ? 0 : 1;
      }
      if (Object.keys(patch).length === 0) throw new UsageError('user set needs at least one field to change');
      await store.users.update(user.id, patch);
      return [`user ${name} updated`];
    }
    case 'group create': {
      if (!name) throw new UsageError('group create needs a name');
      const owner = await resolveUser(store, values.owner, '--owner');
      const members = await resolveUsers(store, values.members);
      const group = await store.groups.create({ type: values.temporary ? 2 : 1, name, avatar: '', creatorId: owner, memberIds: [owner, ...members] });
      return [`group ${group.name} created with id ${group.id} (${group.memberIds.length} members)`];
    }
    case 'group add':
    case 'group remove': {
      const groupId = Number(name);
      if (!Number.isInteger(groupId) || groupId <= 0) throw new UsageError(`${command} needs a group id`);
      const members = await resolveUsers(store, values.members);
      if (members.length === 0) throw new UsageError('--members is required');
      const result = await store.groups.changeMembers(groupId, verb === 'add' ? 'add' : 'remove', members);
      return [`group ${groupId}: ${result.changed.length} member(s) ${verb === 'add' ? 'added' : 'removed'}, ${result.memberIds.length} now, version ${result.version}`];
    }
    case 'group list': {
      const ids = values.user ? (await store.groups.listForUser(await resolveUser(store, values.user, '--user'), [1, 2])).map((g) => g.groupId) : await store.groups.listIds();
      const groups = await store.groups.findByIds(ids);
      return ['id\tname\ttype\tversion\tmembers', ...groups.map((g) => `${g.id}\t${g.name}\t${g.type === 2 ? 'temporary' : 'normal'}\t${g.version}\t${g.memberIds.length}`)];
    }
    case 'group show': {
      const group = await store.groups.findById(Number(name));
      if (!group) throw new UsageError(`no group ${name}`);
      return [`id\t${group.id}`, `name\t${group.name}`, `type\t${group.type === 2 ? 'temporary' : 'normal'}`, `creator\t${group.creatorId}`, `version\t${group.version}`, `members\t${group.memberIds.join(',')}`];
    }
    case 'room create': {
      if (!name) throw new UsageError('room create needs a name');
      const maxMembers = values['max-members'] === undefined ? DEFAULT_ROOM_MAX_MEMBERS : Number(values['max-members']);
      if (!Number.isInteger(maxMembers) || maxMembers < 1 || maxMembers > 1_000_000) throw new UsageError('--max-members is a whole number from 1 to 1000000');
      const creatorId = values.owner ? await resolveUser(store, values.owner, '--owner') : 0;
      const room = await store.rooms.create({ name, creatorId, maxMembers });
      return [`room ${room.name} created with id ${room.id} (up to ${room.maxMembers} members)`];
    }
    case 'room list': {
      const rooms = values.user ? await store.rooms.roomsOf(await resolveUser(store, values.user, '--user')) : await store.rooms.list();
      return ['id\tname\tmembers\tmax', ...rooms.map((r) => `${r.id}\t${r.name}\t${r.memberCount}\t${r.maxMembers}`)];
    }
    case 'room show': {
      const room = /^\d+$/.test(name ?? '') ? await store.rooms.findById(Number(name)) : null;
      if (!room) throw new UsageError(`no room ${name ?? ''}`);
      const members = await store.rooms.memberIds(room.id);
      return [`id\t${room.id}`, `name\t${room.name}`, `status\t${room.status === 0 ? 'active' : 'dissolved'}`, `owner\t${room.creatorId}`, `max\t${room.maxMembers}`, `members\t${members.join(',')}`];
    }
    case 'room dissolve': {
      const roomId = Number(name);
      if (!Number.isInteger(roomId) || roomId <= 0) throw new UsageError('room dissolve needs a room id');
      if (!(await store.rooms.dissolve(roomId))) throw new UsageError(`no active room ${roomId}`);
      return [`room ${roomId} dissolved`];
    }
    case 'depart add': {
      if (!name) throw new UsageError('depart add needs a name');
      const dept = await store.departments.create({ name, parentId: await resolveDepartment(store, values.parent), priority: values.priority ? Number(values.priority) : 0 });
      return [`department ${dept.name} created with id ${dept.id}`];
    }
    case 'depart list': {
      const depts = await store.departments.listChangedSince(0);
      return ['id\tname\tparent\tpriority', ...depts.map((d) => `${d.id}\t${d.name}\t${d.parentId}\t${d.priority}`)];
    }
    default:
      throw new UsageError(command ? `unknown command "${command}"` : 'no command given');
  }
}

/** An operator account by name, or a usage error naming it. */
async function requireOperator(store: Store, name: string | undefined, command: string) {
  if (!name) throw new UsageError(`${command} needs an operator name`);
  const operator = await store.operators.findByName(name);
  if (!operator) throw new UsageError(`no operator "${name}" (ttctl admin list shows them)`);
  return operator;
}

/** `ttctl admin ...`: operator accounts of the HTTP API; every change goes to the audit log as actor `ttctl`. */
async function runAdminCommand(store: Store, command: string, name: string | undefined, values: { password?: string; role?: string }): Promise<string[]> {
  const audit = (action: string, operatorName: string, detail: Record<string, unknown> = {}) =>
    store.audit.append({ actor: 'ttctl', action, target: `operator:${operatorName}`, detail: JSON.stringify(detail) });
  switch (command) {
    case 'admin add': {
      if (!name) throw new UsageError('admin add needs a name');
      if (!values.password) throw new UsageError('--password is required');
      const role = values.role ?? 'admin';
      if (role !== 'admin' && role !== 'viewer') throw new UsageError('--role is admin or viewer');
      const operator = await store.operators.create(name, values.password, role);
      await audit('operator.create', operator.name, { role });
      return [`operator ${operator.name} (${operator.role}) created with id ${operator.id}`];
    }
    case 'admin list': {
      const operators = await store.operators.list();
      return ['id\tname\trole\tstate\tcreated', ...operators.map((o) => `${o.id}\t${o.name}\t${o.role}\t${o.disabled ? 'disabled' : 'enabled'}\t${new Date(o.created * 1000).toISOString()}`)];
    }
    case 'admin passwd': {
      const operator = await requireOperator(store, name, command);
      if (!values.password) throw new UsageError('--password is required');
      await store.operators.update(operator.id, { password: values.password });
      await audit('operator.password', operator.name);
      return [`password of operator ${operator.name} changed`];
    }
    case 'admin disable':
    case 'admin enable': {
      const operator = await requireOperator(store, name, command);
      const disabled = command === 'admin disable';
      if (operator.disabled === disabled) return [`operator ${operator.name} is already ${disabled ? 'disabled' : 'enabled'}`];
      await store.operators.update(operator.id, { disabled });
      await audit(disabled ? 'operator.disable' : 'operator.enable', operator.name);
      return [`operator ${operator.name} ${disabled ? 'disabled' : 'enabled'}`];
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}
