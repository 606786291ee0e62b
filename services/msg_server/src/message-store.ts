import { Batcher } from '@tt/batching';
import type { DbProxyClient, IM } from '@tt/proto';
import { RpcError } from '@tt/rpc';

/** A batched call carries at most this much message data (db_proxy accepts 16 MB); a bigger message goes alone. */
const BATCH_MAX_BYTES = 4 * 1024 * 1024;
/** Calls to db_proxy in flight at once (one per lane). */
const LANES = 4;
const MAX_BATCH = 256;

interface Save {
  message: IM.Message.IIMMsgData;
  extra?: IM.Core.IMessageExtra;
  orderKey: number;
}

/**
 * Stores messages through db_proxy. The saves of every connection of this
 * msg_server that are under way at the same moment travel in one
 * SaveMessages call (one round trip, one group commit), each still stored or
 * refused on its own; nothing is reported stored before db_proxy says so.
 * Saves with the same order key (a sender's connection) share a lane, which
 * has one call in flight at a time: they are stored, numbered and reported
 * in the order they were made, even when the connection does not wait for
 * one before making the next.
 */
export class MessageStore {
  private readonly batcher: Batcher<Save, IM.DbProxy.ISavedMessage | RpcError>;

  constructor(
    private readonly db: DbProxyClient,
    options: { onBatch?: (size: number) => void } = {},
  ) {
    this.batcher = new Batcher((saves) => this.saveBatch(saves), {
      lanes: LANES,
      maxBatch: MAX_BATCH,
      laneOf: (s) => s.orderKey,
      maxWeight: BATCH_MAX_BYTES,
      weigh: (s) => (s.message.msgData?.length ?? 0) + 64,
      onBatch: options.onBatch,
    });
  }

  /**
   * Saves a message (with what TeamTalk's IMMsgData cannot carry in `extra`);
   * the save is queued before this returns, behind earlier saves with the
   * same orderKey.
   */
  async save(message: IM.Message.IIMMsgData, orderKey: number, extra?: IM.Core.IMessageExtra): Promise<IM.DbProxy.SavedMessage> {
    const result = await this.batcher.submit({ message, extra, orderKey });
    if (result instanceof RpcError) throw result;
    return result as IM.DbProxy.SavedMessage;
  }

  private async saveBatch(saves: Save[]): Promise<Array<IM.DbProxy.ISavedMessage | RpcError>> {
    const messages = saves.map((s) => s.message);
    const anyExtra = saves.some((s) => s.extra);
    if (messages.length === 1 && !anyExtra) return [await this.db.saveMessage(messages[0] as IM.Message.IMMsgData)];
    const extras = anyExtra ? saves.map((s) => s.extra ?? {}) : [];
    const rsp = await this.db.saveMessages({ messages, extras } as IM.DbProxy.SaveMessagesReq);
    if (rsp.results.length !== messages.length) throw new RpcError(13, `db_proxy answered ${rsp.results.length} results for ${messages.length} messages`);
    return rsp.results.map((r) => r.saved ?? new RpcError(r.errorCode ?? 13, r.errorMessage ?? 'not stored'));
  }
}
