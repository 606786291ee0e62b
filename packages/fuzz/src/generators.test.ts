// The fuzzer's frames: valid ones really are valid (the server's own decoders
// take them), mutated ones differ, and a seed replays the same bytes.
import * as net from 'node:net';
import { IM, commands } from '@tt/proto';
import { PacketPayloads, decodeStruct, type StructSchema } from '@tt/omtp';
import { Rng } from './rng';
import { messageType, randomMessage } from './protobuf-gen';
import { randomTars } from './tars-gen';
import { mutate } from './mutate';
import { runPhase } from './drive';
import { teamtalkTarget, tcp12Target, omtpTarget } from './targets/binary';
import { wsTarget, msyncTarget } from './targets/websocket';
import { adminApiTarget, fileHttpTarget, loginHttpTarget } from './targets/http';
import type { Target, TargetContext } from './targets/target';

const ctx: TargetContext = { hints: { userIds: [7, 8], userNames: ['alice'] }, users: [{ name: 'bob', id: 9, password: 'pw' }], apiRoutes: [{ method: 'POST', path: '/api/v1/users', body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } }], token: async () => 't', adminToken: 'a', viewerToken: 'v', chatToken: 'c' };
const at = { host: '127.0.0.1', port: 1 };
const allTargets = (): Target[] => [teamtalkTarget(at), tcp12Target(at), omtpTarget(at), wsTarget(at), msyncTarget('msync-ws', at), msyncTarget('msync-tcp', at), loginHttpTarget(at), adminApiTarget(at), fileHttpTarget(at)];

describe('valid frames', () => {
  it('a random body of every TeamTalk command decodes with the generated code, required fields included', () => {
    const rng = new Rng(1);
    for (const c of commands) {
      for (let i = 0; i < 20; i++) {
        const body = randomMessage(messageType(c.name), rng, ctx.hints);
        expect(() => c.type.decode(body)).not.toThrow();
      }
    }
  });

  it('a random payload of every OMTP request struct decodes with the server\'s Tars tables', () => {
    const rng = new Rng(2);
    const schemas = Object.values(PacketPayloads).flatMap((p) => ('request' in p && p.request ? [p.request as StructSchema<unknown>] : []));
    expect(schemas.length).toBeGreaterThan(20);
    for (const schema of schemas) for (let i = 0; i < 20; i++) expect(() => decodeStruct(schema, randomTars(schema, rng, ctx.hints))).not.toThrow();
  });

  it('a WebSocket-front sample is a WebSocketMessage carrying the body', () => {
    const rng = new Rng(3);
    const s = wsTarget(at).sample(rng, ctx, false);
    const m = IM.Ws.WebSocketMessage.decode(s.wrap(s.body));
    expect(Buffer.from(m.body).equals(s.body)).toBe(true);
  });
});

describe('mutations and seeds', () => {
  it('the same seed gives the same frames, another seed other frames', () => {
    for (const target of allTargets()) {
      const frames = (seed: number) => {
        const rng = new Rng(seed);
        return Array.from({ length: 30 }, () => {
          const s = target.sample(rng, ctx, true);
          return Buffer.concat([s.wrap(s.body), mutate(s, rng)]).toString('hex');
        });
      };
      expect(frames(42)).toEqual(frames(42));
      expect(frames(42)).not.toEqual(frames(43));
    }
  });

  it('a mutated frame differs from the valid one most of the time', () => {
    const rng = new Rng(4);
    const target = teamtalkTarget(at);
    let differ = 0;
    for (let i = 0; i < 200; i++) {
      const s = target.sample(rng, ctx, false);
      if (!mutate(s, rng).equals(s.wrap(s.body))) differ++;
    }
    expect(differ).toBeGreaterThan(180);
  });
});

describe('the driver', () => {
  it('reports a port where nothing listens instead of hanging', async () => {
    const closed = await new Promise<number>((resolve) => {
      const srv = net.createServer();
      srv.listen(0, '127.0.0.1', () => {
        const port = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(port));
      });
    });
    const stats = await runPhase(teamtalkTarget({ host: '127.0.0.1', port: closed }), ctx, { frames: 1000, seconds: 10, connections: 1, batch: 16, seed: 1 });
    expect(stats.framesSent).toBe(0);
    expect(stats.errors.join()).toMatch(/connects in a row failed/);
  });

  it('counts the connections a server closes when it gets garbage, and reconnects', async () => {
    // A server that reads one chunk and hangs up: what a front does with a broken frame.
    const srv = net.createServer((s) => s.once('data', () => s.destroy()));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    try {
      const stats = await runPhase(tcp12Target({ host: '127.0.0.1', port }), { ...ctx, users: [] }, { frames: 2000, seconds: 20, connections: 1, batch: 16, seed: 5 });
      expect(stats.framesSent).toBe(2000);
      expect(stats.connects).toBeGreaterThan(5);
      expect(stats.closedByServer).toBeGreaterThan(0);
    } finally {
      srv.close();
    }
  });
});
