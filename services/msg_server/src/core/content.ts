import { decryptContent, encryptContent } from '@tt/codec';
import { IM } from '@tt/proto';
import { ROOM_MSG_TYPE, isRoomSession } from './rooms';

const { ContentKind } = IM.Core;
const { MsgType, SessionType } = IM.BaseDefine;

/** TeamTalk's way of putting an image into a text message: the URL between these markers. */
const TT_IMAGE_START = '&$#@~^@[{:';
const TT_IMAGE_END = ':}]&$~@#@';

/**
 * Converts message content between TeamTalk's form (what is stored: text
 * encrypted by the client with the shared content key, base64'd) and the
 * plain form of the other protocols. Without a key, content passes through
 * as opaque bytes both ways.
 */
export class ContentCodec {
  constructor(private readonly key: string | undefined) {}

  get hasKey(): boolean {
    return !!this.key;
  }

  /**
   * Stored (TeamTalk) form of content a plain-content protocol sent. Only
   * text and images (a URL) are text to TeamTalk clients; every other kind
   * keeps its bytes, so it reaches the other protocols intact.
   */
  toStored(kind: number, plain: Uint8Array): Buffer {
    if (!this.key || !isTextual(kind)) return Buffer.from(plain);
    let text = Buffer.from(plain).toString('utf8');
    // An image (a URL) becomes TeamTalk's inline image; TeamTalk clients show it.
    if (kind === ContentKind.CONTENT_IMAGE) text = `${TT_IMAGE_START}${text}${TT_IMAGE_END}`;
    return encryptContent(text, this.key);
  }

  /** Plain form of stored content, for protocols that carry plain content. */
  toPlain(kind: number, stored: Uint8Array): Buffer {
    if (!this.key || !isTextual(kind)) return Buffer.from(stored);
    try {
      let text = decryptContent(stored, this.key);
      if (kind === ContentKind.CONTENT_IMAGE && text.startsWith(TT_IMAGE_START) && text.endsWith(TT_IMAGE_END)) {
        text = text.slice(TT_IMAGE_START.length, text.length - TT_IMAGE_END.length);
      }
      return Buffer.from(text, 'utf8');
    } catch {
      // Not encrypted with our key (another client's scheme): as is.
      return Buffer.from(stored);
    }
  }

  /** Text for TeamTalk clients (history placeholders and the like). */
  teamTalkText(text: string): Buffer {
    return this.key ? encryptContent(text, this.key) : Buffer.from(text, 'utf8');
  }
}

/** Kinds whose content is text to TeamTalk clients (and so encrypted with the content key). */
function isTextual(kind: number): boolean {
  return kind === ContentKind.CONTENT_TEXT || kind === ContentKind.CONTENT_IMAGE;
}

/** The content kind of a stored message: its extra's, or what its TeamTalk msg_type says. */
export function kindOf(message: { msgType?: number | null; extra?: IM.Core.IMessageExtra | null }): number {
  if (message.extra?.kind) return message.extra.kind;
  const t = message.msgType ?? 0;
  return t === MsgType.MSG_TYPE_SINGLE_AUDIO || t === MsgType.MSG_TYPE_GROUP_AUDIO || t === ROOM_MSG_TYPE.AUDIO ? ContentKind.CONTENT_VOICE : ContentKind.CONTENT_TEXT;
}

/** TeamTalk's msg_type for content of this kind in this kind of conversation (chat rooms: the core's 0x21/0x22). */
export function teamTalkMsgType(kind: number, sessionType: number): number {
  const voice = kind === ContentKind.CONTENT_VOICE;
  if (isRoomSession(sessionType)) return voice ? ROOM_MSG_TYPE.AUDIO : ROOM_MSG_TYPE.TEXT;
  if (sessionType === SessionType.SESSION_TYPE_GROUP) return voice ? MsgType.MSG_TYPE_GROUP_AUDIO : MsgType.MSG_TYPE_GROUP_TEXT;
  return voice ? MsgType.MSG_TYPE_SINGLE_AUDIO : MsgType.MSG_TYPE_SINGLE_TEXT;
}
