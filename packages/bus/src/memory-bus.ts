import { defaultOnError, HandlerRunner } from './dispatch';
import { assertPublishSubject, assertQueueName, assertSubscribeSubject, SubjectTrie } from './subject';
import {
  BusError,
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type BusBaseOptions,
  type BusHandler,
  type BusMsg,
  type BusSubscription,
  type MessageBus,
  type RequestOptions,
  type SubscribeOptions,
} from './types';

export type MemoryBusOptions = BusBaseOptions;

class MemorySub implements BusSubscription {
  readonly kind = 'sub';
  closed = false;
  constructor(
    private readonly bus: MemoryBus,
    readonly subject: string,
    readonly handler: BusHandler,
    readonly queue: string | undefined,
  ) {}

  unsubscribe(): void {
    if (this.closed) return;
    this.closed = true;
    this.bus._remove(this);
  }
}

interface Delivery {
  sub: MemorySub;
  subject: string;
  reply: string | undefined;
  data: Uint8Array;
}

/** Queued work: a delivery, or a flush marker that resolves when the queue reaches it. */
type QueueItem = Delivery | (() => void);

/** A queue group sits in the subject index as one target; each message picks one member, round-robin. */
interface QueueGroup {
  kind: 'group';
  key: string;
  members: MemorySub[];
  next: number;
}

type Target = MemorySub | QueueGroup;

interface PendingRequest {
  resolve(data: Uint8Array): void;
  reject(err: BusError): void;
}

const INBOX_PREFIX = '_INBOX.mem.';

/**
 * The in-process MessageBus for standalone mode, with NATS semantics: wildcards, queue groups (round-robin over
 * members), request/reply with timeouts and NO_RESPONDERS. Deliveries are always asynchronous (a later
 * macrotask, never inside publish) and follow one global FIFO, so each publisher's order is preserved.
 * Data is copied at publish, as a network hop would, so a publisher may reuse its buffer.
 */
export class MemoryBus implements MessageBus {
  private readonly index = new SubjectTrie<Target>();
  private readonly groups = new Map<string, QueueGroup>(); // key: subject + '\0' + queue
  private readonly subs = new Set<MemorySub>();
  private readonly pending = new Map<string, PendingRequest>();
  private queue: QueueItem[] = [];
  private scheduled = false;
  private closing = false;
  private closed = false;
  private closePromise?: Promise<void>;
  private nextInbox = 0;
  private readonly runner: HandlerRunner;
  private readonly requestTimeoutMs: number;
  private readonly closeTimeoutMs: number;

  constructor(options: MemoryBusOptions = {}) {
    this.runner = new HandlerRunner(options.onError ?? defaultOnError);
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.closeTimeoutMs = options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
  }

  /** Handler throws/rejections so far. */
  get handlerErrors(): number {
    return this.runner.errors;
  }

  publish(subject: string, data: Uint8Array): void {
    this.send(subject, data, undefined);
  }

  subscribe(subject: string, handler: BusHandler, opts: SubscribeOptions = {}): BusSubscription {
    if (this.closing || this.closed) throw new BusError('CLOSED', 'bus is closed');
    assertSubscribeSubject(subject);
    if (opts.queue !== undefined) assertQueueName(opts.queue);
    const sub = new MemorySub(this, subject, handler, opts.queue);
    this.subs.add(sub);
    if (sub.queue === undefined) {
      this.index.add(subject, sub);
    } else {
      const key = groupKey(subject, sub.queue);
      let group = this.groups.get(key);
      if (!group) {
        group = { kind: 'group', key, members: [], next: 0 };
        this.groups.set(key, group);
        this.index.add(subject, group);
      }
      group.members.push(sub);
    }
    return sub;
  }

  request(subject: string, data: Uint8Array, opts: RequestOptions = {}): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new BusError('CLOSED', 'bus is closed'));
    assertPublishSubject(subject);
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
    const inbox = `${INBOX_PREFIX}${++this.nextInbox}`;
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(inbox);
        reject(new BusError('TIMEOUT', `request to ${subject} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.pending.delete(inbox);
      };
      this.pending.set(inbox, {
        resolve: (reply) => {
          done();
          resolve(reply);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      });
      const delivered = this.send(subject, data, inbox);
      if (delivered === 0) {
        this.pending.get(inbox)!.reject(new BusError('NO_RESPONDERS', `no responders for ${subject}`));
      }
    });
  }

  flush(): Promise<void> {
    if (this.closed) return Promise.reject(new BusError('CLOSED', 'bus is closed'));
    return new Promise<void>((resolve) => this.enqueue(resolve));
  }

  isConnected(): boolean {
    return !this.closed;
  }

  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doClose(): Promise<void> {
    this.closing = true;
    // Drain: hand over what was published before close, then stop the subscriptions.
    await new Promise<void>((resolve) => this.enqueue(resolve));
    for (const sub of [...this.subs]) sub.unsubscribe();
    // Running handlers may still answer requests or publish.
    await this.runner.idle(this.closeTimeoutMs);
    await new Promise<void>((resolve) => this.enqueue(resolve));
    this.closed = true;
    for (const p of [...this.pending.values()]) p.reject(new BusError('CLOSED', 'bus closed while waiting for a reply'));
  }

  /** @internal */
  _remove(sub: MemorySub): void {
    this.subs.delete(sub);
    if (sub.queue === undefined) {
      this.index.remove(sub.subject, sub);
      return;
    }
    const group = this.groups.get(groupKey(sub.subject, sub.queue));
    if (!group) return;
    const i = group.members.indexOf(sub);
    if (i < 0) return;
    group.members.splice(i, 1);
    if (group.next > i) group.next--;
    if (group.next >= group.members.length) group.next = 0;
    if (group.members.length === 0) {
      this.groups.delete(group.key);
      this.index.remove(sub.subject, group);
    }
  }

  /** Routes one message; returns how many subscriptions it was queued for. */
  private send(subject: string, data: Uint8Array, reply: string | undefined): number {
    if (this.closed) throw new BusError('CLOSED', 'bus is closed');
    assertPublishSubject(subject);
    if (subject.startsWith(INBOX_PREFIX)) {
      // A reply: goes straight to the waiting request, still asynchronously.
      const copy = data.slice();
      this.enqueue(() => this.pending.get(subject)?.resolve(copy));
      return this.pending.has(subject) ? 1 : 0;
    }
    const matched = this.index.match(subject);
    if (matched.length === 0) return 0;
    const first = data.slice();
    let n = 0;
    for (const target of matched) {
      let sub: MemorySub;
      if (target.kind === 'group') {
        sub = target.members[target.next];
        target.next = (target.next + 1) % target.members.length;
      } else {
        sub = target;
      }
      this.enqueue({ sub, subject, reply, data: n === 0 ? first : first.slice() });
      n++;
    }
    return n;
  }

  private enqueue(item: QueueItem): void {
    this.queue.push(item);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    this.scheduled = false;
    // Items queued while draining wait for the next turn, so ping-pong between handlers cannot starve I/O.
    const batch = this.queue;
    this.queue = [];
    for (const item of batch) {
      if (typeof item === 'function') {
        item();
        continue;
      }
      const { sub, subject, reply, data } = item;
      if (sub.closed) continue;
      const msg: BusMsg = {
        subject,
        reply,
        respond: (answer: Uint8Array): boolean => {
          if (reply === undefined || this.closed) return false;
          this.send(reply, answer, undefined);
          return true;
        },
      };
      this.runner.run(sub.handler, data, msg, { subject: sub.subject, queue: sub.queue });
    }
  }
}

function groupKey(subject: string, queue: string): string {
  return `${subject}\0${queue}`;
}
