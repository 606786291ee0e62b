/** What a client-supplied string is cut to at a call site (user names, task ids, file names, error texts). */
export const CLIP_DEFAULT = 256;
/** The logger's safety net: any top-level string field longer than this is clipped on every line. */
export const LOG_STRING_SAFETY_LIMIT = 1024;

/** A string fit for a log line: at most `max` characters, then how many were cut ("…[+499744 chars]"). */
export function clip(value: string, max?: number): string;
export function clip(value: string | null | undefined, max?: number): string | null | undefined;
export function clip(value: string | null | undefined, max = CLIP_DEFAULT): string | null | undefined {
  if (value === undefined || value === null || value.length <= max) return value;
  // Keep a surrogate pair whole: cutting between its halves leaves an invalid character.
  let end = max;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${value.slice(0, end)}…[+${value.length - end} chars]`;
}
