// The struct layer: exact bytes against hand-computed Tars, round trips of
// every struct of the seed, and hostile input (garbage, truncation, huge
// claimed lengths, deep nesting) failing fast with TarsDecodeError.
import { AllStructs, CommonResp, HotSessionResp, MsgAck, MsgReq, OTIMHeader, OTIMPack, GroupChatSyncResp, LoginReq, HistoryMsgPullReq } from './structs';
import { decodeStruct, defaultsOf, encodeStruct, scanTars, TarsDecodeError, TarsEncodeError, type StructSchema, type TarsField } from './tars';

const hex = (b: Buffer) => b.toString('hex');

describe('encoding, checked against hand-computed Tars', () => {
  // head byte = tag << 4 | type: 0 int1, 1 int2, 2 int4, 3 int8, 6 string1, 7 string4,
  // 9 list, 10 struct begin, 11 struct end, 12 zero, 13 simple list.
  it('OTIMHeader {type 10, version 1, flags 1, packId "a"}', () => {
    const bytes = encodeStruct(OTIMHeader, { type: 10, version: 1, flags: 1, packId: 'a' });
    // 00 0a: tag 0 int1 10 | 10 01: tag 1 int1 1 | 20 01: tag 2 int1 1 | 36 01 61: tag 3 string1 "a"
    expect(hex(bytes)).toBe('000a' + '1001' + '2001' + '360161');
    expect(decodeStruct(OTIMHeader, bytes)).toEqual({ type: 10, version: 1, flags: 1, packId: 'a' });
  });

  it('OTIMPack: a nested struct and a vector<byte>', () => {
    const bytes = encodeStruct(OTIMPack, { header: { type: 14, version: 1, flags: 0, packId: 'a' }, payload: Buffer.from('xyz') });
    // 0a: tag 0 struct begin | 00 0e 10 01 2c 36 01 61 (flags 0 is "zero", type 12) | 0b: struct end
    // 1d: tag 1 simple list | 00: element head int1 | 00 03: size (tag 0 int1 3) | 78 79 7a
    expect(hex(bytes)).toBe('0a' + '000e' + '1001' + '2c' + '360161' + '0b' + '1d' + '00' + '0003' + '78797a');
  });

  it('ints take the smallest width; a long past 2^32 takes 8 bytes; a long string uses string4', () => {
    const sessionId = 'x'.repeat(300);
    const bytes = encodeStruct(MsgAck, { code: 400, sessionId, seqId: 2 ** 32 + 5, timestamp: -70000 });
    const expected =
      '010190' + // tag 0 int2 400
      '17' + '0000012c' + Buffer.from(sessionId).toString('hex') + // tag 1 string4, length 300
      '23' + '0000000100000005' + // tag 2 int8 2^32 + 5
      '32' + 'fffeee90'; // tag 3 int4 -70000
    expect(hex(bytes)).toBe(expected);
    expect(decodeStruct(MsgAck, bytes)).toEqual({ code: 400, sessionId, seqId: 2 ** 32 + 5, timestamp: -70000 });
  });

  it('vector<string> is a list of string1 elements with tag 0', () => {
    const bytes = encodeStruct(GroupChatSyncResp, { errorCode: { code: 0, desc: '' }, timestamp: 1, groupchats: [], delGroupChatIds: ['7', '88'] });
    // 0a 0c 16 00 0b | 10 01 | 29 0c (empty list: size zero) | 39 00 02 06 01 37 06 02 38 38
    expect(hex(bytes)).toBe('0a0c16000b' + '1001' + '290c' + '39' + '0002' + '060137' + '06023838');
  });
});

/** A value with every field set to something other than its default, deterministic per field. */
function sample(schema: StructSchema<unknown>, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of schema.fields as TarsField[]) out[f.name] = sampleField(schema.name, f, depth);
  return out;
}

function sampleField(structName: string, f: TarsField, depth: number): unknown {
  const t = f.type;
  if (typeof t === 'object') return 'struct' in t ? sample(t.struct, depth + 1) : [sample(t.vectorOf, depth + 1), sample(t.vectorOf, depth + 1)];
  switch (t) {
    case 'bool':
      return true;
    case 'int8':
      return -100 + f.tag;
    case 'short':
      return 1000 + f.tag;
    case 'int':
      return -100000 - f.tag;
    case 'long':
      return 2 ** 40 + f.tag;
    case 'string':
      return `${structName}.${f.name} ✓ é`;
    case 'bytes':
      return Buffer.from([0, 255, f.tag, 7]);
    case 'vector<string>':
      return ['', 'b', 'ccc'.repeat(100)];
  }
}

describe('round trip of every struct of the seed', () => {
  const names = [
    'OTIMHeader', 'OTIMPack', 'LoginReq', 'LoginResp', 'KickOutReq', 'MsgReq', 'MsgAck', 'MsgControl', 'CommonResp', 'CommonErrorCode', 'MsgReaded',
    'HotSessionReq', 'HotSessionItem', 'HotSessionResp', 'MsgHighPrioritySyncReq', 'MsgHighPrioritySyncResp', 'HistoryMsgPullReq', 'HistoryMsgPullResp',
    'SessionMonitor', 'SyncDataReq', 'GroupChatSyncReq', 'GroupChatInfo', 'GroupChatSyncResp', 'GroupChatCreateReq', 'GroupChatCreateResp', 'GroupChatJoinReq',
    'GroupChatJoinResp', 'GroupChatQuitReq', 'GroupChatDismissReq', 'GroupChatCreatorUpdateReq', 'GroupChatInfoUpdateReq', 'GroupChatMemberGetReq',
    'GroupChatMemberGetResp', 'FriendInfo', 'FriendAddReq', 'FriendDelReq', 'FriendSyncReq', 'FriendSyncResp', 'UserInfoGetReq', 'UserInfo', 'UserInfoGetResp',
    'UserInfoUpdateReq', 'UserAttribute', 'UserAttrSetReq', 'UserAttrGetResp', 'SessionAttrSetReq',
  ];

  it('declares exactly the seed\'s structs', () => {
    expect(Object.keys(AllStructs).sort()).toEqual([...names].sort());
  });

  it.each(names)('%s with every field set', (name) => {
    const schema = AllStructs[name as keyof typeof AllStructs] as StructSchema<unknown>;
    const value = sample(schema);
    const bytes = encodeStruct(schema, value as never);
    expect(decodeStruct(schema, bytes)).toEqual(value);
  });

  it.each(names)('%s with nothing set decodes to its defaults', (name) => {
    const schema = AllStructs[name as keyof typeof AllStructs] as StructSchema<unknown>;
    expect(decodeStruct(schema, encodeStruct(schema, {}))).toEqual(defaultsOf(schema));
  });

  it('uses the seed\'s field names and defaults', () => {
    const msg = { sessionId: 'si_a_b', seqId: 3, timestamp: 1_700_000_000_000, from: 'a', to: 'b', pushInfo: 'hi', contentType: 1, content: 'hello', status: 0 };
    expect(decodeStruct(MsgReq, encodeStruct(MsgReq, msg))).toEqual(msg);
    // `count = 200` in the IDL.
    expect(decodeStruct(HistoryMsgPullReq, encodeStruct(HistoryMsgPullReq, { seqId: 0 }))).toEqual({ sessionId: '', seqId: 0, count: 200 });
  });

  it('fills absent optional fields with 0 / "" / []', () => {
    // Only the required fields of LoginReq (tags 0 and 1).
    const bytes = Buffer.from('0601' + '61' + '1601' + '62', 'hex');
    expect(decodeStruct(LoginReq, bytes)).toEqual({ clientId: 'a', userName: 'b', password: '', deviceType: 0, deviceName: '', deviceId: '', version: '' });
    const onlyRequired = Buffer.from('0c' + '1c' + '2900000c', 'hex'); // code 0, timestamp 0, sessions: 0 elements (size int1 0)
    expect(decodeStruct(HotSessionResp, onlyRequired)).toEqual({ code: 0, timestamp: 0, sessions: [] });
  });

  it('skips fields with tags it does not know (a newer peer)', () => {
    const bytes = Buffer.concat([encodeStruct(CommonResp, { code: 1, desc: 'd' }), Buffer.from('26' + '0178' + 'f01401', 'hex')]); // tag 2 string "x", tag 20 int1 1
    expect(decodeStruct(CommonResp, bytes)).toEqual({ code: 1, desc: 'd' });
  });
});

describe('encoding bad values', () => {
  it('throws TarsEncodeError for a wrong type or an out-of-range int', () => {
    expect(() => encodeStruct(OTIMHeader, { type: 70000 })).toThrow(TarsEncodeError);
    expect(() => encodeStruct(OTIMHeader, { type: 1.5 })).toThrow(TarsEncodeError);
    expect(() => encodeStruct(OTIMHeader, { packId: 5 as unknown as string })).toThrow(TarsEncodeError);
    expect(() => encodeStruct(MsgAck, { seqId: 2 ** 60 })).toThrow(TarsEncodeError);
    expect(() => encodeStruct(GroupChatSyncResp, { delGroupChatIds: [1 as unknown as string] })).toThrow(TarsEncodeError);
  });
});

describe('decoding bad bytes', () => {
  const expectDecodeError = (schema: StructSchema<unknown>, bytes: Buffer) => {
    let thrown: unknown;
    try {
      decodeStruct(schema, bytes);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(TarsDecodeError);
  };

  it('a missing required field', () => {
    expectDecodeError(MsgAck, encodeStruct(CommonResp, { code: 0, desc: 'x' }));
    expectDecodeError(OTIMHeader, Buffer.alloc(0));
    // The nested header lacks packId.
    expectDecodeError(OTIMPack, Buffer.from('0a' + '000a' + '1001' + '2001' + '0b' + '1d00' + '0c', 'hex'));
  });

  it('a type mismatch (a string where an int is)', () => {
    expectDecodeError(CommonResp, Buffer.from('060178' + '160178', 'hex'));
  });

  it('every strict prefix of a valid encoding', () => {
    const full = encodeStruct(HotSessionResp, sample(HotSessionResp) as never);
    for (let n = 0; n < full.length; n++) expectDecodeError(HotSessionResp, full.subarray(0, n));
  });

  it('huge claimed lengths fail at once, without allocating them', () => {
    const cases = [
      '07' + 'fffffff0', // tag 0 string4 of 4 GiB
      '0d' + '00' + '027fffffff', // tag 0 simple list of 2^31-1 bytes
      '09' + '027fffffff' + '0c', // tag 0 list of 2^31-1 elements
      '08' + '027fffffff', // tag 0 map of 2^31-1 pairs
      '09' + '02ffffffff', // a negative list size
      '0d' + '00' + '02ffffff00', // a negative simple-list size
    ];
    const before = process.memoryUsage().rss;
    const started = Date.now();
    for (const c of cases) {
      for (const schema of [HotSessionResp, OTIMPack, CommonResp, GroupChatSyncResp] as StructSchema<unknown>[]) expectDecodeError(schema, Buffer.from(c, 'hex'));
    }
    expect(Date.now() - started).toBeLessThan(500);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('structs nested without end fail on depth, not on the stack', () => {
    const deep = Buffer.alloc(200_000, 0x0a);
    expectDecodeError(OTIMPack, deep);
    expect(() => scanTars(deep)).toThrow(/nested deeper/);
  });

  it('a struct end outside a struct, unknown types', () => {
    expectDecodeError(CommonResp, Buffer.from('0b', 'hex'));
    expectDecodeError(CommonResp, Buffer.from('0e', 'hex'));
    expectDecodeError(CommonResp, Buffer.from('0f', 'hex'));
  });

  it('random garbage decodes or throws TarsDecodeError, quickly', () => {
    // A fixed-seed generator, so a failure can be replayed.
    let seed = 12345;
    const next = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const valid = encodeStruct(HotSessionResp, sample(HotSessionResp) as never);
    const started = Date.now();
    let decoded = 0;
    for (let i = 0; i < 3000; i++) {
      let bytes: Buffer;
      if (i % 2 === 0) {
        bytes = Buffer.alloc(next() % 64);
        for (let j = 0; j < bytes.length; j++) bytes[j] = next() & 0xff;
      } else {
        // A valid encoding with a few bytes flipped: deeper into the decoder than pure noise.
        bytes = Buffer.from(valid);
        for (let k = 0; k < 3; k++) bytes[next() % bytes.length] = next() & 0xff;
      }
      for (const schema of [HotSessionResp, OTIMPack, MsgReq] as StructSchema<unknown>[]) {
        try {
          decodeStruct(schema, bytes);
          decoded++;
        } catch (err) {
          if (!(err instanceof TarsDecodeError)) throw new Error(`${schema.name} from ${bytes.toString('hex')}: ${String(err)}`);
        }
      }
    }
    expect(Date.now() - started).toBeLessThan(5000);
    expect(decoded).toBeGreaterThanOrEqual(0);
  });
});
