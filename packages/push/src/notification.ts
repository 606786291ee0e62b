import { decryptContent } from '@tt/client';

/** IM.BaseDefine.MsgType values. */
export const MSG_TYPE_SINGLE_TEXT = 0x01;
export const MSG_TYPE_SINGLE_AUDIO = 0x02;
export const MSG_TYPE_GROUP_TEXT = 0x11;
export const MSG_TYPE_GROUP_AUDIO = 0x12;

export const GENERIC_PREVIEW = '[new message]';
export const AUDIO_PREVIEW = '[voice message]';
export const IMAGE_PREVIEW = '[image]';

/** How stock clients embed an image (its URL) in a text message. */
const IMAGE_START = '&$#@~^@[{:';
const IMAGE_END = ':}]&$~@#@';

export interface NotificationTextInput {
  senderNick: string;
  /** Set for group messages. */
  groupName?: string;
  msgType: number;
  /** msg_data as stored: base64 of the AES-256-ECB ciphertext (wire reference §3). */
  msgData: Uint8Array | string;
  /** The client content key (32 bytes); without it the preview is generic. */
  contentKey?: string;
  /** Longest preview in characters (grapheme clusters), "…" added when cut. Default 100. */
  maxPreview?: number;
}

/**
 * "<sender>: <preview>" for a single chat, "<group> <sender>: <preview>" for a
 * group. The preview is the decrypted text, cut to maxPreview; a voice
 * message, an unknown type, no key or content that does not decrypt to text
 * gives a generic preview instead.
 */
export function notificationText(input: NotificationTextInput): string {
  const who = input.groupName ? `${input.groupName} ${input.senderNick}` : input.senderNick;
  return `${who}: ${preview(input)}`;
}

function preview(input: NotificationTextInput): string {
  const { msgType, contentKey } = input;
  if (msgType === MSG_TYPE_SINGLE_AUDIO || msgType === MSG_TYPE_GROUP_AUDIO) return AUDIO_PREVIEW;
  if (msgType !== MSG_TYPE_SINGLE_TEXT && msgType !== MSG_TYPE_GROUP_TEXT) return GENERIC_PREVIEW;
  if (!contentKey || Buffer.byteLength(contentKey, 'latin1') !== 32) return GENERIC_PREVIEW;
  let text: string;
  try {
    const data = typeof input.msgData === 'string' ? Buffer.from(input.msgData, 'latin1') : input.msgData;
    text = decryptContent(data, contentKey);
  } catch {
    return GENERIC_PREVIEW;
  }
  // A wrong key mostly fails the length check; when it does not, it yields bytes that are not text.
  // eslint-disable-next-line no-control-regex
  if (text.includes('\uFFFD') || /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.test(text)) return GENERIC_PREVIEW;
  text = replaceImages(text).replace(/\s+/g, ' ').trim();
  if (text === '') return GENERIC_PREVIEW;
  return cut(text, input.maxPreview ?? 100);
}

function replaceImages(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const start = rest.indexOf(IMAGE_START);
    if (start < 0) return out + rest;
    const end = rest.indexOf(IMAGE_END, start + IMAGE_START.length);
    if (end < 0) return out + rest;
    out += `${rest.slice(0, start)} ${IMAGE_PREVIEW} `;
    rest = rest.slice(end + IMAGE_END.length);
  }
}

/** At most max user-perceived characters; never splits a surrogate pair (nor an emoji sequence). */
export function cut(text: string, max: number): string {
  if (max <= 0) return '…';
  // Only the head can matter: a grapheme is at least one UTF-16 unit.
  if (text.length <= max) return text;
  const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  let count = 0;
  let end = 0;
  for (const { index, segment } of segmenter.segment(text)) {
    if (count === max) return `${text.slice(0, index).trimEnd()}…`;
    count++;
    end = index + segment.length;
  }
  return end >= text.length ? text : `${text.slice(0, end)}…`;
}
