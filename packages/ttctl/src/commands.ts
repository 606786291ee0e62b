import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Store } from '@tt/storage';

export const USAGE = `usage: ttctl <command>

  user add <name> --password <pw> [--nick <nick>] [--depart <name|id>] [--realname <name>]
                  [--email <e>] [--phone <p>] [--sex 0|1|2]
  user passwd <name> --password <pw>
  user list
  depart add <name> [--parent <name|id>] [--priority <n>]
  depart list

The store is chosen like the servers choose it: TT_MODE=standalone (default) opens
the SQLite file in TT_DATA_DIR; TT_MODE=cluster opens MySQL (MYSQL_* variables).`;

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

function passwordOf(values: { password?: string }): string {
  if (!values.password) throw new UsageError('--password is required');
  return md5Hex(values.password);
}

/** Runs one command; returns the lines to print. */
export async function runCommand(store: Store, argv: string[]): Promise<string[]> {
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
    },
  });
  const [noun, verb, name] = positionals;
  const command = `${noun ?? ''} ${verb ?? ''}`.trim();
  switch (command) {
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
