// Length-prefixed binary fronts: TeamTalk PDUs (msg_server and file_server),
// tcp12's 12-byte header, OMTP's Tars packs.
import { createHash } from 'node:crypto';
import { deflateSync, gzipSync } from 'node:zlib';
import { PDU_HEADER_LENGTH, PDU_VERSION } from '@tt/codec';
import { IM, commands, type CommandInfo } from '@tt/proto';
import { DeviceType, Flags, OMTP_VERSION, PacketPayloads, PackType, encodePack, encodeStruct, decodePack, decodeStruct, LoginReq, LoginResp, type StructSchema } from '@tt/omtp';
import { encodeTcp12Frame } from '@tt/client';
import type { Endpoint } from '../conn';
import type { Sample } from '../mutate';
import { messageType, randomMessage, encodeMessage } from '../protobuf-gen';
import { randomTars } from '../tars-gen';
import type { Rng } from '../rng';
import { frames, pickCommand, type Target } from './target';

const md5Hex = (s: string) => createHash('md5').update(s).digest('hex');

// ---------------------------------------------------------------- TeamTalk PDUs

function pduSample(commandId: number, body: Buffer, seq: number): Sample {
  return {
    body,
    headerBytes: PDU_HEADER_LENGTH,
    wrap: (b, delta = 0) => {
      const out = Buffer.allocUnsafe(PDU_HEADER_LENGTH + b.length);
      out.writeUInt32BE((PDU_HEADER_LENGTH + b.length + delta) >>> 0, 0);
      out.writeUInt16BE(PDU_VERSION, 4);
      out.writeUInt16BE(0, 6);
      out.writeUInt16BE((commandId >> 8) & 0xffff, 8);
      out.writeUInt16BE(commandId & 0xffff, 10);
      out.writeUInt16BE(seq & 0xffff, 12);
      out.writeUInt16BE(0, 14);
      b.copy(out, PDU_HEADER_LENGTH);
      return out;
    },
  };
}

const pduLength = (buf: Buffer, at: number) => buf.readUInt32BE(at);

/** The first PDU of `commandId` (and of seqNum `seq`, if given) in a received stream, decoded. */
function findPdu<T>(commandId: number, decode: (body: Buffer) => T, seq?: number): (buf: Buffer) => T | undefined {
  return (buf) => {
    for (const f of frames(buf, PDU_HEADER_LENGTH, pduLength)) if (f.readUInt16BE(10) === commandId && (seq === undefined || f.readUInt16BE(12) === seq)) return decode(f.subarray(PDU_HEADER_LENGTH));
    return undefined;
  };
}

/** A heartbeat answered with its own seqNum (the pools' seqNums are random: a match is this one's answer, or rarely an earlier one). */
async function heartbeatSync(conn: Parameters<NonNullable<Target['sync']>>[0], n: number): Promise<void> {
  const seq = n & 0xffff;
  const reply = conn.expect(findPdu(OtherCmdID.CID_OTHER_HEARTBEAT, () => true, seq));
  await conn.send([pduSample(OtherCmdID.CID_OTHER_HEARTBEAT, Buffer.alloc(0), seq).wrap(Buffer.alloc(0))]);
  await reply;
}

const typeOf = (c: CommandInfo) => messageType(c.name);

/** Every command of the wire table: requests, and the responses and server-only commands a client must not be able to send either. */
const TT_TERMINAL = commands.filter((c) => c.commandId === IM.BaseDefine.LoginCmdID.CID_LOGIN_REQ_LOGINOUT);

function randomPdu(pool: readonly CommandInfo[], rng: Rng, ctx: Parameters<Target['sample']>[1]): Sample {
  // Mostly a known command; sometimes an id no table has.
  if (rng.chance(0.05)) return pduSample(rng.int(0, 0xffff), rng.bytes(rng.size(64)), rng.int(0, 0xffff));
  const c = pickCommand(rng, pool, TT_TERMINAL);
  return pduSample(c.commandId, randomMessage(typeOf(c), rng, ctx.hints), rng.int(0, 0xffff));
}

const { LoginCmdID, OtherCmdID, ServiceID } = IM.BaseDefine;

export function teamtalkTarget(endpoint: Endpoint): Target {
  const heartbeat = pduSample(OtherCmdID.CID_OTHER_HEARTBEAT, Buffer.alloc(0), 1).wrap(Buffer.alloc(0));
  return {
    name: 'teamtalk',
    transport: 'tcp',
    role: 'msg_server',
    endpoint,
    hasSession: true,
    messageTypes: commands.map((c) => c.name),
    sample: (rng, ctx) => randomPdu(commands, rng, ctx),
    async login(conn, user) {
      const body = encodeMessage('IM.Login.IMLoginReq', { userName: user.name, password: md5Hex(user.password), onlineStatus: 1, clientType: 1, clientVersion: 'tt-fuzz' });
      const reply = conn.expect(findPdu(LoginCmdID.CID_LOGIN_RES_USERLOGIN, (b) => IM.Login.IMLoginRes.decode(b)));
      await conn.send([pduSample(LoginCmdID.CID_LOGIN_REQ_USERLOGIN, body, 1).wrap(body)]);
      const res = await reply;
      if (res.resultCode !== 0) throw new Error(`TeamTalk login of ${user.name}: result ${res.resultCode} ${res.resultString}`);
    },
    async probe(conn) {
      const reply = conn.expect(findPdu(OtherCmdID.CID_OTHER_HEARTBEAT, () => true));
      await conn.send([heartbeat]);
      await reply;
    },
    sync: (conn, _loggedIn, n) => heartbeatSync(conn, n),
  };
}

export function fileTarget(endpoint: Endpoint): Target {
  // The file service's own commands, and a few others (anything may arrive).
  const fileCommands = commands.filter((c) => c.serviceId === ServiceID.SID_FILE || c.commandId === OtherCmdID.CID_OTHER_HEARTBEAT);
  const heartbeat = pduSample(OtherCmdID.CID_OTHER_HEARTBEAT, Buffer.alloc(0), 1).wrap(Buffer.alloc(0));
  return {
    name: 'file',
    transport: 'tcp',
    role: 'file_server',
    endpoint,
    hasSession: false,
    messageTypes: fileCommands.map((c) => c.name),
    sample: (rng, ctx) => randomPdu(rng.chance(0.9) ? fileCommands : commands, rng, ctx),
    async probe(conn) {
      const reply = conn.expect(findPdu(OtherCmdID.CID_OTHER_HEARTBEAT, () => true));
      await conn.send([heartbeat]);
      await reply;
    },
    sync: (conn, _loggedIn, n) => heartbeatSync(conn, n),
  };
}

// ---------------------------------------------------------------- tcp12

const TCP12_HEADER = 12;
const { IMCommand, RoomCommand } = IM.Tcp12;

/** Body type per command (the front's router); commands it does not route get a random Tcp12 type. */
const TCP12_TYPES: Record<number, string> = {
  [IMCommand.LOGIN]: 'IM.Tcp12.LoginRequest',
  [IMCommand.LOGOUT]: 'IM.Tcp12.ErrorInfo',
  [IMCommand.PING]: 'IM.Tcp12.Ping',
  [IMCommand.MS]: 'IM.Tcp12.Message',
  [IMCommand.MP]: 'IM.Tcp12.PullRequest',
  [IMCommand.MR]: 'IM.Tcp12.RecallRequest',
  [RoomCommand.RJ]: 'IM.Tcp12.RoomRequest',
  [RoomCommand.RL]: 'IM.Tcp12.RoomRequest',
  [RoomCommand.RH]: 'IM.Tcp12.RoomHistoryRequest',
};
const TCP12_OTHER_TYPES = ['IM.Tcp12.Message', 'IM.Tcp12.PullRequest', 'IM.Tcp12.Ping', 'IM.Tcp12.ErrorInfo'];

function tcp12Sample(command: number, flag: number, status: number, body: Buffer, seq: number, version = 1): Sample {
  return {
    body,
    headerBytes: TCP12_HEADER,
    // The client library's encoder (written apart from the server's codec); delta: a length field that lies.
    wrap: (b, delta = 0) => encodeTcp12Frame({ seq, command, flag, status, version }, b, delta === 0 ? undefined : (b.length + delta) >>> 0),
  };
}

const tcp12Length = (buf: Buffer, at: number) => TCP12_HEADER + buf.readUInt32BE(at);

async function tcp12Ping(conn: Parameters<Target['probe']>[0], seq: number): Promise<void> {
  const body = encodeMessage('IM.Tcp12.Ping', { time: Date.now() });
  const reply = conn.expect((buf) => {
    for (const f of frames(buf, TCP12_HEADER, tcp12Length)) if (f[9] === IMCommand.PING && f.readUInt32BE(5) === seq) return true;
    return undefined;
  });
  await conn.send([tcp12Sample(IMCommand.PING, 0, 0, body, seq).wrap(body)]);
  await reply;
}

export function tcp12Target(endpoint: Endpoint): Target {
  const commandIds = [...Object.values(IMCommand), ...Object.values(RoomCommand)].filter((v): v is number => typeof v === 'number');
  return {
    name: 'tcp12',
    transport: 'tcp',
    role: 'msg_server',
    endpoint,
    hasSession: true,
    messageTypes: [...new Set(Object.values(TCP12_TYPES))],
    sample(rng, ctx) {
      const command = rng.chance(0.95) ? pickCommand(rng, commandIds, [IMCommand.LOGOUT]) : rng.int(0, 255);
      let body = randomMessage(messageType(TCP12_TYPES[command] ?? rng.pick(TCP12_OTHER_TYPES)), rng, ctx.hints);
      // A valid connect flag (request flow): plain (most), gzipped, or AES, which this server answers with a status.
      // Reserved bits, which close the connection at once, are left to the header mutations.
      let flag = 0;
      const r = rng.int(0, 19);
      if (r === 0) {
        flag = 1 << 4;
        body = gzipSync(body);
      } else if (r === 1) flag = 1 << 2;
      return tcp12Sample(command, flag, 0, body, rng.int(0, 2 ** 31), 1);
    },
    async login(conn, user) {
      const body = encodeMessage('IM.Tcp12.LoginRequest', { account: user.name, password: user.password, platform: 'pc' });
      const reply = conn.expect((buf) => {
        for (const f of frames(buf, TCP12_HEADER, tcp12Length)) if (f[9] === IMCommand.LOGIN) return f[11];
        return undefined;
      });
      await conn.send([tcp12Sample(IMCommand.LOGIN, 0, 0, body, 1).wrap(body)]);
      const status = await reply;
      if (status !== 0) throw new Error(`tcp12 login of ${user.name}: status ${status}`);
    },
    probe: (conn) => tcp12Ping(conn, 1),
    // The pools' seqs are below 2^31: this one's answer is the only match.
    sync: (conn, _loggedIn, n) => tcp12Ping(conn, 2 ** 31 + (n % 2 ** 31)),
  };
}

// ---------------------------------------------------------------- OMTP

function omtpSample(type: number, flags: number, packId: string, payload: Buffer): Sample {
  const header = { type, version: OMTP_VERSION, flags, packId };
  const pack = (b: Buffer) => encodePack(header, b);
  const overhead = pack(Buffer.alloc(0)).length;
  return {
    body: payload,
    // The length prefix and the pack's header struct.
    headerBytes: 4 + overhead,
    wrap: (b, delta = 0) => {
      const p = pack(b);
      const out = Buffer.allocUnsafe(4 + p.length);
      out.writeUInt32BE((4 + p.length + delta) >>> 0, 0);
      p.copy(out, 4);
      return out;
    },
  };
}

const omtpLength = (buf: Buffer, at: number) => buf.readUInt32BE(at);

export function omtpTarget(endpoint: Endpoint): Target {
  const types = Object.values(PackType).filter((t) => t !== PackType.PT_NONE);
  const requestOf = (t: number) => (PacketPayloads as Record<number, { request?: StructSchema<unknown> }>)[t]?.request;
  const anyStructs = Object.values(PacketPayloads).flatMap((p) => ('request' in p && p.request ? [p.request as StructSchema<unknown>] : []));
  const answerTo = (type: number, packId?: string) => (buf: Buffer) => {
    for (const f of frames(buf, 4, omtpLength)) {
      const pack = decodePack(f.subarray(4));
      if (pack.header.type === type && (Number(pack.header.flags) & Flags.ACK) !== 0 && (packId === undefined || pack.header.packId === packId)) return pack;
    }
    return undefined;
  };
  const ping = async (conn: Parameters<Target['probe']>[0], packId: string) => {
    const reply = conn.expect(answerTo(PackType.PT_PING, packId));
    await conn.send([omtpSample(PackType.PT_PING, 0, packId, Buffer.alloc(0)).wrap(Buffer.alloc(0))]);
    await reply;
  };
  return {
    name: 'omtp',
    transport: 'tcp',
    role: 'msg_server',
    endpoint,
    hasSession: true,
    messageTypes: types.map((t) => `${Object.entries(PackType).find(([, v]) => v === t)![0]}${requestOf(t) ? `(${requestOf(t)!.name})` : ''}`),
    sample(rng, ctx) {
      const type = rng.chance(0.95) ? pickCommand(rng, types, [PackType.PT_LOGOUT]) : rng.integer(16, true);
      const schema = requestOf(type) ?? (rng.chance(0.5) ? rng.pick(anyStructs) : undefined);
      let payload = schema ? randomTars(schema, rng, ctx.hints) : Buffer.alloc(0);
      // Valid flags: plain (most), zlib, or any of the single-bit flags (ACK, DUP, ...).
      // Reserved bits and unknown transforms are left to the header mutations.
      let flags = 0;
      const r = rng.int(0, 9);
      if (r === 0) {
        flags = 1 << Flags.COMPRESS_SHIFT;
        payload = deflateSync(payload);
      } else if (r === 1) flags = rng.int(0, (1 << Flags.COMPRESS_SHIFT) - 1);
      return omtpSample(type, flags, rng.chance(0.8) ? `p${rng.int(0, 1e9)}` : rng.string(40), payload);
    },
    async login(conn, user) {
      const payload = loginPayload(user.name, user.password);
      const reply = conn.expect(answerTo(PackType.PT_LOGIN));
      await conn.send([omtpSample(PackType.PT_LOGIN, 0, 'login', payload).wrap(payload)]);
      const pack = await reply;
      const res = decodeStruct(LoginResp, pack.payload);
      if (res.code !== 0) throw new Error(`OMTP login of ${user.name}: code ${res.code}`);
    },
    probe: (conn) => ping(conn, 'probe'),
    // Answers carry the request's packId; the pools' packIds never start with "sync".
    sync: (conn, _loggedIn, n) => ping(conn, `sync${n}`),
  };
}

function loginPayload(userName: string, password: string): Buffer {
  return encodeStruct(LoginReq, { userName, password, deviceType: DeviceType.DEVICE_LINUX, deviceId: `fuzz-${userName}`, clientId: '' });
}
