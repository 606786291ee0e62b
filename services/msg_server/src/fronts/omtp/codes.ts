import * as omtp from '@tt/omtp';

/** OMTP answer codes (docs/fronts/omtp.md, "Codes"). */
export const Code = {
  OK: 0,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  TOO_LARGE: 413,
  UNSUPPORTED: 415,
  RATE_LIMITED: 429,
  SERVER_ERROR: 500,
} as const;

const { PackType: T } = omtp;

/** A request failed in a way the client should hear about: its answer carries this code. */
export class OmtpRequestError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

export const badRequest = (message: string) => new OmtpRequestError(Code.BAD_REQUEST, message);
export const forbidden = (message: string) => new OmtpRequestError(Code.FORBIDDEN, message);
export const notFound = (message: string) => new OmtpRequestError(Code.NOT_FOUND, message);

/**
 * The payload of an error answer to a request of `type`: the type's own
 * answer struct (so a client decodes it as it decodes a success), with the
 * code (and reason, where the struct has a place for one) set.
 */
export function errorAnswer(type: number, code: number, desc: string): Buffer {
  const payloads = omtp.PacketPayloads as Record<number, { answer?: omtp.StructSchema<any> }>;
  const schema = payloads[type]?.answer ?? omtp.CommonResp;
  const value = omtp.defaultsOf(schema) as Record<string, unknown>;
  if ('code' in value) value.code = code;
  if ('desc' in value) value.desc = desc;
  if ('errorCode' in value) value.errorCode = { code, desc };
  if (type === T.PT_LOGIN) value.extraData = JSON.stringify({ error: desc });
  if ('timestamp' in value) value.timestamp = Date.now();
  return omtp.encodeStruct(schema, value as never);
}

/** A Tars struct as the command router's decoder and encoder. */
export function tarsType<V>(schema: omtp.StructSchema<V>): { decode(body: Uint8Array): V; encode(value: V): { finish(): Uint8Array } } {
  return {
    decode: (body) => omtp.decodeStruct(schema, body),
    encode: (value) => ({ finish: () => omtp.encodeStruct(schema, value as never) }),
  };
}

/** Types whose payload the seed calls none: decoded as nothing. */
export const EMPTY = { decode: (): Record<string, never> => ({}) };
