// NATS subject syntax: non-empty tokens separated by '.', no whitespace; as whole tokens, '*' matches exactly one
// token and '>' (last token only) matches one or more. Publish subjects carry no wildcard.

const WHITESPACE = /\s/;

function tokensOk(subject: string, allowWildcards: boolean): boolean {
  if (subject.length === 0 || WHITESPACE.test(subject)) return false;
  const tokens = subject.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t === '') return false;
    if (t === '*' || t === '>') {
      if (!allowWildcards) return false;
      if (t === '>' && i !== tokens.length - 1) return false;
    }
  }
  return true;
}

export function isValidPublishSubject(subject: string): boolean {
  return typeof subject === 'string' && tokensOk(subject, false);
}

export function isValidSubscribeSubject(subject: string): boolean {
  return typeof subject === 'string' && tokensOk(subject, true);
}

export function assertPublishSubject(subject: string): void {
  if (!isValidPublishSubject(subject)) throw new TypeError(`invalid publish subject: ${JSON.stringify(subject)}`);
}

export function assertSubscribeSubject(subject: string): void {
  if (!isValidSubscribeSubject(subject)) throw new TypeError(`invalid subscribe subject: ${JSON.stringify(subject)}`);
}

export function assertQueueName(queue: string): void {
  if (typeof queue !== 'string' || queue.length === 0 || WHITESPACE.test(queue)) {
    throw new TypeError(`invalid queue group name: ${JSON.stringify(queue)}`);
  }
}

/** Whether a concrete subject matches a (possibly wildcard) pattern. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

interface TrieNode<T> {
  children: Map<string, TrieNode<T>>;
  /** Entries whose pattern ends at this node. */
  entries: Set<T>;
}

function newNode<T>(): TrieNode<T> {
  return { children: new Map(), entries: new Set() };
}

/**
 * Subscription index keyed by subject pattern: lookups cost the subject's depth times the wildcard fan-out,
 * not the number of subscriptions. '*' and '>' are stored as ordinary child keys.
 */
export class SubjectTrie<T> {
  private readonly root: TrieNode<T> = newNode();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(pattern: string, entry: T): void {
    let node = this.root;
    for (const token of pattern.split('.')) {
      let next = node.children.get(token);
      if (!next) {
        next = newNode();
        node.children.set(token, next);
      }
      node = next;
    }
    if (!node.entries.has(entry)) {
      node.entries.add(entry);
      this.count++;
    }
  }

  remove(pattern: string, entry: T): boolean {
    const path: Array<[TrieNode<T>, string]> = [];
    let node = this.root;
    for (const token of pattern.split('.')) {
      const next = node.children.get(token);
      if (!next) return false;
      path.push([node, token]);
      node = next;
    }
    if (!node.entries.delete(entry)) return false;
    this.count--;
    // Prune empty branches so churning per-user subjects does not leak nodes.
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, token] = path[i];
      const child = parent.children.get(token)!;
      if (child.entries.size > 0 || child.children.size > 0) break;
      parent.children.delete(token);
    }
    return true;
  }

  /** Every entry whose pattern matches the concrete subject. */
  match(subject: string): T[] {
    const out: T[] = [];
    this.walk(this.root, subject.split('.'), 0, out);
    return out;
  }

  private walk(node: TrieNode<T>, tokens: string[], i: number, out: T[]): void {
    if (i === tokens.length) {
      for (const e of node.entries) out.push(e);
      return;
    }
    const fwc = node.children.get('>');
    if (fwc) for (const e of fwc.entries) out.push(e);
    const pwc = node.children.get('*');
    if (pwc) this.walk(pwc, tokens, i + 1, out);
    const lit = node.children.get(tokens[i]);
    if (lit) this.walk(lit, tokens, i + 1, out);
  }
}
