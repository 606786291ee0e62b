// How the string ids of the WebSocket front map to the core's numeric ones
// (docs/fronts/websocket.md, "Identity and ids").

const SINGLE_PREFIX = 'si_';
const GROUP_PREFIX = 'sg_';

/** Single chat: `si_<a>_<b>`, the two account names in byte order (the same id on both sides). */
export function singleConversationId(nameA: string, nameB: string): string {
  return Buffer.compare(Buffer.from(nameA), Buffer.from(nameB)) <= 0 ? `${SINGLE_PREFIX}${nameA}_${nameB}` : `${SINGLE_PREFIX}${nameB}_${nameA}`;
}

export function groupConversationId(groupId: number): string {
  return `${GROUP_PREFIX}${groupId}`;
}

export type ParsedConversation = { kind: 'single'; peerName: string } | { kind: 'group'; groupId: number };

/**
 * A conversation id as seen by `viewerName`: which peer or group it names.
 * Undefined when it is malformed or a single chat the viewer is not part of.
 */
export function parseConversationId(id: string, viewerName: string): ParsedConversation | undefined {
  if (id.startsWith(GROUP_PREFIX)) {
    const groupId = parseDecimalId(id.slice(GROUP_PREFIX.length));
    return groupId === undefined ? undefined : { kind: 'group', groupId };
  }
  if (!id.startsWith(SINGLE_PREFIX)) return undefined;
  const pair = id.slice(SINGLE_PREFIX.length);
  // Names may contain '_': the viewer's own name must be one end.
  const candidates: string[] = [];
  if (pair.startsWith(`${viewerName}_`)) candidates.push(pair.slice(viewerName.length + 1));
  if (pair.endsWith(`_${viewerName}`)) candidates.push(pair.slice(0, pair.length - viewerName.length - 1));
  for (const peerName of candidates) {
    if (peerName && singleConversationId(viewerName, peerName) === id) return { kind: 'single', peerName };
  }
  return undefined;
}

/** `<conversation_id>:<msg_id>`: unique in the cluster. */
export function messageIdOf(conversationId: string, msgId: number): string {
  return `${conversationId}:${msgId}`;
}

/** Splits a message id; the conversation part must be `expectedConversation` when one is given. */
export function parseMessageId(messageId: string, expectedConversation?: string): { conversationId: string; msgId: number } | undefined {
  const at = messageId.lastIndexOf(':');
  if (at <= 0) return undefined;
  const conversationId = messageId.slice(0, at);
  const msgId = parseDecimalId(messageId.slice(at + 1));
  if (msgId === undefined) return undefined;
  if (expectedConversation !== undefined && expectedConversation !== '' && conversationId !== expectedConversation) return undefined;
  return { conversationId, msgId };
}

/** A positive 32-bit id written in decimal, nothing else. */
export function parseDecimalId(text: string): number | undefined {
  if (!/^[1-9][0-9]{0,9}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 0xffffffff ? n : undefined;
}
