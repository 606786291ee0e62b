/**
 * The parts of MSync's wire format that the generated protobuf code cannot
 * carry: its 64-bit integers are JS numbers (exact to 2^53), while MSync ids
 * (server ids, clients' meta ids) use all 64 bits. These helpers read and
 * write such fields straight from/into the encoded bytes; protobuf allows
 * fields in any order, so appending them to an encoded message is valid.
 */

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** A varint field (tag + value) for a 64-bit unsigned value. */
export function uint64Field(fieldNumber: number, value: bigint): Buffer {
  const bytes: number[] = [];
  pushVarint(bytes, (fieldNumber << 3) | WIRE_VARINT);
  let v = BigInt.asUintN(64, value);
  while (v >= 0x80n) {
    bytes.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  bytes.push(Number(v));
  return Buffer.from(bytes);
}

/** A length-delimited field (tag + length + bytes). */
export function bytesField(fieldNumber: number, value: Uint8Array): Buffer {
  const head: number[] = [];
  pushVarint(head, (fieldNumber << 3) | WIRE_LEN);
  pushVarint(head, value.length);
  return Buffer.concat([Buffer.from(head), value]);
}

function pushVarint(out: number[], value: number): void {
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
}

/** Thrown for bytes that are not a protobuf message. */
export class WireError extends Error {}

/**
 * Walks the top-level fields of an encoded message: the last varint value
 * (exact, as bigint) or the last length-delimited bytes of `fieldNumber`.
 */
export function findField(buf: Uint8Array, fieldNumber: number): { varint?: bigint; bytes?: Uint8Array } {
  let at = 0;
  const found: { varint?: bigint; bytes?: Uint8Array } = {};
  const readVarint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (at >= buf.length) throw new WireError('truncated varint');
      const b = buf[at++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asUintN(64, result);
      shift += 7n;
      if (shift > 63n) throw new WireError('varint too long');
    }
  };
  while (at < buf.length) {
    const tag = Number(readVarint());
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === WIRE_VARINT) {
      const v = readVarint();
      if (field === fieldNumber) found.varint = v;
    } else if (wire === WIRE_LEN) {
      const len = Number(readVarint());
      if (at + len > buf.length) throw new WireError('truncated field');
      if (field === fieldNumber) found.bytes = buf.subarray(at, at + len);
      at += len;
    } else if (wire === WIRE_I64) {
      at += 8;
    } else if (wire === WIRE_I32) {
      at += 4;
    } else {
      throw new WireError(`wire type ${wire} not supported`);
    }
    if (at > buf.length) throw new WireError('truncated field');
  }
  return found;
}

/** Bit 63 marks the id of a recall event's meta (the message's own id has it clear). */
const RECALL_EVENT_BIT = 1n << 63n;

/**
 * A message's MSync id (server_id, and Meta.id on every device): the
 * conversation's hash (31 bits, FNV-1a of the cross-protocol conversation id
 * `si_<a>_<b>` / `sg_<id>`, shifted right by one) above the message's
 * per-conversation msg_id (32 bits). Every device of every participant sees
 * the same id; a recall names it, and the recalling client says which
 * conversation (Meta.to), so the hash is checked and the msg_id is read back.
 */
export function serverIdOf(conversationId: string, msgId: number): bigint {
  return (BigInt(conversationHash(conversationId)) << 32n) | BigInt(msgId >>> 0);
}

/** The Meta.id of a message's recall event. */
export function recallEventIdOf(conversationId: string, msgId: number): bigint {
  return serverIdOf(conversationId, msgId) | RECALL_EVENT_BIT;
}

/** The msg_id a server id names, if it is one of this conversation's (else undefined). */
export function msgIdOf(serverId: bigint, conversationId: string): number | undefined {
  if (serverId & RECALL_EVENT_BIT) return undefined;
  if (Number(serverId >> 32n) !== conversationHash(conversationId)) return undefined;
  const msgId = Number(serverId & 0xffffffffn);
  return msgId > 0 ? msgId : undefined;
}

function conversationHash(conversationId: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(conversationId, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 1;
}
