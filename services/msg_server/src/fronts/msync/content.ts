import { IM } from '@tt/proto';

const ContentType = IM.MSync.MessageBody.Content.Type;
const { ContentKind } = IM.Core;
const ValueType = IM.MSync.KeyValue.ValueType;

type MsyncContent = IM.MSync.MessageBody.IContent;

/** Kinds whose MSync content is kept as JSON in the core (all but text and images). */
const KIND_OF_TYPE = new Map<number, number>([
  [ContentType.TEXT, ContentKind.CONTENT_TEXT],
  [ContentType.IMAGE, ContentKind.CONTENT_IMAGE],
  [ContentType.VOICE, ContentKind.CONTENT_VOICE],
  [ContentType.VIDEO, ContentKind.CONTENT_VIDEO],
  [ContentType.FILE, ContentKind.CONTENT_FILE],
  [ContentType.LOCATION, ContentKind.CONTENT_LOCATION],
  [ContentType.CUSTOM, ContentKind.CONTENT_CUSTOM],
  // The core has no command kind: a CMD message is custom content that says it is a command.
  [ContentType.COMMAND, ContentKind.CONTENT_CUSTOM],
]);

/**
 * An MSync content in the core's terms: text as UTF-8, an image as its URL
 * (remote_path: what TeamTalk and WebSocket clients show), every other type
 * as the JSON of the MSync content (its camelCase fields and `type` by name),
 * so it comes back whole to MSync clients.
 */
export function contentToCore(content: MsyncContent): { kind: number; plain: Buffer } | undefined {
  const type = content.type ?? ContentType.TEXT;
  const kind = KIND_OF_TYPE.get(type);
  if (kind === undefined) return undefined;
  if (type === ContentType.TEXT) return { kind, plain: Buffer.from(content.text ?? '', 'utf8') };
  if (type === ContentType.IMAGE && content.remotePath && !content.size && !content.thumbnailRemotePath) return { kind, plain: Buffer.from(content.remotePath, 'utf8') };
  const json = IM.MSync.MessageBody.Content.toObject(IM.MSync.MessageBody.Content.fromObject(content), { enums: String });
  return { kind, plain: Buffer.from(JSON.stringify(json), 'utf8') };
}

/** The MSync content of a core message (any front's): the inverse of contentToCore, and a best guess for other fronts' bytes. */
export function contentFromCore(kind: number, plain: Uint8Array): MsyncContent {
  const text = Buffer.from(plain).toString('utf8');
  if (kind !== ContentKind.CONTENT_TEXT && text.startsWith('{')) {
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      if (parsed && typeof parsed === 'object' && typeof parsed.type === 'string' && parsed.type in ContentType) {
        return IM.MSync.MessageBody.Content.fromObject(parsed);
      }
    } catch {
      // not ours: below
    }
  }
  switch (kind) {
    case ContentKind.CONTENT_IMAGE:
      return { type: ContentType.IMAGE, remotePath: text };
    case ContentKind.CONTENT_VOICE:
      return { type: ContentType.VOICE, remotePath: text };
    case ContentKind.CONTENT_VIDEO:
      return { type: ContentType.VIDEO, remotePath: text };
    case ContentKind.CONTENT_FILE:
      return { type: ContentType.FILE, remotePath: text };
    case ContentKind.CONTENT_LOCATION:
      return { type: ContentType.LOCATION, address: text };
    case ContentKind.CONTENT_CUSTOM:
    case ContentKind.CONTENT_STICKER:
      return { type: ContentType.CUSTOM, customEvent: text };
    default:
      return { type: ContentType.TEXT, text };
  }
}

/** An MSync ext entry as the core's string pair (numbers and booleans written in decimal / true|false). */
export function extToCore(kv: IM.MSync.IKeyValue): { key: string; value: string } {
  const key = kv.key ?? '';
  switch (kv.type) {
    case ValueType.BOOL:
      return { key, value: Number(kv.varintValue ?? 0) !== 0 ? 'true' : 'false' };
    case ValueType.INT:
    case ValueType.UINT:
    case ValueType.LLINT:
      return { key, value: String(kv.varintValue ?? 0) };
    case ValueType.FLOAT:
      return { key, value: String(kv.floatValue ?? 0) };
    case ValueType.DOUBLE:
      return { key, value: String(kv.doubleValue ?? 0) };
    default:
      return { key, value: kv.stringValue ?? '' };
  }
}

/** The core's extra pair as MSync ext: a string (the core keeps no value types). */
export function extFromCore(kv: { key: string; value: string }): IM.MSync.IKeyValue {
  return { key: kv.key, type: ValueType.STRING, stringValue: kv.value };
}
