// The one error shape of /api/v1: { error: { code, message, field? } }.

export interface ApiErrorBody {
  error: { code: string; message: string; field?: string };
}

/** A refusal raised by the API's own code (AdminError comes from the backends). */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function errorBody(code: string, message: string, field?: string): ApiErrorBody {
  return { error: field ? { code, message, field } : { code, message } };
}

/** The JSON schema of the error shape (every 4xx/5xx response in the OpenAPI document). */
export const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'Machine-readable, e.g. invalid_request, unauthorized, forbidden, not_found.' },
        message: { type: 'string' },
        field: { type: 'string', description: 'The offending field, e.g. body.nick or query.limit.' },
      },
    },
  },
} as const;

/** Fastify's own error codes → ours. */
export const FASTIFY_ERROR_CODES: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'body_too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_request' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'invalid_request' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_json' },
};
