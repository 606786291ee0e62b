import { isValidPublishSubject, isValidSubscribeSubject, SubjectTrie, subjectMatches } from './subject';

test('subject validation', () => {
  expect(isValidPublishSubject('a.b.c')).toBe(true);
  expect(isValidPublishSubject('a.*')).toBe(false);
  expect(isValidPublishSubject('a.>')).toBe(false);
  expect(isValidPublishSubject('a..b')).toBe(false);
  expect(isValidPublishSubject('.a')).toBe(false);
  expect(isValidPublishSubject('a b')).toBe(false);
  expect(isValidPublishSubject('')).toBe(false);
  expect(isValidPublishSubject('a*.b')).toBe(true); // partial wildcard is a literal in NATS
  expect(isValidSubscribeSubject('a.*.c')).toBe(true);
  expect(isValidSubscribeSubject('>')).toBe(true);
  expect(isValidSubscribeSubject('a.>')).toBe(true);
  expect(isValidSubscribeSubject('a.>.b')).toBe(false);
  expect(isValidSubscribeSubject('a.\tb')).toBe(false);
});

test('subjectMatches', () => {
  expect(subjectMatches('a.b', 'a.b')).toBe(true);
  expect(subjectMatches('a.*', 'a.b')).toBe(true);
  expect(subjectMatches('a.*', 'a.b.c')).toBe(false);
  expect(subjectMatches('a.*', 'a')).toBe(false);
  expect(subjectMatches('a.>', 'a.b.c')).toBe(true);
  expect(subjectMatches('a.>', 'a')).toBe(false);
  expect(subjectMatches('>', 'x')).toBe(true);
  expect(subjectMatches('*.b.>', 'a.b.c.d')).toBe(true);
  expect(subjectMatches('*.b.>', 'a.c.c.d')).toBe(false);
});

test('SubjectTrie agrees with subjectMatches and prunes on remove', () => {
  const patterns = ['a', 'a.b', 'a.*', 'a.>', '*.b', '>', '*.*.c', 'a.b.c', 'x.>'];
  const trie = new SubjectTrie<string>();
  for (const p of patterns) trie.add(p, p);
  expect(trie.size).toBe(patterns.length);
  for (const s of ['a', 'a.b', 'a.b.c', 'x.b', 'x.y.c', 'q', 'x.y.z.w']) {
    expect(trie.match(s).sort()).toEqual(patterns.filter((p) => subjectMatches(p, s)).sort());
  }
  for (const p of patterns) expect(trie.remove(p, p)).toBe(true);
  expect(trie.remove('a', 'a')).toBe(false);
  expect(trie.size).toBe(0);
  expect((trie as unknown as { root: { children: Map<string, unknown> } }).root.children.size).toBe(0);
});
