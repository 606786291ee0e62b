import { IM } from '@tt/proto';
import { EXTRA_FIELDS, EXTRA_WHOLE, fromPlainContent, kindOfContentType, toPlainContent, type PlainContent } from './content';

const { MessageContentType } = IM.Tcp12;
const { ContentKind } = IM.Core;

/** Through the core's form and back, as another tcp12 client sees it. */
function roundTrip(content: IM.Tcp12.IMessageContent) {
  const plain = toPlainContent(content) as PlainContent;
  expect(typeof plain).toBe('object');
  const back = fromPlainContent(plain.kind, plain.plain, { kind: plain.kind, extra: plain.extra }, (id) => `user${id}`);
  return { plain, back: IM.Tcp12.MessageContent.toObject(IM.Tcp12.MessageContent.fromObject(back), { defaults: false }) };
}

describe('tcp12 content mapping', () => {
  it('a TEXT is stored as its text (what TeamTalk and WebSocket clients read); its other fields ride in extra', () => {
    const { plain, back } = roundTrip({ contentType: MessageContentType.TEXT, searchableContent: 'hello 你好', pushContent: 'new message', mentionedType: 1, mentionedTargets: ['bob', 'carol'] });
    expect(plain.kind).toBe(ContentKind.CONTENT_TEXT);
    expect(plain.plain.toString()).toBe('hello 你好');
    expect(plain.extra.map((e) => e.key).sort()).toEqual([EXTRA_FIELDS, 'mentions'].sort());
    expect(back).toEqual({ contentType: 1, searchableContent: 'hello 你好', pushContent: 'new message', mentionedType: 1, mentionedTargets: ['bob', 'carol'] });
  });

  it('an IMAGE is stored as its URL; every other type whole', () => {
    const image = roundTrip({ contentType: MessageContentType.IMAGE, remoteMediaUrl: 'http://x/y.png', data: Buffer.from([1, 2, 3]), mediaType: 3 });
    expect(image.plain.plain.toString()).toBe('http://x/y.png');
    expect({ ...image.back, data: [...image.back.data] }).toEqual({ contentType: 3, remoteMediaUrl: 'http://x/y.png', mediaType: 3, data: [1, 2, 3] });
    for (const type of [MessageContentType.SOUND, MessageContentType.LOCATION, MessageContentType.FILE, MessageContentType.VIDEO, MessageContentType.STICKER, 0, 1001]) {
      const content = { contentType: type, data: Buffer.from('payload'), msgLength: 12, remoteMediaUrl: 'http://x/f', localMediaPath: '/tmp/f', searchableContent: 'f.txt' };
      const { plain, back } = roundTrip(content);
      expect(plain.extra).toEqual([{ key: EXTRA_WHOLE, value: '1' }]);
      expect(plain.kind).toBe(kindOfContentType(type));
      expect({ ...back, data: Buffer.from(back.data).toString() }).toEqual({ ...content, contentType: type, data: 'payload' });
    }
  });

  it('content others sent: their kind becomes the seed type; TeamTalk mentions are named', () => {
    const text = fromPlainContent(ContentKind.CONTENT_TEXT, Buffer.from('hi'), { mentionUserIds: [7] }, (id) => `user${id}`);
    expect(text).toMatchObject({ contentType: 1, searchableContent: 'hi', mentionedType: 1, mentionedTargets: ['user7'] });
    const all = fromPlainContent(ContentKind.CONTENT_TEXT, Buffer.from('hi'), { extra: [{ key: 'mentions', value: '@all' }] }, String);
    expect(all.mentionedType).toBe(2);
    const voice = fromPlainContent(ContentKind.CONTENT_VOICE, Buffer.from([9, 9]), {}, String);
    expect(voice).toMatchObject({ contentType: MessageContentType.SOUND, data: Buffer.from([9, 9]) });
  });

  it('unsendable content is refused with a reason', () => {
    expect(toPlainContent({ contentType: MessageContentType.TEXT })).toMatch(/searchableContent/);
    expect(toPlainContent({ contentType: MessageContentType.IMAGE, data: Buffer.from('x') })).toMatch(/remoteMediaUrl/);
    expect(toPlainContent({})).toMatch(/empty/);
  });
});
