// Webhooks (issue 15): operators register URLs (im_webhook, edited through the
// operator API) that are called after a message is stored and after a user
// logs in or out, and optionally before a message is stored (which may reject
// it). After-the-fact events travel as jobs of the job queue push jobs use
// (JetStream in cluster mode, in-process in standalone mode), so a receiver
// that is down gets them later, with back-off, a bounded number of attempts
// and dead letters; any msg_server works them. before_send is a synchronous
// call with the webhook's own timeout.
//
// Every call: POST, JSON body {event, at, data}, headers X-TT-Event and
// X-TT-Signature: sha256=<hex HMAC-SHA256 of the raw body with the webhook's secret>.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { IM, clusterSubjects } from '@tt/proto';
import { RpcError } from '@tt/rpc';
import type { JobHandler, JobOutcome, JobQueue, JobWorker, MessageBus, RetryPolicy } from '@tt/bus';
import type { Logger } from '@tt/observability';
import { Counter, type Registry } from 'prom-client';
import { groupConversationId, messageIdOf, singleConversationId } from './fronts/ws/ids';

export type WebhookEvent = 'message.stored' | 'user.login' | 'user.logout' | 'message.before_send';

/** One webhook as msg_servers use it (db_proxy's IM.Admin.Webhook). */
export interface WebhookSetting {
  id: number;
  event: WebhookEvent;
  url: string;
  secret: string;
  timeoutMs: number;
  failOpen: boolean;
}

/** The job queue's queue name of webhook calls. */
export const WEBHOOK_QUEUE = 'deliver';
/** Settings are read again this often, and at once when the operator API says they changed. */
export const WEBHOOK_REFRESH_MS = 10_000;
/** 6 attempts over about a minute (1 s, 2 s, 4 s, 8 s, 16 s between them), then the dead letters. */
export const DEFAULT_WEBHOOK_RETRY: RetryPolicy = { maxAttempts: 6, initialDelayMs: 1000, maxDelayMs: 60_000 };
/** Jobs one msg_server calls at once. */
export const DEFAULT_WEBHOOK_CONCURRENCY = 8;
/** The most of a receiver's answer read (before_send's verdict, or an error text for the log). */
const MAX_ANSWER_BYTES = 64 * 1024;

export const SIGNATURE_HEADER = 'x-tt-signature';
export const EVENT_HEADER = 'x-tt-event';

/** `sha256=<hex>`: the X-TT-Signature of a body. */
export function signWebhookBody(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** What a receiver does to check a call: recompute the signature of the raw body and compare in constant time. */
export function verifyWebhookSignature(secret: string, body: string | Uint8Array, header: string | undefined): boolean {
  if (typeof header !== 'string') return false;
  const expected = Buffer.from(signWebhookBody(secret, body));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** The body of one call: its bytes are what is signed. */
export function webhookBody(event: WebhookEvent, data: object, atMs = Date.now()): string {
  return JSON.stringify({ event, at: atMs, data });
}

/** A webhook job: which webhook, and the body to send (fixed when the event happened). */
interface WebhookJob {
  webhookId: number;
  event: WebhookEvent;
  body: string;
}

export type FetchLike = (url: string, init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal; redirect: 'manual' }) => Promise<{
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}>;

/** One signed POST; resolves with the status and (the start of) the answer, rejects on a network error or timeout. */
export async function postWebhook(fetchImpl: FetchLike, hook: Pick<WebhookSetting, 'url' | 'secret' | 'timeoutMs'>, event: WebhookEvent, body: string): Promise<{ status: number; text: string; retryAfterMs?: number }> {
  const rsp = await fetchImpl(hook.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'teamtalk-webhooks/1', [EVENT_HEADER]: event, [SIGNATURE_HEADER]: signWebhookBody(hook.secret, body) },
    body,
    signal: AbortSignal.timeout(hook.timeoutMs),
    // A redirect is an answer, not an invitation to send the signed body elsewhere.
    redirect: 'manual',
  });
  const text = (await rsp.text()).slice(0, MAX_ANSWER_BYTES);
  const retryAfter = Number(rsp.headers.get('retry-after'));
  return { status: rsp.status, text, retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined };
}

/** What a delivery attempt's answer means for the job: 2xx done, anything else (or no answer) another try. */
export function deliveryOutcome(result: { status: number; retryAfterMs?: number } | { error: unknown }): JobOutcome {
  if ('error' in result) return { kind: 'retry', reason: `no answer: ${errorText(result.error)}` };
  if (result.status >= 200 && result.status < 300) return { kind: 'done' };
  return { kind: 'retry', reason: `answered ${result.status}`, delayMs: result.retryAfterMs };
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.name === 'TimeoutError' || err.name === 'AbortError' ? 'timed out' : (err.cause instanceof Error ? err.cause.message : err.message);
  return String(err);
}

export interface WebhookMetrics {
  deliveries: Counter<'event' | 'result'>;
}

export function createWebhookMetrics(registry: Registry): WebhookMetrics {
  const name = 'tt_webhook_deliveries_total';
  const existing = registry.getSingleMetric(name) as Counter<'event' | 'result'> | undefined;
  return {
    deliveries:
      existing ??
      new Counter({
        name,
        help: 'Webhook calls by event and result: delivered, failed (an attempt; it is retried), dead (given up), dropped (webhook gone), not_queued; before_send: allowed, rejected, failed_open, failed_closed',
        labelNames: ['event', 'result'] as const,
        registers: [registry],
      }),
  };
}

/** The message a rejecting before_send hook stops: fronts answer RpcError PERMISSION_DENIED with their "rejected" error. */
export function messageRejected(reason: string): RpcError {
  return new RpcError(7 /* PERMISSION_DENIED */, `message rejected${reason ? `: ${reason}` : ''}`.slice(0, 300));
}

export interface WebhooksDeps {
  db: { webhookList(req: IM.Admin.IEmpty): Promise<IM.Admin.IWebhookList> };
  bus: MessageBus;
  subjectPrefix: string;
  /** Where calls wait for their turn; none: events are not sent (before_send still works). */
  jobs?: Pick<JobQueue, 'enqueue' | 'work'>;
  metrics: WebhookMetrics;
  log: Logger;
  retry?: RetryPolicy;
  concurrency?: number;
  fetch?: FetchLike;
  refreshMs?: number;
  /** Shows text content as text (with the content key), as the operator API does. */
  content?: { hasKey: boolean; toPlain(kind: number, stored: Uint8Array): Buffer };
  /** This msg_server (in login/logout data). */
  serverId?: string;
}

const KIND_NAMES = ['unknown', 'text', 'image', 'voice', 'video', 'file', 'location', 'sticker', 'custom'];
const { SessionType, MsgType } = IM.BaseDefine;


/**
 * The webhook settings of this msg_server (read from db_proxy every 10 s and
 * when told they changed), the producer of webhook jobs, their worker, and
 * the before-send check.
 */
export class Webhooks {
  private byEvent = new Map<WebhookEvent, WebhookSetting[]>();
  private byId = new Map<number, WebhookSetting>();
  /** The before_send hooks, or null: ConversationCore asks this synchronously, so no hook costs nothing. */
  private beforeSendHooks: WebhookSetting[] | null = null;
  private timer?: NodeJS.Timeout;
  private worker?: JobWorker;
  private loading?: Promise<void>;
  private readonly fetch: FetchLike;
  private lastWarning = 0;
  private unsubscribe?: () => void;

  constructor(private readonly deps: WebhooksDeps) {
    this.fetch = deps.fetch ?? (fetch as unknown as FetchLike);
  }

  /** Loads the settings, keeps them fresh and starts working the queue. */
  async start(): Promise<void> {
    await this.reload().catch((err: unknown) => this.deps.log.warn({ err: errorText(err) }, 'webhook settings not loaded yet (retried every 10 s)'));
    this.timer = setInterval(() => void this.reload().catch((err: unknown) => this.deps.log.warn({ err: errorText(err) }, 'webhook settings not reloaded')), this.deps.refreshMs ?? WEBHOOK_REFRESH_MS);
    this.timer.unref();
    const sub = this.deps.bus.subscribe(clusterSubjects(this.deps.subjectPrefix).webhooksChanged, () => void this.reload().catch(() => undefined));
    this.unsubscribe = () => sub.unsubscribe();
    if (this.deps.jobs) {
      this.worker = await this.deps.jobs.work(WEBHOOK_QUEUE, this.handler, {
        retry: this.deps.retry ?? DEFAULT_WEBHOOK_RETRY,
        concurrency: this.deps.concurrency ?? DEFAULT_WEBHOOK_CONCURRENCY,
        onDeadLetter: (dead) => {
          const job = parseJob(dead.data);
          this.deps.metrics.deliveries.inc({ event: job?.event ?? 'unknown', result: 'dead' });
          this.deps.log.warn({ webhookId: job?.webhookId, event: job?.event, attempts: dead.attempts, reason: dead.reason }, 'webhook call given up (dead-lettered)');
        },
        onError: (err) => this.deps.log.warn({ err: errorText(err) }, 'webhook worker'),
      });
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.unsubscribe?.();
    await this.worker?.stop();
  }

  /** Reads the settings again (one at a time: a reload asked for meanwhile waits for the current one, then runs). */
  async reload(): Promise<void> {
    const previous = this.loading;
    const next = (async () => {
      await previous?.catch(() => undefined);
      const list = (await this.deps.db.webhookList({})).webhooks ?? [];
      this.apply(list);
    })();
    this.loading = next;
    try {
      await next;
    } finally {
      if (this.loading === next) this.loading = undefined;
    }
  }

  /** Installs a settings list (enabled webhooks only). */
  apply(list: IM.Admin.IWebhook[]): void {
    const byEvent = new Map<WebhookEvent, WebhookSetting[]>();
    const byId = new Map<number, WebhookSetting>();
    for (const w of list) {
      if (!w.enabled || !w.id || !w.url) continue;
      const setting: WebhookSetting = { id: w.id, event: w.event as WebhookEvent, url: w.url, secret: w.secret ?? '', timeoutMs: w.timeoutMs || 5000, failOpen: w.failOpen !== false };
      byId.set(setting.id, setting);
      const list = byEvent.get(setting.event) ?? [];
      list.push(setting);
      byEvent.set(setting.event, list);
    }
    this.byEvent = byEvent;
    this.byId = byId;
    this.beforeSendHooks = byEvent.get('message.before_send') ?? null;
  }

  /** True when some webhook wants this event (a cheap check before building its data). */
  wants(event: WebhookEvent): boolean {
    return this.byEvent.has(event);
  }

  /** Queues one call per webhook of the event; never waits and never fails the caller. */
  emit(event: WebhookEvent, data: object, dedupeKey?: string): void {
    const hooks = this.byEvent.get(event);
    if (!hooks || !this.deps.jobs) return;
    const body = webhookBody(event, data);
    for (const hook of hooks) {
      const job: WebhookJob = { webhookId: hook.id, event, body };
      const id = dedupeKey ? `${hook.id}-${dedupeKey}` : undefined;
      this.deps.jobs.enqueue(WEBHOOK_QUEUE, Buffer.from(JSON.stringify(job)), id ? { id } : undefined).catch((err: unknown) => {
        this.deps.metrics.deliveries.inc({ event, result: 'not_queued' });
        const now = Date.now();
        if (now - this.lastWarning >= 60_000) {
          this.lastWarning = now;
          this.deps.log.warn({ err: errorText(err), event }, 'webhook call not queued (further failures counted in tt_webhook_deliveries_total{result="not_queued"})');
        }
      });
    }
  }

  /** message.stored, after the message is stored (msg_server's own view of it: ids, names, content). */
  messageStored(stored: IM.Core.IStoredMessage): void {
    if (!this.wants('message.stored')) return;
    const msgId = stored.msgId ?? 0;
    const data = { ...this.messageData(stored), msgId, messageId: webhookMessageId(stored, msgId), fromName: stored.fromName ?? '', toName: stored.toName ?? '', createTime: stored.createTime ?? 0, serverTimeMs: Number(stored.extra?.serverTimeMs ?? 0) };
    this.emit('message.stored', data, data.messageId || undefined);
  }

  /** user.login / user.logout of one connection. */
  presenceChanged(online: boolean, user: { userId: number; name?: string; clientType: number; front: string; connId: number }): void {
    const event = online ? 'user.login' : 'user.logout';
    if (!this.wants(event)) return;
    this.emit(event, { userId: user.userId, name: user.name ?? '', clientType: user.clientType, front: user.front, msgServerId: this.deps.serverId ?? '', connId: user.connId });
  }

  /** What a message says, for message.stored and message.before_send. */
  messageData(m: { sessionType?: number | null; fromUserId?: number | null; fromId?: number; toId?: number | null; msgType?: number | null; content?: Uint8Array | null; extra?: IM.Core.IMessageExtra | null }): Record<string, unknown> {
    const msgType = m.msgType ?? 0;
    const kindNumber = m.extra?.kind ?? (msgType === MsgType.MSG_TYPE_SINGLE_AUDIO || msgType === MsgType.MSG_TYPE_GROUP_AUDIO ? 3 : 1);
    const content = m.content ?? new Uint8Array(0);
    const data: Record<string, unknown> = {
      sessionType: m.sessionType ?? 0,
      fromId: m.fromUserId ?? m.fromId ?? 0,
      toId: m.toId ?? 0,
      msgType,
      kind: KIND_NAMES[kindNumber] ?? 'unknown',
      content: Buffer.from(content).toString('base64'),
    };
    if ((kindNumber === 1 || kindNumber === 2) && this.deps.content?.hasKey) data.text = this.deps.content.toPlain(kindNumber, content).toString('utf8');
    if (m.extra?.clientMsgId) data.clientMsgId = m.extra.clientMsgId;
    return data;
  }

  /** The before_send hooks now, or null when there are none (ConversationCore's hot path checks this and nothing else). */
  get beforeSend(): readonly WebhookSetting[] | null {
    return this.beforeSendHooks;
  }

  /**
   * Asks every before_send hook about a message (at once, each with its own
   * timeout). Resolves when all allow it; rejects with messageRejected() when
   * one answers {"allow": false}, or fails (no answer in time, not 2xx, not
   * JSON) and is fail-closed. A failing fail-open hook lets it through.
   */
  async checkBeforeSend(hooks: readonly WebhookSetting[], data: object): Promise<void> {
    const body = webhookBody('message.before_send', data);
    const verdicts = await Promise.all(hooks.map((hook) => this.askOne(hook, body)));
    const rejection = verdicts.find((v) => v !== null);
    if (rejection !== undefined) throw messageRejected(rejection ?? '');
  }

  /** null: allowed; a string: rejected, with the reason. */
  private async askOne(hook: WebhookSetting, body: string): Promise<string | null> {
    const count = (result: string) => this.deps.metrics.deliveries.inc({ event: 'message.before_send', result });
    let failure: string;
    try {
      const rsp = await postWebhook(this.fetch, hook, 'message.before_send', body);
      if (rsp.status >= 200 && rsp.status < 300) {
        const verdict = parseVerdict(rsp.text);
        if (verdict) {
          count(verdict.allow ? 'allowed' : 'rejected');
          return verdict.allow ? null : verdict.reason;
        }
        failure = 'the answer is not {"allow": true|false}';
      } else {
        failure = `answered ${rsp.status}`;
      }
    } catch (err) {
      failure = errorText(err);
    }
    count(hook.failOpen ? 'failed_open' : 'failed_closed');
    this.deps.log.warn({ webhookId: hook.id, reason: failure, failOpen: hook.failOpen }, hook.failOpen ? 'before_send webhook failed; message let through' : 'before_send webhook failed; message refused');
    return hook.failOpen ? null : 'the message check is unavailable';
  }

  private readonly handler: JobHandler = async (job) => {
    const parsed = parseJob(job.data);
    if (!parsed) return { kind: 'dead', reason: 'not a webhook job' };
    let hook = this.byId.get(parsed.webhookId);
    if (!hook) {
      // Made a moment ago on another msg_server, or removed: look again once.
      await this.reload().catch(() => undefined);
      hook = this.byId.get(parsed.webhookId);
    }
    if (!hook) {
      this.deps.metrics.deliveries.inc({ event: parsed.event, result: 'dropped' });
      return { kind: 'done' };
    }
    let outcome: JobOutcome;
    try {
      outcome = deliveryOutcome(await postWebhook(this.fetch, hook, parsed.event, parsed.body));
    } catch (err) {
      outcome = deliveryOutcome({ error: err });
    }
    this.deps.metrics.deliveries.inc({ event: parsed.event, result: outcome.kind === 'done' ? 'delivered' : 'failed' });
    if (outcome.kind !== 'done') this.deps.log.debug({ webhookId: hook.id, attempt: job.attempt, reason: outcome.reason }, 'webhook call failed');
    return outcome;
  };
}

/** The operator API's (and WebSocket front's) message id: `si_<name>_<name>:<msg_id>` / `sg_<group>:<msg_id>`; other sessions: ''. */
function webhookMessageId(stored: IM.Core.IStoredMessage, msgId: number): string {
  if (stored.sessionType === SessionType.SESSION_TYPE_SINGLE && stored.fromName && stored.toName) return messageIdOf(singleConversationId(stored.fromName, stored.toName), msgId);
  if (stored.sessionType === SessionType.SESSION_TYPE_GROUP) return messageIdOf(groupConversationId(stored.toId ?? 0), msgId);
  return '';
}

function parseJob(data: Uint8Array): WebhookJob | null {
  try {
    const job = JSON.parse(Buffer.from(data).toString('utf8')) as Partial<WebhookJob>;
    if (typeof job.webhookId !== 'number' || typeof job.event !== 'string' || typeof job.body !== 'string') return null;
    return job as WebhookJob;
  } catch {
    return null;
  }
}

/** {"allow": boolean, "reason"?: string}, or null when the answer is anything else. */
export function parseVerdict(text: string): { allow: boolean; reason: string } | null {
  try {
    const v = JSON.parse(text) as { allow?: unknown; reason?: unknown };
    if (!v || typeof v !== 'object' || typeof v.allow !== 'boolean') return null;
    return { allow: v.allow, reason: typeof v.reason === 'string' ? v.reason.slice(0, 200) : '' };
  } catch {
    return null;
  }
}
