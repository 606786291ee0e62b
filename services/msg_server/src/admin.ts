import { IM, type ClusterSubjects } from '@tt/proto';
import type { BusSubscription, MessageBus } from '@tt/bus';
import { RpcError } from '@tt/rpc';
import type { ClientConnection } from './connection';
import type { MsgServerContext } from './context';
import { teamTalkMsgType } from './core/content';
import { groupConversationId, messageIdOf, parseDecimalId, singleConversationId } from './fronts/ws/ids';

const { ContentKind } = IM.Core;
const { SessionType, KickReasonType } = IM.BaseDefine;
const { GroupAdminAction, GroupAdminResult, RecallResult } = IM.DbProxy;

/** The queue group every msg_server serves `<prefix>.admin` in: one of them takes each request. */
export const ADMIN_QUEUE = 'msg_server';
/** Longest text an operator sends (the fronts' own limit is larger; an operator's message is a notice). */
export const MAX_ADMIN_TEXT_BYTES = 16 * 1024;
/** Most users one notification or group change names. */
const MAX_ADMIN_USERS = 10_000;

/** A refusal sent back in AdminReply: the operator API answers with this status and code. */
export class AdminRefusal extends Error {
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 422 | 503,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AdminRefusal';
  }
}

export interface AdminServiceDeps {
  ctx: MsgServerContext;
  bus: MessageBus;
  subjects: ClusterSubjects;
  /** This msg_server's instance id (for `<prefix>.ms.<id>.admin`). */
  serverId: string;
  /** ADMIN_SYSTEM_ACCOUNT: the account that sends the system's messages (from_id 0). */
  systemAccount: string;
  /** Creates the system account (disabled, so nobody logs in as it) when it is missing; absent: it must exist. */
  createSystemAccount?: (name: string) => Promise<number>;
  drain(): Promise<void>;
}

type GroupActionName = 'create' | 'add' | 'remove' | 'dismiss' | 'transfer' | 'update';
const GROUP_ACTIONS: Record<GroupActionName, number> = {
  create: GroupAdminAction.GROUP_ACTION_CREATE,
  add: GroupAdminAction.GROUP_ACTION_ADD_MEMBERS,
  remove: GroupAdminAction.GROUP_ACTION_REMOVE_MEMBERS,
  dismiss: GroupAdminAction.GROUP_ACTION_DISMISS,
  transfer: GroupAdminAction.GROUP_ACTION_TRANSFER,
  update: GroupAdminAction.GROUP_ACTION_UPDATE_INFO,
};

/**
 * Serves the operator API's requests (IM.Cluster.AdminRequest) over the bus:
 * `<prefix>.admin` in the msg_server queue group (kick, send, notify, recall,
 * group) and `<prefix>.ms.<id>.admin` (drain, and anything else aimed at this
 * server). Each request is answered with an AdminReply; refusals carry the
 * HTTP status and code the API should use.
 */
export class AdminService {
  private subs: BusSubscription[] = [];
  private systemUserId: number | undefined;

  constructor(private readonly deps: AdminServiceDeps) {}

  listen(): void {
    const serve = (data: Uint8Array, msg: { respond(data: Uint8Array): boolean }) =>
      this.handle(data).then((reply) => {
        msg.respond(IM.Cluster.AdminReply.encode(reply).finish());
      });
    this.subs.push(this.deps.bus.subscribe(this.deps.subjects.admin, serve, { queue: ADMIN_QUEUE }));
    this.subs.push(this.deps.bus.subscribe(this.deps.subjects.msgServerAdmin(this.deps.serverId), serve));
  }

  close(): void {
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
  }

  /** Decodes, runs and answers one request; never throws. */
  async handle(data: Uint8Array): Promise<IM.Cluster.IAdminReply> {
    try {
      let req: IM.Cluster.AdminRequest;
      try {
        req = IM.Cluster.AdminRequest.decode(data);
      } catch (err) {
        throw new AdminRefusal(400, 'bad_request', `AdminRequest does not decode: ${(err as Error).message}`);
      }
      return await this.run(req);
    } catch (err) {
      if (err instanceof AdminRefusal) return { ok: false, errorStatus: err.status, errorCode: err.code, errorMessage: err.message };
      if (err instanceof RpcError) return fromRpcError(err);
      this.deps.ctx.log.error({ err }, 'operator request failed');
      return { ok: false, errorStatus: 503, errorCode: 'unavailable', errorMessage: 'the request failed on the msg_server' };
    }
  }

  private async run(req: IM.Cluster.AdminRequest): Promise<IM.Cluster.IAdminReply> {
    if (req.kick) return { ok: true, count: this.kick(req.kick.userId) };
    if (req.send) return this.send(req.send);
    if (req.notify) return this.notify(req.notify);
    if (req.recall) return this.recall(req.recall);
    if (req.group) return this.group(req.group);
    if (req.drain) {
      // Answered at once: the drain itself takes up to MSG_SERVER_DRAIN_TIMEOUT_MS.
      void this.deps.drain().catch((err) => this.deps.ctx.log.error({ err }, 'drain failed'));
      return { ok: true };
    }
    throw new AdminRefusal(400, 'bad_request', 'empty AdminRequest');
  }

  /** Closes every connection of the user here and asks the servers holding the others; how many. */
  private kick(userId: number): number {
    if (!userId) throw new AdminRefusal(400, 'bad_request', 'user_id is required');
    const kicked = this.deps.ctx.kicker.kickUser(userId, () => true, KickReasonType.KICK_REASON_DUPLICATE_USER);
    this.deps.ctx.log.info({ userId, kicked }, 'operator kicked a user');
    return kicked;
  }

  private async send(s: IM.Cluster.IAdminSend): Promise<IM.Cluster.IAdminReply> {
    const { ctx } = this.deps;
    const text = s.text ?? '';
    if (text === '') throw new AdminRefusal(400, 'bad_request', 'text is empty');
    if (Buffer.byteLength(text) > MAX_ADMIN_TEXT_BYTES) throw new AdminRefusal(400, 'bad_request', `text is longer than ${MAX_ADMIN_TEXT_BYTES} bytes`);
    const toUser = s.toUserId ?? 0;
    const toGroup = s.toGroupId ?? 0;
    if ((toUser === 0) === (toGroup === 0)) throw new AdminRefusal(400, 'bad_request', 'exactly one of to_user_id and to_group_id');
    const fromId = s.fromId ? s.fromId : await this.systemUser();
    const names = await ctx.directory.names(toUser ? [fromId, toUser] : [fromId]);
    if (!names.has(fromId)) throw new AdminRefusal(404, 'not_found', `no user ${fromId}`);
    if (toUser && !names.has(toUser)) throw new AdminRefusal(404, 'not_found', `no user ${toUser}`);
    if (toUser === fromId) throw new AdminRefusal(400, 'bad_request', 'a user does not message themselves');
    if (toGroup) await this.ensureGroupSender(fromId, toGroup, !s.fromId);
    const sessionType = toUser ? SessionType.SESSION_TYPE_SINGLE : SessionType.SESSION_TYPE_GROUP;
    const kind = ContentKind.CONTENT_TEXT;
    const message = {
      sessionType,
      toId: toUser || toGroup,
      msgType: teamTalkMsgType(kind, sessionType),
      content: ctx.content.toStored(kind, Buffer.from(text, 'utf8')),
      extra: { kind, systemSender: !s.fromId || undefined },
    };
    let msgId = 0;
    await ctx.core.send(systemConnection(fromId), message, (saved) => {
      msgId = saved.msgId;
    });
    const conversation = toUser ? singleConversationId(names.get(fromId)!, names.get(toUser)!) : groupConversationId(toGroup);
    return { ok: true, messageId: messageIdOf(conversation, msgId), msgId };
  }

  /**
   * A group message's sender must be a member: a user who is not is refused.
   * The system account speaks to any group without joining it (db_proxy
   * accepts its messages by MessageExtra.system_sender).
   */
  private async ensureGroupSender(fromId: number, groupId: number, isSystem: boolean): Promise<void> {
    const members = await this.deps.ctx.db.groupMembers({ userId: 0, groupId });
    if (members.result === GroupAdminResult.GROUP_ADMIN_NOT_FOUND) throw new AdminRefusal(404, 'not_found', `no group ${groupId}`);
    if (isSystem || members.memberIds.includes(fromId)) return;
    throw new AdminRefusal(422, 'not_a_member', `user ${fromId} is not a member of group ${groupId}`);
  }

  /** The system account's id: looked up once, created (disabled) when missing and a creator is configured. */
  private async systemUser(): Promise<number> {
    if (this.systemUserId) return this.systemUserId;
    const name = this.deps.systemAccount;
    let id = await this.deps.ctx.directory.idOf(name);
    if (id === undefined) {
      if (!this.deps.createSystemAccount) throw new AdminRefusal(503, 'system_account_missing', `the system account ${JSON.stringify(name)} (ADMIN_SYSTEM_ACCOUNT) does not exist`);
      id = await this.deps.createSystemAccount(name);
      this.deps.ctx.log.info({ name, userId: id }, 'created the system account (disabled)');
    }
    this.systemUserId = id;
    return id;
  }

  private async notify(n: IM.Cluster.IAdminNotify): Promise<IM.Cluster.IAdminReply> {
    const content = n.content ?? '';
    if (content === '') throw new AdminRefusal(400, 'bad_request', 'content is empty');
    if (Buffer.byteLength(content) > MAX_ADMIN_TEXT_BYTES) throw new AdminRefusal(400, 'bad_request', `content is longer than ${MAX_ADMIN_TEXT_BYTES} bytes`);
    const userIds = [...new Set(n.userIds ?? [])];
    const groupId = n.groupId ?? 0;
    if ((userIds.length === 0) === (groupId === 0)) throw new AdminRefusal(400, 'bad_request', 'exactly one of user_ids and group_id');
    if (userIds.length > MAX_ADMIN_USERS) throw new AdminRefusal(400, 'bad_request', `more than ${MAX_ADMIN_USERS} users`);
    const notice = { from: (n.from || 'operator').slice(0, 128), contentType: n.contentType ?? 1, content };
    try {
      const addressed = await this.deps.ctx.social.businessNotify(groupId ? { groupId } : { userIds }, notice);
      return { ok: true, count: addressed };
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('no group')) throw new AdminRefusal(404, 'not_found', err.message);
      throw err;
    }
  }

  private async recall(r: IM.Cluster.IAdminRecall): Promise<IM.Cluster.IAdminReply> {
    const target = await this.parseMessageId(r.messageId ?? '');
    const rsp = await this.deps.ctx.core.recallAsModerator(target);
    if (rsp.result === RecallResult.RECALL_NOT_FOUND) throw new AdminRefusal(404, 'not_found', `no message ${r.messageId}`);
    if (rsp.result !== RecallResult.RECALL_OK) throw new AdminRefusal(409, 'conflict', rsp.errorMessage || 'not recalled');
    this.deps.ctx.log.info({ messageId: r.messageId, by: r.byOperator }, 'operator recalled a message');
    return { ok: true };
  }

  /** `si_<a>_<b>:<msg_id>` (a, b account names, which may contain '_') or `sg_<group>:<msg_id>`. */
  async parseMessageId(messageId: string): Promise<{ sessionType: number; userA: number; userB: number; msgId: number } | { sessionType: number; groupId: number; msgId: number }> {
    const bad = () => new AdminRefusal(400, 'bad_request', `messageId ${JSON.stringify(messageId.slice(0, 200))} is not si_<a>_<b>:<msg_id> or sg_<group>:<msg_id>`);
    const at = messageId.lastIndexOf(':');
    if (at <= 0 || messageId.length > 600) throw bad();
    const msgId = parseDecimalId(messageId.slice(at + 1));
    const conversation = messageId.slice(0, at);
    if (msgId === undefined) throw bad();
    if (conversation.startsWith('sg_')) {
      const groupId = parseDecimalId(conversation.slice(3));
      if (groupId === undefined) throw bad();
      return { sessionType: SessionType.SESSION_TYPE_GROUP, groupId, msgId };
    }
    if (!conversation.startsWith('si_')) throw bad();
    const pair = conversation.slice(3);
    // Names may contain '_': try every split whose two names both exist and give this very id.
    for (let i = pair.indexOf('_'); i > 0; i = pair.indexOf('_', i + 1)) {
      const nameA = pair.slice(0, i);
      const nameB = pair.slice(i + 1);
      if (!nameB || singleConversationId(nameA, nameB) !== conversation) continue;
      const [idA, idB] = await Promise.all([this.deps.ctx.directory.idOf(nameA), this.deps.ctx.directory.idOf(nameB)]);
      if (idA !== undefined && idB !== undefined) return { sessionType: SessionType.SESSION_TYPE_SINGLE, userA: idA, userB: idB, msgId };
    }
    throw new AdminRefusal(404, 'not_found', `no conversation ${JSON.stringify(conversation.slice(0, 200))}`);
  }

  private async group(g: IM.Cluster.IAdminGroupAction): Promise<IM.Cluster.IAdminReply> {
    const action = GROUP_ACTIONS[g.action as GroupActionName];
    if (action === undefined) throw new AdminRefusal(400, 'bad_request', `unknown group action ${JSON.stringify(String(g.action).slice(0, 40))}`);
    if ((g.memberIds?.length ?? 0) > MAX_ADMIN_USERS) throw new AdminRefusal(400, 'bad_request', `more than ${MAX_ADMIN_USERS} members`);
    if (action !== GroupAdminAction.GROUP_ACTION_CREATE && !g.groupId) throw new AdminRefusal(400, 'bad_request', 'groupId is required');
    if ((action === GroupAdminAction.GROUP_ACTION_CREATE || action === GroupAdminAction.GROUP_ACTION_TRANSFER) && !g.ownerId) throw new AdminRefusal(400, 'bad_request', 'ownerId is required');
    const rsp = await this.deps.ctx.groups.actAsSystem({
      action,
      groupId: g.groupId || undefined,
      memberIds: g.memberIds ?? [],
      newOwnerId: g.ownerId || undefined,
      name: g.name || undefined,
      avatar: g.avatar || undefined,
      description: g.description || undefined,
      memberLimit: g.memberLimit || undefined,
    });
    if (rsp.result !== GroupAdminResult.GROUP_ADMIN_OK || !rsp.event?.group) throw groupRefusal(rsp);
    return { ok: true, group: rsp.event.group, memberIds: rsp.event.memberIds ?? [] };
  }
}

/**
 * What ConversationCore.send needs of a sender connection: its user and an id
 * (the order key of its deliveries and the connection they skip). No client
 * connection has id 0, so the sender's real connections all get the message.
 */
function systemConnection(userId: number): ClientConnection {
  return { id: 0, userId } as unknown as ClientConnection;
}

function groupRefusal(rsp: IM.DbProxy.IGroupAdminRsp): AdminRefusal {
  const message = rsp.errorMessage || 'refused';
  switch (rsp.result) {
    case GroupAdminResult.GROUP_ADMIN_NOT_FOUND:
      return new AdminRefusal(404, 'not_found', message);
    case GroupAdminResult.GROUP_ADMIN_FULL:
      return new AdminRefusal(409, 'group_full', message);
    case GroupAdminResult.GROUP_ADMIN_NO_PERMISSION:
      return new AdminRefusal(409, 'conflict', message);
    default:
      return new AdminRefusal(422, 'invalid', message);
  }
}

/** db_proxy's gRPC refusals as the API's: bad arguments 400, missing 404, not allowed 403, the rest 503. */
function fromRpcError(err: RpcError): IM.Cluster.IAdminReply {
  const name = err.codeName;
  const [errorStatus, errorCode] =
    name === 'INVALID_ARGUMENT' ? [400, 'bad_request'] : name === 'NOT_FOUND' ? [404, 'not_found'] : name === 'PERMISSION_DENIED' ? [403, 'forbidden'] : name === 'ALREADY_EXISTS' ? [409, 'conflict'] : [503, 'unavailable'];
  return { ok: false, errorStatus, errorCode, errorMessage: err.message };
}
