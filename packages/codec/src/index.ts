export { encodePdu, decodePdu, FrameDecoder, FrameError, PDU_HEADER_LENGTH, PDU_VERSION, DEFAULT_MAX_FRAME_BYTES, type Pdu } from './pdu';
export { LengthPrefixedSplitter, copyOut, LENGTH_FIELD_BYTES, MAX_PINNED_BYTES, type LengthPrefixedFormat } from './length-prefixed';
export { writeThisTick, corkThisTick, flushThisTick, heldThisTick } from './tick-writer';
export { encryptContent, decryptContent, DEFAULT_CONTENT_KEY } from './content-cipher';
