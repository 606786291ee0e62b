// Valid protobuf bodies of any IM.* message with random field values, built
// by reflection over proto/*.proto (protobufjs Root): every field of every
// type is reached without a hand-written table per message.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import type { Rng } from './rng';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

let root: protobuf.Root | undefined;

/** Every proto/*.proto file, loaded and resolved once. */
export function protoRoot(): protobuf.Root {
  if (!root) {
    const dir = path.join(REPO_ROOT, 'proto');
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.proto')).map((f) => path.join(dir, f));
    root = new protobuf.Root().loadSync(files);
    root.resolveAll();
  }
  return root;
}

/** A message type by its full name, e.g. "IM.Login.IMLoginReq". */
export function messageType(fullName: string): protobuf.Type {
  return protoRoot().lookupType(fullName);
}

/**
 * Values the server knows (user ids and names of the fuzzer's own users):
 * fields whose name matches a hint get one of them half of the time, so
 * valid requests reach past "no such user" into the handlers' real work.
 */
export interface FieldHints {
  userIds: number[];
  userNames: string[];
}

const ID_FIELD = /(user|session|peer|buddy|member|from|to).*id$|^(uid|toid)$/i;
const NAME_FIELD = /^(user_?name|user_?id|account|receiver_?id|target|to|from|name|member_?ids|message_?ids)$/i;

const MAX_DEPTH = 4;

/** A plain object with a random value for (most) fields of `type`; required fields are always set. */
export function randomObject(type: protobuf.Type, rng: Rng, hints?: FieldHints, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    if (!field.required && rng.chance(0.25)) continue;
    if (field.map) {
      const map: Record<string, unknown> = {};
      const n = rng.int(0, 3);
      for (let i = 0; i < n; i++) map[String(scalar((field as unknown as protobuf.MapField).keyType, rng, field.name, hints))] = fieldValue(field, rng, hints, depth);
      out[field.name] = map;
    } else if (field.repeated) {
      const n = depth >= MAX_DEPTH ? 0 : rng.int(0, 4);
      out[field.name] = Array.from({ length: n }, () => fieldValue(field, rng, hints, depth));
    } else {
      const v = fieldValue(field, rng, hints, depth);
      if (v !== undefined) out[field.name] = v;
    }
  }
  return out;
}

function fieldValue(field: protobuf.Field, rng: Rng, hints: FieldHints | undefined, depth: number): unknown {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Enum) {
    const values = Object.values(resolved.values);
    // Mostly a declared value; sometimes one the enum does not have.
    return rng.chance(0.85) ? rng.pick(values) : rng.integer(16, false);
  }
  if (resolved instanceof protobuf.Type) {
    if (depth >= MAX_DEPTH) return field.required ? {} : undefined;
    return randomObject(resolved, rng, hints, depth + 1);
  }
  return scalar(field.type, rng, field.name, hints);
}

function scalar(kind: string, rng: Rng, name: string, hints?: FieldHints): unknown {
  switch (kind) {
    case 'bool':
      return rng.chance(0.5);
    case 'string':
      if (hints?.userNames.length && NAME_FIELD.test(name) && rng.chance(0.5)) return rng.pick(hints.userNames);
      return rng.string();
    case 'bytes':
      return rng.bytes(rng.size(512));
    case 'double':
    case 'float':
      return rng.pick([0, -0, 1.5, -1e30, 3.4e38, Number.NaN, Number.POSITIVE_INFINITY, rng.int(-1000, 1000) / 7]);
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return rng.integer(32, true);
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return rng.integer(53, true);
    case 'uint64':
    case 'fixed64':
      if (hints?.userIds.length && ID_FIELD.test(name) && rng.chance(0.5)) return rng.pick(hints.userIds);
      return rng.integer(53, false);
    default: // uint32, fixed32
      if (hints?.userIds.length && ID_FIELD.test(name) && rng.chance(0.5)) return rng.pick(hints.userIds);
      return rng.integer(32, false);
  }
}

/** The wire bytes of a random, valid `type`. */
export function randomMessage(type: protobuf.Type, rng: Rng, hints?: FieldHints): Buffer {
  const bytes = type.encode(type.fromObject(randomObject(type, rng, hints))).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The wire bytes of `type` with the fields given (the rest unset). */
export function encodeMessage(fullName: string, value: Record<string, unknown>): Buffer {
  const type = messageType(fullName);
  const bytes = type.encode(type.fromObject(value)).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
