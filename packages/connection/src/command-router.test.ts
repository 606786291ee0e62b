import { EventEmitter } from 'node:events';
import { IM } from '@tt/proto';
import { decodePdu } from '@tt/codec';
import { CommandRouter, type RouterEvents } from './command-router';
import type { ClientConnection } from './connection';

const { MessageCmdID, OtherCmdID } = IM.BaseDefine;

/** A connection double: records what the router writes back. */
function fakeConn(loggedIn: boolean) {
  const sent: Buffer[] = [];
  const conn = Object.assign(new EventEmitter(), {
    id: 1,
    closed: false,
    identity: loggedIn ? { userId: 7, clientType: 1, status: 1 } : undefined,
    userId: loggedIn ? 7 : 0,
    send: (cid: number, type: { encode(m: object): { finish(): Uint8Array } }, m: object, seq: number) => {
      const body = Buffer.from(type.encode(m).finish());
      const out = Buffer.alloc(16 + body.length);
      out.writeUInt32BE(out.length, 0);
      out.writeUInt16BE(cid >> 8, 8);
      out.writeUInt16BE(cid, 10);
      out.writeUInt16BE(seq, 12);
      body.copy(out, 16);
      sent.push(out);
    },
  });
  return { conn: conn as unknown as ClientConnection, sent };
}

function recorder() {
  const events: string[] = [];
  const ev: RouterEvents = {
    unknownCommand: (_c, cid) => events.push(`unknown:${cid}`),
    badBody: (_c, cid) => events.push(`bad:${cid}`),
    notLoggedIn: (_c, cid) => events.push(`gate:${cid}`),
    queueFull: (_c, cid) => events.push(`full:${cid}`),
    handlerFailed: (_c, cid) => events.push(`failed:${cid}`),
    handled: (name) => events.push(`ok:${name}`),
  };
  return { ev, events };
}

const pdu = (cid: number, body: Uint8Array, seq = 5) => ({ serviceId: cid >> 8, commandId: cid, seqNum: seq, body: Buffer.from(body) });
const settle = () => new Promise((r) => setTimeout(r, 20));

describe('CommandRouter', () => {
  it('answers with the request seq_num and the response command', async () => {
    const { ev } = recorder();
    const router = new CommandRouter(ev).on(MessageCmdID.CID_MSG_TIME_REQUEST, 'time', IM.Message.IMClientTimeReq, ({ reply }) =>
      reply(MessageCmdID.CID_MSG_TIME_RESPONSE, IM.Message.IMClientTimeRsp, { serverTime: 42 }),
    );
    const { conn, sent } = fakeConn(true);
    router.dispatch(conn, pdu(MessageCmdID.CID_MSG_TIME_REQUEST, new Uint8Array(), 777));
    await settle();
    const out = decodePdu(sent[0]);
    expect(out).toMatchObject({ serviceId: 3, commandId: MessageCmdID.CID_MSG_TIME_RESPONSE, seqNum: 777 });
    expect(IM.Message.IMClientTimeRsp.decode(out.body).serverTime).toBe(42);
  });

  it('ignores requests before login unless the command allows it, and counts unknown commands and bad bodies', async () => {
    const { ev, events } = recorder();
    const router = new CommandRouter(ev)
      .on(MessageCmdID.CID_MSG_UNREAD_CNT_REQUEST, 'unread', IM.Message.IMUnreadMsgCntReq, () => {})
      .on(OtherCmdID.CID_OTHER_HEARTBEAT, 'hb', IM.Other.IMHeartBeat, () => {}, { beforeLogin: true, immediate: true });
    const { conn } = fakeConn(false);
    router.dispatch(conn, pdu(MessageCmdID.CID_MSG_UNREAD_CNT_REQUEST, IM.Message.IMUnreadMsgCntReq.encode({ userId: 1 }).finish()));
    router.dispatch(conn, pdu(OtherCmdID.CID_OTHER_HEARTBEAT, new Uint8Array()));
    router.dispatch(conn, pdu(0x0999, new Uint8Array()));
    const logged = fakeConn(true).conn;
    // user_id is required: an empty body does not parse.
    router.dispatch(logged, pdu(MessageCmdID.CID_MSG_UNREAD_CNT_REQUEST, new Uint8Array()));
    await settle();
    expect(events.sort()).toEqual([`gate:${MessageCmdID.CID_MSG_UNREAD_CNT_REQUEST}`, 'ok:hb', 'unknown:2457', `bad:${MessageCmdID.CID_MSG_UNREAD_CNT_REQUEST}`].sort());
  });

  it('runs one connection’s requests in arrival order even when handlers take different times', async () => {
    const { ev } = recorder();
    const order: number[] = [];
    const router = new CommandRouter(ev).on(MessageCmdID.CID_MSG_UNREAD_CNT_REQUEST, 'unread', IM.Message.IMUnreadMsgCntReq, async (_ctx, req) => {
      await new Promise((r) => setTimeout(r, req.userId === 1 ? 30 : 1));
      order.push(req.userId);
    });
    const { conn } = fakeConn(true);
    for (const userId of [1, 2, 3]) router.dispatch(conn, pdu(MessageCmdID.CID_MSG_UNREAD_CNT_REQUEST, IM.Message.IMUnreadMsgCntReq.encode({ userId }).finish()));
    await router.idle(conn);
    expect(order).toEqual([1, 2, 3]);
  });

  it('pipelined requests start one after another without waiting for each other to finish; the next other request waits for them all', async () => {
    const { ev } = recorder();
    const log: string[] = [];
    const router = new CommandRouter(ev)
      .on(
        MessageCmdID.CID_MSG_UNREAD_CNT_REQUEST,
        'msg',
        IM.Message.IMUnreadMsgCntReq,
        async (_ctx, req) => {
          log.push(`start ${req.userId}`);
          await new Promise((r) => setTimeout(r, 40 - 10 * req.userId));
          log.push(`end ${req.userId}`);
        },
        { pipelined: true },
      )
      .on(MessageCmdID.CID_MSG_TIME_REQUEST, 'time', IM.Message.IMClientTimeReq, () => {
        log.push('time');
      });
    const { conn } = fakeConn(true);
    for (const userId of [1, 2, 3]) router.dispatch(conn, pdu(MessageCmdID.CID_MSG_UNREAD_CNT_REQUEST, IM.Message.IMUnreadMsgCntReq.encode({ userId }).finish()));
    router.dispatch(conn, pdu(MessageCmdID.CID_MSG_TIME_REQUEST, new Uint8Array()));
    router.dispatch(conn, pdu(MessageCmdID.CID_MSG_UNREAD_CNT_REQUEST, IM.Message.IMUnreadMsgCntReq.encode({ userId: 4 }).finish()));
    await router.idle(conn);
    // 1, 2, 3 overlap (they start in order, the shorter later ones end first); time waits for all
    // three, and 4 (pipelined, but after time) waits for time.
    expect(log).toEqual(['start 1', 'start 2', 'start 3', 'end 3', 'end 2', 'end 1', 'time', 'start 4', 'end 4']);
  });

  it('a failing handler is reported and does not stop the next request', async () => {
    const { ev, events } = recorder();
    let calls = 0;
    const router = new CommandRouter(ev).on(MessageCmdID.CID_MSG_TIME_REQUEST, 'time', IM.Message.IMClientTimeReq, () => {
      calls += 1;
      if (calls === 1) throw new Error('boom');
    });
    const { conn } = fakeConn(true);
    router.dispatch(conn, pdu(MessageCmdID.CID_MSG_TIME_REQUEST, new Uint8Array()));
    router.dispatch(conn, pdu(MessageCmdID.CID_MSG_TIME_REQUEST, new Uint8Array()));
    await settle();
    expect(events).toEqual([`failed:${MessageCmdID.CID_MSG_TIME_REQUEST}`, 'ok:time']);
  });

  it('an idle connection keeps no queue: once its requests are handled the next one starts at once, still after them', async () => {
    const { ev } = recorder();
    const order: string[] = [];
    let release!: () => void;
    const router = new CommandRouter(ev).on(MessageCmdID.CID_MSG_TIME_REQUEST, 'time', IM.Message.IMClientTimeReq, async (ctx) => {
      order.push(`start ${ctx.seqNum}`);
      if (ctx.seqNum === 1) await new Promise<void>((r) => (release = r));
      order.push(`end ${ctx.seqNum}`);
    });
    const { conn } = fakeConn(true);
    router.dispatch(conn, pdu(MessageCmdID.CID_MSG_TIME_REQUEST, new Uint8Array(), 1));
    router.dispatch(conn, pdu(MessageCmdID.CID_MSG_TIME_REQUEST, new Uint8Array(), 2));
    await settle();
    expect(router['queues'].has(conn)).toBe(true); // 1 under way, 2 waiting
    release();
    await router.idle(conn);
    expect(router['queues'].has(conn)).toBe(false);
    router.dispatch(conn, pdu(MessageCmdID.CID_MSG_TIME_REQUEST, new Uint8Array(), 3));
    await router.idle(conn);
    expect(order).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
  });
});
