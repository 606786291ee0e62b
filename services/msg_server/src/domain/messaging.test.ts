import { IM } from '@tt/proto';
import { rejectionOf } from './messaging';

const text = IM.BaseDefine.MsgType.MSG_TYPE_SINGLE_TEXT;

describe('outgoing message rules', () => {
  const msg = { fromUserId: 99, toSessionId: 2, msgId: 77, createTime: 1, msgType: text, msgData: Buffer.from('x') };

  it('accepts a text to another user', () => {
    expect(rejectionOf(1, msg)).toBeUndefined();
  });

  it.each([
    ['empty content', { msgData: Buffer.alloc(0) }, /empty/],
    ['a message to oneself', { toSessionId: 1 }, /oneself/],
    ['an unknown msg_type', { msgType: 0x33 }, /msg_type/],
    ['no recipient', { toSessionId: 0 }, /to_session_id/],
  ])('discards %s', (_name, change, reason) => {
    expect(rejectionOf(1, { ...msg, ...change })).toMatch(reason);
  });
});
