// TeamTalk framing: a 16-byte big-endian header, then a protobuf body.
//   0 length(4, header included) | 4 version(2) | 6 flag(2) | 8 service_id(2)
//   10 command_id(2) | 12 seq_num(2) | 14 reserved(2)

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

/** The stream is no longer framed correctly; the only safe answer is to close it. */
export class FrameError extends Error {
  constructor(
    message: string,
    readonly length: number,
  ) {
    super(message);
    this.name = 'FrameError';
  }
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
 * Splits a byte stream into PDUs, whatever the chunking: partial headers,
 * bodies split over many reads, many PDUs in one read. Chunks are only
 * joined when a PDU actually spans them.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES) {}

  /** Bytes received but not yet part of a complete PDU. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /**
   * Feeds bytes in; calls onPdu for each complete PDU, in order.
   * Throws FrameError when a length is under 16 or over the limit.
   */
  push(chunk: Buffer, onPdu: (pdu: Pdu) => void): void {
    let data: Buffer;
    if (this.buffered === 0) {
      data = chunk;
    } else {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      const needed = this.neededLength();
      if (needed === undefined || this.buffered < needed) return;
      data = Buffer.concat(this.chunks, this.buffered);
      this.chunks = [];
      this.buffered = 0;
    }

    let offset = 0;
    while (data.length - offset >= PDU_HEADER_LENGTH) {
      const length = data.readUInt32BE(offset);
      this.checkLength(length);
      if (data.length - offset < length) break;
      onPdu({
        serviceId: data.readUInt16BE(offset + 8),
        commandId: data.readUInt16BE(offset + 10),
        seqNum: data.readUInt16BE(offset + 12),
        body: data.subarray(offset + PDU_HEADER_LENGTH, offset + length),
      });
      offset += length;
    }
    if (offset < data.length) {
      const rest = data.subarray(offset);
      this.chunks = [rest];
      this.buffered = rest.length;
      // A complete header already tells whether the length is acceptable.
      if (rest.length >= 4) this.checkLength(rest.readUInt32BE(0));
    }
  }

  /** The total length of the PDU at the front of the buffer, once 4 bytes are known. */
  private neededLength(): number | undefined {
    if (this.buffered < 4) return undefined;
    if (this.chunks[0].length < 4) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    const length = this.chunks[0].readUInt32BE(0);
    this.checkLength(length);
    return Math.max(length, PDU_HEADER_LENGTH);
  }

  private checkLength(length: number): void {
    if (length < PDU_HEADER_LENGTH) throw new FrameError(`PDU length ${length} is under the 16-byte header`, length);
    if (length > this.maxFrameBytes) throw new FrameError(`PDU length ${length} exceeds the limit of ${this.maxFrameBytes} bytes`, length);
  }
}
