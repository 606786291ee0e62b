import { encryptContent, DEFAULT_CONTENT_KEY } from '@tt/client';
import { cutPreview, notificationText, MSG_TYPE_GROUP_AUDIO, MSG_TYPE_GROUP_TEXT, MSG_TYPE_SINGLE_AUDIO, MSG_TYPE_SINGLE_TEXT } from './index';

const KEY = DEFAULT_CONTENT_KEY;
const enc = (text: string, key = KEY) => encryptContent(text, key);

test('single chat: "<sender>: <text>"', () => {
  expect(notificationText({ senderNick: 'Alice', msgType: MSG_TYPE_SINGLE_TEXT, msgData: enc('hello bob'), contentKey: KEY })).toBe('Alice: hello bob');
});

test('group chat: "<group> <sender>: <text>"', () => {
  expect(notificationText({ senderNick: 'Alice', groupName: 'Engineering', msgType: MSG_TYPE_GROUP_TEXT, msgData: enc('standup at 10'), contentKey: KEY })).toBe(
    'Engineering Alice: standup at 10',
  );
});

test('msg_data as a latin1 string works too', () => {
  expect(notificationText({ senderNick: 'A', msgType: MSG_TYPE_SINGLE_TEXT, msgData: enc('hi').toString('latin1'), contentKey: KEY })).toBe('A: hi');
});

test('voice messages get a generic text', () => {
  expect(notificationText({ senderNick: 'Alice', msgType: MSG_TYPE_SINGLE_AUDIO, msgData: Buffer.alloc(100), contentKey: KEY })).toBe('Alice: [voice message]');
  expect(notificationText({ senderNick: 'Alice', groupName: 'G', msgType: MSG_TYPE_GROUP_AUDIO, msgData: Buffer.alloc(100) })).toBe('G Alice: [voice message]');
});

test('no key, a wrong key or bytes that are not ciphertext: generic text', () => {
  expect(notificationText({ senderNick: 'Alice', msgType: MSG_TYPE_SINGLE_TEXT, msgData: enc('secret') })).toBe('Alice: [new message]');
  const other = 'abcdefghijklmnopqrstuvwxyz012345';
  for (let i = 0; i < 20; i++) {
    expect(notificationText({ senderNick: 'Alice', msgType: MSG_TYPE_SINGLE_TEXT, msgData: enc(`secret ${i}`), contentKey: other })).toBe('Alice: [new message]');
  }
  expect(notificationText({ senderNick: 'Alice', msgType: MSG_TYPE_SINGLE_TEXT, msgData: Buffer.from('plain text'), contentKey: KEY })).toBe('Alice: [new message]');
  expect(notificationText({ senderNick: 'Alice', msgType: 0x7f, msgData: enc('x'), contentKey: KEY })).toBe('Alice: [new message]');
  expect(notificationText({ senderNick: 'Alice', msgType: MSG_TYPE_SINGLE_TEXT, msgData: enc('  \n '), contentKey: KEY })).toBe('Alice: [new message]');
});

test('long text is cut at maxPreview characters with "…"', () => {
  const long = 'x'.repeat(300);
  expect(notificationText({ senderNick: 'A', msgType: MSG_TYPE_SINGLE_TEXT, msgData: enc(long), contentKey: KEY })).toBe(`A: ${'x'.repeat(100)}…`);
  expect(notificationText({ senderNick: 'A', msgType: MSG_TYPE_SINGLE_TEXT, msgData: enc('abcdef'), contentKey: KEY, maxPreview: 3 })).toBe('A: abc…');
  expect(notificationText({ senderNick: 'A', msgType: MSG_TYPE_SINGLE_TEXT, msgData: enc('abc'), contentKey: KEY, maxPreview: 3 })).toBe('A: abc');
});

test('Chinese text and emoji are cut by character, never inside a surrogate pair', () => {
  expect(notificationText({ senderNick: '张三', groupName: '研发部', msgType: MSG_TYPE_GROUP_TEXT, msgData: enc('今天下午三点开会，请准时参加'), contentKey: KEY, maxPreview: 6 })).toBe(
    '研发部 张三: 今天下午三点…',
  );
  expect(cutPreview('a😀😀😀', 2)).toBe('a😀…');
  expect(cutPreview('👍🏽👍🏽👍🏽', 1)).toBe('👍🏽…');
  const cut = cutPreview('😀'.repeat(60), 50);
  expect(cut).toBe(`${'😀'.repeat(50)}…`);
  expect(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(cut)).toBe(false); // no lone high surrogate
});

test('images and line breaks are shown in one line', () => {
  const text = 'look\n&$#@~^@[{:http://img.example/a.png:}]&$~@#@ nice';
  expect(notificationText({ senderNick: 'A', msgType: MSG_TYPE_SINGLE_TEXT, msgData: enc(text), contentKey: KEY })).toBe('A: look [image] nice');
});
