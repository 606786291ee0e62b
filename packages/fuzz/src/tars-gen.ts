// Valid OMTP payloads with random field values, from the Tars field tables
// of @tt/omtp (the same tables the server decodes with).
import { encodeStruct, type StructSchema, type TarsField } from '@tt/omtp';
import type { FieldHints } from './protobuf-gen';
import type { Rng } from './rng';

const MAX_DEPTH = 4;

const INT_BITS = { int8: 8, short: 16, int: 32, long: 53 } as const;

const USER_FIELD = /^(userName|userId|friendId|to|from|memberIds|userIds|operatorId|newCreatorId)$/;

export function randomStruct(schema: StructSchema<unknown>, rng: Rng, hints?: FieldHints, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of schema.fields) {
    if (!f.required && rng.chance(0.25)) continue;
    out[f.name] = fieldValue(f, rng, hints, depth);
  }
  return out;
}

function fieldValue(f: TarsField, rng: Rng, hints: FieldHints | undefined, depth: number): unknown {
  const t = f.type;
  if (typeof t === 'object') {
    if ('struct' in t) return depth >= MAX_DEPTH ? {} : randomStruct(t.struct, rng, hints, depth + 1);
    return depth >= MAX_DEPTH ? [] : Array.from({ length: rng.int(0, 3) }, () => randomStruct(t.vectorOf, rng, hints, depth + 1));
  }
  const userName = () => (hints?.userNames.length && USER_FIELD.test(f.name) && rng.chance(0.5) ? rng.pick(hints.userNames) : undefined);
  switch (t) {
    case 'bool':
      return rng.chance(0.5);
    case 'int8':
    case 'short':
    case 'int':
    case 'long':
      return rng.integer(INT_BITS[t], true);
    case 'string':
      return userName() ?? rng.string();
    case 'bytes':
      return rng.bytes(rng.size(512));
    case 'vector<string>':
      return Array.from({ length: rng.int(0, 4) }, () => userName() ?? rng.string(24));
  }
}

/** The Tars bytes of a random, valid struct. */
export function randomTars(schema: StructSchema<unknown>, rng: Rng, hints?: FieldHints): Buffer {
  return encodeStruct(schema, randomStruct(schema, rng, hints) as never);
}
