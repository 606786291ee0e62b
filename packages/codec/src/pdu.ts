// TeamTalk framing: a 16-byte big-endian header, then a protobuf body.
//   0 length(4, header included) | 4 version(2) | 6 flag(2) | 8 service_id(2)
//   10 command_id(2) | 12 seq_num(2) | 14 reserved(2)
import { FrameError, LengthPrefixedSplitter, type LengthPrefixedFormat } from './length-prefixed';

export { FrameError } from './length-prefixed';

export const PDU_HEADER_LENGTH = 16;
export const PDU_VERSION = 1;
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

export interface Pdu {
  serviceId: number;
  commandId: number;
  seqNum: number;
  /** The protobuf body; a view into the received bytes, not a copy. */
  body: Buffer;
}

/** Builds one PDU in a single allocation. */
export function encodePdu(serviceId: number, commandId: number, seqNum: number, body: Uint8Array): Buffer {
  const length = PDU_HEADER_LENGTH + body.length;
  const out = Buffer.allocUnsafe(length);
  out.writeUInt32BE(length, 0);
  out.writeUInt16BE(PDU_VERSION, 4);
  out.writeUInt16BE(0, 6);
  out.writeUInt16BE(serviceId & 0xffff, 8);
  out.writeUInt16BE(commandId & 0xffff, 10);
  out.writeUInt16BE(seqNum & 0xffff, 12);
  out.writeUInt16BE(0, 14);
  out.set(body, PDU_HEADER_LENGTH);
  return out;
}

/** Reads the header of a complete PDU (e.g. one carried inside a bus message). */
export function decodePdu(frame: Buffer): Pdu {
  if (frame.length < PDU_HEADER_LENGTH) throw new FrameError(`PDU shorter than its header (${frame.length} bytes)`, frame.length);
  const length = frame.readUInt32BE(0);
  if (length !== frame.length) throw new FrameError(`PDU length field ${length} does not match ${frame.length} bytes`, length);
  return {
    serviceId: frame.readUInt16BE(8),
    commandId: frame.readUInt16BE(10),
    seqNum: frame.readUInt16BE(12),
    body: frame.subarray(PDU_HEADER_LENGTH),
  };
}

/**
 * Splits a byte stream into PDUs, whatever the chunking: the shared
 * LengthPrefixedSplitter with TeamTalk's header, whose length counts it.
 * Throws FrameError when a length is under 16 or over the limit.
 */
export class FrameDecoder extends LengthPrefixedSplitter<Pdu> {
  constructor(maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES) {
    super(pduFormat(maxFrameBytes));
  }
}

/** One format per frame limit, shared by every decoder: no closures of its own per connection. */
const pduFormats = new Map<number, LengthPrefixedFormat<Pdu>>();

function pduFormat(maxFrameBytes: number): LengthPrefixedFormat<Pdu> {
  let format = pduFormats.get(maxFrameBytes);
  if (format) return format;
  format = {
    headerBytes: PDU_HEADER_LENGTH,
    lengthIncludesHeader: true,
    minLength: PDU_HEADER_LENGTH,
    maxLength: maxFrameBytes,
    lengthError: (length) =>
      new FrameError(length < PDU_HEADER_LENGTH ? `PDU length ${length} is under the 16-byte header` : `PDU length ${length} exceeds the limit of ${maxFrameBytes} bytes`, length),
    frame: (bytes, start, end) => ({
      serviceId: bytes.readUInt16BE(start + 8),
      commandId: bytes.readUInt16BE(start + 10),
      seqNum: bytes.readUInt16BE(start + 12),
      body: bytes.subarray(start + PDU_HEADER_LENGTH, end),
    }),
  };
  pduFormats.set(maxFrameBytes, format);
  return format;
}
