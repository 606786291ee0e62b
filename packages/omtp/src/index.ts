// @tt/omtp: the OMTP wire of seed 004 (docs/fronts/omtp.md): Tars structs,
// packs and frames, flags, and the payload transforms (zlib, AES).
export { defineStruct, encodeStruct, decodeStruct, defaultsOf, scanTars, TarsDecodeError, TarsEncodeError, MAX_TARS_DEPTH, type StructSchema, type TarsField, type TarsFieldType, type TarsScalar, type TarsInput } from './tars';
export * from './structs';
export {
  Flags,
  Compress,
  Crypto,
  parseFlags,
  composeFlags,
  hasFlag,
  hasReservedBits,
  compressOf,
  cryptoOf,
  withTransforms,
  encodePack,
  framePack,
  frameBytes,
  decodePack,
  packPayload,
  unpackPayload,
  parseAesKey,
  PayloadError,
  FRAME_HEADER_BYTES,
  MIN_FRAME_LENGTH,
  DEFAULT_MAX_FRAME_BYTES,
  OMTP_VERSION,
  type FlagBits,
  type PackOptions,
  type UnpackOptions,
  type PayloadErrorReason,
} from './pack';
export { OmtpFrameDecoder, OmtpFrameError } from './frame';
