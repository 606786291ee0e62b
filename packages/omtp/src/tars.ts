// A declarative struct layer on @tars/stream (the Tars project's codec for
// Node.js). Its code generator is not on npm, so each struct is declared once
// as a table of fields and one generic reader/writer walks that table with
// TarsOutputStream / TarsInputStream.
//
// Decoding never trusts a claimed length: before @tars/stream sees the bytes,
// `scanTars` walks them once and checks that every string, byte vector, list
// and map fits in what is left and that nesting stays shallow, so a hostile
// length can neither allocate memory nor loop past the end of the buffer.
import * as Tars from '@tars/stream';

export type TarsScalar = 'bool' | 'int8' | 'short' | 'int' | 'long' | 'string' | 'bytes' | 'vector<string>';

/** A field's Tars type: a scalar by its IDL name, a nested struct, or a vector of structs. */
export type TarsFieldType = TarsScalar | { struct: StructSchema<any> } | { vectorOf: StructSchema<any> };

export interface TarsField<Name extends string = string> {
  tag: number;
  name: Name;
  type: TarsFieldType;
  required: boolean;
  /** The IDL's default (`int count = 200`), written when a value is missing. Otherwise 0 / '' / [] / false. */
  default?: number | string | boolean;
}

/** A struct's table of fields. `T` is the decoded object's type (phantom: only for typing). */
export interface StructSchema<T> {
  readonly name: string;
  readonly fields: readonly TarsField[];
  /** Never set: carries T for inference. */
  readonly __type?: T;
}

/** What encodeStruct accepts: any field may be left out (its default is written); bytes may be any Uint8Array. */
export type TarsInput<T> = {
  [K in keyof T]?: T[K] extends Buffer ? Uint8Array : T[K] extends Array<infer E> ? Array<E extends object ? TarsInput<E> : E> : T[K] extends object ? TarsInput<T[K]> : T[K];
};

/** Bytes that are not a valid encoding of the struct asked for (garbage, truncated, a missing required field, a type mismatch). */
export class TarsDecodeError extends Error {
  constructor(
    readonly structName: string,
    detail: string,
  ) {
    super(`cannot decode ${structName}: ${detail}`);
    this.name = 'TarsDecodeError';
  }
}

/** A value that cannot be written as its field's type (wrong JS type, out of range). A programming error, not bad input. */
export class TarsEncodeError extends TypeError {
  constructor(structName: string, field: string, detail: string) {
    super(`cannot encode ${structName}.${field}: ${detail}`);
    this.name = 'TarsEncodeError';
  }
}

/** Declares a struct. Field names are checked against T's keys. */
export function defineStruct<T>(name: string, fields: ReadonlyArray<TarsField<keyof T & string>>): StructSchema<T> {
  const tags = new Set<number>();
  let last = -1;
  for (const f of fields) {
    if (!Number.isInteger(f.tag) || f.tag < 0 || f.tag > 255) throw new Error(`${name}.${f.name}: bad tag ${f.tag}`);
    if (tags.has(f.tag) || f.tag < last) throw new Error(`${name}: tags must be unique and ascending (${f.name} ${f.tag})`);
    tags.add(f.tag);
    last = f.tag;
  }
  return { name, fields };
}

/** Deepest struct nesting accepted on decode (the seed's deepest is 4: HotSessionResp > item > OTIMPack > header). */
export const MAX_TARS_DEPTH = 32;

const INT_RANGE: Record<'int8' | 'short' | 'int' | 'long', [number, number]> = {
  int8: [-128, 127],
  short: [-32768, 32767],
  int: [-2147483648, 2147483647],
  long: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

// ---------------------------------------------------------------- encode

export function encodeStruct<T>(schema: StructSchema<T>, value: TarsInput<T>): Buffer {
  const os = new Tars.TarsOutputStream();
  writeFields(os, schema, value as Record<string, unknown>);
  return os.getBinBuffer().toNodeBuffer();
}

function writeFields(os: Tars.TarsOutputStream, schema: StructSchema<unknown>, value: Record<string, unknown>): void {
  if (value === null || typeof value !== 'object') throw new TarsEncodeError(schema.name, '(struct)', `expected an object, got ${typeof value}`);
  for (const f of schema.fields) writeField(os, schema.name, f, value[f.name]);
}

function writeField(os: Tars.TarsOutputStream, structName: string, f: TarsField, raw: unknown): void {
  const v = raw === undefined || raw === null ? f.default : raw;
  const bad = (detail: string) => new TarsEncodeError(structName, f.name, detail);
  const t = f.type;
  if (typeof t === 'object') {
    if ('struct' in t) {
      os.writeStruct(f.tag, structWriter(t.struct, (v ?? {}) as Record<string, unknown>));
      return;
    }
    const items = v ?? [];
    if (!Array.isArray(items)) throw bad('expected an array');
    const list = Tars.List(tarsClassOf(t.vectorOf) as never) as unknown as { value: unknown[] };
    list.value = items;
    os.writeList(f.tag, list as never);
    return;
  }
  switch (t) {
    case 'bool':
      if (v !== undefined && typeof v !== 'boolean') throw bad('expected a boolean');
      os.writeBoolean(f.tag, v === true);
      return;
    case 'int8':
    case 'short':
    case 'int':
    case 'long': {
      const n = v ?? 0;
      const [min, max] = INT_RANGE[t];
      if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw bad(`expected an integer in ${min}..${max}, got ${String(n)}`);
      // @tars/stream picks the smallest encoding that holds the value, as Tars requires.
      if (t === 'long') os.writeInt64(f.tag, n);
      else os.writeInt32(f.tag, n);
      return;
    }
    case 'string': {
      const s = v ?? '';
      if (typeof s !== 'string') throw bad('expected a string');
      os.writeString(f.tag, s);
      return;
    }
    case 'bytes': {
      const b = v ?? Buffer.alloc(0);
      if (!(b instanceof Uint8Array)) throw bad('expected bytes (a Buffer or Uint8Array)');
      os.writeBytes(f.tag, new Tars.BinBuffer(Buffer.from(b.buffer, b.byteOffset, b.byteLength)));
      return;
    }
    case 'vector<string>': {
      const items = v ?? [];
      if (!Array.isArray(items) || items.some((s) => typeof s !== 'string')) throw bad('expected an array of strings');
      const list = Tars.List(Tars.String) as unknown as { value: unknown[] };
      list.value = items;
      os.writeList(f.tag, list as never);
      return;
    }
  }
}

/** What TarsOutputStream.writeStruct calls: an object with `_writeTo`. */
function structWriter(schema: StructSchema<unknown>, value: Record<string, unknown>): { _writeTo(os: Tars.TarsOutputStream): void } {
  return { _writeTo: (os) => writeFields(os, schema, value) };
}

// ---------------------------------------------------------------- decode

export function decodeStruct<T>(schema: StructSchema<T>, bytes: Uint8Array): T {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  try {
    scanTars(buf, schema.name);
    const is = new Tars.TarsInputStream(new Tars.BinBuffer(buf));
    return readFields(is, schema) as T;
  } catch (err) {
    if (err instanceof TarsDecodeError) throw err;
    // @tars/stream throws its own exceptions (not always with a stack) and Buffer's RangeErrors.
    const message = err && typeof err === 'object' && 'message' in err ? String((err as { message: unknown }).message) : String(err);
    throw new TarsDecodeError(schema.name, message);
  }
}

function readFields(is: Tars.TarsInputStream, schema: StructSchema<unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of schema.fields) out[f.name] = readField(is, f);
  return out;
}

function readField(is: Tars.TarsInputStream, f: TarsField): unknown {
  const t = f.type;
  const req = f.required;
  if (typeof t === 'object') {
    if ('struct' in t) return is.readStruct(f.tag, req, tarsClassOf(t.struct) as never);
    const list = is.readList(f.tag, req, Tars.List(tarsClassOf(t.vectorOf) as never)) as unknown as { value: unknown[] };
    return [...list.value];
  }
  switch (t) {
    case 'bool':
      return is.readBoolean(f.tag, req, defaultOf(f) as boolean);
    case 'int8':
      return is.readInt8(f.tag, req, defaultOf(f) as number);
    case 'short':
      return is.readInt16(f.tag, req, defaultOf(f) as number);
    case 'int':
      return is.readInt32(f.tag, req, defaultOf(f) as number);
    case 'long':
      return is.readInt64(f.tag, req, defaultOf(f) as number);
    case 'string':
      return is.readString(f.tag, req, defaultOf(f) as string);
    case 'bytes':
      return is.readBytes(f.tag, req, Tars.BinBuffer).toNodeBuffer();
    case 'vector<string>': {
      const list = is.readList(f.tag, req, Tars.List(Tars.String)) as unknown as { value: unknown[] };
      return [...list.value];
    }
  }
}

/** The value of an absent optional field. */
function defaultOf(f: TarsField): unknown {
  if (f.default !== undefined) return f.default;
  const t = f.type;
  if (typeof t === 'object') return 'struct' in t ? defaultsOf(t.struct) : [];
  switch (t) {
    case 'bool':
      return false;
    case 'string':
      return '';
    case 'bytes':
      return Buffer.alloc(0);
    case 'vector<string>':
      return [];
    default:
      return 0;
  }
}

/** A struct with every field at its default (the value of an absent optional nested struct). */
export function defaultsOf<T>(schema: StructSchema<T>): T {
  const out: Record<string, unknown> = {};
  for (const f of schema.fields) out[f.name] = defaultOf(f);
  return out as T;
}

/**
 * The class-like object @tars/stream expects for a struct inside a list or
 * another struct: `new` gives the defaults, `_readFrom` reads the fields,
 * `_read`/`_write` are how a List reads and writes an element.
 */
interface TarsStructClass {
  new (): Record<string, unknown>;
  _classname: string;
  _readFrom(is: Tars.TarsInputStream): Record<string, unknown>;
  _read(is: Tars.TarsInputStream, tag: number): Record<string, unknown>;
  _write(os: Tars.TarsOutputStream, tag: number, value: Record<string, unknown>): void;
}

const classes = new WeakMap<StructSchema<unknown>, TarsStructClass>();

function tarsClassOf(schema: StructSchema<unknown>): TarsStructClass {
  let cls = classes.get(schema);
  if (cls) return cls;
  // A constructor that returns an object makes `new` give that object.
  const ctor = function () {
    return defaultsOf(schema);
  } as unknown as TarsStructClass;
  ctor._classname = schema.name;
  ctor._readFrom = (is) => readFields(is, schema);
  ctor._read = (is, tag) => is.readStruct(tag, true, ctor as never) as Record<string, unknown>;
  ctor._write = (os, tag, value) => {
    if (value === null || typeof value !== 'object') throw new TarsEncodeError(schema.name, '(element)', 'expected an object');
    os.writeStruct(tag, structWriter(schema, value));
  };
  classes.set(schema, ctor);
  cls = ctor;
  return cls;
}

// ---------------------------------------------------------------- structural scan

const T = {
  INT8: 0,
  INT16: 1,
  INT32: 2,
  INT64: 3,
  FLOAT: 4,
  DOUBLE: 5,
  STRING1: 6,
  STRING4: 7,
  MAP: 8,
  LIST: 9,
  STRUCT_BEGIN: 10,
  STRUCT_END: 11,
  ZERO: 12,
  SIMPLE_LIST: 13,
} as const;

/**
 * Walks Tars bytes as a sequence of fields (a struct's body) and throws
 * TarsDecodeError unless every head, length and nesting is sound.
 * Every length is checked against the bytes left, so the walk is linear in
 * the buffer and allocates nothing.
 */
export function scanTars(buf: Buffer, structName = 'Tars', maxDepth = MAX_TARS_DEPTH): void {
  let pos = 0;
  const fail = (detail: string): never => {
    throw new TarsDecodeError(structName, `${detail} at byte ${pos}`);
  };
  const need = (n: number) => {
    if (n < 0 || n > buf.length - pos) fail(`needs ${n} bytes, ${buf.length - pos} left`);
  };
  const head = (): { tag: number; type: number } => {
    need(1);
    const b = buf[pos++];
    let tag = b >> 4;
    if (tag === 15) {
      need(1);
      tag = buf[pos++];
    }
    return { tag, type: b & 0x0f };
  };
  // A list's or map's size: an int with tag 0.
  const size = (): number => {
    const h = head();
    if (h.tag !== 0) fail(`size with tag ${h.tag}`);
    let n: number;
    switch (h.type) {
      case T.ZERO:
        n = 0;
        break;
      case T.INT8:
        need(1);
        n = buf.readInt8(pos);
        pos += 1;
        break;
      case T.INT16:
        need(2);
        n = buf.readInt16BE(pos);
        pos += 2;
        break;
      case T.INT32:
        need(4);
        n = buf.readInt32BE(pos);
        pos += 4;
        break;
      default:
        return fail(`size of type ${h.type}`);
    }
    if (n < 0) fail(`negative size ${n}`);
    return n;
  };
  const value = (type: number, depth: number): void => {
    switch (type) {
      case T.INT8:
        return void (need(1), (pos += 1));
      case T.INT16:
        return void (need(2), (pos += 2));
      case T.INT32:
      case T.FLOAT:
        return void (need(4), (pos += 4));
      case T.INT64:
      case T.DOUBLE:
        return void (need(8), (pos += 8));
      case T.ZERO:
        return;
      case T.STRING1: {
        need(1);
        const n = buf[pos++];
        need(n);
        pos += n;
        return;
      }
      case T.STRING4: {
        need(4);
        const n = buf.readUInt32BE(pos);
        pos += 4;
        need(n);
        pos += n;
        return;
      }
      case T.SIMPLE_LIST: {
        const h = head();
        if (h.type !== T.INT8) fail(`simple list of type ${h.type}`);
        const n = size();
        need(n);
        pos += n;
        return;
      }
      case T.LIST: {
        const n = size();
        // Every element takes at least one byte (its head).
        need(n);
        for (let i = 0; i < n; i++) value(head().type, depth);
        return;
      }
      case T.MAP: {
        const n = size();
        need(2 * n);
        for (let i = 0; i < 2 * n; i++) value(head().type, depth);
        return;
      }
      case T.STRUCT_BEGIN: {
        if (depth >= maxDepth) fail(`structs nested deeper than ${maxDepth}`);
        for (;;) {
          const h = head();
          if (h.type === T.STRUCT_END) return;
          value(h.type, depth + 1);
        }
      }
      case T.STRUCT_END:
        return fail('struct end outside a struct');
      default:
        return fail(`unknown type ${type}`);
    }
  };
  while (pos < buf.length) value(head().type, 0);
}
