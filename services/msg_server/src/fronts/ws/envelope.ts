/**
 * Writes a WebSocketMessage (seed 003's envelope: command = 1, sequence = 2,
 * body = 3, timestamp = 4) straight into one buffer: every frame the front
 * sends is one, and a push to many viewers differs per viewer only in the
 * seq appended to its body, so the body is passed in parts instead of being
 * concatenated and then copied again by a protobuf writer.
 */
export function encodeEnvelope(command: number, sequence: number, body: Uint8Array, bodySuffix: Uint8Array | undefined, timestamp: number): Buffer {
  const bodyLength = body.length + (bodySuffix?.length ?? 0);
  const size = 1 + varintSize(command) + (sequence ? 1 + varintSize(sequence) : 0) + 1 + varintSize(bodyLength) + bodyLength + 1 + varintSize(timestamp);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  out[at++] = 0x08;
  at = writeVarint(out, at, command);
  if (sequence) {
    out[at++] = 0x10;
    at = writeVarint(out, at, sequence);
  }
  out[at++] = 0x1a;
  at = writeVarint(out, at, bodyLength);
  out.set(body, at);
  at += body.length;
  if (bodySuffix) {
    out.set(bodySuffix, at);
    at += bodySuffix.length;
  }
  out[at++] = 0x20;
  writeVarint(out, at, timestamp);
  return out;
}

/** A protobuf varint field (tag byte + value) for a non-negative integer up to 2^53. */
export function varintField(fieldNumber: number, value: number): Buffer {
  const out = Buffer.allocUnsafe(1 + varintSize(value));
  out[0] = (fieldNumber << 3) | 0;
  writeVarint(out, 1, value);
  return out;
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

function writeVarint(out: Buffer, at: number, value: number): number {
  while (value >= 0x80) {
    out[at++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[at++] = value;
  return at;
}
