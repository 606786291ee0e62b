import { IM } from '@tt/proto';
import { MAX_PUSH_JOB_DATA, pushJobId, pushJobOf, pushRecipients } from './push';

const { MsgType, SessionType } = IM.BaseDefine;

describe('pushRecipients', () => {
  // 2 has only a PC online, 3 and 4 a phone (4 a PC too), 5 nothing.
  const phoneOnline = new Set([3, 4]);
  const hasMobileOnline = (id: number) => phoneOnline.has(id);

  it('keeps recipients without a mobile connection (offline or PC only), never the sender, each once', () => {
    expect(pushRecipients([2, 3, 4, 5, 1, 5], 1, hasMobileOnline)).toEqual([2, 5]);
  });

  it('single chat: the peer, unless their phone is online', () => {
    expect(pushRecipients([5], 1, hasMobileOnline)).toEqual([5]);
    expect(pushRecipients([3], 1, hasMobileOnline)).toEqual([]);
  });
});

describe('pushJobOf / pushJobId', () => {
  const stored = { fromUserId: 7, toSessionId: 3, msgId: 12, createTime: 1700000000, msgType: MsgType.MSG_TYPE_SINGLE_TEXT, msgData: Buffer.from('abc') };

  it('carries what push_server needs, and the message data unless it is too large', () => {
    expect(pushJobOf(stored, [3])).toEqual({ ...stored, recipientIds: [3] });
    const big = pushJobOf({ ...stored, msgData: Buffer.alloc(MAX_PUSH_JOB_DATA + 1) }, [3]);
    expect(big.msgData).toHaveLength(0);
    // What goes on the wire decodes to the same job.
    const decoded = IM.Cluster.PushJob.decode(IM.Cluster.PushJob.encode(pushJobOf(stored, [3])).finish());
    expect(decoded).toMatchObject({ fromUserId: 7, toSessionId: 3, msgId: 12, recipientIds: [3] });
  });

  it('names one message the same from either side of a single chat; groups by group', () => {
    expect(pushJobId(pushJobOf(stored, [3]), SessionType.SESSION_TYPE_SINGLE)).toBe('s3-7:12');
    expect(pushJobId(pushJobOf({ ...stored, fromUserId: 3, toSessionId: 7 }, [7]), SessionType.SESSION_TYPE_SINGLE)).toBe('s3-7:12');
    expect(pushJobId(pushJobOf({ ...stored, toSessionId: 40, msgType: MsgType.MSG_TYPE_GROUP_TEXT }, [3]), SessionType.SESSION_TYPE_GROUP)).toBe('g40:12');
  });
});
