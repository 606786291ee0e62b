// Presence events of one turn of the event loop are published together at its
// end (one write to NATS in a login storm), each with its own number, in order.
import { MemoryBus } from '@tt/bus';
import { IM, clusterSubjects } from '@tt/proto';
import type { ClientConnection } from './connection';
import { ConnectionRegistry } from './connection-registry';
import { PresencePublisher } from './presence';

const subjects = clusterSubjects('presencetest');
const turn = () => new Promise<void>((r) => setImmediate(r));

/** What the publisher reads of a connection. */
const connection = (id: number, userId: number) => ({ id, userId, identity: { userId, clientType: IM.BaseDefine.ClientType.CLIENT_TYPE_ANDROID, status: 1 }, front: { name: 'teamtalk' } }) as unknown as ClientConnection;

describe('PresencePublisher', () => {
  let bus: MemoryBus;
  /** Every publish, with the synchronous run it happened in. */
  let published: Array<{ subject: string; run: number }>;
  let run = 0;
  let received: IM.Cluster.PresenceUpdate[];
  let snapshots: IM.Cluster.PresenceSnapshot[];
  let presence: PresencePublisher;

  beforeEach(() => {
    bus = new MemoryBus();
    published = [];
    received = [];
    snapshots = [];
    const publish = bus.publish.bind(bus);
    bus.publish = (subject, data) => {
      published.push({ subject, run });
      publish(subject, data);
    };
    bus.subscribe(subjects.presence, (data) => void received.push(IM.Cluster.PresenceUpdate.decode(data)));
    bus.subscribe(subjects.presenceSnapshot, (data) => void snapshots.push(IM.Cluster.PresenceSnapshot.decode(data)));
    presence = new PresencePublisher(bus, new ConnectionRegistry(), 'ms-1', subjects);
  });
  afterEach(() => bus.close());

  it('a storm of logins and logouts in one turn is published at its end, in one go, numbered in order', async () => {
    const conns = Array.from({ length: 100 }, (_, i) => connection(i + 1, 1000 + i));
    run = 1;
    for (const c of conns) presence.online(c);
    for (const c of conns.slice(0, 10)) presence.offline(c);
    expect(published).toHaveLength(0);
    run = 2;
    await turn();
    expect(published).toHaveLength(110);
    expect(new Set(published.map((p) => p.run))).toEqual(new Set([2]));
    await turn();
    await turn();
    expect(received.map((u) => u.seq)).toEqual(Array.from({ length: 110 }, (_, i) => i + 1));
    expect(received.slice(0, 100).every((u, i) => u.online && u.conn!.userId === 1000 + i)).toBe(true);
    expect(received.slice(100).every((u, i) => !u.online && u.conn!.userId === 1000 + i)).toBe(true);
  });

  it('a snapshot goes out after every event numbered before it', async () => {
    presence.online(connection(1, 7));
    presence.online(connection(2, 8));
    presence.publishSnapshot();
    expect(published.map((p) => p.subject)).toEqual([subjects.presence, subjects.presence, subjects.presenceSnapshot]);
    await turn();
    await turn();
    expect(received.map((u) => u.seq)).toEqual([1, 2]);
    expect(snapshots.map((s) => s.seq)).toEqual([2]);
  });

  it('events of a retired incarnation leave before its numbering restarts', async () => {
    presence.online(connection(1, 7));
    presence.retire([]);
    presence.online(connection(2, 8));
    await turn();
    await turn();
    await turn();
    expect(received.map((u) => [u.conn!.userId, u.seq])).toEqual([
      [7, 1],
      [8, 1],
    ]);
  });
});
