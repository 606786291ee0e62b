import { groupConversationId, messageIdOf, parseConversationId, parseDecimalId, parseMessageId, singleConversationId } from './ids';

describe('string ids of the WebSocket front', () => {
  it('a single chat has one id for both sides, names in byte order', () => {
    expect(singleConversationId('bob', 'alice')).toBe('si_alice_bob');
    expect(singleConversationId('alice', 'bob')).toBe('si_alice_bob');
    expect(singleConversationId('Zed', 'amy')).toBe('si_Zed_amy');
  });

  it('each side reads the peer out of it, even when names contain underscores', () => {
    const id = singleConversationId('a_b', 'b_c');
    expect(parseConversationId(id, 'a_b')).toEqual({ kind: 'single', peerName: 'b_c' });
    expect(parseConversationId(id, 'b_c')).toEqual({ kind: 'single', peerName: 'a_b' });
    expect(parseConversationId('si_x_x_y', 'x')).toEqual({ kind: 'single', peerName: 'x_y' });
  });

  it('a conversation the viewer is not part of, or a malformed id, is nothing', () => {
    expect(parseConversationId(singleConversationId('alice', 'bob'), 'carol')).toBeUndefined();
    expect(parseConversationId('si_bob_alice', 'alice')).toBeUndefined(); // not in byte order: not an id we issue
    expect(parseConversationId('chat-42', 'alice')).toBeUndefined();
    expect(parseConversationId('sg_', 'alice')).toBeUndefined();
    expect(parseConversationId('sg_042', 'alice')).toBeUndefined();
    expect(parseConversationId('sg_42', 'alice')).toEqual({ kind: 'group', groupId: 42 });
    expect(groupConversationId(42)).toBe('sg_42');
  });

  it('message ids are <conversation>:<msg_id> and must name the conversation they are used with', () => {
    const id = messageIdOf('si_a:b_c', 7);
    expect(parseMessageId(id)).toEqual({ conversationId: 'si_a:b_c', msgId: 7 });
    expect(parseMessageId(id, 'si_a:b_c')).toEqual({ conversationId: 'si_a:b_c', msgId: 7 });
    expect(parseMessageId(id, 'sg_1')).toBeUndefined();
    expect(parseMessageId('sg_1:0')).toBeUndefined();
    expect(parseMessageId('sg_1:1e3')).toBeUndefined();
    expect(parseMessageId('nocolon')).toBeUndefined();
    expect(parseDecimalId('4294967295')).toBe(4294967295);
    expect(parseDecimalId('4294967296')).toBeUndefined();
  });
});
