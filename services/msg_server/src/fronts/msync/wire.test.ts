import { IM } from '@tt/proto';
import { bytesField, findField, msgIdOf, recallEventIdOf, serverIdOf, uint64Field, WireError } from './wire';
import { encodeMeta, encodeSyncDL } from './front';
import { contentFromCore, contentToCore, extFromCore, extToCore } from './content';

describe('MSync 64-bit fields, written and read exactly', () => {
  it.each([0n, 1n, 127n, 128n, (1n << 53n) + 1n, (1n << 63n) + 5n, (1n << 64n) - 1n])('%s round-trips through uint64Field / findField', (value) => {
    const bytes = Buffer.concat([IM.MSync.CommSyncDL.encode({ nextKey: 7 }).finish(), uint64Field(3, value)]);
    expect(findField(bytes, 3).varint).toBe(value);
    expect(Number(IM.MSync.CommSyncDL.decode(bytes).nextKey)).toBe(7);
  });

  it('a SYNC answer with metas decodes with the generated code, each meta id exact', () => {
    const id = (1n << 62n) + 99n;
    const meta = encodeMeta(id, { ns: IM.MSync.Meta.NameSpace.CHAT, timestamp: 5 });
    const dl = encodeSyncDL({ status: { errorCode: 0 }, nextKey: 3, isLast: false }, { metas: [meta, meta], metaId: 2n, serverId: id });
    const decoded = IM.MSync.CommSyncDL.decode(dl);
    expect(decoded.metas).toHaveLength(2);
    expect(Number(decoded.metas[0].timestamp)).toBe(5);
    expect(findField(dl, 3).varint).toBe(id);
    expect(findField(findField(dl, 4).bytes!, 1).varint).toBe(id);
    expect(findField(bytesField(9, Buffer.from('abc')), 9).bytes).toEqual(Buffer.from('abc'));
  });

  it('truncated bytes are a WireError, not a crash', () => {
    expect(() => findField(Buffer.from([0x0a, 0x05, 0x01]), 1)).toThrow(WireError);
    expect(() => findField(Buffer.from([0x08, 0xff]), 1)).toThrow(WireError);
  });
});

describe('server ids', () => {
  it('name (conversation, msg_id): the msg_id comes back only for its own conversation', () => {
    const id = serverIdOf('si_alice_bob', 42);
    expect(id >> 63n).toBe(0n);
    expect(msgIdOf(id, 'si_alice_bob')).toBe(42);
    expect(msgIdOf(id, 'si_alice_carol')).toBeUndefined();
    expect(msgIdOf(recallEventIdOf('si_alice_bob', 42), 'si_alice_bob')).toBeUndefined();
    expect(serverIdOf('sg_7', 1)).not.toBe(serverIdOf('sg_8', 1));
    expect(serverIdOf('sg_7', 0xffffffff) & 0xffffffffn).toBe(0xffffffffn);
  });
});

describe('content between MSync and the core', () => {
  const { ContentKind } = IM.Core;
  const Type = IM.MSync.MessageBody.Content.Type;
  it('text is UTF-8, an image with only a URL is the URL', () => {
    expect(contentToCore({ type: Type.TEXT, text: 'héllo' })).toEqual({ kind: ContentKind.CONTENT_TEXT, plain: Buffer.from('héllo') });
    expect(contentToCore({ type: Type.IMAGE, remotePath: 'http://x/y.png' })).toEqual({ kind: ContentKind.CONTENT_IMAGE, plain: Buffer.from('http://x/y.png') });
    expect(contentFromCore(ContentKind.CONTENT_IMAGE, Buffer.from('http://x/y.png'))).toMatchObject({ type: Type.IMAGE, remotePath: 'http://x/y.png' });
  });
  it('other types come back whole; a command is custom content that says so', () => {
    const file = { type: Type.FILE, remotePath: 'http://x/f', displayName: 'f.pdf', fileLength: 10, secretKey: 's' };
    const stored = contentToCore(file)!;
    expect(stored.kind).toBe(ContentKind.CONTENT_FILE);
    expect(contentFromCore(stored.kind, stored.plain)).toMatchObject(file);
    const cmd = contentToCore({ type: Type.COMMAND, action: 'ping' })!;
    expect(cmd.kind).toBe(ContentKind.CONTENT_CUSTOM);
    expect(contentFromCore(cmd.kind, cmd.plain)).toMatchObject({ type: Type.COMMAND, action: 'ping' });
    expect(contentFromCore(ContentKind.CONTENT_LOCATION, Buffer.from('somewhere'))).toMatchObject({ type: Type.LOCATION, address: 'somewhere' });
  });
  it('ext values become strings', () => {
    const V = IM.MSync.KeyValue.ValueType;
    expect(extToCore({ key: 'n', type: V.INT, varintValue: 5 })).toEqual({ key: 'n', value: '5' });
    expect(extToCore({ key: 'b', type: V.BOOL, varintValue: 1 })).toEqual({ key: 'b', value: 'true' });
    expect(extToCore({ key: 'j', type: V.JSON_STRING, stringValue: '{"a":1}' })).toEqual({ key: 'j', value: '{"a":1}' });
    expect(extFromCore({ key: 'k', value: 'v' })).toEqual({ key: 'k', type: V.STRING, stringValue: 'v' });
  });
});
