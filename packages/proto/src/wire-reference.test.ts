// Drift test: proto/*.proto and the command table must match section 6 of the
// shared wire reference exactly (names, numbers, labels, types; nothing extra).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { IM, commands, commandForMessage, messageForCommand, serviceIdForCommand } from './index';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const protoDir = path.join(repoRoot, 'proto');
const referenceFile = path.resolve(repoRoot, '..', 'shared', 'protocol', 'teamtalk-wire.md');

interface EnumTable {
  name: string;
  values: Array<{ name: string; number: number }>;
}
interface FieldRow {
  id: number;
  label: string;
  type: string;
  name: string;
}
interface MessageTable {
  name: string;
  commandId?: number;
  fields: FieldRow[];
}
interface PackageTables {
  name: string;
  enums: EnumTable[];
  messages: MessageTable[];
}

function parseNumber(text: string): number {
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(text)) throw new Error(`not a number: ${text}`);
  return Number(text);
}

/** Reads the package, enum and message tables of section 6. */
function parseReference(markdown: string): PackageTables[] {
  const start = markdown.search(/^## 6\./m);
  if (start < 0) throw new Error('wire reference has no section 6');
  const rest = markdown.slice(start);
  const next = rest.slice(1).search(/^## /m);
  const section = next < 0 ? rest : rest.slice(0, next + 1);

  const packages: PackageTables[] = [];
  let pkg: PackageTables | undefined;
  let current: EnumTable | MessageTable | undefined;
  for (const raw of section.split('\n')) {
    const line = raw.trim();
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^### package `([\w.]+)`$/))) {
      pkg = { name: m[1], enums: [], messages: [] };
      packages.push(pkg);
      current = undefined;
    } else if ((m = line.match(/^#### enum (\w+)$/))) {
      if (!pkg) throw new Error(`enum ${m[1]} outside a package`);
      current = { name: m[1], values: [] };
      pkg.enums.push(current);
    } else if ((m = line.match(/^#### message (\w+)(?: \(command id (0x[0-9a-fA-F]+)\))?$/))) {
      if (!pkg) throw new Error(`message ${m[1]} outside a package`);
      current = { name: m[1], commandId: m[2] ? parseNumber(m[2]) : undefined, fields: [] };
      pkg.messages.push(current);
    } else if (line.startsWith('####') || line.startsWith('###')) {
      throw new Error(`unrecognised heading in section 6: ${line}`);
    } else if (line.startsWith('|') && current) {
      const cells = line.split('|').slice(1, -1).map((c) => c.trim());
      if (cells.every((c) => /^-+$/.test(c)) || cells[0] === 'value' || cells[0] === '#') continue;
      if ('values' in current) {
        if (cells.length !== 2) throw new Error(`enum ${current.name}: bad row ${line}`);
        current.values.push({ name: cells[0], number: parseNumber(cells[1]) });
      } else {
        if (cells.length !== 4) throw new Error(`message ${current.name}: bad row ${line}`);
        current.fields.push({ id: parseNumber(cells[0]), label: cells[1], type: cells[2], name: cells[3] });
      }
    }
  }
  return packages;
}

function loadProtos(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(protoDir, target);
  const files = fs.readdirSync(protoDir).filter((f) => f.endsWith('.proto')).sort();
  root.loadSync(files, { keepCase: true });
  root.resolveAll();
  return root;
}

const SCALARS = new Set(['double', 'float', 'int32', 'int64', 'uint32', 'uint64', 'sint32', 'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64', 'bool', 'string', 'bytes']);

/** The fully qualified name a table's type means inside package pkg. */
function qualify(type: string, pkg: string): string {
  if (SCALARS.has(type)) return type;
  return type.includes('.') ? `.${type}` : `.${pkg}.${type}`;
}

function fieldLabel(field: protobuf.Field): string {
  if (field.repeated) return 'repeated';
  return field.required ? 'required' : 'optional';
}

// Read at module load so a missing reference fails the suite rather than skipping it.
const reference: PackageTables[] = fs.existsSync(referenceFile) ? parseReference(fs.readFileSync(referenceFile, 'utf8')) : [];

describe('wire reference (section 6) vs proto/', () => {
  test('the wire reference exists and has tables', () => {
    expect(fs.existsSync(referenceFile)).toBe(true);
    const names = reference.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['IM.BaseDefine', 'IM.Login', 'IM.Buddy', 'IM.Message', 'IM.Group', 'IM.File', 'IM.SwitchService', 'IM.Other', 'IM.Server']));
    expect(reference.reduce((n, p) => n + p.messages.length, 0)).toBeGreaterThan(50);
  });

  const root = loadProtos();

  for (const pkg of reference) {
    describe(`package ${pkg.name}`, () => {
      test('lives in its own file and declares exactly the reference types', () => {
        const ns = root.lookup(pkg.name);
        expect(ns).toBeInstanceOf(protobuf.Namespace);
        const declared = (ns as protobuf.Namespace).nestedArray.filter((o) => o instanceof protobuf.Type || o instanceof protobuf.Enum).map((o) => o.name).sort();
        const expected = [...pkg.enums.map((e) => e.name), ...pkg.messages.map((m) => m.name)].sort();
        expect(declared).toEqual(expected);
        for (const o of (ns as protobuf.Namespace).nestedArray) expect(path.basename(o.filename ?? '')).toBe(`${pkg.name}.proto`);
      });

      for (const table of pkg.enums) {
        test(`enum ${table.name}`, () => {
          const e = root.lookupEnum(`${pkg.name}.${table.name}`);
          const actual = Object.entries(e.values).map(([name, number]) => ({ name, number }));
          expect(actual).toEqual(table.values);
        });
      }

      for (const table of pkg.messages) {
        test(`message ${table.name}`, () => {
          const type = root.lookupType(`${pkg.name}.${table.name}`);
          const actual = type.fieldsArray.map((f) => ({
            id: f.id,
            label: fieldLabel(f),
            type: f.resolvedType ? f.resolvedType.fullName : f.type,
            name: f.name,
          }));
          const expected = table.fields.map((f) => ({ ...f, type: qualify(f.type, pkg.name) }));
          expect(actual).toEqual(expected);
          expect(type.oneofsArray).toHaveLength(0);
          expect(type.nestedArray).toHaveLength(0);
        });
      }
    });
  }

  test('the command table maps exactly the reference command ids to their messages', () => {
    const expected = reference
      .flatMap((pkg) => pkg.messages.filter((m) => m.commandId !== undefined).map((m) => ({ commandId: m.commandId!, name: `${pkg.name}.${m.name}` })))
      .sort((a, b) => a.commandId - b.commandId);
    expect(commands.map((c) => ({ commandId: c.commandId, name: c.name }))).toEqual(expected);
    for (const { commandId, name } of expected) {
      const info = messageForCommand(commandId);
      expect(info?.name).toBe(name);
      expect(info?.serviceId).toBe(serviceIdForCommand(commandId));
      expect(commandForMessage(name)).toBe(info);
      expect(commandForMessage(info!.type)).toBe(info);
      // the generated class really is the one with that name
      const [, pkgName, msgName] = name.split('.');
      expect(info!.type).toBe((IM as any)[pkgName][msgName]);
    }
  });

  test('every command id enum value of the reference has a message', () => {
    const base = reference.find((p) => p.name === 'IM.BaseDefine')!;
    const cids = base.enums.filter((e) => e.name.endsWith('CmdID')).flatMap((e) => e.values.map((v) => v.number));
    expect(cids.length).toBeGreaterThan(50);
    for (const cid of cids) expect(messageForCommand(cid)).toBeDefined();
  });
});
