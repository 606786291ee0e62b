// Protobuf envelopes: the WebSocket front (WebSocketMessage, one per binary
// message) and MSync (the MSync envelope, one per WebSocket message or after
// a 4-byte length on TCP). The mutations' "body" is the command's own
// message inside the envelope.
import { IM } from '@tt/proto';
import type { Endpoint } from '../conn';
import type { Sample } from '../mutate';
import { encodeMessage, messageType, randomMessage } from '../protobuf-gen';
import type { Rng } from '../rng';
import { frames, pickCommand, type Target } from './target';

// ---------------------------------------------------------------- WebSocket front

const { CommandType } = IM.Ws;

/** Body type per command (the front's router); the other commands get a random IM.Ws type. */
const WS_TYPES: Record<number, string> = {
  [CommandType.CMD_HEARTBEAT_REQ]: 'IM.Ws.HeartbeatRequest',
  [CommandType.CMD_AUTH_REQ]: 'IM.Ws.AuthRequest',
  [CommandType.CMD_SEND_MSG_REQ]: 'IM.Ws.SendMessageRequest',
  [CommandType.CMD_MSG_ACK]: 'IM.Ws.MessageAck',
  [CommandType.CMD_SYNC_REQ]: 'IM.Ws.SyncRequest',
  [CommandType.CMD_READ_RECEIPT_REQ]: 'IM.Ws.ReadReceiptRequest',
  [CommandType.CMD_TYPING_STATUS_REQ]: 'IM.Ws.TypingStatusRequest',
  [CommandType.CMD_REVOKE_MSG_REQ]: 'IM.Ws.RevokeMessageRequest',
};

function envelope(command: number, sequence: number, body: Buffer, timestamp: number): Buffer {
  return encodeMessage('IM.Ws.WebSocketMessage', { command, sequence, body, timestamp });
}

/** A WebSocket message has no length field of its own: a "length change" cuts or pads the envelope. */
function resize(frame: Buffer, delta: number, rng: Rng): Buffer {
  if (delta < 0) return frame.subarray(0, Math.max(0, frame.length + Math.max(delta, -frame.length)));
  return Buffer.concat([frame, rng.bytes(Math.min(delta, 4096))]);
}

function wsSample(command: number, sequence: number, body: Buffer, timestamp: number, rng: Rng): Sample {
  return { body, headerBytes: 0, wrap: (b, delta = 0) => resize(envelope(command, sequence, b, timestamp), delta, rng) };
}

export function wsTarget(endpoint: Endpoint): Target {
  const commandIds = Object.values(CommandType).filter((v): v is number => typeof v === 'number');
  const others = Object.values(WS_TYPES);
  const reply = (command: number, sequence?: number) => (msg: Buffer) => {
    const m = IM.Ws.WebSocketMessage.decode(msg);
    return m.command === command && (sequence === undefined || m.sequence === sequence) ? m : undefined;
  };
  const heartbeat = async (conn: Parameters<Target['probe']>[0], sequence: number) => {
    const answer = conn.expect(reply(CommandType.CMD_HEARTBEAT_RSP, sequence));
    await conn.send([envelope(CommandType.CMD_HEARTBEAT_REQ, sequence, encodeMessage('IM.Ws.HeartbeatRequest', { clientTime: Date.now() }), Date.now())]);
    await answer;
  };
  return {
    name: 'ws',
    transport: 'ws',
    role: 'msg_server',
    endpoint,
    hasSession: true,
    messageTypes: [...new Set(others)],
    sample(rng, ctx) {
      const command = rng.chance(0.95) ? rng.pick(commandIds) : rng.integer(16, false);
      const body = randomMessage(messageType(WS_TYPES[command] ?? rng.pick(others)), rng, ctx.hints);
      return wsSample(command, rng.integer(32, false), body, rng.integer(53, true), rng);
    },
    async login(conn, user, ctx) {
      const token = await ctx.token(user);
      const answer = conn.expect(reply(CommandType.CMD_AUTH_RSP));
      await conn.send([envelope(CommandType.CMD_AUTH_REQ, 1, encodeMessage('IM.Ws.AuthRequest', { userId: user.name, token, platform: 'Web' }), Date.now())]);
      const res = IM.Ws.AuthResponse.decode((await answer).body);
      if (res.errorCode !== 0) throw new Error(`WebSocket auth of ${user.name}: error ${res.errorCode} ${res.errorMsg}`);
    },
    probe: (conn) => heartbeat(conn, 1),
    // Answers carry the request's sequence; the pools' are random (a match is almost surely this one's).
    sync: (conn, _loggedIn, n) => heartbeat(conn, 0xfffffff0 - (n % 0xffff)),
  };
}

// ---------------------------------------------------------------- MSync

const { Command } = IM.MSync.MSync;

/** The payload type of each command (client to server). */
const MSYNC_PAYLOADS: Record<number, string> = {
  [Command.PROVISION]: 'IM.MSync.Provision',
  [Command.SYNC]: 'IM.MSync.CommSyncUL',
  [Command.UNREAD]: 'IM.MSync.CommUnreadUL',
  [Command.LOGOUT]: 'IM.MSync.Logout',
  [Command.NOTICE]: 'IM.MSync.CommNotice',
};
/** Message bodies that travel inside a SYNC's metas (Meta.payload): generated separately so they are valid too. */
const META_BODIES = ['IM.MSync.MessageBody', 'IM.MSync.MUCBody', 'IM.MSync.RosterBody'];

function msyncEnvelope(fields: Record<string, unknown>, payload: Buffer): Buffer {
  return encodeMessage('IM.MSync.MSync', { ...fields, payload });
}

function msyncPayload(command: number, rng: Rng, ctx: Parameters<Target['sample']>[1]): Buffer {
  const type = MSYNC_PAYLOADS[command] ?? rng.pick(Object.values(MSYNC_PAYLOADS));
  if (type !== 'IM.MSync.CommSyncUL' || rng.chance(0.3)) return randomMessage(messageType(type), rng, ctx.hints);
  // A SYNC carrying a meta whose payload is a valid chat/MUC/roster body.
  const meta = { ...randomObjectOf(messageType('IM.MSync.Meta'), rng, ctx), payload: randomMessage(messageType(rng.pick(META_BODIES)), rng, ctx.hints) };
  return encodeMessage('IM.MSync.CommSyncUL', { ...randomObjectOf(messageType('IM.MSync.CommSyncUL'), rng, ctx), meta });
}

function randomObjectOf(type: ReturnType<typeof messageType>, rng: Rng, ctx: Parameters<Target['sample']>[1]): Record<string, unknown> {
  return type.toObject(type.decode(randomMessage(type, rng, ctx.hints)));
}

/** TCP: a 4-byte big-endian length (not counting itself) before each envelope. */
function lengthPrefixed(envelopeBytes: Buffer, delta: number): Buffer {
  const out = Buffer.allocUnsafe(4 + envelopeBytes.length);
  out.writeUInt32BE((envelopeBytes.length + delta) >>> 0, 0);
  envelopeBytes.copy(out, 4);
  return out;
}

const msyncLength = (buf: Buffer, at: number) => 4 + buf.readUInt32BE(at);

export function msyncTarget(name: 'msync-ws' | 'msync-tcp', endpoint: Endpoint): Target {
  const tcp = name === 'msync-tcp';
  const commandIds = Object.values(Command).filter((v): v is number => typeof v === 'number');
  const frame = (env: Buffer, delta: number, rng?: Rng) => (tcp ? lengthPrefixed(env, delta) : rng ? resize(env, delta, rng) : env);
  /** The first envelope of `command` received (TCP: in the stream; WebSocket: this message). */
  const reply = (command: number) => (data: Buffer) => {
    const envelopes = tcp ? [...frames(data, 4, msyncLength)].map((f) => f.subarray(4)) : [data];
    for (const e of envelopes) {
      const m = IM.MSync.MSync.decode(e);
      if (m.command === command) return m;
    }
    return undefined;
  };
  /** A provision with a wrong password: answered with UNAUTHORIZED, which proves the front decodes and answers. */
  const provisionProbe = async (conn: Parameters<Target['probe']>[0]) => {
    const answer = conn.expect(reply(Command.PROVISION));
    const provision = encodeMessage('IM.MSync.Provision', { resource: 'probe', password: 'not-the-password' });
    await conn.send([frame(msyncEnvelope({ version: 0, command: Command.PROVISION, guid: { appKey: 'ttorg#ttapp', name: 'fuzz-probe-nobody', domain: 'easemob.com', clientResource: 'probe' } }, provision), 0)]);
    await answer;
  };
  return {
    name,
    transport: tcp ? 'tcp' : 'ws',
    role: 'msg_server',
    endpoint,
    hasSession: true,
    messageTypes: [...Object.values(MSYNC_PAYLOADS), ...META_BODIES],
    sample(rng, ctx) {
      const command = rng.chance(0.95) ? pickCommand(rng, commandIds, [Command.LOGOUT]) : rng.integer(16, false);
      const header: Record<string, unknown> = { version: rng.chance(0.9) ? 0 : rng.integer(16, false), command };
      if (rng.chance(0.5)) header.guid = { appKey: 'ttorg#ttapp', name: rng.pick(ctx.hints.userNames.length ? ctx.hints.userNames : ['x']), domain: 'easemob.com', clientResource: rng.string(16) };
      if (rng.chance(0.2)) header.auth = rng.string(64);
      if (rng.chance(0.1)) header.compressAlgorimth = rng.integer(32, false);
      const payload = msyncPayload(command, rng, ctx);
      return { body: payload, headerBytes: tcp ? 4 : 0, wrap: (b, delta = 0) => frame(msyncEnvelope(header, b), delta, rng) };
    },
    async login(conn, user, _ctx, slot) {
      const resource = `fuzz${slot}`;
      const provision = encodeMessage('IM.MSync.Provision', { resource, password: user.password });
      const answer = conn.expect(reply(Command.PROVISION));
      await conn.send([frame(msyncEnvelope({ version: 0, command: Command.PROVISION, guid: { appKey: 'ttorg#ttapp', name: user.name, domain: 'easemob.com', clientResource: resource } }, provision), 0)]);
      const res = IM.MSync.Provision.decode((await answer).payload);
      if ((res.status?.errorCode ?? 0) !== 0) throw new Error(`MSync provision of ${user.name}: ${res.status?.errorCode} ${res.status?.reason}`);
    },
    probe: (conn) => provisionProbe(conn),
    async sync(conn, loggedIn) {
      if (!loggedIn) return provisionProbe(conn);
      // Logged in: UNREAD (answered in order; a pool's UNREAD answer may match first, one batch early at most).
      const answer = conn.expect(reply(Command.UNREAD));
      await conn.send([frame(msyncEnvelope({ version: 0, command: Command.UNREAD }, Buffer.alloc(0)), 0)]);
      await answer;
    },
  };
}
