// Bulk user import: rows from a JSON array or CSV text (a header row naming the
// fields), each checked against the same schema as POST /users; the bad rows are
// reported with the reason and the good ones created.
import Ajv from 'ajv';
import { parse } from 'csv-parse/sync';
import type { NewChatUser } from './backend';
import { ApiError } from './errors';
import { newUserSchema } from './schemas';

export const MAX_IMPORT_ROWS = 5000;

export interface ImportRow {
  /** 1-based: the element of the JSON array, or the CSV data line (the header is line 0). */
  row: number;
  user?: NewChatUser;
  /** Why the row cannot be imported as it is. */
  error?: string;
}

const validate = new Ajv({ allErrors: false, removeAdditional: false, coerceTypes: false, strictTypes: false }).compile(newUserSchema);
const INTEGER_COLUMNS = new Set(['sex', 'departId']);

function check(row: number, value: unknown): ImportRow {
  if (validate(value)) return { row, user: value as NewChatUser };
  const e = validate.errors![0]!;
  const at = e.instancePath.replace(/^\//, '');
  if (e.keyword === 'additionalProperties') return { row, error: `unknown field ${(e.params as { additionalProperty: string }).additionalProperty}` };
  if (e.keyword === 'required') return { row, error: `${(e.params as { missingProperty: string }).missingProperty} is required` };
  return { row, error: `${at || 'row'} ${e.message ?? 'is invalid'}` };
}

export function rowsFromJson(items: unknown[]): ImportRow[] {
  if (items.length > MAX_IMPORT_ROWS) throw new ApiError(400, 'too_many_rows', `at most ${MAX_IMPORT_ROWS} rows per import`, 'body');
  return items.map((item, i) => check(i + 1, item));
}

export function rowsFromCsv(text: string): ImportRow[] {
  let records: Record<string, string>[];
  try {
    records = parse(text, { columns: (header: string[]) => header.map((h) => h.trim()), skip_empty_lines: true, trim: true, bom: true, max_record_size: 64 * 1024, relax_column_count: false });
  } catch (err) {
    throw new ApiError(400, 'invalid_csv', `not valid CSV: ${(err as Error).message}`, 'body');
  }
  if (records.length > MAX_IMPORT_ROWS) throw new ApiError(400, 'too_many_rows', `at most ${MAX_IMPORT_ROWS} rows per import`, 'body');
  return records.map((record, i) => {
    const user: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(record)) {
      if (v === '') continue; // an empty cell: the field is not given
      user[k] = INTEGER_COLUMNS.has(k) && /^-?\d{1,10}$/.test(v) ? Number(v) : v;
    }
    return check(i + 1, user);
  });
}
