// How the seed's MessageContent maps to the core's stored message and back
// (docs/fronts/tcp12.md, "Content").
import { IM } from '@tt/proto';

const { ContentKind } = IM.Core;
const { MessageContentType } = IM.Tcp12;

/** Extra key: the MessageContent fields a TEXT or IMAGE carries besides its text/URL and mentions (base64 protobuf). */
export const EXTRA_FIELDS = 'tcp12.fields';
/** Extra key: the stored content is a whole MessageContent (every kind but TEXT and IMAGE). */
export const EXTRA_WHOLE = 'tcp12.pb';
/** Extra key shared with the WebSocket front: mentioned account names, comma-separated; "@all" for everyone. */
export const EXTRA_MENTIONS = 'mentions';

/** mentionedType values (the seed names the field only). */
export const MENTION_NONE = 0;
export const MENTION_TARGETS = 1;
export const MENTION_ALL = 2;

/** The seed's content type → the core's content kind (TYPING is not a message). */
export function kindOfContentType(contentType: number): number {
  switch (contentType) {
    case MessageContentType.TEXT:
      return ContentKind.CONTENT_TEXT;
    case MessageContentType.SOUND:
      return ContentKind.CONTENT_VOICE;
    case MessageContentType.IMAGE:
      return ContentKind.CONTENT_IMAGE;
    case MessageContentType.LOCATION:
      return ContentKind.CONTENT_LOCATION;
    case MessageContentType.FILE:
      return ContentKind.CONTENT_FILE;
    case MessageContentType.VIDEO:
      return ContentKind.CONTENT_VIDEO;
    case MessageContentType.STICKER:
      return ContentKind.CONTENT_STICKER;
    default:
      // UNKNOWN and types of the client's own: kept whole, shown to others as custom content.
      return ContentKind.CONTENT_CUSTOM;
  }
}

/** The core's content kind → the seed's content type (for messages other fronts sent). */
export function contentTypeOfKind(kind: number): number {
  switch (kind) {
    case ContentKind.CONTENT_TEXT:
      return MessageContentType.TEXT;
    case ContentKind.CONTENT_VOICE:
      return MessageContentType.SOUND;
    case ContentKind.CONTENT_IMAGE:
      return MessageContentType.IMAGE;
    case ContentKind.CONTENT_LOCATION:
      return MessageContentType.LOCATION;
    case ContentKind.CONTENT_FILE:
      return MessageContentType.FILE;
    case ContentKind.CONTENT_VIDEO:
      return MessageContentType.VIDEO;
    case ContentKind.CONTENT_STICKER:
      return MessageContentType.STICKER;
    default:
      return MessageContentType.UNKNOWN;
  }
}

export interface PlainContent {
  kind: number;
  /** What the core stores (before ContentCodec): the text, the image URL, or a whole MessageContent. */
  plain: Buffer;
  /** Extra entries to store with it. */
  extra: Array<{ key: string; value: string }>;
}

/**
 * A MessageContent as the core stores it. TEXT: the text
 * (searchableContent); IMAGE: the URL (remoteMediaUrl) — so TeamTalk and
 * WebSocket clients see text and images; the other fields of those two ride
 * in extra. Every other type: the whole MessageContent (its bytes are
 * opaque to the other fronts, as those kinds are). Mentions go into the
 * WebSocket front's `mentions` extra. Returns an error text when the content
 * is not sendable.
 */
export function toPlainContent(content: IM.Tcp12.IMessageContent): PlainContent | string {
  const type = content.contentType ?? 0;
  const kind = kindOfContentType(type);
  const extra: Array<{ key: string; value: string }> = [];
  const mentions = mentionList(content);
  if (mentions) extra.push({ key: EXTRA_MENTIONS, value: mentions });
  if (type === IM.Tcp12.MessageContentType.TEXT || type === IM.Tcp12.MessageContentType.IMAGE) {
    const primary = type === IM.Tcp12.MessageContentType.TEXT ? content.searchableContent : content.remoteMediaUrl;
    if (!primary) return type === IM.Tcp12.MessageContentType.TEXT ? 'a TEXT needs searchableContent' : 'an IMAGE needs remoteMediaUrl';
    // protobufjs writes every field that is set, zeros too: the stored fields are removed, not zeroed.
    const rest: IM.Tcp12.IMessageContent = { ...content };
    delete rest.contentType;
    delete rest.mentionedType;
    delete rest.mentionedTargets;
    if (type === IM.Tcp12.MessageContentType.TEXT) delete rest.searchableContent;
    else delete rest.remoteMediaUrl;
    const restBytes = IM.Tcp12.MessageContent.encode(rest).finish();
    if (restBytes.length > 0) extra.push({ key: EXTRA_FIELDS, value: Buffer.from(restBytes).toString('base64') });
    return { kind, plain: Buffer.from(primary, 'utf8'), extra };
  }
  const whole = Buffer.from(IM.Tcp12.MessageContent.encode(content).finish());
  if (whole.length === 0) return 'the message content is empty';
  extra.push({ key: EXTRA_WHOLE, value: '1' });
  return { kind, plain: whole, extra };
}

/** "name1,name2", "@all", or undefined for no mentions. */
function mentionList(content: IM.Tcp12.IMessageContent): string | undefined {
  if (content.mentionedType === MENTION_ALL) return '@all';
  const names = (content.mentionedTargets ?? []).filter((n) => n && !n.includes(','));
  return names.length > 0 ? names.join(',') : undefined;
}

/**
 * A stored message's content as the seed's MessageContent. `plain` is the
 * content after ContentCodec.toPlain; `nameOf` names mentioned user ids
 * when the message has no `mentions` extra (TeamTalk senders).
 */
export function fromPlainContent(kind: number, plain: Uint8Array, extra: IM.Core.IMessageExtra | null | undefined, nameOf: (userId: number) => string): IM.Tcp12.IMessageContent {
  const kv = new Map<string, string>();
  for (const e of extra?.extra ?? []) kv.set(e.key, e.value);
  let content: IM.Tcp12.IMessageContent;
  if (kv.get(EXTRA_WHOLE) === '1') {
    try {
      content = IM.Tcp12.MessageContent.decode(plain);
    } catch {
      content = { contentType: contentTypeOfKind(kind), data: Buffer.from(plain) };
    }
  } else {
    content = {};
    const fields = kv.get(EXTRA_FIELDS);
    if (fields) {
      try {
        content = IM.Tcp12.MessageContent.decode(Buffer.from(fields, 'base64'));
      } catch {
        /* not ours: ignore */
      }
    }
    content.contentType = contentTypeOfKind(kind);
    const text = Buffer.from(plain).toString('utf8');
    if (kind === IM.Core.ContentKind.CONTENT_TEXT) content.searchableContent = text;
    else if (kind === IM.Core.ContentKind.CONTENT_IMAGE) content.remoteMediaUrl = text;
    else content.data = Buffer.from(plain);
  }
  const mentions = kv.get(EXTRA_MENTIONS);
  if (mentions !== undefined) {
    const names = mentions.split(',').map((n) => n.trim()).filter(Boolean);
    if (names.includes('@all')) {
      content.mentionedType = MENTION_ALL;
      content.mentionedTargets = names.filter((n) => n !== '@all');
    } else if (names.length > 0) {
      content.mentionedType = MENTION_TARGETS;
      content.mentionedTargets = names;
    }
  } else if (extra?.mentionAll) {
    content.mentionedType = MENTION_ALL;
  } else if (extra?.mentionUserIds && extra.mentionUserIds.length > 0) {
    content.mentionedType = MENTION_TARGETS;
    content.mentionedTargets = extra.mentionUserIds.map(nameOf);
  }
  return content;
}
