import { isUtf8 } from 'node:buffer';
import { IM } from '@tt/proto';

const { ContentKind } = IM.Core;

/** OMTP contentType (seed 004: 1 text, 2 voice, 3 image, 5 location, 6 video, 7 file, 8 rich media) ↔ the core's content kinds. */
const KIND_OF_TYPE: Record<number, number> = {
  0: ContentKind.CONTENT_TEXT,
  1: ContentKind.CONTENT_TEXT,
  2: ContentKind.CONTENT_VOICE,
  3: ContentKind.CONTENT_IMAGE,
  5: ContentKind.CONTENT_LOCATION,
  6: ContentKind.CONTENT_VIDEO,
  7: ContentKind.CONTENT_FILE,
  8: ContentKind.CONTENT_CUSTOM,
};

const TYPE_OF_KIND: Record<number, number> = {
  [ContentKind.CONTENT_TEXT]: 1,
  [ContentKind.CONTENT_VOICE]: 2,
  [ContentKind.CONTENT_IMAGE]: 3,
  [ContentKind.CONTENT_LOCATION]: 5,
  [ContentKind.CONTENT_VIDEO]: 6,
  [ContentKind.CONTENT_FILE]: 7,
  [ContentKind.CONTENT_STICKER]: 8,
  [ContentKind.CONTENT_CUSTOM]: 8,
};

/** The content kind of an OMTP contentType; undefined for a type the seed does not define. */
export function kindOfContentType(contentType: number): number | undefined {
  return KIND_OF_TYPE[contentType];
}

export function contentTypeOfKind(kind: number): number {
  return TYPE_OF_KIND[kind] ?? 1;
}

/**
 * OMTP content is a string. Plain content that is not UTF-8 (TeamTalk voice:
 * a length and audio bytes) travels base64'd.
 */
export function contentText(plain: Buffer): string {
  return isUtf8(plain) ? plain.toString('utf8') : plain.toString('base64');
}
